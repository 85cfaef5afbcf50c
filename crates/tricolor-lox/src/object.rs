//! Lox values and heap objects, as tricolor GC objects.
//!
//! * [`Value`] — a 16-byte `Copy` enum: `nil`, booleans, numbers inline; every
//!   other kind is one [`Gc`] pointer to a heap object (a tag plus a word).
//! * [`LoxString`] — an interned string: its hash and its text. Interned
//!   strings are compared by address (like clox), through [`Key`].
//! * [`Function`] — a loaded [`FunctionProto`](crate::FunctionProto): bytecode,
//!   line table and constants (immutable once built).
//! * [`Closure`] — a function and its captured [`Upvalue`]s.
//! * [`Upvalue`] — a `RefLock` holding either the stack slot of a variable
//!   still on the stack (open) or the variable's value (closed).
//! * [`Class`] — its name, its method table, and its initializer cached
//!   apart from the table.
//! * [`Instance`] — its fields, stored by [`Shape`]: a shape names its
//!   class and maps field names to slot numbers, and is shared by every
//!   instance of the class whose fields were added in the same order (a
//!   hidden class), so an instance stores only values: the first
//!   [`INLINE_FIELDS`] of them inside the object itself (96 bytes in all,
//!   with no drop glue), the others in a separate vector object. Instances
//!   of classes whose instances never had fields are [`SmallInstance`]s
//!   (32 bytes).
//! * [`BoundMethod`], [`Native`].
//!
//! Mutable parts are `RefLock`s (object barrier) or `GcCell`s (slot
//! barrier), so every store of a GC pointer into the heap is barriered.

use core::cell::Cell;
use core::fmt;
use core::hash::{BuildHasherDefault, Hash, Hasher};
use std::collections::HashMap;

use tricolor::{Gc, GcCell, Mutation, RefLock, Trace};

use crate::chunk::{FunctionKind, write_number};
use crate::code::{Capture, Op};

/// A Lox value. `Copy`, two words.
///
/// The tag is a full word (`repr(C, u64)`): a value is then written as two
/// 8-byte stores, which later 8-byte loads of the tag or payload can take
/// straight from the store buffer.
#[derive(Clone, Copy, Trace)]
#[repr(C, u64)]
pub enum Value<'gc> {
    /// `nil`.
    Nil,
    /// `true` or `false`.
    Bool(bool),
    /// A number.
    Number(f64),
    /// An (interned) string.
    String(Gc<'gc, LoxString>),
    /// A bare function (only as a constant, the operand of `OP_CLOSURE`).
    Function(Gc<'gc, Function<'gc>>),
    /// A closure: what Lox functions are at run time.
    Closure(Gc<'gc, Closure<'gc>>),
    /// A class.
    Class(Gc<'gc, Class<'gc>>),
    /// An instance of a class (with room for fields).
    Instance(Gc<'gc, Instance<'gc>>),
    /// An instance of a class whose instances have had no fields so far.
    SmallInstance(Gc<'gc, SmallInstance<'gc>>),
    /// A method bound to its receiver.
    BoundMethod(Gc<'gc, BoundMethod<'gc>>),
    /// A native function.
    Native(Gc<'gc, Native>),
}

impl<'gc> Value<'gc> {
    /// Lox truthiness: `nil` and `false` are falsey, everything else truthy.
    #[inline]
    pub fn is_falsey(self) -> bool {
        matches!(self, Value::Nil | Value::Bool(false))
    }

    /// Lox `==`: numbers by value (so `NaN != NaN`), objects by identity
    /// (strings are interned, so that is equality of contents).
    #[inline]
    pub fn equals(self, other: Value<'gc>) -> bool {
        Value::equal_in_place(&self, &other)
    }

    /// [`Value::equals`] on values in place: the tags are compared first and
    /// the payloads loaded only when needed.
    #[inline]
    pub fn equal_in_place(a: &Value<'gc>, b: &Value<'gc>) -> bool {
        match (*a, *b) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => a == b,
            (Value::String(a), Value::String(b)) => Gc::ptr_eq(a, b),
            (Value::Function(a), Value::Function(b)) => Gc::ptr_eq(a, b),
            (Value::Closure(a), Value::Closure(b)) => Gc::ptr_eq(a, b),
            (Value::Class(a), Value::Class(b)) => Gc::ptr_eq(a, b),
            (Value::Instance(a), Value::Instance(b)) => Gc::ptr_eq(a, b),
            (Value::SmallInstance(a), Value::SmallInstance(b)) => Gc::ptr_eq(a, b),
            (Value::BoundMethod(a), Value::BoundMethod(b)) => Gc::ptr_eq(a, b),
            (Value::Native(a), Value::Native(b)) => Gc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl fmt::Display for Value<'_> {
    /// Prints the value as clox's `printValue` does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Value::Nil => f.write_str("nil"),
            Value::Bool(b) => f.write_str(if b { "true" } else { "false" }),
            Value::Number(n) => write_number(f, n),
            Value::String(s) => f.write_str(&s.chars),
            Value::Function(func) => fmt::Display::fmt(&*func, f),
            Value::Closure(c) => fmt::Display::fmt(&*c.function, f),
            Value::Class(c) => f.write_str(&c.name.chars),
            Value::Instance(i) => write!(f, "{} instance", i.class().name.chars),
            Value::SmallInstance(i) => write!(f, "{} instance", i.class().name.chars),
            Value::BoundMethod(b) => fmt::Display::fmt(&*b.method.function, f),
            Value::Native(_) => f.write_str("<native fn>"),
        }
    }
}

