//! `tricolor-lox`: a bytecode interpreter for Lox, the language of the book
//! *Crafting Interpreters*, in the flavour of the book's C interpreter
//! (clox), built to run on the tricolor garbage collector. It is tricolor's
//! interpreter-embedding client: every Lox heap value is a tricolor
//! [`Gc`](tricolor::Gc) object, reached through the public `tricolor` API
//! only, and the crate contains no `unsafe` code.
//!
//! The front end reproduces clox exactly — the same tokens, the same
//! single-pass Pratt compiler, the same bytecode (the instruction set of
//! clox's final chapter), the same compile errors and limits:
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
//! The virtual machine:
//!
//! * [`code`] — load-time decoding of the bytecode into [`Op`](code::Op)s;
//! * [`object`] — [`Value`](object::Value) and the heap objects (strings,
//!   functions, closures, upvalues, classes, shapes, instances, bound
//!   methods, natives);
//! * [`vm`] — the [`Vm`]: its state behind one root, the sliced interpreter
//!   loop, the weak intern table, inline caches;
//! * [`stats`] — the `--gc-stats` report.
//!
//! ```
//! use tricolor_lox::cli::InterpretResult;
//! use tricolor_lox::{Vm, VmOptions};
//!
//! let out = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
//! struct Sink(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
//! impl std::io::Write for Sink {
//!     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
//!         self.0.borrow_mut().extend_from_slice(b);
//!         Ok(b.len())
//!     }
//!     fn flush(&mut self) -> std::io::Result<()> {
//!         Ok(())
//!     }
//! }
//! let mut vm = Vm::with_output(
//!     VmOptions::default(),
//!     Box::new(Sink(out.clone())),
//!     Box::new(std::io::sink()),
//! )
//! .unwrap();
//! let result = vm.interpret("class A { init(n) { this.n = n; } } print A(41).n + 1;");
//! assert_eq!(result, InterpretResult::Ok);
//! assert_eq!(*out.borrow(), b"42\n");
//! ```
//!
//! The compiler alone:
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
