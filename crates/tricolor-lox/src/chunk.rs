//! Compiled code as plain Rust data: [`Chunk`]s of bytecode, their
//! [`Constant`]s and the [`FunctionProto`]s that own them.
//!
//! Nothing here is a garbage-collected object; the VM converts a compiled
//! program into GC objects when it loads it.

use std::fmt;
use std::rc::Rc;

use crate::opcode::OpCode;

/// A value in a chunk's constant table.
#[derive(Clone, Debug, PartialEq)]
pub enum Constant {
    /// A number literal.
    Number(f64),
    /// A string: a string literal's contents (without the quotes), or the
    /// name of a variable, property, method or class.
    String(Rc<str>),
    /// A function compiled inside this chunk's function, the operand of
    /// [`OpCode::Closure`].
    Function(Rc<FunctionProto>),
}

impl fmt::Display for Constant {
    /// Prints the constant as clox's `printValue` would.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Constant::Number(n) => write_number(f, *n),
            Constant::String(s) => f.write_str(s),
            Constant::Function(function) => fmt::Display::fmt(function, f),
        }
    }
}

/// A sequence of bytecode with its line table and constant table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Chunk {
    /// The instructions: opcodes (see [`OpCode`]) and their operands.
    pub code: Vec<u8>,
    /// The source line of each byte of `code` (same length as `code`).
    pub lines: Vec<u32>,
    /// The constants referred to by one-byte operands of `code`.
    pub constants: Vec<Constant>,
}

impl Chunk {
    /// An empty chunk.
    pub fn new() -> Self {
        Chunk::default()
    }

    /// Appends one byte of code from source line `line`.
    #[inline]
    pub fn write(&mut self, byte: u8, line: u32) {
        self.code.push(byte);
        self.lines.push(line);
    }

    /// Appends an opcode from source line `line`.
    #[inline]
    pub fn write_op(&mut self, op: OpCode, line: u32) {
        self.write(op as u8, line);
    }

    /// Appends a constant to the constant table and returns its index
    /// (which may not fit in an operand byte; the compiler checks).
    pub fn add_constant(&mut self, constant: Constant) -> usize {
        self.constants.push(constant);
        self.constants.len() - 1
    }

    /// The source line of the byte at `offset` (0 if out of range).
    #[inline]
    pub fn line_at(&self, offset: usize) -> u32 {
        self.lines.get(offset).copied().unwrap_or(0)
    }
}

/// What kind of function a [`FunctionProto`] is, which decides what slot 0
/// holds and what an implicit `return` returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FunctionKind {
    /// The top-level script.
    Script,
    /// A function declared with `fun`.
    Function,
    /// A method other than `init`; slot 0 holds `this`.
    Method,
    /// An `init` method; slot 0 holds `this`, which it returns.
    Initializer,
}

/// A compiled function: its bytecode and what the VM needs to make closures
/// of it.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionProto {
    /// The function's name (`None` for the top-level script).
    pub name: Option<Rc<str>>,
    /// The number of parameters.
    pub arity: u8,
    /// The number of upvalues its closures capture: the number of
    /// `is_local index` byte pairs following the [`OpCode::Closure`] that
    /// creates them. At most 256, hence wider than a byte.
    pub upvalue_count: usize,
    /// What kind of function this is.
    pub kind: FunctionKind,
    /// The function's code.
    pub chunk: Chunk,
}

impl fmt::Display for FunctionProto {
    /// `<fn name>`, or `<script>` for the top-level script, as clox prints
    /// functions.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "<fn {name}>"),
            None => f.write_str("<script>"),
        }
    }
}

/// Formats a number as clox prints it: C's `printf("%g", value)`.
///
/// ```
/// use tricolor_lox::chunk::format_number;
/// assert_eq!(format_number(3.0), "3");
/// assert_eq!(format_number(0.1 + 0.2), "0.3");
/// assert_eq!(format_number(1e21), "1e+21");
/// assert_eq!(format_number(-0.0), "-0");
/// ```
pub fn format_number(value: f64) -> String {
    struct Number(f64);
    impl fmt::Display for Number {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write_number(f, self.0)
        }
    }
    Number(value).to_string()
}

/// Writes a number as C's `printf("%g", value)` (six significant digits,
/// trailing zeros removed, exponent form outside `1e-4 ..= 1e6`), the way
/// glibc prints it (including `-nan` for a NaN with its sign bit set).
pub fn write_number(out: &mut impl fmt::Write, value: f64) -> fmt::Result {
    const PRECISION: i32 = 6;
    if value.is_nan() {
        return out.write_str(if value.is_sign_negative() {
            "-nan"
        } else {
            "nan"
        });
    }
    if value.is_infinite() {
        return out.write_str(if value < 0.0 { "-inf" } else { "inf" });
    }
    if value == 0.0 {
        return out.write_str(if value.is_sign_negative() { "-0" } else { "0" });
    }
    // The exponent after rounding to PRECISION significant digits decides
    // between the fixed and the exponent notation.
    let scientific = format!("{:.*e}", (PRECISION - 1) as usize, value);
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("`{:e}` output has an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` exponent is an integer");
    if (-4..PRECISION).contains(&exponent) {
        let fixed = format!("{:.*}", (PRECISION - 1 - exponent) as usize, value);
        out.write_str(strip_fraction_zeros(&fixed))
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        write!(
            out,
            "{}e{}{:02}",
            strip_fraction_zeros(mantissa),
            sign,
            exponent.unsigned_abs()
        )
    }
}

/// Removes trailing zeros after a decimal point, and then the point itself.
fn strip_fraction_zeros(digits: &str) -> &str {
    if digits.contains('.') {
        digits.trim_end_matches('0').trim_end_matches('.')
    } else {
        digits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_like_printf_g() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-3.0, "-3"),
            (123.456, "123.456"),
            (123456.0, "123456"),
            (1234567.0, "1.23457e+06"),
            (999999.4, "999999"),
            (999999.5, "1e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.000123456789, "0.000123457"),
            (1.0 / 3.0, "0.333333"),
            (2.5, "2.5"),
            (1e100, "1e+100"),
            (-1.5e-300, "-1.5e-300"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (-f64::NAN, "-nan"),
        ];
        for &(value, expected) in cases {
            assert_eq!(format_number(value), expected, "formatting {value:?}");
        }
    }

    #[test]
    fn constants_display_like_clox() {
        assert_eq!(Constant::Number(7.0).to_string(), "7");
        assert_eq!(Constant::String("hi there".into()).to_string(), "hi there");
        let mut function = FunctionProto {
            name: Some("f".into()),
            arity: 0,
            upvalue_count: 0,
            kind: FunctionKind::Function,
            chunk: Chunk::new(),
        };
        assert_eq!(
            Constant::Function(Rc::new(function.clone())).to_string(),
            "<fn f>"
        );
        function.name = None;
        assert_eq!(function.to_string(), "<script>");
    }

    #[test]
    fn chunk_records_lines() {
        let mut chunk = Chunk::new();
        chunk.write_op(OpCode::Nil, 1);
        chunk.write_op(OpCode::Return, 2);
        assert_eq!(chunk.code, [OpCode::Nil as u8, OpCode::Return as u8]);
        assert_eq!(
            (chunk.line_at(0), chunk.line_at(1), chunk.line_at(2)),
            (1, 2, 0)
        );
        assert_eq!(chunk.add_constant(Constant::Number(1.0)), 0);
        assert_eq!(chunk.add_constant(Constant::Number(1.0)), 1);
    }
}
