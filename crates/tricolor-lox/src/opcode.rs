//! The bytecode instruction set: clox's opcodes (as of chapter 30), with
//! the same numbering and operand encodings.

use std::fmt;

/// One bytecode instruction's opcode. The discriminants are the byte values
/// in [`Chunk::code`](crate::chunk::Chunk::code), in clox's order.
///
/// Operands follow the opcode byte; "const" is a one-byte index into the
/// chunk's constant table, "u16" is a big-endian two-byte offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OpCode {
    /// `const`: push a constant.
    Constant = 0,
    /// Push `nil`.
    Nil,
    /// Push `true`.
    True,
    /// Push `false`.
    False,
    /// Pop the top of the stack.
    Pop,
    /// `slot`: push the local in this stack slot.
    GetLocal,
    /// `slot`: store the top of the stack (left in place) into the local.
    SetLocal,
    /// `const` (name): push the value of a global variable.
    GetGlobal,
    /// `const` (name): define a global from the top of the stack, then pop.
    DefineGlobal,
    /// `const` (name): assign an existing global (value left on the stack).
    SetGlobal,
    /// `index`: push the value of an upvalue.
    GetUpvalue,
    /// `index`: store the top of the stack into an upvalue.
    SetUpvalue,
    /// `const` (name): replace the instance on top with its property.
    GetProperty,
    /// `const` (name): `instance value` → `value`, setting the field.
    SetProperty,
    /// `const` (name): `this superclass` → bound superclass method.
    GetSuper,
    /// `a b` → `a == b`.
    Equal,
    /// `a b` → `a > b`.
    Greater,
    /// `a b` → `a < b`.
    Less,
    /// `a b` → `a + b` (numbers or strings).
    Add,
    /// `a b` → `a - b`.
    Subtract,
    /// `a b` → `a * b`.
    Multiply,
    /// `a b` → `a / b`.
    Divide,
    /// `a` → `!a`.
    Not,
    /// `a` → `-a`.
    Negate,
    /// Pop and print a value.
    Print,
    /// `u16`: jump forward by the offset (from after the operand).
    Jump,
    /// `u16`: jump forward if the top of the stack is falsey (not popped).
    JumpIfFalse,
    /// `u16`: jump backward by the offset (from after the operand).
    Loop,
    /// `argc`: call the callee below the arguments.
    Call,
    /// `const` (name), `argc`: call a method on the receiver below the
    /// arguments.
    Invoke,
    /// `const` (name), `argc`: `this args... superclass` → call the
    /// superclass method.
    SuperInvoke,
    /// `const` (function), then one `is_local index` byte pair per upvalue
    /// of the function: push a new closure.
    Closure,
    /// Close the upvalue for the top stack slot, then pop it.
    CloseUpvalue,
    /// Return the top of the stack from the current function.
    Return,
    /// `const` (name): push a new class.
    Class,
    /// `superclass subclass` → `superclass`, copying its methods down.
    Inherit,
    /// `const` (name): `class method` → `class`, adding the method.
    Method,
}

impl OpCode {
    /// Every opcode, indexed by its byte value.
    pub const ALL: [OpCode; 37] = [
        OpCode::Constant,
        OpCode::Nil,
        OpCode::True,
        OpCode::False,
        OpCode::Pop,
        OpCode::GetLocal,
        OpCode::SetLocal,
        OpCode::GetGlobal,
        OpCode::DefineGlobal,
        OpCode::SetGlobal,
        OpCode::GetUpvalue,
        OpCode::SetUpvalue,
        OpCode::GetProperty,
        OpCode::SetProperty,
        OpCode::GetSuper,
        OpCode::Equal,
        OpCode::Greater,
        OpCode::Less,
        OpCode::Add,
        OpCode::Subtract,
        OpCode::Multiply,
        OpCode::Divide,
        OpCode::Not,
        OpCode::Negate,
        OpCode::Print,
        OpCode::Jump,
        OpCode::JumpIfFalse,
        OpCode::Loop,
        OpCode::Call,
        OpCode::Invoke,
        OpCode::SuperInvoke,
        OpCode::Closure,
        OpCode::CloseUpvalue,
        OpCode::Return,
        OpCode::Class,
        OpCode::Inherit,
        OpCode::Method,
    ];

