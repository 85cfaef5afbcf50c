//! The virtual machine: clox's stack VM on the tricolor collector.
//!
//! # State
//!
//! Between mutation scopes the VM holds no GC pointer: everything lives in
//! one `VmState` object reached from a [`Root`]:
//!
//! * `stack` — the value stack: a fixed array of [`STACK_MAX`] values (boxed),
//!   with the stack top `sp` beside it; slots at and above `sp` hold `nil`
//!   between slices (see `execute`);
//! * `frames` — call frames (closure, saved `ip`, stack base), at most
//!   [`FRAMES_MAX`];
//! * `open_upvalues` — `(slot, upvalue)` for every open upvalue, sorted by
//!   slot (clox's linked list);
//! * `globals` — global variables by *slot*: the loader gives each global
//!   name a slot the first time a function using it is loaded (see
//!   [`crate::code`]), so that the instructions index a vector instead of
//!   hashing the name;
//! * `strings` — the intern table, weak: `hash → [Weak<LoxString>]`, purged
//!   of dead entries when it has doubled since the last purge;
//! * `init_string` — the interned `"init"`.
//!
//! `stack`, `frames`, `open_upvalues`, `globals` and `strings` are `RefLock`
//! fields of the state object.
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
//! Under `--gc-stress` ([`VmOptions::from_env`]) a slice is one instruction
//! and a full collection runs between slices.
//!
//! The current frame's closure, ops, constants, caches, `ip` and base are
//! cached in locals and written back to the frame only on a call, at a slice
//! end or on an error.
//!
//! # Inline caches
//!
//! Each class has its own tree of [`Shape`](crate::object::Shape)s, so an instance's shape
//! determines both its fields and its class (whose methods are all defined
//! before any instance can exist). `GET_PROPERTY`, `SET_PROPERTY` and
//! `INVOKE` keep a one-entry cache per instruction, keyed by shape: the field
//! slot, the shape after an added field, or the method.

use std::cell::Cell;
use std::io::{self, Write};
use std::rc::Rc;
use std::time::Instant;

use tricolor::{
    Config, Gc, Heap, MemStats, Mutation, Mutator, RefLock, Root, Rootable, Trace, Weak,
};

use crate::chunk::{Constant, FunctionProto};
use crate::cli::InterpretResult;
use crate::code::{self, Op};
use crate::compiler::compile;
use crate::object::{
    AnyInstance, BoundMethod, Cache, Class, Closure, Fields, Function, IdBuild, InstanceN, Key,
    LoxString, Native, NativeFn, Table, Upvalue, UpvalueState, Value, hash_str,
};

/// The most call frames (clox's `FRAMES_MAX`); one more call is a
/// `Stack overflow.` runtime error.
pub const FRAMES_MAX: usize = 64;

/// The value stack's capacity (clox's `STACK_MAX`): what the compiler's
/// limits allow `FRAMES_MAX` frames to use.
pub const STACK_MAX: usize = FRAMES_MAX * 256;

/// Default slice budget (backward jumps plus calls per scope).
pub const DEFAULT_SLICE: u32 = 10_000;

/// Slice budget while the collector is marking (see [`Vm::run`]).
pub const MARKING_SLICE: u32 = 128;

/// Slice budget under `--gc-stress`, where it counts every instruction.
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
///
/// It also paces the collector for string text: a string's characters are
/// a `Box<str>` outside the collected heap, which the collector's pacer does
/// not see, so a program that only builds long strings would grow without
/// bound. When the text allocated since the last request reaches the live
/// heap (at least [`TEXT_PACING_MIN`]), the interner asks for a collection
/// (like GOGC=100 for the text) and tells the interpreter to end its slice,
/// so that the cycle can finish and the dead strings be freed.
struct Interner<'gc> {
    map: std::collections::HashMap<u64, Bucket<'gc>, IdBuild>,
    entries: usize,
    purge_at: usize,
    /// Bytes of text allocated since the last collection request.
    text_allocated: usize,
    /// The `text_allocated` that triggers the next request.
    text_trigger: usize,
    /// Set when a collection was requested; the interpreter clears it.
    collect_requested: bool,
}

/// The least string text allocated between two collection requests.
pub const TEXT_PACING_MIN: usize = 4 << 20;

impl<'gc> Interner<'gc> {
    fn new() -> Self {
        Interner {
            map: Default::default(),
            entries: 0,
            purge_at: 1024,
            text_allocated: 0,
            text_trigger: TEXT_PACING_MIN,
            collect_requested: false,
        }
    }

