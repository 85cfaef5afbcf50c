//! Load-time decoding of clox bytecode into [`Op`]s, the form the VM runs.
//!
//! The compiler emits clox's byte stream exactly (see [`crate::opcode`]). When
//! the VM loads a function it decodes that stream once into a vector of
//! fixed-size [`Op`]s — one per instruction, operands included — so that the
//! interpreter loop reads one element per instruction instead of one byte per
//! opcode and operand:
//!
//! * jump offsets become absolute op indices;
//! * `OP_CLOSURE`'s trailing `is_local index` pairs move to the function being
//!   closed over ([`Decoded::captures`] of the *inner* function);
//! * `OP_GET_GLOBAL`/`OP_DEFINE_GLOBAL`/`OP_SET_GLOBAL` name a global *slot*
//!   (resolved by the VM when it loads the function) instead of a constant;
//! * property accesses and invocations get an inline-cache index.
//!
//! Nothing else changes: the ops are the instructions of the bytecode, one for
//! one, with the same stack effects and the same source lines. Then [`fuse`]
//! merges frequent pairs into single ops (superinstructions), which the VM
//! runs instead.

use crate::chunk::{Constant, FunctionProto};
use crate::opcode::OpCode;

/// Marks an op that has no inline cache (more than `u16::MAX` cached sites in
/// one function).
pub const NO_CACHE: u16 = u16::MAX;

/// One decoded instruction. Eight bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `OP_CONSTANT`: the constant index.
    Constant(u8),
    /// `OP_NIL`.
    Nil,
    /// `OP_TRUE`.
    True,
    /// `OP_FALSE`.
    False,
    /// `OP_POP`.
    Pop,
    /// `OP_GET_LOCAL`: the frame slot.
    GetLocal(u8),
    /// `OP_SET_LOCAL`: the frame slot.
    SetLocal(u8),
    /// `OP_GET_GLOBAL`: the global slot.
    GetGlobal(u32),
    /// `OP_DEFINE_GLOBAL`: the global slot.
    DefineGlobal(u32),
    /// `OP_SET_GLOBAL`: the global slot.
    SetGlobal(u32),
    /// `OP_GET_UPVALUE`: the closure's upvalue index.
    GetUpvalue(u8),
    /// `OP_SET_UPVALUE`: the closure's upvalue index.
    SetUpvalue(u8),
    /// `OP_GET_PROPERTY`.
    GetProperty {
        /// The name's constant index.
        name: u8,
        /// The inline cache.
        cache: u16,
    },
    /// `OP_SET_PROPERTY`.
    SetProperty {
        /// The name's constant index.
        name: u8,
        /// The inline cache.
        cache: u16,
    },
    /// `OP_GET_SUPER`: the name's constant index.
    GetSuper(u8),
    /// `OP_GET_LOCAL slot` then `OP_GET_PROPERTY` (fused, see [`fuse`]).
    LocalProperty {
        /// The frame slot.
        slot: u8,
        /// The name's constant index.
        name: u8,
        /// The inline cache.
        cache: u16,
    },
    /// `OP_SET_LOCAL slot` then `OP_POP` (fused, see [`fuse`]).
    SetLocalPop(u8),
    /// `OP_CONSTANT c` then `OP_ADD` (fused): the constant's index.
    AddConstant(u8),
    /// `OP_CONSTANT c` then `OP_SUBTRACT` (fused).
    SubtractConstant(u8),
    /// `OP_CONSTANT c` then `OP_LESS` (fused).
    LessConstant(u8),
    /// `OP_CONSTANT c` then `OP_GREATER` (fused).
    GreaterConstant(u8),
    /// `OP_CONSTANT c` then `OP_EQUAL` (fused).
    EqualConstant(u8),
    /// `OP_SET_PROPERTY` then `OP_POP` (fused).
    SetPropertyPop {
        /// The name's constant index.
        name: u8,
        /// The inline cache.
        cache: u16,
    },
    /// `OP_GET_LOCAL slot` then `OP_RETURN` (fused; `return this;`, the end of
    /// an initializer).
    ReturnLocal(u8),
    /// `OP_NIL` then `OP_RETURN` (fused; the end of a function).
    ReturnNil,
    /// `OP_JUMP_IF_FALSE` then `OP_POP` (fused): jump to the target (leaving
    /// the condition for the `POP` there) if the condition is falsey, else
    /// pop it.
    JumpIfFalsePop(u32),
    /// `OP_EQUAL`.
    Equal,
    /// `OP_GREATER`.
    Greater,
    /// `OP_LESS`.
    Less,
    /// `OP_ADD`.
    Add,
    /// `OP_SUBTRACT`.
    Subtract,
    /// `OP_MULTIPLY`.
    Multiply,
    /// `OP_DIVIDE`.
    Divide,
    /// `OP_NOT`.
    Not,
    /// `OP_NEGATE`.
    Negate,
    /// `OP_PRINT`.
    Print,
    /// `OP_JUMP`: the target op.
    Jump(u32),
    /// `OP_JUMP_IF_FALSE`: the target op.
    JumpIfFalse(u32),
    /// `OP_LOOP`: the target op.
    Loop(u32),
    /// `OP_CALL`: the argument count.
    Call(u8),
    /// `OP_INVOKE`.
    Invoke {
        /// The method name's constant index.
        name: u8,
        /// The argument count.
        argc: u8,
        /// The inline cache.
        cache: u16,
    },
    /// `OP_SUPER_INVOKE`.
    SuperInvoke {
        /// The method name's constant index.
        name: u8,
        /// The argument count.
        argc: u8,
    },
    /// `OP_CLOSURE`: the function's constant index (its captures are in the
    /// function itself).
    Closure(u8),
    /// `OP_CLOSE_UPVALUE`.
    CloseUpvalue,
    /// `OP_RETURN`.
    Return,
    /// `OP_CLASS`: the name's constant index.
    Class(u8),
    /// `OP_INHERIT`.
    Inherit,
    /// `OP_METHOD`: the name's constant index.
    Method(u8),
}