impl fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(s) => write!(f, "{:?}", &*s.chars),
            other => fmt::Display::fmt(other, f),
        }
    }
}

/// An interned Lox string. Holds no GC pointers, so the collector never
/// scans it.
#[derive(Trace)]
#[trace(static)]
pub struct LoxString {
    /// The hash of `chars` ([`hash_str`]).
    pub hash: u64,
    /// The text.
    pub chars: Box<str>,
}

impl fmt::Debug for LoxString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.chars, f)
    }
}

/// The hash of a string's text: FxHash steps over 8-byte words (in four
/// independent lanes for long strings, 32 bytes at a time), then a final mix
/// so that every bit of the result depends on every input bit (the tables
/// use the hash as it is).
pub fn hash_str(s: &str) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    #[inline(always)]
    fn step(h: u64, w: &[u8]) -> u64 {
        let w = u64::from_le_bytes(w.try_into().expect("8-byte word"));
        (h.rotate_left(5) ^ w).wrapping_mul(K)
    }
    let bytes = s.as_bytes();
    let mut h: u64 = bytes.len() as u64;
    let mut blocks = bytes.chunks_exact(32);
    if bytes.len() >= 32 {
        let mut lanes = [h, h ^ 1, h ^ 2, h ^ 3];
        for block in &mut blocks {
            for (lane, word) in lanes.iter_mut().zip(block.chunks_exact(8)) {
                *lane = step(*lane, word);
            }
        }
        h = lanes
            .iter()
            .fold(0, |acc, &lane| step(acc, &lane.to_le_bytes()));
    }
    let mut words = blocks.remainder().chunks_exact(8);
    for word in &mut words {
        h = step(h, word);
    }
    let mut last = [0u8; 8];
    let rest = words.remainder();
    last[..rest.len()].copy_from_slice(rest);
    h = step(h, &last);
    // murmur3's fmix64.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// A hasher that passes a precomputed, well-mixed `u64` hash through
/// (for tables keyed by [`Key`] or by a string hash).
#[derive(Clone, Copy, Default, Debug)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by the VM's keys; a plain FxHash step for completeness.
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The `BuildHasher` of [`IdHasher`].
pub type IdBuild = BuildHasherDefault<IdHasher>;

/// An interned string used as a table key: hashed by its precomputed hash,
/// compared by address (interning makes that equality of contents).
#[derive(Clone, Copy, Trace)]
pub struct Key<'gc>(pub Gc<'gc, LoxString>);

impl PartialEq for Key<'_> {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        Gc::ptr_eq(self.0, other.0)
    }
}

impl Eq for Key<'_> {}

impl Hash for Key<'_> {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0.hash);
    }
}

impl fmt::Debug for Key<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// A table from interned names to `V` (globals, methods).
pub type Table<'gc, V> = HashMap<Key<'gc>, V, IdBuild>;

