//! The virtual machine: clox's stack VM on the tricolor collector.
//!
//! # State
//!
//! Between mutation scopes the VM holds no GC pointer: everything lives in
//! one [`VmState`] object reached from a [`Root`]:
//!
//! * `stack` — the value stack (`Vec<Value>`, only the live part);
//! * `frames` — call frames (closure, saved `ip`, stack base), at most
//!   [`FRAMES_MAX`];
//! * `open_upvalues` — `(slot, upvalue)` for every open upvalue, sorted by
//!   slot (clox's linked list);
//! * `globals` — a [`Table`] keyed by interned name;
//! * `strings` — the intern table, weak: `hash → [Weak<LoxString>]`, purged
//!   of dead entries when it has doubled since the last purge;
//! * `init_string`, `empty_shape` — the interned `"init"` and the root of the
//!   shape tree.
//!
//! Each of the first five is a `RefLock` field of the state object.
//!
//! # Slices
//!
//! The interpreter runs in *slices*: a slice enters a mutation scope, opens
//! the state for writing once ([`Gc::write`], one object barrier for all its
//! fields), borrows the five containers mutably for the whole slice, and runs
//! instructions until its budget is spent — one unit per backward jump and
//! per call, so every unbounded computation spends it — or the script ends.
//! It then stores the current `ip` back into the top frame, drops the
//! borrows and leaves the scope: a scope boundary, so a concurrent collection
//! cycle can start (mark start is deferred while a container borrow is open)
//! and finish (termination needs every mutator to pass a boundary). Inside a
//! slice GC pointers live freely in Rust locals.
//!
//! The current frame's closure, code, constants, `ip` and base are cached in
//! locals and written back to the frame only on a call, at a slice end or on
//! an error.

use std::io::{self, Write};
use std::rc::Rc;
use std::time::Instant;

use tricolor::{
    Config, Gc, Heap, MemStats, Mutation, Mutator, RefLock, Root, Rootable, Trace, Weak,
};

use crate::chunk::{Constant, FunctionProto};
use crate::cli::InterpretResult;
use crate::compiler::compile;
use crate::object::{
    BoundMethod, Class, Closure, Function, IdBuild, Instance, Key, LoxString, Native, NativeFn,
    Shape, Table, Upvalue, UpvalueState, Value, hash_str,
};
use crate::opcode::OpCode;

/// The most call frames (clox's `FRAMES_MAX`); one more call is a
/// `Stack overflow.` runtime error.
pub const FRAMES_MAX: usize = 64;

/// The value stack's capacity (clox's `STACK_MAX`): what the compiler's
/// limits allow `FRAMES_MAX` frames to use.
pub const STACK_MAX: usize = FRAMES_MAX * 256;

/// Default slice budget (backward jumps plus calls per scope).
pub const DEFAULT_SLICE: u32 = 10_000;

/// Slice budget under `--gc-stress`.
pub const STRESS_SLICE: u32 = 1;

/// A call frame.
#[derive(Clone, Copy, Trace)]
struct Frame<'gc> {
    closure: Gc<'gc, Closure<'gc>>,
    ip: usize,
    base: usize,
}

/// One bucket of the intern table: the strings with one hash (almost always
/// one).
#[derive(Trace)]
enum Bucket<'gc> {
    One(Weak<'gc, LoxString>),
    Many(Vec<Weak<'gc, LoxString>>),
}

/// The weak intern table.
#[derive(Trace)]
struct Interner<'gc> {
    map: std::collections::HashMap<u64, Bucket<'gc>, IdBuild>,
    entries: usize,
    purge_at: usize,
}

impl<'gc> Interner<'gc> {
    fn new() -> Self {
        Interner {
            map: Default::default(),
            entries: 0,
            purge_at: 1024,
        }
    }