/// What a closure captures, per upvalue: a local slot of the enclosing frame
/// or one of the enclosing closure's upvalues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capture {
    /// Whether `index` is a local slot (else an upvalue index).
    pub is_local: bool,
    /// The slot or upvalue index.
    pub index: u8,
}

/// A decoded function body.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decoded {
    /// The ops.
    pub ops: Vec<Op>,
    /// The source line of each op.
    pub lines: Vec<u32>,
    /// The number of inline caches the ops use.
    pub caches: usize,
    /// For each function constant (by constant index), the captures that
    /// follow its `OP_CLOSURE`.
    pub captures: Vec<(usize, Vec<Capture>)>,
    /// Global names used, by constant index, in order of first use; the ops
    /// carry the constant index in their global slot operand until the VM
    /// resolves it with [`Decoded::resolve_globals`].
    pub globals: Vec<u8>,
}

impl Decoded {
    /// Replaces the constant index in every global op with `slot(index)`.
    pub fn resolve_globals(&mut self, mut slot: impl FnMut(u8) -> u32) {
        for op in &mut self.ops {
            match op {
                Op::GetGlobal(g) | Op::DefineGlobal(g) | Op::SetGlobal(g) => {
                    *g = slot(*g as u8);
                }
                _ => {}
            }
        }
    }
}