    /// The interned string with text `s`, allocating it if there is none.
    fn intern(&mut self, mc: &Mutation<'gc>, s: &str) -> Gc<'gc, LoxString> {
        self.intern_owned(mc, std::borrow::Cow::Borrowed(s))
    }

    /// [`Interner::intern`], taking the text's buffer over when it is owned.
    fn intern_owned(
        &mut self,
        mc: &Mutation<'gc>,
        text: std::borrow::Cow<'_, str>,
    ) -> Gc<'gc, LoxString> {
        let s: &str = &text;
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
        let len = s.len();
        let string = Gc::new(
            mc,
            LoxString {
                hash,
                chars: text.into_owned().into_boxed_str(),
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
        self.text_allocated += len;
        if self.text_allocated >= self.text_trigger {
            self.pace(mc);
        }
        string
    }

    /// Asks for a collection on behalf of the text allocated since the last
    /// request, and sets the next trigger from the live heap.
    #[cold]
    fn pace(&mut self, mc: &Mutation<'gc>) {
        let heap = mc.heap();
        heap.request_collection();
        self.text_allocated = 0;
        self.text_trigger = heap.stats().live_after_last_mark.max(TEXT_PACING_MIN);
        self.collect_requested = true;
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

/// The value stack.
type Stack<'gc> = [Value<'gc>; STACK_MAX];

/// An empty value stack (made on the heap: it is 256 KiB).
fn new_stack<'gc>() -> Box<Stack<'gc>> {
    vec![Value::Nil; STACK_MAX]
        .into_boxed_slice()
        .try_into()
        .unwrap_or_else(|_| unreachable!("the vector has STACK_MAX elements"))
}

/// A global variable's slot.
#[derive(Clone, Copy, Trace)]
struct Global<'gc> {
    value: Value<'gc>,
    name: Gc<'gc, LoxString>,
    defined: bool,
}

/// The global variables.
#[derive(Trace, Default)]
struct Globals<'gc> {
    /// By slot.
    slots: Vec<Global<'gc>>,
    /// Name → slot.
    index: Table<'gc, u32>,
}

impl<'gc> Globals<'gc> {
    /// The slot of global `name`, made (undefined) if it has none yet.
    fn slot(&mut self, name: Gc<'gc, LoxString>) -> u32 {
        let next = self.slots.len() as u32;
        let slot = *self.index.entry(Key(name)).or_insert(next);
        if slot == next {
            self.slots.push(Global {
                value: Value::Nil,
                name,
                defined: false,
            });
        }
        slot
    }
}

/// Everything the VM keeps between slices (see the module docs).
#[derive(Trace)]
struct VmState<'gc> {
    stack: RefLock<Box<Stack<'gc>>>,
    sp: Cell<usize>,
    frames: RefLock<Vec<Frame<'gc>>>,
    open_upvalues: RefLock<Vec<(usize, Gc<'gc, Upvalue<'gc>>)>>,
    globals: RefLock<Globals<'gc>>,
    strings: RefLock<Interner<'gc>>,
    init_string: Gc<'gc, LoxString>,
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
    /// The collector's defaults and the default slice.
    fn default() -> Self {
        VmOptions {
            config: Config::default(),
            slice: DEFAULT_SLICE,
        }
    }
}