    /// The interned string with text `s`, allocating it if there is none.
    fn intern(&mut self, mc: &Mutation<'gc>, s: &str) -> Gc<'gc, LoxString> {
        let hash = hash_str(s);
        let found = |w: &Weak<'gc, LoxString>| w.upgrade(mc).filter(|g| &*g.chars == s);
        match self.map.get(&hash) {
            Some(Bucket::One(w)) => {
                if let Some(g) = found(w) {
                    return g;
                }
            }
            Some(Bucket::Many(ws)) => {
                if let Some(g) = ws.iter().find_map(found) {
                    return g;
                }
            }
            None => {}
        }
        let string = Gc::new(
            mc,
            LoxString {
                hash,
                chars: s.into(),
            },
        );
        let weak = Gc::downgrade(string, mc);
        match self.map.remove(&hash) {
            None => {
                self.map.insert(hash, Bucket::One(weak));
            }
            Some(Bucket::One(w)) => {
                let mut ws = vec![w, weak];
                ws.retain(|w| !w.is_dead(mc));
                self.map.insert(hash, Bucket::Many(ws));
            }
            Some(Bucket::Many(mut ws)) => {
                ws.retain(|w| !w.is_dead(mc));
                ws.push(weak);
                self.map.insert(hash, Bucket::Many(ws));
            }
        }
        self.entries += 1;
        if self.entries >= self.purge_at {
            self.purge(mc);
        }
        string
    }

    /// Drops the entries of strings that have died.
    fn purge(&mut self, mc: &Mutation<'gc>) {
        let mut live = 0;
        self.map.retain(|_, bucket| match bucket {
            Bucket::One(w) => {
                let alive = !w.is_dead(mc);
                live += usize::from(alive);
                alive
            }
            Bucket::Many(ws) => {
                ws.retain(|w| !w.is_dead(mc));
                live += ws.len();
                !ws.is_empty()
            }
        });
        self.entries = live;
        self.purge_at = (live * 2).max(1024);
    }

    fn len(&self) -> usize {
        self.entries
    }
}

/// Everything the VM keeps between slices (see the module docs).
#[derive(Trace)]
struct VmState<'gc> {
    stack: RefLock<Vec<Value<'gc>>>,
    frames: RefLock<Vec<Frame<'gc>>>,
    open_upvalues: RefLock<Vec<(usize, Gc<'gc, Upvalue<'gc>>)>>,
    globals: RefLock<Table<'gc, Value<'gc>>>,
    strings: RefLock<Interner<'gc>>,
    init_string: Gc<'gc, LoxString>,
    empty_shape: Gc<'gc, Shape<'gc>>,
}

/// How a VM is set up.
#[derive(Clone, Debug)]
pub struct VmOptions {
    /// The collector's configuration.
    pub config: Config,
    /// Backward jumps plus calls per mutation scope.
    pub slice: u32,
}

impl Default for VmOptions {
    fn default() -> Self {
        VmOptions {
            config: Config::default(),
            slice: DEFAULT_SLICE,
        }
    }
}

impl VmOptions {
    /// The collector configured from the `TRICOLOR_*` environment variables;
    /// `stress` turns on the collector's stress mode (a collection at every
    /// allocation) and shortens the slices to [`STRESS_SLICE`]. The slice
    /// budget can be set with `TRICOLOR_LOX_SLICE`.
    pub fn from_env(stress: bool) -> Result<VmOptions, tricolor::ConfigError> {
        let mut config = Config::from_env()?;
        let mut slice = DEFAULT_SLICE;
        if stress {
            config.stress = true;
            slice = STRESS_SLICE;
        }
        if let Ok(v) = std::env::var("TRICOLOR_LOX_SLICE") {
            slice = match v.trim().parse::<u32>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(tricolor::ConfigError {
                        name: "TRICOLOR_LOX_SLICE",
                        value: v,
                        expected: "a positive integer",
                    });
                }
            };
        }
        Ok(VmOptions { config, slice })
    }
}

/// How a slice ended.
enum Flow {
    /// The budget ran out: run another slice.
    Yield,
    /// The script returned.
    Done,
}

/// A Lox virtual machine with its own heap. Global state persists from one
/// [`Vm::run`] to the next (as in clox's REPL).
pub struct Vm {
    root: Root<Rootable![VmState<'_>]>,
    mutator: Mutator,
    slice: u32,
    stress: bool,
    start: Instant,
    out: Box<dyn Write>,
    err: Box<dyn Write>,
    buffer: Vec<u8>,
}

impl core::fmt::Debug for Vm {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Vm").field("slice", &self.slice).finish()
    }
}

/// Program output is written out when this much has accumulated (and at the
/// end of each run).
const OUTPUT_BUFFER: usize = 8 << 10;

impl Vm {
    /// A VM writing to the process's stdout and stderr.
    pub fn new(options: VmOptions) -> Result<Vm, tricolor::StartError> {
        Vm::with_output(options, Box::new(io::stdout()), Box::new(io::stderr()))
    }

