//! Behaviour of `#[derive(Trace)]` and of the std `Trace` impls: the constants, and the exact
//! edges reported to a recording tracer.
#![allow(dead_code)] // Fields read only through the derived `trace`, or skipped on purpose.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, LinkedList, VecDeque};
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::Arc;

use tricolor::{Trace, Tracer};

// ---------------------------------------------------------------------------------------------
// Test-local stand-ins for the engine's pointer and lock types.

/// A fake GC pointer: reports the (dangling, never dereferenced) header address `self.0`.
/// Like `Gc<'gc, T>`: `NEEDS_TRACE = true`, `NEEDS_CLAIM = false`. Unlike it, it has no brand and
/// is `Trace<'gc>` for every `'gc` (a convenience for the tests that are not about brands).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Edge(usize);

// SAFETY: the tests only ever trace an `Edge` with a tracer made by `Tracer::record`, which
// records the address without dereferencing it; an `Edge` is never placed in a real heap. It
// reports its one "pointer" (rule 1), does nothing else (2), is `Send` with trivial drop glue (3,
// 4), and is immutable (5). It contains no lock cell, so `NEEDS_CLAIM = false` (6).
unsafe impl<'gc> Trace<'gc> for Edge {
    const NEEDS_TRACE: bool = true;
    const NEEDS_CLAIM: bool = false;

    fn trace(&self, tracer: &mut Tracer) {
        let header = NonNull::new(std::ptr::without_provenance_mut(self.0)).expect("non-null");
        // SAFETY: see the impl's comment: only recording tracers see this fake address, and
        // `Tracer::record` never dereferences an edge.
        unsafe { tracer.edge(header) }
    }
}

/// A fake GC pointer carrying a `'gc` brand, like the real `Gc<'gc, T>`: invariant in `'gc`, and
/// `Trace<'gc>` only for its own brand.
#[derive(Clone, Copy)]
struct FakeGc<'gc>(usize, PhantomData<fn(&'gc ()) -> &'gc ()>);

fn gc<'gc>(addr: usize) -> FakeGc<'gc> {
    FakeGc(addr, PhantomData)
}

// SAFETY: as for `Edge`: only traced by recording tracers in these tests.
unsafe impl<'gc> Trace<'gc> for FakeGc<'gc> {
    const NEEDS_TRACE: bool = true;
    const NEEDS_CLAIM: bool = false;

    fn trace(&self, tracer: &mut Tracer) {
        Edge(self.0).trace(tracer);
    }
}

/// A fake lock cell, like `RefLock<T>`: `NEEDS_CLAIM = true`.
struct FakeLock<T>(T);

// SAFETY: traces its contents (rules 1, 2, 3, 4 as for `T`); never mutated in these tests (5);
// declares that it needs claims (6, conservative).
unsafe impl<'gc, T: Trace<'gc>> Trace<'gc> for FakeLock<T> {
    const NEEDS_TRACE: bool = T::NEEDS_TRACE;
    const NEEDS_CLAIM: bool = true;

    fn trace(&self, tracer: &mut Tracer) {
        self.0.trace(tracer);
    }
}

/// The recorded edges of `value`, as addresses.
fn edges<'gc, T: Trace<'gc> + ?Sized>(value: &T) -> Vec<usize> {
    Tracer::record(|tracer| value.trace(tracer))
        .into_iter()
        .map(|header| header.addr().get())
        .collect()
}

fn sorted(mut v: Vec<usize>) -> Vec<usize> {
    v.sort_unstable();
    v
}

fn consts<'gc, T: Trace<'gc> + ?Sized>() -> (bool, bool) {
    (T::NEEDS_TRACE, T::NEEDS_CLAIM)
}

// ---------------------------------------------------------------------------------------------
// Structs.

#[derive(Trace)]
struct Named {
    first: Edge,
    count: u32,
    #[trace(skip)]
    skipped: Edge,
    second: Option<Edge>,
    #[trace(static)]
    also_skipped: Vec<Edge>,
    third: Vec<Edge>,
}

#[test]
fn named_struct_traces_every_field_once_in_order_and_never_skipped_ones() {
    let value = Named {
        first: Edge(0x10),
        count: 7,
        skipped: Edge(0xdead0),
        second: Some(Edge(0x20)),
        also_skipped: vec![Edge(0xdead8), Edge(0xdeae0)],
        third: vec![Edge(0x30), Edge(0x38)],
    };
    assert_eq!(edges(&value), [0x10, 0x20, 0x30, 0x38]);
    assert_eq!(consts::<Named>(), (true, false));
}