/// A loaded function: immutable once built (except its inline caches).
#[derive(Trace)]
pub struct Function<'gc> {
    /// Its name; `None` for the top-level script.
    pub name: Option<Gc<'gc, LoxString>>,
    /// The number of parameters.
    pub arity: u8,
    /// The most value-stack slots a call of it uses (see
    /// [`max_slots`](crate::code::max_slots)).
    pub max_slots: usize,
    /// What kind of function it is.
    #[trace(static)]
    pub kind: FunctionKind,
    /// The code, decoded (see [`crate::code`]).
    #[trace(static)]
    pub ops: Box<[Op]>,
    /// The source line of each op.
    pub lines: Box<[u32]>,
    /// The constant table.
    pub constants: Box<[Value<'gc>]>,
    /// What its closures capture (one entry per upvalue).
    #[trace(static)]
    pub captures: Box<[Capture]>,
    /// The inline caches of its property accesses and invocations.
    pub caches: Box<[Cache<'gc>]>,
}

/// An inline cache for one property access or invocation site: two
/// [`CacheEntry`]s (a site often sees two shapes, e.g. leaves and inner
/// nodes of a tree), the most recently filled first.
#[derive(Trace, Default)]
pub struct Cache<'gc> {
    /// The entries.
    pub entries: [CacheEntry<'gc>; 2],
}

impl<'gc> Cache<'gc> {
    /// The entry for `shape`, if any.
    #[inline]
    pub fn find(&self, shape: Gc<'gc, Shape<'gc>>) -> Option<&CacheEntry<'gc>> {
        self.entries
            .iter()
            .find(|e| e.shape.get().is_some_and(|s| Gc::ptr_eq(s, shape)))
    }

    /// Makes room for a new entry (the first, cleared), moving the first to
    /// the second place, and returns it.
    pub fn refill(&self, mc: &Mutation<'gc>) -> &CacheEntry<'gc> {
        let [first, second] = &self.entries;
        second.shape.set(mc, first.shape.get());
        second.next.set(mc, first.next.get());
        second.method.set(mc, first.method.get());
        second.slot.set(first.slot.get());
        first.next.set(mc, None);
        first.method.set(mc, None);
        first
    }
}

/// One entry of a [`Cache`], keyed by the receiver's [`Shape`] (which
/// determines its class and its fields):
///
/// * `GET_PROPERTY`: the field's `slot`;
/// * `SET_PROPERTY`: the field's `slot`, and the shape after the store if it
///   adds the field (`next`);
/// * `INVOKE`: the `method` (the shape has no field of that name).
#[derive(Trace, Default)]
pub struct CacheEntry<'gc> {
    /// The shape the entry is for.
    pub shape: GcCell<Option<Gc<'gc, Shape<'gc>>>>,
    /// The shape after an added field.
    pub next: GcCell<Option<Gc<'gc, Shape<'gc>>>>,
    /// The method found.
    pub method: GcCell<Option<Gc<'gc, Closure<'gc>>>>,
    /// The field slot.
    pub slot: Cell<u32>,
}

impl fmt::Display for Function<'_> {
    /// `<fn name>`, or `<script>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name {
            Some(name) => write!(f, "<fn {}>", name.chars),
            None => f.write_str("<script>"),
        }
    }
}

/// What an upvalue refers to.
#[derive(Clone, Copy, Trace)]
pub enum UpvalueState<'gc> {
    /// The variable is still on the stack, in this slot.
    Open(usize),
    /// The variable has left the stack; this is its value.
    Closed(Value<'gc>),
}

/// A captured variable (see [`UpvalueState`]), mutated through the object
/// barrier when it is closed or assigned.
pub type Upvalue<'gc> = RefLock<UpvalueState<'gc>>;

/// A function with the variables it captured.
#[derive(Trace)]
pub struct Closure<'gc> {
    /// The function.
    pub function: Gc<'gc, Function<'gc>>,
    /// Its captured variables (fixed when the closure is made).
    pub upvalues: Box<[Gc<'gc, Upvalue<'gc>>]>,
}

/// A class.
#[derive(Trace)]
pub struct Class<'gc> {
    /// The class name.
    pub name: Gc<'gc, LoxString>,
    /// The shape of its instances without fields: the root of its shape
    /// tree, so that a shape identifies a class. (Set right after the class
    /// is made, as the shape names the class.)
    root_shape: GcCell<Option<Gc<'gc, Shape<'gc>>>>,
    /// Methods by name (inherited ones copied down, as in clox).
    pub methods: RefLock<Table<'gc, Gc<'gc, Closure<'gc>>>>,
    /// The `init` method, if any: kept apart from the table so that
    /// instantiation does not look it up.
    pub init: GcCell<Option<Gc<'gc, Closure<'gc>>>>,
    /// The most fields any of its instances has had.
    fields_seen: Cell<usize>,
}