    /// A VM writing program output to `out` and errors to `err`.
    pub fn with_output(
        options: VmOptions,
        out: Box<dyn Write>,
        err: Box<dyn Write>,
    ) -> Result<Vm, tricolor::StartError> {
        let stress = options.config.stress;
        let heap = Heap::with_config(options.config)?;
        let mut mutator = heap.mutator();
        let root = mutator.enter(|mc| {
            let mut strings = Interner::new();
            let init_string = strings.intern(mc, "init");
            let clock_name = strings.intern(mc, "clock");
            let clock = Gc::new(
                mc,
                Native {
                    function: NativeFn::Clock,
                    arity: 0,
                },
            );
            let mut globals = Table::default();
            globals.insert(Key(clock_name), Value::Native(clock));
            let state = Gc::new(
                mc,
                VmState {
                    stack: RefLock::new(Vec::with_capacity(STACK_MAX)),
                    frames: RefLock::new(Vec::with_capacity(FRAMES_MAX)),
                    open_upvalues: RefLock::new(Vec::new()),
                    globals: RefLock::new(globals),
                    strings: RefLock::new(strings),
                    init_string,
                    empty_shape: Gc::new(mc, Shape::empty()),
                },
            );
            Root::new(mc, state)
        });
        Ok(Vm {
            root,
            mutator,
            slice: options.slice.max(1),
            stress,
            start: Instant::now(),
            out,
            err,
            buffer: Vec::with_capacity(OUTPUT_BUFFER),
        })
    }

    /// The heap the VM allocates in.
    pub fn heap(&self) -> &Heap {
        self.mutator.heap()
    }

    /// The heap's statistics.
    pub fn stats(&self) -> MemStats {
        self.heap().stats()
    }

    /// Compiles and runs `source`: compile errors and runtime errors go to
    /// the error output, as clox prints them.
    pub fn interpret(&mut self, source: &str) -> InterpretResult {
        match compile(source) {
            Ok(script) => self.run(script),
            Err(errors) => {
                for error in errors.errors() {
                    let _ = writeln!(self.err, "{error}");
                }
                let _ = self.err.flush();
                InterpretResult::CompileError
            }
        }
    }

    /// Runs a compiled script.
    pub fn run(&mut self, script: Rc<FunctionProto>) -> InterpretResult {
        let root = &self.root;
        self.mutator.enter(|mc| {
            let state = root.get(mc);
            let w = state.write(mc);
            let mut strings = w.unlock(&state.strings).borrow_mut();
            let function = load_function(mc, &mut strings, &script);
            let closure = Gc::new(
                mc,
                Closure {
                    function,
                    upvalues: Box::new([]),
                },
            );
            let mut stack = w.unlock(&state.stack).borrow_mut();
            stack.clear();
            stack.push(Value::Closure(closure));
            let mut frames = w.unlock(&state.frames).borrow_mut();
            frames.clear();
            frames.push(Frame {
                closure,
                ip: 0,
                base: 0,
            });
        });
        let result = loop {
            let root = &self.root;
            let budget = self.slice;
            let stress = self.stress;
            let start = self.start;
            let buffer = &mut self.buffer;
            let flow = self.mutator.enter(|mc| {
                if stress {
                    // A poll point requests a cycle in stress mode: keep cycles running
                    // back to back, one boundary apart.
                    mc.safepoint();
                }
                let state = root.get(mc);
                let w = state.write(mc);
                let mut stack = w.unlock(&state.stack).borrow_mut();
                let mut frames = w.unlock(&state.frames).borrow_mut();
                let mut open_upvalues = w.unlock(&state.open_upvalues).borrow_mut();
                let mut globals = w.unlock(&state.globals).borrow_mut();
                let mut strings = w.unlock(&state.strings).borrow_mut();
                let mut cx = Slice {
                    stack: &mut stack,
                    frames: &mut frames,
                    open_upvalues: &mut open_upvalues,
                    globals: &mut globals,
                    strings: &mut strings,
                    init_string: state.init_string,
                    empty_shape: state.empty_shape,
                    out: buffer,
                    start,
                };
                match execute(mc, &mut cx, budget) {
                    Ok(flow) => Ok(flow),
                    Err(message) => Err(cx.runtime_error(&message)),
                }
            });
            if self.buffer.len() >= OUTPUT_BUFFER {
                self.flush_output();
            }
            match flow {
                Ok(Flow::Yield) => continue,
                Ok(Flow::Done) => break InterpretResult::Ok,
                Err(report) => {
                    self.flush_output();
                    let _ = self.err.write_all(report.as_bytes());
                    let _ = self.err.flush();
                    break InterpretResult::RuntimeError;
                }
            }
        };
        self.flush_output();
        result
    }

    fn flush_output(&mut self) {
        let _ = self.out.write_all(&self.buffer);
        let _ = self.out.flush();
        self.buffer.clear();
    }

