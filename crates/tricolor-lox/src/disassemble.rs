//! A disassembler printing chunks in the format of clox's `debug.c`.

use std::fmt::Write;

use crate::chunk::{Chunk, Constant, FunctionProto};
use crate::opcode::OpCode;

/// Disassembles `chunk` under the heading `== name ==`, one instruction
/// per line, as clox's `disassembleChunk` prints it.
///
/// Functions among the chunk's constants are disassembled too, each before
/// the chunk that contains it (the order in which clox, built with
/// `DEBUG_PRINT_CODE`, prints functions as it finishes compiling them).
///
/// ```
/// let script = tricolor_lox::compile("print 1;").unwrap();
/// let text = tricolor_lox::disassemble::disassemble_chunk(&script.chunk, "<script>");
/// assert_eq!(
///     text,
///     "== <script> ==\n\
///      0000    1 OP_CONSTANT         0 '1'\n\
///      0002    | OP_PRINT\n\
///      0003    | OP_NIL\n\
///      0004    | OP_RETURN\n"
/// );
/// ```
pub fn disassemble_chunk(chunk: &Chunk, name: &str) -> String {
    let mut out = String::new();
    write_chunk(&mut out, chunk, name);
    out
}

/// Disassembles a function and, first, the functions nested in it; the
/// heading is the function's name, or `<script>` for the script.
pub fn disassemble_function(function: &FunctionProto) -> String {
    let name = function.name.as_deref().unwrap_or("<script>");
    disassemble_chunk(&function.chunk, name)
}

fn write_chunk(out: &mut String, chunk: &Chunk, name: &str) {
    for constant in &chunk.constants {
        if let Constant::Function(function) = constant {
            let name = function.name.as_deref().unwrap_or("<script>");
            write_chunk(out, &function.chunk, name);
        }
    }
    out.push_str("== ");
    out.push_str(name);
    out.push_str(" ==\n");
    let mut offset = 0;
    while offset < chunk.code.len() {
        offset = disassemble_instruction(out, chunk, offset);
    }
}

/// Appends the disassembly of the instruction at `offset` to `out` (one
/// line, or more for [`OpCode::Closure`]) and returns the offset of the
/// next instruction. Operands past the end of the code read as 0.
pub fn disassemble_instruction(out: &mut String, chunk: &Chunk, offset: usize) -> usize {
    let _ = write!(out, "{offset:04} ");
    let line = chunk.line_at(offset);
    if offset > 0 && line == chunk.line_at(offset - 1) {
        out.push_str("   | ");
    } else {
        let _ = write!(out, "{line:4} ");
    }
    let byte = |at: usize| chunk.code.get(at).copied().unwrap_or(0);
    let instruction = byte(offset);
    let Ok(op) = OpCode::try_from(instruction) else {
        let _ = writeln!(out, "Unknown opcode {instruction}");
        return offset + 1;
    };
    let name = op.name();
    match op {
        OpCode::Constant
        | OpCode::GetGlobal
        | OpCode::DefineGlobal
        | OpCode::SetGlobal
        | OpCode::GetProperty
        | OpCode::SetProperty
        | OpCode::GetSuper
        | OpCode::Class
        | OpCode::Method => {
            let constant = byte(offset + 1);
            let _ = write!(out, "{name:<16} {constant:4} '");
            write_constant(out, chunk, constant);
            out.push_str("'\n");
            offset + 2
        }
        OpCode::GetLocal
        | OpCode::SetLocal
        | OpCode::GetUpvalue
        | OpCode::SetUpvalue
        | OpCode::Call => {
            let slot = byte(offset + 1);
            let _ = writeln!(out, "{name:<16} {slot:4}");
            offset + 2
        }
        OpCode::Jump | OpCode::JumpIfFalse | OpCode::Loop => {
            let jump = usize::from(u16::from_be_bytes([byte(offset + 1), byte(offset + 2)]));
            let _ = if op == OpCode::Loop {
                writeln!(
                    out,
                    "{name:<16} {offset:4} -> {}",
                    (offset + 3) as isize - jump as isize
                )
            } else {
                writeln!(out, "{name:<16} {offset:4} -> {}", offset + 3 + jump)
            };
            offset + 3
        }
        OpCode::Invoke | OpCode::SuperInvoke => {
            let constant = byte(offset + 1);
            let arg_count = byte(offset + 2);
            let _ = write!(out, "{name:<16} ({arg_count} args) {constant:4} '");
            write_constant(out, chunk, constant);
            out.push_str("'\n");
            offset + 3
        }
        OpCode::Closure => {
            let mut offset = offset + 1;
            let constant = byte(offset);
            offset += 1;
            let _ = write!(out, "{name:<16} {constant:4} ");
            write_constant(out, chunk, constant);
            out.push('\n');
            let upvalue_count = match chunk.constants.get(usize::from(constant)) {
                Some(Constant::Function(function)) => function.upvalue_count,
                _ => 0,
            };
            for _ in 0..upvalue_count {
                let is_local = byte(offset);
                let index = byte(offset + 1);
                let kind = if is_local != 0 { "local" } else { "upvalue" };
                let _ = writeln!(out, "{offset:04}      |                     {kind} {index}");
                offset += 2;
            }
            offset
        }
        OpCode::Nil
        | OpCode::True
        | OpCode::False
        | OpCode::Pop
        | OpCode::Equal
        | OpCode::Greater
        | OpCode::Less
        | OpCode::Add
        | OpCode::Subtract
        | OpCode::Multiply
        | OpCode::Divide
        | OpCode::Not
        | OpCode::Negate
        | OpCode::Print
        | OpCode::CloseUpvalue
        | OpCode::Return
        | OpCode::Inherit => {
            out.push_str(name);
            out.push('\n');
            offset + 1
        }
    }
}