impl<'gc> Class<'gc> {
    /// A class without methods.
    pub fn new(mc: &Mutation<'gc>, name: Gc<'gc, LoxString>) -> Gc<'gc, Class<'gc>> {
        let class = Gc::new(
            mc,
            Class {
                name,
                root_shape: GcCell::new(None),
                methods: RefLock::new(Table::default()),
                init: GcCell::new(None),
                fields_seen: Cell::new(0),
            },
        );
        let root = Gc::new(
            mc,
            Shape {
                class,
                keys: Box::new([]),
                index: None,
                transitions: RefLock::new(Vec::new()),
            },
        );
        class.root_shape.set(mc, Some(root));
        class
    }

    /// The shape of its instances without fields.
    #[inline]
    pub fn root_shape(&self) -> Gc<'gc, Shape<'gc>> {
        self.root_shape
            .get()
            .unwrap_or_else(|| unreachable!("a class gets its root shape when it is made"))
    }

    /// The most fields any of its instances has had so far: new instances
    /// are [`SmallInstance`]s while it is 0.
    #[inline]
    pub fn field_hint(&self) -> usize {
        self.fields_seen.get()
    }

    /// Records that an instance has `count` fields.
    #[inline]
    pub fn saw_fields(&self, count: usize) {
        if count > self.fields_seen.get() {
            self.fields_seen.set(count);
        }
    }