impl VmOptions {
    /// The collector configured from the `TRICOLOR_*` environment variables.
    /// The slice budget can be set with `TRICOLOR_LOX_SLICE`.
    ///
    /// `stress` turns on stress mode: the collector's own (every allocation
    /// takes the slow path and asks for a cycle), slices of
    /// [`STRESS_SLICE`] *instructions*, and a whole synchronous collection
    /// after every slice — the nearest a concurrent collector comes to clox's
    /// `DEBUG_STRESS_GC` (a collection before every allocation), since a
    /// cycle can only finish at a scope boundary.
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
            let mut globals = Globals::default();
            let slot = globals.slot(clock_name) as usize;
            globals.slots[slot].value = Value::Native(clock);
            globals.slots[slot].defined = true;
            let state = Gc::new(
                mc,
                VmState {
                    stack: RefLock::new(new_stack()),
                    sp: Cell::new(0),
                    frames: RefLock::new(Vec::with_capacity(FRAMES_MAX)),
                    open_upvalues: RefLock::new(Vec::new()),
                    globals: RefLock::new(globals),
                    strings: RefLock::new(strings),
                    init_string,
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
            let mut globals = w.unlock(&state.globals).borrow_mut();
            let function = load_function(mc, &mut strings, &mut globals, &script, &[]);
            let closure = Gc::new(
                mc,
                Closure {
                    function,
                    upvalues: Box::new([]),
                },
            );
            w.unlock(&state.stack).borrow_mut()[0] = Value::Closure(closure);
            state.sp.set(1);
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
                // While a cycle is marking, run short slices: the cycle needs a scope
                // boundary to finish, and right after mark start this thread's stack
                // counts as grey (every allocation and container write re-shades)
                // until its next boundary.
                let budget = if mc.is_marking() {
                    budget.min(MARKING_SLICE)
                } else {
                    budget
                };
                let state = root.get(mc);
                let w = state.write(mc);
                let mut stack = w.unlock(&state.stack).borrow_mut();
                let mut frames = w.unlock(&state.frames).borrow_mut();
                let mut open_upvalues = w.unlock(&state.open_upvalues).borrow_mut();
                let mut globals = w.unlock(&state.globals).borrow_mut();
                let mut strings = w.unlock(&state.strings).borrow_mut();
                let mut cx = Slice {
                    stack: &mut stack,
                    sp: &state.sp,
                    frames: &mut frames,
                    open_upvalues: &mut open_upvalues,
                    globals: &mut globals,
                    strings: &mut strings,
                    init_string: state.init_string,
                    out: buffer,
                    start,
                };
                // Under stress, a slice runs `budget` instructions at most.
                let result = if stress {
                    execute::<true>(mc, &mut cx, budget)
                } else {
                    execute::<false>(mc, &mut cx, budget)
                };
                match result {
                    Ok(flow) => Ok(flow),
                    Err(message) => Err(cx.runtime_error(&message)),
                }
            });
            if self.buffer.len() >= OUTPUT_BUFFER {
                self.flush_output();
            }
            if stress {
                // Between slices this thread holds no GC pointers: run a whole
                // collection here, so that every object the program dropped
                // during the slice is freed before it continues.
                self.mutator.collect();
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
/// objects: decodes its code, interns its strings and gives its globals
/// slots. `captures` is what its closures capture (decoded from the
/// enclosing function's `OP_CLOSURE`).
fn load_function<'gc>(
    mc: &Mutation<'gc>,
    strings: &mut Interner<'gc>,
    globals: &mut Globals<'gc>,
    proto: &FunctionProto,
    captures: &[code::Capture],
) -> Gc<'gc, Function<'gc>> {
    let mut decoded = code::decode(proto);
    let constants: Box<[Value<'gc>]> = proto
        .chunk
        .constants
        .iter()
        .enumerate()
        .map(|(i, c)| match c {
            Constant::Number(n) => Value::Number(*n),
            Constant::String(s) => Value::String(strings.intern(mc, s)),
            Constant::Function(f) => {
                let captures = decoded
                    .captures
                    .iter()
                    .find(|(constant, _)| *constant == i)
                    .map_or(&[][..], |(_, c)| c);
                Value::Function(load_function(mc, strings, globals, f, captures))
            }
        })
        .collect();
    decoded.resolve_globals(|constant| match constants[usize::from(constant)] {
        Value::String(name) => globals.slot(name),
        _ => unreachable!("a global's name is a string constant"),
    });
    let name = proto.name.as_ref().map(|n| strings.intern(mc, n));
    let max_slots = code::max_slots(&decoded.ops, proto.arity);
    code::fuse(&mut decoded);
    Gc::new(
        mc,
        Function {
            name,
            arity: proto.arity,
            max_slots,
            kind: proto.kind,
            ops: decoded.ops.into_boxed_slice(),
            lines: decoded.lines.into_boxed_slice(),
            constants,
            captures: captures.into(),
            caches: (0..decoded.caches).map(|_| Cache::default()).collect(),
        },
    )
}

/// What a slice works on: the state's containers, borrowed for the slice.
struct Slice<'a, 'gc> {
    stack: &'a mut Stack<'gc>,
    sp: &'a Cell<usize>,
    frames: &'a mut Vec<Frame<'gc>>,
    open_upvalues: &'a mut Vec<(usize, Gc<'gc, Upvalue<'gc>>)>,
    globals: &'a mut Globals<'gc>,
    strings: &'a mut Interner<'gc>,
    init_string: Gc<'gc, LoxString>,
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
        self.stack[..self.sp.get()].fill(Value::Nil);
        self.sp.set(0);
        self.frames.clear();
        self.open_upvalues.clear();
        report
    }
}

/// The upvalue for stack slot `slot`: the open one if there is one, else a
/// new one.
#[inline(never)]
fn capture_upvalue<'gc>(
    mc: &Mutation<'gc>,
    open: &mut Vec<(usize, Gc<'gc, Upvalue<'gc>>)>,
    slot: usize,
) -> Gc<'gc, Upvalue<'gc>> {
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
#[inline(never)]
fn close_upvalues<'gc>(
    mc: &Mutation<'gc>,
    open: &mut Vec<(usize, Gc<'gc, Upvalue<'gc>>)>,
    stack: &[Value<'gc>],
    from: usize,
) {
    while let Some(&(slot, upvalue)) = open.last() {
        if slot < from {
            break;
        }
        *upvalue.borrow_mut(mc) = UpvalueState::Closed(stack[slot]);
        open.pop();
    }
}

/// Prepares a call of a callee that is not a closure: instantiates a class,
/// binds a method's receiver or runs a native. Returns the value for the
/// callee's stack slot (the receiver, or the native's result) and the
/// closure to push a frame for, if any.
#[inline(never)]
fn call_other<'gc>(
    mc: &Mutation<'gc>,
    callee: &Value<'gc>,
    argc: usize,
    start: Instant,
) -> Result<(Value<'gc>, Option<Gc<'gc, Closure<'gc>>>), String> {
    match *callee {
        Value::Closure(c) => Ok((Value::Closure(c), Some(c))),
        Value::BoundMethod(b) => Ok((b.receiver, Some(b.method))),
        Value::Class(class) => {
            let instance = Class::instantiate(class, mc);
            match class.init.get() {
                Some(init) => Ok((instance, Some(init))),
                None if argc != 0 => Err(format!("Expected 0 arguments but got {argc}.")),
                None => Ok((instance, None)),
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
                NativeFn::Clock => Value::Number(start.elapsed().as_secs_f64()),
            };
            Ok((result, None))
        }
        _ => Err("Can only call functions and classes.".to_owned()),
    }
}