fn write_constant(out: &mut String, chunk: &Chunk, index: u8) {
    match chunk.constants.get(usize::from(index)) {
        Some(constant) => {
            let _ = write!(out, "{constant}");
        }
        None => out.push_str("<bad constant>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile;

    #[test]
    fn closures_and_jumps() {
        let script = compile(
            "fun outer() {\n  var x = 1;\n  fun inner() { return x; }\n  return inner;\n}\n\
             while (false) print 1;\n",
        )
        .unwrap();
        let text = disassemble_function(&script);
        let expected = "\
== inner ==
0000    3 OP_GET_UPVALUE      0
0002    | OP_RETURN
0003    | OP_NIL
0004    | OP_RETURN
== outer ==
0000    2 OP_CONSTANT         0 '1'
0002    3 OP_CLOSURE          1 <fn inner>
0004      |                     local 1
0006    4 OP_GET_LOCAL        2
0008    | OP_RETURN
0009    5 OP_NIL
0010    | OP_RETURN
== <script> ==
0000    5 OP_CLOSURE          1 <fn outer>
0002    | OP_DEFINE_GLOBAL    0 'outer'
0004    6 OP_FALSE
0005    | OP_JUMP_IF_FALSE    5 -> 15
0008    | OP_POP
0009    | OP_CONSTANT         2 '1'
0011    | OP_PRINT
0012    | OP_LOOP            12 -> 4
0015    | OP_POP
0016    7 OP_NIL
0017    | OP_RETURN
";
        assert_eq!(text, expected);
    }

    #[test]
    fn invoke_and_unknown_opcodes() {
        let script = compile("a.b(1, 2);").unwrap();
        let text = disassemble_function(&script);
        assert!(
            text.contains("OP_INVOKE        (2 args)    1 'b'\n"),
            "{text}"
        );
        let chunk = Chunk {
            code: vec![200],
            lines: vec![1],
            constants: vec![],
        };
        assert_eq!(
            disassemble_chunk(&chunk, "x"),
            "== x ==\n0000    1 Unknown opcode 200\n"
        );
    }
}