    /// A new instance (small while no instance has had fields).
    #[inline]
    pub fn instantiate(this: Gc<'gc, Class<'gc>>, mc: &Mutation<'gc>) -> Value<'gc> {
        if this.field_hint() == 0 {
            Value::SmallInstance(Gc::new(mc, SmallInstance::new(this)))
        } else {
            Value::Instance(Gc::new(mc, Instance::new(this)))
        }
    }

    /// The method called `name`.
    #[inline]
    pub fn find_method(&self, name: Gc<'gc, LoxString>) -> Option<Gc<'gc, Closure<'gc>>> {
        self.methods.borrow().get(&Key(name)).copied()
    }
}

/// Up to this many fields of an instance are stored in the instance object
/// itself; more go to a separate vector object.
pub const INLINE_FIELDS: usize = 4;

/// Shapes with more fields than this find a field by hash table rather
/// than by a linear scan of their names.
const LINEAR_LOOKUP_MAX: usize = 8;

/// A hidden class: the names of an instance's fields in slot order. Each
/// class's shapes form a tree rooted at its empty shape; adding field `n` to
/// an instance of shape `s` moves it to `s`'s child for `n`, so instances of
/// a class whose fields were added in the same order share one shape.
#[derive(Trace)]
pub struct Shape<'gc> {
    /// The class of the instances with this shape.
    pub class: Gc<'gc, Class<'gc>>,
    /// Field names, by slot.
    keys: Box<[Gc<'gc, LoxString>]>,
    /// Name → slot, for shapes with many fields.
    index: Option<Table<'gc, usize>>,
    /// The child shapes, by added field name.
    transitions: RefLock<Vec<(Gc<'gc, LoxString>, Gc<'gc, Shape<'gc>>)>>,
}

impl<'gc> Shape<'gc> {
    /// The slot of field `name`.
    #[inline]
    pub fn lookup(&self, name: Gc<'gc, LoxString>) -> Option<usize> {
        match &self.index {
            None => self.keys.iter().position(|k| Gc::ptr_eq(*k, name)),
            Some(index) => index.get(&Key(name)).copied(),
        }
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the shape has no fields.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The shape with `name` added after this shape's fields.
    pub fn with_field(
        this: Gc<'gc, Shape<'gc>>,
        mc: &Mutation<'gc>,
        name: Gc<'gc, LoxString>,
    ) -> Gc<'gc, Shape<'gc>> {
        if let Some(&(_, next)) = this
            .transitions
            .borrow()
            .iter()
            .find(|(n, _)| Gc::ptr_eq(*n, name))
        {
            return next;
        }
        let keys: Box<[_]> = this.keys.iter().copied().chain([name]).collect();
        let index = (keys.len() > LINEAR_LOOKUP_MAX)
            .then(|| keys.iter().enumerate().map(|(i, k)| (Key(*k), i)).collect());
        let next = Gc::new(
            mc,
            Shape {
                class: this.class,
                keys,
                index,
                transitions: RefLock::new(Vec::new()),
            },
        );
        let w = this.write(mc);
        w.unlock(&this.transitions).borrow_mut().push((name, next));
        next
    }
}

/// An instance's field values, laid out by its shape: the first `N` in the
/// instance object itself, the others in a separate vector object.
#[derive(Trace)]
pub struct Fields<'gc, const N: usize> {
    /// The names of the fields (and the class).
    pub shape: Gc<'gc, Shape<'gc>>,
    /// The first `N` fields.
    pub inline: [Value<'gc>; N],
    /// The others, once there are any.
    pub rest: Option<Gc<'gc, RefLock<Vec<Value<'gc>>>>>,
}

impl<'gc, const N: usize> Fields<'gc, N> {
    /// The value in `slot`.
    #[inline]
    pub fn get(&self, slot: usize) -> Value<'gc> {
        if slot < N {
            self.inline[slot]
        } else {
            match self.rest {
                Some(rest) => rest.borrow()[slot - N],
                None => unreachable!("slot {slot} of an instance without overflow fields"),
            }
        }
    }

    /// Stores `value` in `slot`, which must exist or be the next one.
    #[inline]
    pub fn set(&mut self, mc: &Mutation<'gc>, slot: usize, value: Value<'gc>) {
        if slot < N {
            self.inline[slot] = value;
        } else {
            let rest = match self.rest {
                Some(rest) => rest,
                None => {
                    let expected = self.shape.class.field_hint();
                    let capacity = expected.max(slot + 1) - N;
                    let rest = Gc::new(mc, RefLock::new(Vec::with_capacity(capacity)));
                    self.rest = Some(rest);
                    rest
                }
            };
            let mut rest = rest.borrow_mut(mc);
            let at = slot - N;
            if at < rest.len() {
                rest[at] = value;
            } else {
                rest.push(value);
            }
        }
    }
}

/// An instance of a class, with room for `N` fields inside the object.
///
/// Two sizes exist, as two [`Value`] variants: [`Instance`] (room for
/// [`INLINE_FIELDS`]; 96 bytes with the object header) and
/// [`SmallInstance`] (none; 32 bytes). A class makes small instances until
/// one of its instances has had a field (see [`Class::field_hint`]), so
/// classes whose instances have no fields cost a third of the memory.
#[derive(Trace)]
pub struct InstanceN<'gc, const N: usize> {
    /// Its fields (and, through their shape, its class).
    pub fields: RefLock<Fields<'gc, N>>,
}

/// An instance with room for [`INLINE_FIELDS`] fields.
pub type Instance<'gc> = InstanceN<'gc, INLINE_FIELDS>;

/// An instance with no room for fields in the object.
pub type SmallInstance<'gc> = InstanceN<'gc, 0>;

impl<'gc, const N: usize> InstanceN<'gc, N> {
    /// An instance without fields.
    #[inline]
    pub fn new(class: Gc<'gc, Class<'gc>>) -> Self {
        InstanceN {
            fields: RefLock::new(Fields {
                shape: class.root_shape(),
                inline: [Value::Nil; N],
                rest: None,
            }),
        }
    }

    /// Its class.
    #[inline]
    pub fn class(&self) -> Gc<'gc, Class<'gc>> {
        self.fields.borrow().shape.class
    }

    /// The shape of its fields.
    #[inline]
    pub fn shape(&self) -> Gc<'gc, Shape<'gc>> {
        self.fields.borrow().shape
    }