/// `a + b` for two strings: the interned concatenation.
#[inline(never)]
fn concatenate<'gc>(
    mc: &Mutation<'gc>,
    strings: &mut Interner<'gc>,
    a: Gc<'gc, LoxString>,
    b: Gc<'gc, LoxString>,
) -> Value<'gc> {
    let mut s = String::with_capacity(a.chars.len() + b.chars.len());
    s.push_str(&a.chars);
    s.push_str(&b.chars);
    Value::String(strings.intern_owned(mc, std::borrow::Cow::Owned(s)))
}

#[inline(never)]
fn print(out: &mut Vec<u8>, value: Value<'_>) {
    let _ = writeln!(out, "{value}");
}

#[inline(never)]
fn inherit<'gc>(
    mc: &Mutation<'gc>,
    subclass: Gc<'gc, Class<'gc>>,
    superclass: Gc<'gc, Class<'gc>>,
) {
    {
        let w = subclass.write(mc);
        let mut methods = w.unlock(&subclass.methods).borrow_mut();
        for (k, v) in superclass.methods.borrow().iter() {
            methods.insert(*k, *v);
        }
    }
    subclass.init.set(mc, superclass.init.get());
}

#[inline(never)]
fn define_method<'gc>(
    mc: &Mutation<'gc>,
    class: Gc<'gc, Class<'gc>>,
    name: Gc<'gc, LoxString>,
    method: Gc<'gc, Closure<'gc>>,
    init_string: Gc<'gc, LoxString>,
) {
    {
        let w = class.write(mc);
        w.unlock(&class.methods)
            .borrow_mut()
            .insert(Key(name), method);
    }
    if Gc::ptr_eq(name, init_string) {
        class.init.set(mc, Some(method));
    }
}

#[inline(never)]
fn bind_method<'gc>(
    mc: &Mutation<'gc>,
    receiver: Value<'gc>,
    method: Gc<'gc, Closure<'gc>>,
) -> Value<'gc> {
    Value::BoundMethod(Gc::new(mc, BoundMethod { receiver, method }))
}

/// `GET_PROPERTY`'s fast path: the field the cache knows for the instance's
/// shape.
#[inline(always)]
fn get_cached<'gc, const N: usize>(
    fields: &RefLock<Fields<'gc, N>>,
    cache: Option<&Cache<'gc>>,
) -> Option<Value<'gc>> {
    let fields = fields.borrow();
    cache?
        .find(fields.shape)
        .map(|e| fields.get(e.slot.get() as usize))
}

/// `SET_PROPERTY`'s fast path: stores `value` if the cache knows the slot (and
/// the shape transition) for the instance's shape. Returns whether it did.
#[inline(always)]
fn set_cached<'gc, const N: usize>(
    mc: &Mutation<'gc>,
    instance: Gc<'gc, InstanceN<'gc, N>>,
    value: Value<'gc>,
    cache: Option<&Cache<'gc>>,
) -> bool {
    let Some(cache) = cache else {
        return false;
    };
    let w = instance.write(mc);
    let mut fields = w.unlock(&instance.fields).borrow_mut();
    match cache.find(fields.shape) {
        Some(e) => {
            if let Some(next) = e.next.get() {
                fields.shape = next;
            }
            fields.set(mc, e.slot.get() as usize, value);
            true
        }
        None => false,
    }
}

/// `GET_PROPERTY` on `instance` when its cache missed: the field (caching its
/// slot) or a bound method.
#[inline(never)]
fn get_property_slow<'gc>(
    mc: &Mutation<'gc>,
    instance: AnyInstance<'gc>,
    name: Gc<'gc, LoxString>,
    cache: Option<&Cache<'gc>>,
) -> Result<Value<'gc>, String> {
    let (shape, field) = instance.field(name);
    if let Some((slot, value)) = field {
        if let Some(cache) = cache {
            let entry = cache.refill(mc);
            entry.shape.set(mc, Some(shape));
            entry.slot.set(slot as u32);
        }
        return Ok(value);
    }
    match instance.class().find_method(name) {
        Some(method) => Ok(bind_method(mc, instance.value(), method)),
        None => Err(format!("Undefined property '{}'.", name.chars)),
    }
}

/// `SET_PROPERTY` when the cache missed: sets the field and caches the shape
/// transition.
#[inline(never)]
fn set_property_slow<'gc>(
    mc: &Mutation<'gc>,
    instance: AnyInstance<'gc>,
    name: Gc<'gc, LoxString>,
    value: Value<'gc>,
    cache: Option<&Cache<'gc>>,
) {
    let (before, after, slot) = instance.set_field(mc, name, value);
    if let Some(cache) = cache {
        let entry = cache.refill(mc);
        entry.shape.set(mc, Some(before));
        entry
            .next
            .set(mc, (!Gc::ptr_eq(before, after)).then_some(after));
        entry.slot.set(slot as u32);
    }
}