    /// The number of strings in the intern table (live or not yet purged).
    pub fn interned_strings(&mut self) -> usize {
        let root = &self.root;
        self.mutator.enter(|mc| root.get(mc).strings.borrow().len())
    }

    /// Interns `s` and returns whether it was already interned (for tests).
    #[doc(hidden)]
    pub fn intern_probe(&mut self, s: &str) -> bool {
        let root = &self.root;
        self.mutator.enter(|mc| {
            let state = root.get(mc);
            let w = state.write(mc);
            let mut strings = w.unlock(&state.strings).borrow_mut();
            let before = strings.len();
            strings.intern(mc, s);
            strings.len() == before
        })
    }

    /// Runs a full collection (outside any scope).
    pub fn collect(&mut self) {
        self.mutator.collect();
    }
}

impl crate::cli::Backend for Vm {
    fn run(&mut self, script: Rc<FunctionProto>) -> InterpretResult {
        Vm::run(self, script)
    }
}

/// Converts a compiled function (and the functions in its constants) into GC
/// objects, interning its strings.
fn load_function<'gc>(
    mc: &Mutation<'gc>,
    strings: &mut Interner<'gc>,
    proto: &FunctionProto,
) -> Gc<'gc, Function<'gc>> {
    let constants = proto
        .chunk
        .constants
        .iter()
        .map(|c| match c {
            Constant::Number(n) => Value::Number(*n),
            Constant::String(s) => Value::String(strings.intern(mc, s)),
            Constant::Function(f) => Value::Function(load_function(mc, strings, f)),
        })
        .collect();
    let name = proto.name.as_ref().map(|n| strings.intern(mc, n));
    Gc::new(
        mc,
        Function {
            name,
            arity: proto.arity,
            upvalue_count: proto.upvalue_count,
            kind: proto.kind,
            code: proto.chunk.code.clone().into_boxed_slice(),
            lines: proto.chunk.lines.clone().into_boxed_slice(),
            constants,
        },
    )
}

/// What a slice works on: the state's containers, borrowed for the slice.
struct Slice<'a, 'gc> {
    stack: &'a mut Vec<Value<'gc>>,
    frames: &'a mut Vec<Frame<'gc>>,
    open_upvalues: &'a mut Vec<(usize, Gc<'gc, Upvalue<'gc>>)>,
    globals: &'a mut Table<'gc, Value<'gc>>,
    strings: &'a mut Interner<'gc>,
    init_string: Gc<'gc, LoxString>,
    empty_shape: Gc<'gc, Shape<'gc>>,
    out: &'a mut Vec<u8>,
    start: Instant,
}