    /// The value of field `name`, if the instance has it, with its slot and
    /// the instance's shape.
    #[inline]
    pub fn field(
        &self,
        name: Gc<'gc, LoxString>,
    ) -> (Gc<'gc, Shape<'gc>>, Option<(usize, Value<'gc>)>) {
        let f = self.fields.borrow();
        let found = f.shape.lookup(name).map(|slot| (slot, f.get(slot)));
        (f.shape, found)
    }

    /// The number of fields.
    pub fn field_count(&self) -> usize {
        self.fields.borrow().shape.len()
    }

    /// Sets field `name` (adding it if needed), through the object barrier.
    /// Returns the shape before, the shape after and the slot.
    pub fn set_field(
        this: Gc<'gc, InstanceN<'gc, N>>,
        mc: &Mutation<'gc>,
        name: Gc<'gc, LoxString>,
        value: Value<'gc>,
    ) -> (Gc<'gc, Shape<'gc>>, Gc<'gc, Shape<'gc>>, usize) {
        let w = this.write(mc);
        let mut f = w.unlock(&this.fields).borrow_mut();
        let before = f.shape;
        let slot = match before.lookup(name) {
            Some(slot) => slot,
            None => {
                f.shape = Shape::with_field(before, mc, name);
                before.class.saw_fields(f.shape.len());
                before.len()
            }
        };
        f.set(mc, slot, value);
        (before, f.shape, slot)
    }
}

/// An instance of either size.
#[derive(Clone, Copy)]
pub enum AnyInstance<'gc> {
    /// Room for [`INLINE_FIELDS`] fields.
    Big(Gc<'gc, Instance<'gc>>),
    /// No room for fields.
    Small(Gc<'gc, SmallInstance<'gc>>),
}

impl<'gc> AnyInstance<'gc> {
    /// The instance in `value`, if it is one.
    #[inline]
    pub fn of(value: Value<'gc>) -> Option<AnyInstance<'gc>> {
        match value {
            Value::Instance(i) => Some(AnyInstance::Big(i)),
            Value::SmallInstance(i) => Some(AnyInstance::Small(i)),
            _ => None,
        }
    }

    /// As a value.
    #[inline]
    pub fn value(self) -> Value<'gc> {
        match self {
            AnyInstance::Big(i) => Value::Instance(i),
            AnyInstance::Small(i) => Value::SmallInstance(i),
        }
    }

    /// Its class.
    #[inline]
    pub fn class(self) -> Gc<'gc, Class<'gc>> {
        match self {
            AnyInstance::Big(i) => i.class(),
            AnyInstance::Small(i) => i.class(),
        }
    }

    /// Its shape.
    #[inline]
    pub fn shape(self) -> Gc<'gc, Shape<'gc>> {
        match self {
            AnyInstance::Big(i) => i.shape(),
            AnyInstance::Small(i) => i.shape(),
        }
    }

    /// See [`InstanceN::field`].
    #[inline]
    pub fn field(
        self,
        name: Gc<'gc, LoxString>,
    ) -> (Gc<'gc, Shape<'gc>>, Option<(usize, Value<'gc>)>) {
        match self {
            AnyInstance::Big(i) => i.field(name),
            AnyInstance::Small(i) => i.field(name),
        }
    }

    /// See [`InstanceN::set_field`].
    pub fn set_field(
        self,
        mc: &Mutation<'gc>,
        name: Gc<'gc, LoxString>,
        value: Value<'gc>,
    ) -> (Gc<'gc, Shape<'gc>>, Gc<'gc, Shape<'gc>>, usize) {
        match self {
            AnyInstance::Big(i) => InstanceN::set_field(i, mc, name, value),
            AnyInstance::Small(i) => InstanceN::set_field(i, mc, name, value),
        }
    }
}

/// A method closure bound to the instance it was accessed on.
#[derive(Trace)]
pub struct BoundMethod<'gc> {
    /// The receiver (`this`).
    pub receiver: Value<'gc>,
    /// The method.
    pub method: Gc<'gc, Closure<'gc>>,
}

/// The native functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NativeFn {
    /// `clock()`: seconds since the VM started, as a number.
    Clock,
}

/// A native function object.
#[derive(Trace)]
#[trace(static)]
pub struct Native {
    /// Which function.
    pub function: NativeFn,
    /// Its number of parameters.
    pub arity: u8,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_two_words() {
        assert_eq!(core::mem::size_of::<Value<'static>>(), 16);
    }

    #[test]
    fn instances_are_small_and_need_no_drop() {
        // With the object header, 96 and 32 bytes: size classes of their own.
        assert_eq!(core::mem::size_of::<Instance<'static>>(), 88);
        assert_eq!(core::mem::size_of::<SmallInstance<'static>>(), 24);
        assert!(!core::mem::needs_drop::<Instance<'static>>());
        assert!(!core::mem::needs_drop::<SmallInstance<'static>>());
    }

    #[test]
    fn hash_spreads() {
        let a = hash_str("field1");
        let b = hash_str("field2");
        assert_ne!(a, b);
        assert_ne!(a >> 57, b >> 57, "top bits should differ (hashbrown's tag)");
        assert_eq!(hash_str("abcdefghij"), hash_str("abcdefghij"));
        assert_ne!(hash_str(""), hash_str("\0"));
    }
}