/// What an `INVOKE` calls when its cache missed: a field's value (to call as
/// a value) or a method (cached).
#[inline(never)]
fn invoke_slow<'gc>(
    mc: &Mutation<'gc>,
    instance: AnyInstance<'gc>,
    name: Gc<'gc, LoxString>,
    cache: Option<&Cache<'gc>>,
) -> Result<Result<Gc<'gc, Closure<'gc>>, Value<'gc>>, String> {
    let (shape, field) = instance.field(name);
    if let Some((_, value)) = field {
        return Ok(Err(value));
    }
    match instance.class().find_method(name) {
        Some(method) => {
            if let Some(cache) = cache {
                let entry = cache.refill(mc);
                entry.shape.set(mc, Some(shape));
                entry.method.set(mc, Some(method));
            }
            Ok(Ok(method))
        }
        None => Err(format!("Undefined property '{}'.", name.chars)),
    }
}

/// Makes a closure of `function`, capturing from the current frame (`base`)
/// and closure.
#[inline(never)]
fn make_closure<'gc>(
    mc: &Mutation<'gc>,
    open: &mut Vec<(usize, Gc<'gc, Upvalue<'gc>>)>,
    function: Gc<'gc, Function<'gc>>,
    enclosing: Gc<'gc, Closure<'gc>>,
    base: usize,
) -> Value<'gc> {
    let upvalues = function
        .captures
        .iter()
        .map(|c| {
            if c.is_local {
                capture_upvalue(mc, open, base + usize::from(c.index))
            } else {
                enclosing.upvalues[usize::from(c.index)]
            }
        })
        .collect();
    Value::Closure(Gc::new(mc, Closure { function, upvalues }))
}

/// `*dst = src`, written so that the compiler copies the value as two 8-byte
/// halves (tag, payload) rather than with one 16-byte load and store.
///
/// A value is built by two 8-byte stores; a 16-byte load of it soon after
/// cannot be served from the store buffer and stalls until both stores reach
/// the cache, which a plain copy of a just-computed number (`i = i + 1`, an
/// argument, a return value) would do on every such instruction. Copying a
/// number into a slot that holds a number writes only the payload; the
/// branch on the destination's tag keeps the compiler from merging the arms
/// back into one 16-byte copy.
#[inline(always)]
fn put<'gc>(dst: &mut Value<'gc>, src: Value<'gc>) {
    if let Value::Number(n) = src {
        if let Value::Number(d) = dst {
            *d = n;
        } else {
            *dst = Value::Number(n);
        }
    } else {
        *dst = src;
    }
}