impl<'gc> Slice<'_, 'gc> {
    /// The error report: the message, then the stack trace (innermost call
    /// first), as clox prints them; resets the stack.
    fn runtime_error(&mut self, message: &str) -> String {
        use core::fmt::Write as _;
        let mut report = format!("{message}\n");
        for frame in self.frames.iter().rev() {
            let function = &frame.closure.function;
            let line = function
                .lines
                .get(frame.ip.wrapping_sub(1))
                .copied()
                .unwrap_or(0);
            let _ = match function.name {
                Some(name) => writeln!(report, "[line {line}] in {}()", name.chars),
                None => writeln!(report, "[line {line}] in script"),
            };
        }
        self.stack.clear();
        self.frames.clear();
        self.open_upvalues.clear();
        report
    }

    /// The upvalue for stack slot `slot`: the open one if there is one, else
    /// a new one.
    fn capture_upvalue(&mut self, mc: &Mutation<'gc>, slot: usize) -> Gc<'gc, Upvalue<'gc>> {
        let open = &mut *self.open_upvalues;
        let mut at = open.len();
        while at > 0 {
            let (s, upvalue) = open[at - 1];
            if s == slot {
                return upvalue;
            }
            if s < slot {
                break;
            }
            at -= 1;
        }
        let upvalue = Gc::new(mc, RefLock::new(UpvalueState::Open(slot)));
        open.insert(at, (slot, upvalue));
        upvalue
    }

    /// Closes every open upvalue of a slot at or above `from`.
    #[inline]
    fn close_upvalues(&mut self, mc: &Mutation<'gc>, from: usize) {
        while let Some(&(slot, upvalue)) = self.open_upvalues.last() {
            if slot < from {
                break;
            }
            *upvalue.borrow_mut(mc) = UpvalueState::Closed(self.stack[slot]);
            self.open_upvalues.pop();
        }
    }

    /// Prepares a call of a callee that is not a closure: instantiates a
    /// class, binds a method's receiver or runs a native. Returns the closure
    /// to push a frame for, if any.
    #[inline(never)]
    fn call_other(
        &mut self,
        mc: &Mutation<'gc>,
        callee: Value<'gc>,
        argc: usize,
    ) -> Result<Option<Gc<'gc, Closure<'gc>>>, String> {
        let slot = self.stack.len() - argc - 1;
        match callee {
            Value::Closure(c) => Ok(Some(c)),
            Value::BoundMethod(b) => {
                self.stack[slot] = b.receiver;
                Ok(Some(b.method))
            }
            Value::Class(class) => {
                let instance = Gc::new(mc, Instance::new(class, self.empty_shape));
                self.stack[slot] = Value::Instance(instance);
                match class.init.get() {
                    Some(init) => Ok(Some(init)),
                    None if argc != 0 => Err(format!("Expected 0 arguments but got {argc}.")),
                    None => Ok(None),
                }
            }
            Value::Native(native) => {
                if argc != usize::from(native.arity) {
                    return Err(format!(
                        "Expected {} arguments but got {argc}.",
                        native.arity
                    ));
                }
                let result = match native.function {
                    NativeFn::Clock => Value::Number(self.start.elapsed().as_secs_f64()),
                };
                self.stack.truncate(slot);
                self.stack.push(result);
                Ok(None)
            }
            _ => Err("Can only call functions and classes.".to_owned()),
        }
    }

    /// `a + b` for two strings: the interned concatenation.
    #[inline(never)]
    fn concatenate(
        &mut self,
        mc: &Mutation<'gc>,
        a: Gc<'gc, LoxString>,
        b: Gc<'gc, LoxString>,
    ) -> Value<'gc> {
        let mut s = String::with_capacity(a.chars.len() + b.chars.len());
        s.push_str(&a.chars);
        s.push_str(&b.chars);
        Value::String(self.strings.intern(mc, &s))
    }

    #[inline(never)]
    fn print(&mut self, value: Value<'gc>) {
        let _ = writeln!(self.out, "{value}");
    }
}

const OP_CONSTANT: u8 = OpCode::Constant as u8;
const OP_NIL: u8 = OpCode::Nil as u8;
const OP_TRUE: u8 = OpCode::True as u8;
const OP_FALSE: u8 = OpCode::False as u8;
const OP_POP: u8 = OpCode::Pop as u8;
const OP_GET_LOCAL: u8 = OpCode::GetLocal as u8;
const OP_SET_LOCAL: u8 = OpCode::SetLocal as u8;
const OP_GET_GLOBAL: u8 = OpCode::GetGlobal as u8;
const OP_DEFINE_GLOBAL: u8 = OpCode::DefineGlobal as u8;
const OP_SET_GLOBAL: u8 = OpCode::SetGlobal as u8;
const OP_GET_UPVALUE: u8 = OpCode::GetUpvalue as u8;
const OP_SET_UPVALUE: u8 = OpCode::SetUpvalue as u8;
const OP_GET_PROPERTY: u8 = OpCode::GetProperty as u8;
const OP_SET_PROPERTY: u8 = OpCode::SetProperty as u8;
const OP_GET_SUPER: u8 = OpCode::GetSuper as u8;
const OP_EQUAL: u8 = OpCode::Equal as u8;
const OP_GREATER: u8 = OpCode::Greater as u8;
const OP_LESS: u8 = OpCode::Less as u8;
const OP_ADD: u8 = OpCode::Add as u8;
const OP_SUBTRACT: u8 = OpCode::Subtract as u8;
const OP_MULTIPLY: u8 = OpCode::Multiply as u8;
const OP_DIVIDE: u8 = OpCode::Divide as u8;
const OP_NOT: u8 = OpCode::Not as u8;
const OP_NEGATE: u8 = OpCode::Negate as u8;
const OP_PRINT: u8 = OpCode::Print as u8;
const OP_JUMP: u8 = OpCode::Jump as u8;
const OP_JUMP_IF_FALSE: u8 = OpCode::JumpIfFalse as u8;
const OP_LOOP: u8 = OpCode::Loop as u8;
const OP_CALL: u8 = OpCode::Call as u8;
const OP_INVOKE: u8 = OpCode::Invoke as u8;
const OP_SUPER_INVOKE: u8 = OpCode::SuperInvoke as u8;
const OP_CLOSURE: u8 = OpCode::Closure as u8;
const OP_CLOSE_UPVALUE: u8 = OpCode::CloseUpvalue as u8;
const OP_RETURN: u8 = OpCode::Return as u8;
const OP_CLASS: u8 = OpCode::Class as u8;
const OP_INHERIT: u8 = OpCode::Inherit as u8;
const OP_METHOD: u8 = OpCode::Method as u8;