#[derive(Trace)]
struct Tuple(Edge, #[trace(skip)] Edge, u8, Box<Edge>);

#[derive(Trace)]
struct Unit;

#[derive(Trace)]
struct Empty {}

#[derive(Trace)]
struct OnlySkipped {
    #[trace(skip)]
    edge: Edge,
}

#[test]
fn tuple_and_unit_structs() {
    assert_eq!(
        edges(&Tuple(Edge(8), Edge(16), 0, Box::new(Edge(24)))),
        [8, 24]
    );
    assert_eq!(consts::<Tuple>(), (true, false));
    assert_eq!(edges(&Unit), Vec::<usize>::new());
    assert_eq!(consts::<Unit>(), (false, false));
    assert_eq!(consts::<Empty>(), (false, false));
    assert_eq!(consts::<OnlySkipped>(), (false, false));
    assert_eq!(edges(&OnlySkipped { edge: Edge(8) }), Vec::<usize>::new());
}

/// Field names that could clash with the generated code's own names.
#[derive(Trace)]
#[allow(non_snake_case)]
struct Hygiene {
    tracer: Edge,
    __tricolor_field_0: Edge,
    Trace: Edge,
}

#[test]
fn field_names_do_not_clash_with_generated_names() {
    let value = Hygiene {
        tracer: Edge(1 << 4),
        __tricolor_field_0: Edge(2 << 4),
        Trace: Edge(3 << 4),
    };
    assert_eq!(edges(&value), [16, 32, 48]);
}

// ---------------------------------------------------------------------------------------------
// Constants.

#[derive(Trace)]
struct PlainData {
    a: u64,
    b: String,
    c: Vec<(char, bool)>,
    d: HashMap<String, Box<[u8]>>,
    e: Cell<u32>,
    f: RefCell<Vec<u8>>,
    g: Arc<str>,
}

#[derive(Trace)]
struct WithLock {
    edge: Edge,
    locked: Vec<FakeLock<u8>>,
}

#[derive(Trace)]
struct SkippedLock {
    edge: Edge,
    #[trace(skip)]
    locked: FakeLock<u8>,
}

#[derive(Trace)]
struct LockOfPlainData {
    locked: FakeLock<u8>,
}

#[derive(Trace)]
enum EnumConsts {
    A(u8),
    B { lock: Option<FakeLock<Edge>> },
}

#[test]
fn constants_are_the_or_of_the_traced_fields() {
    assert_eq!(consts::<PlainData>(), (false, false));
    assert_eq!(consts::<WithLock>(), (true, true));
    assert_eq!(consts::<SkippedLock>(), (true, false));
    // `NEEDS_CLAIM` is reported as the field says; the engine only claims when `NEEDS_TRACE` too.
    assert_eq!(consts::<LockOfPlainData>(), (false, true));
    assert_eq!(consts::<EnumConsts>(), (true, true));
}

// ---------------------------------------------------------------------------------------------
// Enums.

#[derive(Trace)]
enum Shapes {
    Unit,
    Tuple(Edge, #[trace(skip)] Edge, Edge),
    Named {
        a: Edge,
        #[trace(static)]
        b: Edge,
        c: Vec<Edge>,
    },
    Leaf(u32),
    EmptyTuple(),
    EmptyNamed {},
}

#[test]
fn enum_variants_trace_only_their_own_fields() {
    assert_eq!(edges(&Shapes::Unit), Vec::<usize>::new());
    assert_eq!(edges(&Shapes::Tuple(Edge(8), Edge(16), Edge(24))), [8, 24]);
    let named = Shapes::Named {
        a: Edge(32),
        b: Edge(40),
        c: vec![Edge(48), Edge(56)],
    };
    assert_eq!(edges(&named), [32, 48, 56]);
    assert_eq!(edges(&Shapes::Leaf(3)), Vec::<usize>::new());
    assert_eq!(edges(&Shapes::EmptyTuple()), Vec::<usize>::new());
    assert_eq!(edges(&Shapes::EmptyNamed {}), Vec::<usize>::new());
    assert_eq!(consts::<Shapes>(), (true, false));
}

#[derive(Trace)]
enum Never {}

#[derive(Trace)]
enum Flag {
    On,
    Off,
}

#[test]
fn fieldless_enums_are_leaves() {
    assert_eq!(consts::<Never>(), (false, false));
    assert_eq!(consts::<Flag>(), (false, false));
    assert_eq!(edges(&Flag::On), Vec::<usize>::new());
}

// ---------------------------------------------------------------------------------------------
// Generics.

/// A `'gc` lifetime and type parameters, like a real heap object.
#[derive(Trace)]
struct Node<'gc, K, V>
where
    K: Ord,
{
    next: Option<FakeGc<'gc>>,
    entries: BTreeMap<K, V>,
    #[trace(skip)]
    hits: Cell<u64>,
}

#[test]
fn generic_struct_with_gc_lifetime() {
    let mut entries = BTreeMap::new();
    entries.insert(2u8, Edge(0x200));
    entries.insert(1u8, Edge(0x100));
    let node = Node {
        next: Some(gc(0x50)),
        entries,
        hits: Cell::new(0),
    };
    assert_eq!(edges(&node), [0x50, 0x100, 0x200]);
    assert_eq!(consts::<Node<'static, u8, Edge>>(), (true, false));
    assert_eq!(consts::<Node<'static, u8, FakeLock<u8>>>(), (true, true));
    // The type parameters decide nothing here: `next` is a pointer whatever they are.
    assert_eq!(consts::<Node<'static, u8, u8>>(), (true, false));
}

#[derive(Trace)]
struct Pair<A, B = u8>(A, B);

#[derive(Trace)]
enum Either<'gc, L, R> {
    Left(L),
    Right(R),
    Pointer(FakeGc<'gc>),
}

#[test]
fn generic_constants_follow_the_parameters() {
    assert_eq!(consts::<Pair<u8>>(), (false, false));
    assert_eq!(consts::<Pair<u8, Edge>>(), (true, false));
    assert_eq!(consts::<Pair<FakeLock<u8>, u8>>(), (false, true));
    assert_eq!(edges(&Pair(Edge(8), Edge(16))), [8, 16]);
    assert_eq!(consts::<Either<'static, u8, u8>>(), (true, false));
    assert_eq!(edges(&Either::<u8, Edge>::Right(Edge(64))), [64]);
    assert_eq!(edges(&Either::<Edge, u8>::Left(Edge(72))), [72]);
    assert_eq!(edges(&Either::<u8, u8>::Pointer(gc(80))), [80]);
}

#[derive(Trace)]
struct Buffer<T, const N: usize> {
    items: [T; N],
    len: usize,
}

#[derive(Trace)]
struct ConstDefault<const N: usize = 2> {
    items: [Edge; N],
}

#[test]
fn const_generics() {
    let buffer = Buffer {
        items: [Edge(8), Edge(16), Edge(24)],
        len: 3,
    };
    assert_eq!(edges(&buffer), [8, 16, 24]);
    assert_eq!(consts::<Buffer<Edge, 3>>(), (true, false));
    assert_eq!(consts::<Buffer<u8, 3>>(), (false, false));
    let c: ConstDefault = ConstDefault {
        items: [Edge(1 << 3), Edge(2 << 3)],
    };
    assert_eq!(edges(&c), [8, 16]);
}

/// `bound = ""`: no automatic `T: Trace<'gc>`, so `T` may be anything.
#[derive(Trace)]
#[trace(bound = "")]
struct Typed<T> {
    edge: Edge,
    marker: PhantomData<fn() -> T>,
}

/// A custom bound replacing the automatic one; it names the (fresh) brand `'gc`.
#[derive(Trace)]
#[trace(bound = "T: Trace<'gc> + Clone, U: 'static + Send")]
struct Custom<T, U> {
    value: T,
    #[trace(skip)]
    other: U,
}

#[test]
fn explicit_bounds() {
    // `Rc` is not `Trace`, but `Typed` does not require it.
    assert_eq!(consts::<Typed<Rc<u8>>>(), (true, false));
    assert_eq!(
        edges(&Typed::<Rc<u8>> {
            edge: Edge(8),
            marker: PhantomData
        }),
        [8]
    );
    assert_eq!(
        edges(&Custom {
            value: Edge(16),
            other: Edge(24)
        }),
        [16]
    );
}

// ---------------------------------------------------------------------------------------------
// Brands.

/// Compiles only if `T: Trace<'b>`.
fn assert_trace<'b, T: Trace<'b> + ?Sized>() {}

/// A non-brand lifetime next to the `'gc` brand: `'gc` is still the brand.
#[derive(Trace)]
struct TwoLifetimes<'a, 'gc> {
    pointer: FakeGc<'gc>,
    name: &'static str,
    marker: PhantomData<&'a ()>,
}

/// The brand named explicitly.
#[derive(Trace)]
#[trace(gc_lifetime = "'brand")]
struct RenamedBrand<'a, 'brand> {
    pointer: FakeGc<'brand>,
    marker: PhantomData<&'a ()>,
}

/// The brand named explicitly but not a parameter of the type: a fresh impl lifetime, usable in
/// the custom bound.
#[derive(Trace)]
#[trace(gc_lifetime = "'heap", bound = "T: Trace<'heap>")]
struct FreshRenamedBrand<T>(Vec<T>);

/// A lifetime other than `'gc` is not the brand: a fresh `'gc` is added, and the type is `Trace`
/// for every brand (it holds no GC pointer).
#[derive(Trace)]
struct Borrowless<'a> {
    edge: Edge,
    marker: PhantomData<&'a ()>,
}

/// Each derived type is `Trace` for exactly the brands its fields are. `'gc` and `'other` are two
/// unrelated brands (two scopes).
fn brands<'gc, 'other>(node: &Node<'gc, u8, FakeGc<'gc>>, other: FakeGc<'other>) -> Vec<usize> {
    // Types whose fields are `Trace` for every brand are `Trace` for every brand.
    assert_trace::<'other, Named>();
    assert_trace::<'other, Borrowless<'gc>>();
    assert_trace::<'other, Pair<Edge, Vec<u8>>>();
    assert_trace::<'other, StaticType>();
    assert_trace::<'other, StaticGeneric<Edge>>();
    assert_trace::<'other, FreshRenamedBrand<u8>>();
    assert_trace::<'other, Custom<Edge, u8>>();
    // Types holding branded pointers are `Trace` for their brand only (the failing cases, with
    // `'other`, are in `tests/ui/brand_mismatch.rs`).
    assert_trace::<'gc, Node<'gc, u8, FakeGc<'gc>>>();
    assert_trace::<'gc, TwoLifetimes<'other, 'gc>>();
    assert_trace::<'gc, RenamedBrand<'other, 'gc>>();
    assert_trace::<'gc, FreshRenamedBrand<FakeGc<'gc>>>();
    assert_trace::<'gc, Either<'gc, FakeGc<'gc>, u8>>();
    // The same for the std impls: leaves, static-only wrappers and `PhantomData` for every brand,
    // containers for their elements' brand.
    assert_trace::<'other, (u8, String, Vec<Edge>, RefCell<u8>, Arc<str>)>();
    assert_trace::<'other, PhantomData<FakeGc<'gc>>>();
    assert_trace::<'gc, (Vec<FakeGc<'gc>>, Box<[Option<FakeGc<'gc>>]>)>();
    assert_trace::<'gc, HashMap<u8, Result<FakeGc<'gc>, u8>>>();
    assert_trace::<'other, FakeGc<'other>>();
    let mut recorded = edges(node);
    recorded.extend(edges(&other));
    recorded
}

#[test]
fn brands_of_derived_types() {
    let node = Node {
        next: Some(gc(8)),
        entries: BTreeMap::from([(1, gc(16))]),
        hits: Cell::new(0),
    };
    assert_eq!(brands(&node, gc(24)), [8, 16, 24]);
    let value = TwoLifetimes {
        pointer: gc(24),
        name: "x",
        marker: PhantomData,
    };
    assert_eq!(edges(&value), [24]);
    let value = RenamedBrand {
        pointer: gc(32),
        marker: PhantomData,
    };
    assert_eq!(edges(&value), [32]);
    assert_eq!(edges(&FreshRenamedBrand(vec![gc(40), gc(48)])), [40, 48]);
    assert_eq!(consts::<FreshRenamedBrand<u8>>(), (false, false));
}

// ---------------------------------------------------------------------------------------------
// Type options.

#[derive(Trace)]
#[trace(static)]
struct StaticType {
    edge: Edge,
    shared: Arc<Vec<String>>,
}

#[derive(Trace)]
#[trace(no_trace)]
struct StaticGeneric<T>(T);

#[test]
fn static_types_are_leaves() {
    let value = StaticType {
        edge: Edge(8),
        shared: Arc::default(),
    };
    assert_eq!(consts::<StaticType>(), (false, false));
    assert_eq!(edges(&value), Vec::<usize>::new());
    assert_eq!(consts::<StaticGeneric<Edge>>(), (false, false));
    assert_eq!(edges(&StaticGeneric(Edge(8))), Vec::<usize>::new());
    // The automatic bound is `T: 'static + Send`, not `T: Trace<'gc>`.
    struct NotTrace;
    assert_eq!(consts::<StaticGeneric<NotTrace>>(), (false, false));
}

/// A `'static` type may implement `Drop`: it cannot hold a GC pointer.
#[derive(Trace)]
#[trace(static)]
struct StaticDropFlag(Arc<std::sync::atomic::AtomicBool>);

impl Drop for StaticDropFlag {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

#[derive(Trace)]
#[trace(unsafe_drop)]
struct UnsafeDrop<'a> {
    edge: Edge,
    #[trace(skip)]
    dropped: Arc<std::sync::atomic::AtomicBool>,
    marker: PhantomData<&'a ()>,
}

impl Drop for UnsafeDrop<'_> {
    fn drop(&mut self) {
        // Touches no GC pointer: only the flag.
        self.dropped
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

#[derive(Trace)]
#[trace(unsafe_drop, bound = "T: Trace<'gc>")]
enum GenericUnsafeDrop<T> {
    Value(T),
}

impl<T> Drop for GenericUnsafeDrop<T> {
    fn drop(&mut self) {}
}

#[test]
fn drop_is_allowed_with_unsafe_drop_or_static() {
    let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let value = UnsafeDrop {
        edge: Edge(8),
        dropped: flag.clone(),
        marker: PhantomData,
    };
    assert_eq!(edges(&value), [8]);
    drop(value);
    assert!(flag.load(std::sync::atomic::Ordering::Relaxed));

    let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
    drop(StaticDropFlag(flag.clone()));
    assert!(flag.load(std::sync::atomic::Ordering::Relaxed));

    assert_eq!(edges(&GenericUnsafeDrop::Value(Edge(16))), [16]);
}

mod reexport {
    pub use tricolor as renamed;
}

#[derive(Trace)]
#[trace(crate = "crate::reexport::renamed")]
struct RenamedCrate {
    edge: Edge,
}

/// How the `tricolor` crate derives for its own types: `Trace` and `Tracer` are in scope at the
/// crate root (here through the `use` at the top of this file).
#[derive(Trace)]
#[trace(crate = "crate")]
enum InCrate {
    Edge(Edge),
}

#[test]
fn crate_path_option() {
    assert_eq!(edges(&RenamedCrate { edge: Edge(8) }), [8]);
    assert_eq!(edges(&InCrate::Edge(Edge(16))), [16]);
}

/// An unsized type parameter keeps its `?Sized`; the automatic bound adds only `T: Trace<'gc>`.
#[derive(Trace)]
struct Unsized<T: ?Sized> {
    boxed: Box<T>,
}

/// An unsized last field.
#[derive(Trace)]
struct Dst<T: ?Sized> {
    len: usize,
    tail: T,
}

#[test]
fn unsized_parameters() {
    let slice: Unsized<[Edge]> = Unsized {
        boxed: vec![Edge(8), Edge(16)].into_boxed_slice(),
    };
    assert_eq!(edges(&slice), [8, 16]);
    assert_eq!(consts::<Unsized<str>>(), (false, false));
    let dst: &Dst<[Edge]> = &Dst {
        len: 1,
        tail: [Edge(24)],
    };
    assert_eq!(edges(dst), [24]);
    assert_eq!(consts::<Dst<[Edge]>>(), (true, false));
}

/// A by-value recursive type (through `Vec`/`Box`): `recursive` breaks the constants' cycle.
#[derive(Trace)]
struct Tree {
    label: Edge,
    #[trace(recursive)]
    children: Vec<Tree>,
    #[trace(recursive)]
    sibling: Option<Box<Self>>,
}

#[test]
fn recursive_fields_are_traced_and_conservative() {
    let leaf = |n| Tree {
        label: Edge(n),
        children: Vec::new(),
        sibling: None,
    };
    let tree = Tree {
        label: Edge(8),
        children: vec![leaf(16), leaf(24)],
        sibling: Some(Box::new(leaf(32))),
    };
    assert_eq!(edges(&tree), [8, 16, 24, 32]);
    assert_eq!(consts::<Tree>(), (true, true));
}

// ---------------------------------------------------------------------------------------------
// The std impls.

#[test]
fn std_containers_report_every_element() {
    let e = |n: usize| Edge(n * 8);

    assert_eq!(edges(&vec![e(1), e(2), e(3)]), [8, 16, 24]);
    assert_eq!(edges(&[e(1), e(2)]), [8, 16]);
    assert_eq!(edges(&[e(1), e(2)][..]), [8, 16]);
    let boxed: Box<[Edge]> = vec![e(3), e(4)].into_boxed_slice();
    assert_eq!(edges(&boxed), [24, 32]);
    assert_eq!(edges(&Some(e(5))), [40]);
    assert_eq!(edges(&None::<Edge>), Vec::<usize>::new());
    assert_eq!(edges(&Ok::<Edge, Edge>(e(1))), [8]);
    assert_eq!(edges(&Err::<Edge, Edge>(e(2))), [16]);
    assert_eq!(edges(&(e(1), 5u8, e(2), "x", e(3))), [8, 16, 24]);
    assert_eq!(
        edges(&(
            e(1),
            e(2),
            e(3),
            e(4),
            e(5),
            e(6),
            e(7),
            e(8),
            e(9),
            e(10),
            e(11),
            e(12)
        )),
        (1..=12).map(|n| n * 8).collect::<Vec<_>>()
    );
    assert_eq!(edges(&VecDeque::from([e(1), e(2), e(3)])), [8, 16, 24]);
    assert_eq!(edges(&LinkedList::from([e(2), e(1)])), [16, 8]);
    assert_eq!(
        sorted(edges(&BinaryHeap::from([e(2), e(3), e(1)]))),
        [8, 16, 24]
    );
    assert_eq!(edges(&BTreeSet::from([e(3), e(1), e(2)])), [8, 16, 24]);
    assert_eq!(
        edges(&BTreeMap::from([(e(3), e(30)), (e(1), e(10))])),
        [8, 80, 24, 240]
    );

    let map = HashMap::from([(e(1), e(10)), (e(2), e(20)), (e(3), e(30))]);
    let recorded = edges(&map);
    assert_eq!(sorted(recorded.clone()), [8, 16, 24, 80, 160, 240]);
    // Each key is immediately followed by its value.
    for pair in recorded.chunks(2) {
        assert_eq!(pair[1], pair[0] * 10);
    }
    assert_eq!(sorted(edges(&HashSet::from([e(1), e(2)]))), [8, 16]);

    assert_eq!(edges(&std::cmp::Reverse(e(1))), [8]);
    assert_eq!(edges(&std::mem::ManuallyDrop::new(e(2))), [16]);
    assert_eq!(edges(&(e(1)..e(2))), [8, 16]);
    assert_eq!(edges(&(e(1)..=e(3))), [8, 24]);
    assert_eq!(edges(&Box::new(vec![Some(e(4))])), [32]);
}

#[test]
fn std_constants() {
    assert_eq!(consts::<Vec<Edge>>(), (true, false));
    assert_eq!(consts::<Vec<FakeLock<Edge>>>(), (true, true));
    assert_eq!(consts::<Vec<u8>>(), (false, false));
    assert_eq!(consts::<Box<str>>(), (false, false));
    assert_eq!(consts::<[Edge]>(), (true, false));
    assert_eq!(consts::<Result<u8, FakeLock<Edge>>>(), (true, true));
    assert_eq!(consts::<HashMap<u8, Edge>>(), (true, false));
    assert_eq!(consts::<HashMap<FakeLock<u8>, u8>>(), (false, true));
    assert_eq!(consts::<(u8, Edge)>(), (true, false));
    assert_eq!(consts::<PhantomData<Edge>>(), (false, false));
    assert_eq!(consts::<PhantomData<Rc<u8>>>(), (false, false));
    assert_eq!(consts::<RefCell<String>>(), (false, false));
    assert_eq!(consts::<std::sync::Mutex<Vec<u8>>>(), (false, false));
    assert_eq!(consts::<&'static str>(), (false, false));
    assert_eq!(consts::<std::num::NonZeroU32>(), (false, false));
    assert_eq!(consts::<std::time::Duration>(), (false, false));
    assert_eq!(consts::<std::sync::atomic::AtomicUsize>(), (false, false));
    assert_eq!(consts::<std::ops::Range<u32>>(), (false, false));
}