/// Decodes `proto`'s bytecode.
///
/// # Panics
///
/// If the bytecode is malformed (a truncated instruction, an unknown opcode,
/// a jump into the middle of an instruction): the compiler never emits such
/// code.
pub fn decode(proto: &FunctionProto) -> Decoded {
    let code = &proto.chunk.code;
    let byte = |at: usize| -> u8 {
        *code
            .get(at)
            .unwrap_or_else(|| panic!("truncated instruction at byte {at}"))
    };
    let short = |at: usize| usize::from(byte(at)) << 8 | usize::from(byte(at + 1));
    let mut out = Decoded::default();
    // Op index of each instruction's first byte (`u32::MAX` inside operands).
    let mut index_of = vec![u32::MAX; code.len() + 1];
    // (op index, target byte offset) of every jump, patched at the end.
    let mut jumps = Vec::new();
    let next_cache = |out: &mut Decoded| {
        let c = out.caches;
        if c < usize::from(NO_CACHE) {
            out.caches += 1;
            c as u16
        } else {
            NO_CACHE
        }
    };
    let mut at = 0;
    while at < code.len() {
        let index = out.ops.len();
        index_of[at] = index as u32;
        let opcode = OpCode::try_from(code[at])
            .unwrap_or_else(|e| panic!("malformed bytecode at byte {at}: {e}"));
        let a = || byte(at + 1);
        let global = |out: &mut Decoded, g: u8| {
            if !out.globals.contains(&g) {
                out.globals.push(g);
            }
            u32::from(g)
        };
        let (op, len) = match opcode {
            OpCode::Constant => (Op::Constant(a()), 2),
            OpCode::Nil => (Op::Nil, 1),
            OpCode::True => (Op::True, 1),
            OpCode::False => (Op::False, 1),
            OpCode::Pop => (Op::Pop, 1),
            OpCode::GetLocal => (Op::GetLocal(a()), 2),
            OpCode::SetLocal => (Op::SetLocal(a()), 2),
            OpCode::GetGlobal => (Op::GetGlobal(global(&mut out, a())), 2),
            OpCode::DefineGlobal => (Op::DefineGlobal(global(&mut out, a())), 2),
            OpCode::SetGlobal => (Op::SetGlobal(global(&mut out, a())), 2),
            OpCode::GetUpvalue => (Op::GetUpvalue(a()), 2),
            OpCode::SetUpvalue => (Op::SetUpvalue(a()), 2),
            OpCode::GetProperty => (
                Op::GetProperty {
                    name: a(),
                    cache: next_cache(&mut out),
                },
                2,
            ),
            OpCode::SetProperty => (
                Op::SetProperty {
                    name: a(),
                    cache: next_cache(&mut out),
                },
                2,
            ),
            OpCode::GetSuper => (Op::GetSuper(a()), 2),
            OpCode::Equal => (Op::Equal, 1),
            OpCode::Greater => (Op::Greater, 1),
            OpCode::Less => (Op::Less, 1),
            OpCode::Add => (Op::Add, 1),
            OpCode::Subtract => (Op::Subtract, 1),
            OpCode::Multiply => (Op::Multiply, 1),
            OpCode::Divide => (Op::Divide, 1),
            OpCode::Not => (Op::Not, 1),
            OpCode::Negate => (Op::Negate, 1),
            OpCode::Print => (Op::Print, 1),
            OpCode::Jump => {
                jumps.push((index, at + 3 + short(at + 1)));
                (Op::Jump(0), 3)
            }
            OpCode::JumpIfFalse => {
                jumps.push((index, at + 3 + short(at + 1)));
                (Op::JumpIfFalse(0), 3)
            }
            OpCode::Loop => {
                let target = (at + 3)
                    .checked_sub(short(at + 1))
                    .unwrap_or_else(|| panic!("loop before the start of the code at byte {at}"));
                jumps.push((index, target));
                (Op::Loop(0), 3)
            }
            OpCode::Call => (Op::Call(a()), 2),
            OpCode::Invoke => (
                Op::Invoke {
                    name: a(),
                    argc: byte(at + 2),
                    cache: next_cache(&mut out),
                },
                3,
            ),
            OpCode::SuperInvoke => (
                Op::SuperInvoke {
                    name: a(),
                    argc: byte(at + 2),
                },
                3,
            ),
            OpCode::Closure => {
                let constant = usize::from(a());
                let count = match proto.chunk.constants.get(constant) {
                    Some(Constant::Function(f)) => f.upvalue_count,
                    _ => panic!("OP_CLOSURE at byte {at} names no function constant"),
                };
                let captures = (0..count)
                    .map(|i| Capture {
                        is_local: byte(at + 2 + 2 * i) != 0,
                        index: byte(at + 3 + 2 * i),
                    })
                    .collect();
                out.captures.push((constant, captures));
                (Op::Closure(a()), 2 + 2 * count)
            }
            OpCode::CloseUpvalue => (Op::CloseUpvalue, 1),
            OpCode::Return => (Op::Return, 1),
            OpCode::Class => (Op::Class(a()), 2),
            OpCode::Inherit => (Op::Inherit, 1),
            OpCode::Method => (Op::Method(a()), 2),
        };
        // Check the operands are all there.
        byte(at + len - 1);
        out.ops.push(op);
        out.lines.push(proto.chunk.line_at(at));
        at += len;
    }
    index_of[code.len()] = out.ops.len() as u32;
    for (index, target) in jumps {
        let to = index_of
            .get(target)
            .copied()
            .filter(|&i| i != u32::MAX)
            .unwrap_or_else(|| panic!("jump to byte {target}, not an instruction"));
        match &mut out.ops[index] {
            Op::Jump(t) | Op::JumpIfFalse(t) | Op::Loop(t) => *t = to,
            _ => unreachable!("patching a non-jump"),
        }
    }
    out
}