/// Runs instructions until the budget is spent, the script returns, or a
/// runtime error (its message) occurs. On return, the top frame's `ip` is
/// current.
#[allow(clippy::too_many_lines)]
fn execute<'gc>(
    mc: &Mutation<'gc>,
    cx: &mut Slice<'_, 'gc>,
    mut budget: u32,
) -> Result<Flow, String> {
    let frame = *cx.frames.last().expect("a frame to run");
    let mut closure: Gc<'gc, Closure<'gc>> = frame.closure;
    let function: &'gc Function<'gc> = Gc::as_ref(closure.function);
    let mut code: &'gc [u8] = &function.code;
    let mut constants: &'gc [Value<'gc>] = &function.constants;
    let mut ip = frame.ip;
    let mut base = frame.base;

    macro_rules! read_byte {
        () => {{
            let b = code[ip];
            ip += 1;
            b
        }};
    }
    macro_rules! read_short {
        () => {{
            let s = u16::from_be_bytes([code[ip], code[ip + 1]]);
            ip += 2;
            usize::from(s)
        }};
    }
    macro_rules! read_string {
        () => {{
            match constants[usize::from(read_byte!())] {
                Value::String(s) => s,
                _ => unreachable!("name operand is not a string constant"),
            }
        }};
    }
    macro_rules! save_ip {
        () => {
            if let Some(f) = cx.frames.last_mut() {
                f.ip = ip;
            }
        };
    }
    macro_rules! throw {
        ($($msg:tt)*) => {{
            save_ip!();
            return Err(format!($($msg)*));
        }};
    }
    macro_rules! peek {
        ($n:expr) => {
            cx.stack[cx.stack.len() - 1 - $n]
        };
    }
    macro_rules! pop {
        () => {
            match cx.stack.pop() {
                Some(v) => v,
                None => unreachable!("stack underflow"),
            }
        };
    }
    macro_rules! load_frame {
        () => {{
            let f = *cx.frames.last().expect("a frame");
            closure = f.closure;
            let function: &'gc Function<'gc> = Gc::as_ref(closure.function);
            code = &function.code;
            constants = &function.constants;
            ip = f.ip;
            base = f.base;
        }};
    }
    // Pushes a frame for `closure` called with `argc` arguments and switches
    // to it; spends one unit of budget.
    macro_rules! call_closure {
        ($callee:expr, $argc:expr) => {{
            let callee: Gc<'gc, Closure<'gc>> = $callee;
            let argc: usize = $argc;
            let f = Gc::as_ref(callee.function);
            if argc != usize::from(f.arity) {
                throw!("Expected {} arguments but got {}.", f.arity, argc);
            }
            if cx.frames.len() == FRAMES_MAX {
                throw!("Stack overflow.");
            }
            save_ip!();
            base = cx.stack.len() - argc - 1;
            cx.frames.push(Frame {
                closure: callee,
                ip: 0,
                base,
            });
            closure = callee;
            code = &f.code;
            constants = &f.constants;
            ip = 0;
            budget -= 1;
            if budget == 0 {
                return Ok(Flow::Yield);
            }
        }};
    }
    macro_rules! call_value {
        ($callee:expr, $argc:expr) => {{
            let callee = $callee;
            let argc = $argc;
            if let Value::Closure(c) = callee {
                call_closure!(c, argc);
            } else {
                match cx.call_other(mc, callee, argc) {
                    Ok(Some(c)) => call_closure!(c, argc),
                    Ok(None) => {}
                    Err(message) => {
                        save_ip!();
                        return Err(message);
                    }
                }
            }
        }};
    }
    macro_rules! binary_number {
        ($op:tt, $wrap:expr) => {{
            let len = cx.stack.len();
            match (cx.stack[len - 2], cx.stack[len - 1]) {
                (Value::Number(a), Value::Number(b)) => {
                    cx.stack[len - 2] = $wrap(a $op b);
                    cx.stack.truncate(len - 1);
                }
                _ => throw!("Operands must be numbers."),
            }
        }};
    }

    loop {
        match read_byte!() {
            OP_CONSTANT => {
                let value = constants[usize::from(read_byte!())];
                cx.stack.push(value);
            }
            OP_NIL => cx.stack.push(Value::Nil),
            OP_TRUE => cx.stack.push(Value::Bool(true)),
            OP_FALSE => cx.stack.push(Value::Bool(false)),
            OP_POP => {
                pop!();
            }
            OP_GET_LOCAL => {
                let slot = usize::from(read_byte!());
                let value = cx.stack[base + slot];
                cx.stack.push(value);
            }
            OP_SET_LOCAL => {
                let slot = usize::from(read_byte!());
                cx.stack[base + slot] = peek!(0);
            }
            OP_GET_GLOBAL => {
                let name = read_string!();
                match cx.globals.get(&Key(name)) {
                    Some(&value) => cx.stack.push(value),
                    None => throw!("Undefined variable '{}'.", name.chars),
                }
            }
            OP_DEFINE_GLOBAL => {
                let name = read_string!();
                let value = pop!();
                cx.globals.insert(Key(name), value);
            }
            OP_SET_GLOBAL => {
                let name = read_string!();
                let value = peek!(0);
                match cx.globals.get_mut(&Key(name)) {
                    Some(slot) => *slot = value,
                    None => throw!("Undefined variable '{}'.", name.chars),
                }
            }
            OP_GET_UPVALUE => {
                let upvalue = closure.upvalues[usize::from(read_byte!())];
                let value = match *upvalue.borrow() {
                    UpvalueState::Open(slot) => cx.stack[slot],
                    UpvalueState::Closed(value) => value,
                };
                cx.stack.push(value);
            }
            OP_SET_UPVALUE => {
                let upvalue = closure.upvalues[usize::from(read_byte!())];
                let value = peek!(0);
                let open = match *upvalue.borrow() {
                    UpvalueState::Open(slot) => Some(slot),
                    UpvalueState::Closed(_) => None,
                };
                match open {
                    Some(slot) => cx.stack[slot] = value,
                    None => *upvalue.borrow_mut(mc) = UpvalueState::Closed(value),
                }
            }
            OP_GET_PROPERTY => {
                let name = read_string!();
                let Value::Instance(instance) = peek!(0) else {
                    throw!("Only instances have properties.");
                };
                let top = cx.stack.len() - 1;
                if let Some(value) = instance.field(name) {
                    cx.stack[top] = value;
                } else {
                    match instance.class.find_method(name) {
                        Some(method) => {
                            let bound = Gc::new(
                                mc,
                                BoundMethod {
                                    receiver: Value::Instance(instance),
                                    method,
                                },
                            );
                            cx.stack[top] = Value::BoundMethod(bound);
                        }
                        None => throw!("Undefined property '{}'.", name.chars),
                    }
                }
            }
            OP_SET_PROPERTY => {
                let name = read_string!();
                let Value::Instance(instance) = peek!(1) else {
                    throw!("Only instances have fields.");
                };
                let value = pop!();
                Instance::set_field(instance, mc, name, value);
                let top = cx.stack.len() - 1;
                cx.stack[top] = value;
            }
            OP_GET_SUPER => {
                let name = read_string!();
                let Value::Class(superclass) = pop!() else {
                    unreachable!("superclass is not a class");
                };
                let Some(method) = superclass.find_method(name) else {
                    throw!("Undefined property '{}'.", name.chars);
                };
                let top = cx.stack.len() - 1;
                let bound = Gc::new(
                    mc,
                    BoundMethod {
                        receiver: cx.stack[top],
                        method,
                    },
                );
                cx.stack[top] = Value::BoundMethod(bound);
            }
            OP_EQUAL => {
                let b = pop!();
                let top = cx.stack.len() - 1;
                cx.stack[top] = Value::Bool(cx.stack[top].equals(b));
            }
            OP_GREATER => binary_number!(>, Value::Bool),
            OP_LESS => binary_number!(<, Value::Bool),
            OP_ADD => {
                let len = cx.stack.len();
                match (cx.stack[len - 2], cx.stack[len - 1]) {
                    (Value::Number(a), Value::Number(b)) => {
                        cx.stack[len - 2] = Value::Number(a + b);
                    }
                    (Value::String(a), Value::String(b)) => {
                        let s = cx.concatenate(mc, a, b);
                        cx.stack[len - 2] = s;
                    }
                    _ => throw!("Operands must be two numbers or two strings."),
                }
                cx.stack.truncate(len - 1);
            }
            OP_SUBTRACT => binary_number!(-, Value::Number),
            OP_MULTIPLY => binary_number!(*, Value::Number),
            OP_DIVIDE => binary_number!(/, Value::Number),
            OP_NOT => {
                let top = cx.stack.len() - 1;
                cx.stack[top] = Value::Bool(cx.stack[top].is_falsey());
            }
            OP_NEGATE => {
                let top = cx.stack.len() - 1;
                match cx.stack[top] {
                    Value::Number(n) => cx.stack[top] = Value::Number(-n),
                    _ => throw!("Operand must be a number."),
                }
            }
            OP_PRINT => {
                let value = pop!();
                cx.print(value);
            }
            OP_JUMP => {
                let offset = read_short!();
                ip += offset;
            }
            OP_JUMP_IF_FALSE => {
                let offset = read_short!();
                if peek!(0).is_falsey() {
                    ip += offset;
                }
            }
            OP_LOOP => {
                let offset = read_short!();
                ip -= offset;
                budget -= 1;
                if budget == 0 {
                    save_ip!();
                    return Ok(Flow::Yield);
                }
            }
            OP_CALL => {
                let argc = usize::from(read_byte!());
                let callee = peek!(argc);
                call_value!(callee, argc);
            }
            OP_INVOKE => {
                let name = read_string!();
                let argc = usize::from(read_byte!());
                let Value::Instance(instance) = peek!(argc) else {
                    throw!("Only instances have methods.");
                };
                if let Some(value) = instance.field(name) {
                    let slot = cx.stack.len() - argc - 1;
                    cx.stack[slot] = value;
                    call_value!(value, argc);
                } else {
                    match instance.class.find_method(name) {
                        Some(method) => call_closure!(method, argc),
                        None => throw!("Undefined property '{}'.", name.chars),
                    }
                }
            }
            OP_SUPER_INVOKE => {
                let name = read_string!();
                let argc = usize::from(read_byte!());
                let Value::Class(superclass) = pop!() else {
                    unreachable!("superclass is not a class");
                };
                match superclass.find_method(name) {
                    Some(method) => call_closure!(method, argc),
                    None => throw!("Undefined property '{}'.", name.chars),
                }
            }
            OP_CLOSURE => {
                let Value::Function(f) = constants[usize::from(read_byte!())] else {
                    unreachable!("closure operand is not a function");
                };
                let mut upvalues = Vec::with_capacity(f.upvalue_count);
                for _ in 0..f.upvalue_count {
                    let is_local = read_byte!();
                    let index = usize::from(read_byte!());
                    upvalues.push(if is_local != 0 {
                        cx.capture_upvalue(mc, base + index)
                    } else {
                        closure.upvalues[index]
                    });
                }
                let new = Gc::new(
                    mc,
                    Closure {
                        function: f,
                        upvalues: upvalues.into_boxed_slice(),
                    },
                );
                cx.stack.push(Value::Closure(new));
            }
            OP_CLOSE_UPVALUE => {
                let top = cx.stack.len() - 1;
                cx.close_upvalues(mc, top);
                pop!();
            }
            OP_RETURN => {
                let result = pop!();
                if cx.open_upvalues.last().is_some_and(|&(s, _)| s >= base) {
                    cx.close_upvalues(mc, base);
                }
                cx.frames.pop();
                if cx.frames.is_empty() {
                    cx.stack.clear();
                    return Ok(Flow::Done);
                }
                cx.stack.truncate(base);
                cx.stack.push(result);
                load_frame!();
            }
            OP_CLASS => {
                let name = read_string!();
                let class = Gc::new(mc, Class::new(name));
                cx.stack.push(Value::Class(class));
            }
            OP_INHERIT => {
                let Value::Class(superclass) = peek!(1) else {
                    throw!("Superclass must be a class.");
                };
                let Value::Class(subclass) = peek!(0) else {
                    unreachable!("subclass is not a class");
                };
                {
                    let w = subclass.write(mc);
                    let mut methods = w.unlock(&subclass.methods).borrow_mut();
                    for (k, v) in superclass.methods.borrow().iter() {
                        methods.insert(*k, *v);
                    }
                }
                subclass.init.set(mc, superclass.init.get());
                pop!();
            }
            OP_METHOD => {
                let name = read_string!();
                let Value::Closure(method) = peek!(0) else {
                    unreachable!("method is not a closure");
                };
                let Value::Class(class) = peek!(1) else {
                    unreachable!("method outside a class");
                };
                {
                    let w = class.write(mc);
                    w.unlock(&class.methods)
                        .borrow_mut()
                        .insert(Key(name), method);
                }
                if Gc::ptr_eq(name, cx.init_string) {
                    class.init.set(mc, Some(method));
                }
                pop!();
            }
            byte => unreachable!("unknown opcode {byte}"),
        }
    }
}
