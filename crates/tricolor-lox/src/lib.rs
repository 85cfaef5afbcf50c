//! `tricolor-lox`: a bytecode interpreter for Lox, the language of the book
//! *Crafting Interpreters*, in the flavour of the book's C interpreter
//! (clox), built to run on the tricolor garbage collector.
//!
//! This crate holds the front end, which reproduces clox exactly — the same
//! tokens, the same single-pass Pratt compiler, the same bytecode (the
//! instruction set of clox's final chapter), the same compile errors and
//! limits:
//!
//! * [`scanner`] — [`Token`](scanner::Token)s from source text;
//! * [`compiler`] — [`compile`]: source text to a [`FunctionProto`];
//! * [`opcode`] — the instruction set, [`OpCode`];
//! * [`chunk`] — compiled code as plain Rust data ([`Chunk`],
//!   [`Constant`], [`FunctionProto`]); no garbage-collected objects, the VM
//!   converts a program into those when it loads it;
//! * [`disassemble`] — a disassembler printing clox's format;
//! * [`error`] — [`CompileErrors`], formatted as clox prints them;
//! * [`cli`] — the command line of the `tricolor-lox` binary, with the
//!   [`Backend`](cli::Backend) trait through which the VM plugs in.
//!
//! ```
//! use tricolor_lox::{OpCode, compile};
//!
//! let script = compile("print 1 + 2;").unwrap();
//! assert_eq!(
//!     script.chunk.code,
//!     [
//!         OpCode::Constant as u8, 0,
//!         OpCode::Constant as u8, 1,
//!         OpCode::Add as u8,
//!         OpCode::Print as u8,
//!         OpCode::Nil as u8,
//!         OpCode::Return as u8,
//!     ]
//! );
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod chunk;
pub mod cli;
pub mod code;
pub mod compiler;
pub mod disassemble;
pub mod error;
pub mod object;
pub mod opcode;
pub mod scanner;
pub mod stats;
pub mod vm;

pub use chunk::{Chunk, Constant, FunctionKind, FunctionProto};
pub use compiler::compile;
pub use error::{CompileError, CompileErrors};
pub use opcode::OpCode;
pub use vm::{Vm, VmOptions};