/// Fuses frequent instruction pairs into one op (*superinstructions*), so
/// that they cost one dispatch:
///
/// * `GET_LOCAL` + `GET_PROPERTY` (`this.field`, `point.x`):
///   [`Op::LocalProperty`];
/// * `SET_LOCAL` + `POP` (an assignment statement): [`Op::SetLocalPop`];
/// * `CONSTANT` + `ADD`/`SUBTRACT`/`LESS`/`GREATER`/`EQUAL` (`i + 1`,
///   `n < 2`, `x == nil`): [`Op::AddConstant`] and friends;
/// * `JUMP_IF_FALSE` + `POP` (every `if` and loop condition):
///   [`Op::JumpIfFalsePop`];
/// * `SET_PROPERTY` + `POP` (a field assignment statement):
///   [`Op::SetPropertyPop`];
/// * `GET_LOCAL` + `RETURN` and `NIL` + `RETURN` (`return x;`, the end of
///   an initializer or a function): [`Op::ReturnLocal`], [`Op::ReturnNil`].
///
/// A pair is fused only if no jump lands on its second op; jump targets are
/// renumbered. A fused op has the line of the part that can fail. The stack
/// effects add up, and a fused op never needs more room than its pair, so
/// [`max_slots`] of the unfused ops is an upper bound for the fused ones.
pub fn fuse(d: &mut Decoded) {
    let n = d.ops.len();
    let mut target = vec![false; n + 1];
    for op in &d.ops {
        if let Op::Jump(t) | Op::JumpIfFalse(t) | Op::Loop(t) = op {
            target[*t as usize] = true;
        }
    }
    let mut new_index = vec![0u32; n + 1];
    let mut ops = Vec::with_capacity(n);
    let mut lines = Vec::with_capacity(n);
    let mut i = 0;
    while i < n {
        new_index[i] = ops.len() as u32;
        let next = d.ops.get(i + 1).copied().filter(|_| !target[i + 1]);
        let fused = match (d.ops[i], next) {
            (Op::GetLocal(slot), Some(Op::GetProperty { name, cache })) => {
                Some((Op::LocalProperty { slot, name, cache }, d.lines[i + 1]))
            }
            (Op::SetLocal(slot), Some(Op::Pop)) => Some((Op::SetLocalPop(slot), d.lines[i])),
            (Op::Constant(c), Some(second)) => {
                let op = match second {
                    Op::Add => Some(Op::AddConstant(c)),
                    Op::Subtract => Some(Op::SubtractConstant(c)),
                    Op::Less => Some(Op::LessConstant(c)),
                    Op::Greater => Some(Op::GreaterConstant(c)),
                    Op::Equal => Some(Op::EqualConstant(c)),
                    _ => None,
                };
                op.map(|op| (op, d.lines[i + 1]))
            }
            (Op::JumpIfFalse(to), Some(Op::Pop)) => Some((Op::JumpIfFalsePop(to), d.lines[i])),
            (Op::SetProperty { name, cache }, Some(Op::Pop)) => {
                Some((Op::SetPropertyPop { name, cache }, d.lines[i]))
            }
            (Op::GetLocal(slot), Some(Op::Return)) => Some((Op::ReturnLocal(slot), d.lines[i + 1])),
            (Op::Nil, Some(Op::Return)) => Some((Op::ReturnNil, d.lines[i + 1])),
            _ => None,
        };
        match fused {
            Some((op, line)) => {
                ops.push(op);
                lines.push(line);
                new_index[i + 1] = new_index[i];
                i += 2;
            }
            None => {
                ops.push(d.ops[i]);
                lines.push(d.lines[i]);
                i += 1;
            }
        }
    }
    new_index[n] = ops.len() as u32;
    for op in &mut ops {
        if let Op::Jump(t) | Op::JumpIfFalse(t) | Op::JumpIfFalsePop(t) | Op::Loop(t) = op {
            *t = new_index[*t as usize];
        }
    }
    d.ops = ops;
    d.lines = lines;
}