/// Runs instructions until the budget is spent, the script returns, or a
/// runtime error (its message) occurs. On return, the top frame's `ip` is
/// current.
///
/// The frame and global vectors are moved out of the state into locals for
/// the slice (so that the compiler can keep them in registers) and moved back
/// at the end: sound, as a `Gc` in a local of the scope stays valid for the
/// whole scope, and nothing reads the state object during the slice.
///
/// The value stack is a fixed array, so every access is one bounds check
/// against a constant; a call checks that the callee's frame (its base plus
/// its function's [`max_slots`](Function::max_slots)) fits, and records the
/// highest slot any frame may have written (`hw`). At the end of the slice
/// the slots from `sp` to `hw` are reset to `nil`, so that between slices the
/// stack holds no stale pointers (the collector traces all of it). The frame
/// vector is [`FRAMES_MAX`] long during the slice, with the frame count in
/// `fp`, and is cut back to `fp` at the end.
#[allow(clippy::too_many_lines)]
fn execute<'gc, const STEP: bool>(
    mc: &Mutation<'gc>,
    cx: &mut Slice<'_, 'gc>,
    mut budget: u32,
) -> Result<Flow, String> {
    let stack: &mut Stack<'gc> = cx.stack;
    let mut frames = core::mem::take(cx.frames);
    let mut open_upvalues = core::mem::take(cx.open_upvalues);
    let mut globals = core::mem::take(&mut cx.globals.slots);
    let init_string = cx.init_string;
    let start = cx.start;

    let mut fp = frames.len();
    let frame = frames[fp - 1];
    frames.resize(FRAMES_MAX, frame);
    let mut sp = cx.sp.get();
    // Every slot a live frame may write is below `hw`.
    let mut hw = frames[..fp]
        .iter()
        .map(|f| f.base + f.closure.function.max_slots)
        .max()
        .unwrap_or(0)
        .max(sp);
    let mut closure: Gc<'gc, Closure<'gc>> = frame.closure;
    let function: &'gc Function<'gc> = Gc::as_ref(closure.function);
    let mut ops: &'gc [Op] = &function.ops;
    let mut constants: &'gc [Value<'gc>] = &function.constants;
    let mut caches: &'gc [Cache<'gc>] = &function.caches;
    let mut ip = frame.ip;
    let mut base = frame.base;

    macro_rules! string {
        ($index:expr) => {{
            match constants[usize::from($index)] {
                Value::String(s) => s,
                _ => unreachable!("name operand is not a string constant"),
            }
        }};
    }
    macro_rules! save_ip {
        () => {
            frames[fp - 1].ip = ip;
        };
    }
    // Leaves the dispatch loop with a runtime error. (Only used directly in
    // the dispatch loop, never inside an inner loop.)
    macro_rules! throw {
        ($($msg:tt)*) => {{
            save_ip!();
            break Err(format!($($msg)*));
        }};
    }
    // Pushes a value built here or read from memory nobody wrote recently
    // (a constant).
    macro_rules! push {
        ($v:expr) => {{
            let v = $v;
            stack[sp] = v;
            sp += 1;
        }};
    }
    // Pushes a copy of a value that may have been written just before (a
    // local, a global, an upvalue): see `put`.
    macro_rules! push_copy {
        ($v:expr) => {{
            let v = $v;
            put(&mut stack[sp], v);
            sp += 1;
        }};
    }
    macro_rules! pop {
        () => {{
            sp -= 1;
            stack[sp]
        }};
    }
    macro_rules! peek {
        ($n:expr) => {
            stack[sp - 1 - $n]
        };
    }
    macro_rules! load_frame {
        () => {{
            let f = frames[fp - 1];
            closure = f.closure;
            let function: &'gc Function<'gc> = Gc::as_ref(closure.function);
            ops = &function.ops;
            constants = &function.constants;
            caches = &function.caches;
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
            let f: &'gc Function<'gc> = Gc::as_ref(callee.function);
            if argc != usize::from(f.arity) {
                throw!("Expected {} arguments but got {}.", f.arity, argc);
            }
            if fp == FRAMES_MAX {
                throw!("Stack overflow.");
            }
            let new_base = sp - argc - 1;
            let need = new_base + f.max_slots;
            if need > STACK_MAX {
                throw!("Stack overflow.");
            }
            save_ip!();
            hw = hw.max(need);
            base = new_base;
            frames[fp] = Frame {
                closure: callee,
                ip: 0,
                base,
            };
            fp += 1;
            closure = callee;
            ops = &f.ops;
            constants = &f.constants;
            caches = &f.caches;
            ip = 0;
            if !STEP {
                budget -= 1;
                if budget == 0 {
                    break Ok(Flow::Yield);
                }
            }
        }};
    }
    // Calls the value in the callee slot of a call with `argc` arguments.
    macro_rules! call_value {
        ($argc:expr) => {{
            let argc = $argc;
            let callee = &stack[sp - 1 - argc];
            if let Value::Closure(c) = *callee {
                call_closure!(c, argc);
            } else if let Value::Class(class) = *callee {
                // Instantiation, inline: the instance replaces the class.
                let slot = sp - argc - 1;
                let instance = Class::instantiate(class, mc);
                put(&mut stack[slot], instance);
                match class.init.get() {
                    Some(init) => call_closure!(init, argc),
                    None if argc == 0 => {}
                    None => throw!("Expected 0 arguments but got {}.", argc),
                }
            } else {
                // By reference: a copy would load the whole value at once.
                match call_other(mc, &peek!(argc), argc, start) {
                    Ok((value, closure)) => {
                        let slot = sp - argc - 1;
                        put(&mut stack[slot], value);
                        match closure {
                            Some(c) => call_closure!(c, argc),
                            None => sp = slot + 1,
                        }
                    }
                    Err(message) => {
                        save_ip!();
                        break Err(message);
                    }
                }
            }
        }};
    }
    // The value of property `name` of `receiver` (GET_PROPERTY), through the
    // inline cache.
    macro_rules! get_property {
        ($receiver:expr, $name:expr, $cache:expr) => {{
            let cache = caches.get(usize::from($cache));
            let (instance, hit) = match $receiver {
                Value::Instance(i) => (AnyInstance::Big(i), get_cached(&i.fields, cache)),
                Value::SmallInstance(i) => (AnyInstance::Small(i), get_cached(&i.fields, cache)),
                _ => throw!("Only instances have properties."),
            };
            match hit {
                Some(value) => value,
                None => match get_property_slow(mc, instance, string!($name), cache) {
                    Ok(value) => value,
                    Err(message) => {
                        save_ip!();
                        break Err(message);
                    }
                },
            }
        }};
    }
    // A binary number operator with a constant right operand (fused ops).
    macro_rules! constant_number {
        ($index:expr, $op:tt, $wrap:expr) => {{
            match (stack[sp - 1], constants[usize::from($index)]) {
                (Value::Number(a), Value::Number(b)) => stack[sp - 1] = $wrap(a $op b),
                _ => throw!("Operands must be numbers."),
            }
        }};
    }
    // Returns `result` from the current frame.
    macro_rules! return_value {
        ($result:expr) => {{
            let result = $result;
            if open_upvalues.last().is_some_and(|&(s, _)| s >= base) {
                close_upvalues(mc, &mut open_upvalues, &stack[..], base);
            }
            fp -= 1;
            if fp == 0 {
                sp = 0;
                break Ok(Flow::Done);
            }
            put(&mut stack[base], result);
            sp = base + 1;
            load_frame!();
        }};
    }
    macro_rules! binary_number {
        ($op:tt, $wrap:expr) => {{
            match (stack[sp - 2], stack[sp - 1]) {
                (Value::Number(a), Value::Number(b)) => {
                    stack[sp - 2] = $wrap(a $op b);
                    sp -= 1;
                }
                _ => throw!("Operands must be numbers."),
            }
        }};
    }

    let result: Result<Flow, String> = loop {
        if STEP {
            if budget == 0 {
                save_ip!();
                break Ok(Flow::Yield);
            }
            budget -= 1;
        }
        let op = ops[ip];
        ip += 1;
        match op {
            Op::Constant(index) => push!(constants[usize::from(index)]),
            Op::Nil => push!(Value::Nil),
            Op::True => push!(Value::Bool(true)),
            Op::False => push!(Value::Bool(false)),
            Op::Pop => sp -= 1,
            Op::GetLocal(slot) => push_copy!(stack[base + usize::from(slot)]),
            Op::SetLocal(slot) => {
                let v = peek!(0);
                put(&mut stack[base + usize::from(slot)], v);
            }
            Op::GetGlobal(slot) => {
                let global = globals[slot as usize];
                if !global.defined {
                    throw!("Undefined variable '{}'.", global.name.chars);
                }
                push_copy!(global.value);
            }
            Op::DefineGlobal(slot) => {
                let v = pop!();
                let global = &mut globals[slot as usize];
                put(&mut global.value, v);
                global.defined = true;
            }
            Op::SetGlobal(slot) => {
                let global = &mut globals[slot as usize];
                if !global.defined {
                    throw!("Undefined variable '{}'.", global.name.chars);
                }
                put(&mut global.value, peek!(0));
            }
            Op::GetUpvalue(index) => {
                let upvalue = closure.upvalues[usize::from(index)];
                let value = match *upvalue.borrow() {
                    UpvalueState::Open(slot) => stack[slot],
                    UpvalueState::Closed(value) => value,
                };
                push_copy!(value);
            }
            Op::SetUpvalue(index) => {
                let upvalue = closure.upvalues[usize::from(index)];
                let value = peek!(0);
                let open = match *upvalue.borrow() {
                    UpvalueState::Open(slot) => Some(slot),
                    UpvalueState::Closed(_) => None,
                };
                match open {
                    Some(slot) => stack[slot] = value,
                    None => *upvalue.borrow_mut(mc) = UpvalueState::Closed(value),
                }
            }
            Op::GetProperty { name, cache } => {
                let value = get_property!(peek!(0), name, cache);
                put(&mut stack[sp - 1], value);
            }
            Op::LocalProperty { slot, name, cache } => {
                let value = get_property!(stack[base + usize::from(slot)], name, cache);
                push_copy!(value);
            }
            Op::AddConstant(index) => match (stack[sp - 1], constants[usize::from(index)]) {
                (Value::Number(a), Value::Number(b)) => stack[sp - 1] = Value::Number(a + b),
                (Value::String(a), Value::String(b)) => {
                    stack[sp - 1] = concatenate(mc, cx.strings, a, b);
                    if cx.strings.collect_requested {
                        cx.strings.collect_requested = false;
                        budget = budget.min(1);
                    }
                }
                _ => throw!("Operands must be two numbers or two strings."),
            },
            Op::SubtractConstant(index) => constant_number!(index, -, Value::Number),
            Op::LessConstant(index) => constant_number!(index, <, Value::Bool),
            Op::GreaterConstant(index) => constant_number!(index, >, Value::Bool),
            Op::EqualConstant(index) => {
                let equal = Value::equal_in_place(&stack[sp - 1], &constants[usize::from(index)]);
                stack[sp - 1] = Value::Bool(equal);
            }
            Op::JumpIfFalsePop(to) => {
                if peek!(0).is_falsey() {
                    ip = to as usize;
                } else {
                    sp -= 1;
                }
            }
            Op::SetLocalPop(slot) => {
                let v = peek!(0);
                put(&mut stack[base + usize::from(slot)], v);
                sp -= 1;
            }
            Op::SetProperty { name, cache } | Op::SetPropertyPop { name, cache } => {
                let pop_after = matches!(op, Op::SetPropertyPop { .. });
                let cache = caches.get(usize::from(cache));
                let value = peek!(0);
                let (instance, done) = match peek!(1) {
                    Value::Instance(i) => (AnyInstance::Big(i), set_cached(mc, i, value, cache)),
                    Value::SmallInstance(i) => {
                        (AnyInstance::Small(i), set_cached(mc, i, value, cache))
                    }
                    _ => throw!("Only instances have fields."),
                };
                sp -= 1;
                if !done {
                    set_property_slow(mc, instance, string!(name), value, cache);
                }
                if pop_after {
                    sp -= 1;
                } else {
                    stack[sp - 1] = value;
                }
            }
            Op::GetSuper(name) => {
                let name = string!(name);
                let Value::Class(superclass) = pop!() else {
                    unreachable!("superclass is not a class");
                };
                let Some(method) = superclass.find_method(name) else {
                    throw!("Undefined property '{}'.", name.chars);
                };
                stack[sp - 1] = bind_method(mc, stack[sp - 1], method);
            }
            Op::Equal => {
                let equal = Value::equal_in_place(&stack[sp - 2], &stack[sp - 1]);
                sp -= 1;
                stack[sp - 1] = Value::Bool(equal);
            }
            Op::Greater => binary_number!(>, Value::Bool),
            Op::Less => binary_number!(<, Value::Bool),
            Op::Add => {
                match (stack[sp - 2], stack[sp - 1]) {
                    (Value::Number(a), Value::Number(b)) => {
                        stack[sp - 2] = Value::Number(a + b);
                    }
                    (Value::String(a), Value::String(b)) => {
                        stack[sp - 2] = concatenate(mc, cx.strings, a, b);
                        if cx.strings.collect_requested {
                            // End the slice at the next call or backward jump, so
                            // that the requested cycle can finish.
                            cx.strings.collect_requested = false;
                            budget = budget.min(1);
                        }
                    }
                    _ => throw!("Operands must be two numbers or two strings."),
                }
                sp -= 1;
            }
            Op::Subtract => binary_number!(-, Value::Number),
            Op::Multiply => binary_number!(*, Value::Number),
            Op::Divide => binary_number!(/, Value::Number),
            Op::Not => stack[sp - 1] = Value::Bool(stack[sp - 1].is_falsey()),
            Op::Negate => match stack[sp - 1] {
                Value::Number(n) => stack[sp - 1] = Value::Number(-n),
                _ => throw!("Operand must be a number."),
            },
            Op::Print => {
                let value = pop!();
                print(cx.out, value);
            }
            Op::Jump(to) => ip = to as usize,
            Op::JumpIfFalse(to) => {
                if peek!(0).is_falsey() {
                    ip = to as usize;
                }
            }
            Op::Loop(to) => {
                ip = to as usize;
                if !STEP {
                    budget -= 1;
                    if budget == 0 {
                        save_ip!();
                        break Ok(Flow::Yield);
                    }
                }
            }
            Op::Call(argc) => {
                let argc = usize::from(argc);
                call_value!(argc);
            }
            Op::Invoke { name, argc, cache } => {
                let argc = usize::from(argc);
                let Some(instance) = AnyInstance::of(peek!(argc)) else {
                    throw!("Only instances have methods.");
                };
                let cache = caches.get(usize::from(cache));
                let hit = match cache {
                    Some(c) => c.find(instance.shape()).and_then(|e| e.method.get()),
                    None => None,
                };
                match hit {
                    Some(method) => call_closure!(method, argc),
                    None => match invoke_slow(mc, instance, string!(name), cache) {
                        Ok(Ok(method)) => call_closure!(method, argc),
                        Ok(Err(value)) => {
                            put(&mut stack[sp - argc - 1], value);
                            call_value!(argc);
                        }
                        Err(message) => {
                            save_ip!();
                            break Err(message);
                        }
                    },
                }
            }
            Op::SuperInvoke { name, argc } => {
                let name = string!(name);
                let argc = usize::from(argc);
                let Value::Class(superclass) = pop!() else {
                    unreachable!("superclass is not a class");
                };
                match superclass.find_method(name) {
                    Some(method) => call_closure!(method, argc),
                    None => throw!("Undefined property '{}'.", name.chars),
                }
            }
            Op::Closure(index) => {
                let Value::Function(f) = constants[usize::from(index)] else {
                    unreachable!("closure operand is not a function");
                };
                push!(make_closure(mc, &mut open_upvalues, f, closure, base));
            }
            Op::CloseUpvalue => {
                close_upvalues(mc, &mut open_upvalues, &stack[..], sp - 1);
                sp -= 1;
            }
            Op::Return | Op::ReturnLocal(_) | Op::ReturnNil => {
                // One body for the three (the fused ones only pick the value).
                let result = match op {
                    Op::ReturnLocal(slot) => stack[base + usize::from(slot)],
                    Op::ReturnNil => Value::Nil,
                    _ => pop!(),
                };
                return_value!(result);
            }
            Op::Class(name) => {
                push!(Value::Class(Class::new(mc, string!(name))));
            }
            Op::Inherit => {
                let Value::Class(superclass) = peek!(1) else {
                    throw!("Superclass must be a class.");
                };
                let Value::Class(subclass) = peek!(0) else {
                    unreachable!("subclass is not a class");
                };
                inherit(mc, subclass, superclass);
                sp -= 1;
            }
            Op::Method(name) => {
                let Value::Closure(method) = peek!(0) else {
                    unreachable!("method is not a closure");
                };
                let Value::Class(class) = peek!(1) else {
                    unreachable!("method outside a class");
                };
                define_method(mc, class, string!(name), method, init_string);
                sp -= 1;
            }
        }
    };
    debug_assert!(sp <= hw, "a frame used more slots than its max_slots");
    for slot in stack.iter_mut().take(hw).skip(sp) {
        *slot = Value::Nil;
    }
    cx.sp.set(sp);
    frames.truncate(fp);
    *cx.frames = frames;
    *cx.open_upvalues = open_upvalues;
    cx.globals.slots = globals;
    result
}