    /// clox's name for the opcode, e.g. `"OP_CONSTANT"`.
    pub fn name(self) -> &'static str {
        match self {
            OpCode::Constant => "OP_CONSTANT",
            OpCode::Nil => "OP_NIL",
            OpCode::True => "OP_TRUE",
            OpCode::False => "OP_FALSE",
            OpCode::Pop => "OP_POP",
            OpCode::GetLocal => "OP_GET_LOCAL",
            OpCode::SetLocal => "OP_SET_LOCAL",
            OpCode::GetGlobal => "OP_GET_GLOBAL",
            OpCode::DefineGlobal => "OP_DEFINE_GLOBAL",
            OpCode::SetGlobal => "OP_SET_GLOBAL",
            OpCode::GetUpvalue => "OP_GET_UPVALUE",
            OpCode::SetUpvalue => "OP_SET_UPVALUE",
            OpCode::GetProperty => "OP_GET_PROPERTY",
            OpCode::SetProperty => "OP_SET_PROPERTY",
            OpCode::GetSuper => "OP_GET_SUPER",
            OpCode::Equal => "OP_EQUAL",
            OpCode::Greater => "OP_GREATER",
            OpCode::Less => "OP_LESS",
            OpCode::Add => "OP_ADD",
            OpCode::Subtract => "OP_SUBTRACT",
            OpCode::Multiply => "OP_MULTIPLY",
            OpCode::Divide => "OP_DIVIDE",
            OpCode::Not => "OP_NOT",
            OpCode::Negate => "OP_NEGATE",
            OpCode::Print => "OP_PRINT",
            OpCode::Jump => "OP_JUMP",
            OpCode::JumpIfFalse => "OP_JUMP_IF_FALSE",
            OpCode::Loop => "OP_LOOP",
            OpCode::Call => "OP_CALL",
            OpCode::Invoke => "OP_INVOKE",
            OpCode::SuperInvoke => "OP_SUPER_INVOKE",
            OpCode::Closure => "OP_CLOSURE",
            OpCode::CloseUpvalue => "OP_CLOSE_UPVALUE",
            OpCode::Return => "OP_RETURN",
            OpCode::Class => "OP_CLASS",
            OpCode::Inherit => "OP_INHERIT",
            OpCode::Method => "OP_METHOD",
        }
    }
}

impl From<OpCode> for u8 {
    #[inline]
    fn from(op: OpCode) -> u8 {
        op as u8
    }
}

/// The error of [`OpCode::try_from`]: the byte is not an opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidOpCode(pub u8);

impl fmt::Display for InvalidOpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown opcode {}", self.0)
    }
}

impl std::error::Error for InvalidOpCode {}

impl TryFrom<u8> for OpCode {
    type Error = InvalidOpCode;

    #[inline]
    fn try_from(byte: u8) -> Result<Self, InvalidOpCode> {
        OpCode::ALL
            .get(usize::from(byte))
            .copied()
            .ok_or(InvalidOpCode(byte))
    }
}

impl fmt::Display for OpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for (i, op) in OpCode::ALL.iter().enumerate() {
            assert_eq!(u8::from(*op) as usize, i);
            assert_eq!(OpCode::try_from(i as u8), Ok(*op));
        }
        assert_eq!(OpCode::try_from(37), Err(InvalidOpCode(37)));
        assert_eq!(OpCode::try_from(255), Err(InvalidOpCode(255)));
        assert_eq!(OpCode::Method as u8, 36);
        assert_eq!(OpCode::Closure.to_string(), "OP_CLOSURE");
    }
}