/// The most stack slots a frame of a function with these ops uses: slot 0 and
/// the `arity` parameters, plus the deepest its locals and temporaries go on
/// any path through the ops (every op's stack effect is fixed, and a jump
/// keeps the depth).
pub fn max_slots(ops: &[Op], arity: u8) -> usize {
    let start = 1 + usize::from(arity);
    let mut seen = vec![false; ops.len()];
    let mut work = vec![(0usize, start)];
    let mut max = start;
    while let Some((mut ip, mut depth)) = work.pop() {
        while ip < ops.len() && !seen[ip] {
            seen[ip] = true;
            let effect: isize = match ops[ip] {
                Op::Constant(_)
                | Op::Nil
                | Op::True
                | Op::False
                | Op::GetLocal(_)
                | Op::GetGlobal(_)
                | Op::GetUpvalue(_)
                | Op::Closure(_)
                | Op::Class(_)
                | Op::LocalProperty { .. } => 1,
                Op::Pop
                | Op::DefineGlobal(_)
                | Op::SetProperty { .. }
                | Op::GetSuper(_)
                | Op::Equal
                | Op::Greater
                | Op::Less
                | Op::Add
                | Op::Subtract
                | Op::Multiply
                | Op::Divide
                | Op::Print
                | Op::CloseUpvalue
                | Op::Inherit
                | Op::Method(_)
                | Op::SetLocalPop(_) => -1,
                Op::SetPropertyPop { .. } => -2,
                Op::SetLocal(_)
                | Op::SetGlobal(_)
                | Op::SetUpvalue(_)
                | Op::GetProperty { .. }
                | Op::Not
                | Op::Negate
                | Op::AddConstant(_)
                | Op::SubtractConstant(_)
                | Op::LessConstant(_)
                | Op::GreaterConstant(_)
                | Op::EqualConstant(_) => 0,
                Op::Call(argc) | Op::Invoke { argc, .. } => -isize::from(argc),
                Op::SuperInvoke { argc, .. } => -isize::from(argc) - 1,
                Op::Jump(to) => {
                    ip = to as usize;
                    continue;
                }
                Op::JumpIfFalse(to) => {
                    work.push((to as usize, depth));
                    ip += 1;
                    continue;
                }
                Op::JumpIfFalsePop(to) => {
                    work.push((to as usize, depth));
                    -1
                }
                Op::Loop(to) => {
                    ip = to as usize;
                    continue;
                }
                Op::Return | Op::ReturnLocal(_) | Op::ReturnNil => break,
            };
            depth = depth.saturating_add_signed(effect);
            max = max.max(depth);
            ip += 1;
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile;

    #[test]
    fn ops_are_eight_bytes() {
        assert_eq!(core::mem::size_of::<Op>(), 8);
    }

    #[test]
    fn decodes_jumps_to_op_indices() {
        let script = compile("var i = 0; while (i < 3) { i = i + 1; } print i;").unwrap();
        let d = decode(&script);
        assert_eq!(d.ops.len(), d.lines.len());
        let loops: Vec<_> = d
            .ops
            .iter()
            .filter_map(|op| match op {
                Op::Loop(to) => Some(*to),
                _ => None,
            })
            .collect();
        assert_eq!(loops.len(), 1);
        // The loop goes back to the condition's first op, `GET_GLOBAL i`.
        assert!(matches!(d.ops[loops[0] as usize], Op::GetGlobal(_)));
        let exit = d
            .ops
            .iter()
            .find_map(|op| match op {
                Op::JumpIfFalse(to) => Some(*to as usize),
                _ => None,
            })
            .unwrap();
        // The exit lands on the `POP` of the condition, followed by `print i`.
        assert_eq!(d.ops[exit], Op::Pop);
        assert!(matches!(d.ops[exit + 1], Op::GetGlobal(_)));
        // clox adds a constant per use of a name: five uses of `i`.
        assert_eq!(d.globals.len(), 5);
    }

    #[test]
    fn moves_captures_to_the_closure_op() {
        let script = compile("fun f() { var a = 1; fun g() { return a; } return g; }").unwrap();
        let Constant::Function(f) = &script.chunk.constants[1] else {
            panic!("expected f");
        };
        let d = decode(f);
        assert_eq!(
            d.captures,
            vec![(
                1,
                vec![Capture {
                    is_local: true,
                    index: 1
                }]
            )]
        );
        assert!(d.ops.contains(&Op::Closure(1)));
    }

    /// The function called `name` compiled somewhere inside `proto`.
    fn find<'a>(proto: &'a FunctionProto, name: &str) -> Option<&'a FunctionProto> {
        proto.chunk.constants.iter().find_map(|c| match c {
            Constant::Function(f) if f.name.as_deref() == Some(name) => Some(&**f),
            Constant::Function(f) => find(f, name),
            _ => None,
        })
    }

    #[test]
    fn fuses_pairs_but_not_across_jump_targets() {
        let script = compile(
            "class P { init() { this.x = 1; } get() { return this.x; } }\n\
             fun f(p) { var i = 0; i = i + 1; var y = p.get(); while (i < 3) i = i + 1; return y; }",
        )
        .unwrap();
        let f = find(&script, "f").unwrap();
        let mut d = decode(f);
        let before = d.clone();
        let slots = max_slots(&d.ops, f.arity);
        fuse(&mut d);
        assert!(d.ops.len() < before.ops.len());
        assert_eq!(d.ops.len(), d.lines.len());
        assert!(d.ops.iter().any(|op| matches!(op, Op::SetLocalPop(_))));
        // A fused op needs no more room than its pair.
        assert!(max_slots(&d.ops, f.arity) <= slots);
        // The loop still goes back to its condition, `GET_LOCAL i` (a jump
        // target, so not fused with what follows it).
        let back = d
            .ops
            .iter()
            .find_map(|op| match op {
                Op::Loop(to) => Some(*to as usize),
                _ => None,
            })
            .unwrap();
        assert!(matches!(d.ops[back], Op::GetLocal(_)));
        // `this.x` in `get` becomes one op.
        let get = find(&script, "get").unwrap();
        let mut d = decode(get);
        fuse(&mut d);
        assert!(matches!(d.ops[0], Op::LocalProperty { slot: 0, .. }));
        assert_eq!(d.ops[1], Op::Return);
    }

    #[test]
    fn max_slots_counts_temporaries() {
        let script = compile("fun f(a, b) { return a + b * (a - b); }").unwrap();
        let Constant::Function(f) = &script.chunk.constants[1] else {
            panic!("expected f");
        };
        let d = decode(f);
        // slot 0, a, b, then a, b, a, b on top.
        assert_eq!(max_slots(&d.ops, f.arity), 7);
        let d = decode(&script);
        assert_eq!(max_slots(&d.ops, 0), 2);
    }

    #[test]
    fn every_suite_program_decodes() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/suite/test");
        let mut stack = vec![dir];
        let mut count = 0;
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "lox") {
                    let source = std::fs::read_to_string(&path).unwrap_or_default();
                    if let Ok(script) = compile(&source) {
                        check_all(&script);
                        count += 1;
                    }
                }
            }
        }
        // The vendored suite is present in the repository.
        assert!(count > 150, "decoded only {count} suite programs");
    }

    fn check_all(proto: &FunctionProto) {
        let d = decode(proto);
        assert!(max_slots(&d.ops, proto.arity) <= 1 + 255 + 256 * 2);
        for c in &proto.chunk.constants {
            if let Constant::Function(f) = c {
                check_all(f);
            }
        }
    }
}
