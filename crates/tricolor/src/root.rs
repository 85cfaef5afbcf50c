//! Persistent roots.

use core::fmt;
use core::marker::PhantomData;
use std::sync::Arc;

use tricolor_gc::RootEntry;

use crate::gc::Gc;
use crate::mutation::{Heap, Mutation};
use crate::trace::Trace;

/// A type that names a family of types, one per brand: `Rootable<'gc>::Root` is the rooted type
/// in scope `'gc`. Write it with the [`Rootable!`](crate::Rootable!) macro:
/// `Rootable!['gc => Node<'gc>]`, or `Rootable![Node<'_>]` for short; for types without a
/// brand, [`Static<T>`](Static) also works.
///
/// A [`Root`] outlives every scope, so its type cannot mention any one scope's brand; the
/// family lets [`Root::get`] hand back the object with the brand of the scope that asks.
pub trait Rootable<'gc>: 'static {
    /// The rooted type, branded `'gc`.
    type Root: Trace<'gc> + 'gc;
}

/// The type the [`Rootable!`](crate::Rootable!) macro expands to.
#[doc(hidden)]
pub struct __DynRootable<T: ?Sized>(PhantomData<T>);

impl<'gc, T: ?Sized + for<'a> Rootable<'a>> Rootable<'gc> for __DynRootable<T> {
    type Root = <T as Rootable<'gc>>::Root;
}

/// Names a [`Rootable`] type: `Rootable!['gc => Node<'gc>]`, or `Rootable![Node<'_>]` where `'_`
/// stands for the brand.
///
/// ```
/// use tricolor::{Gc, Heap, Root, Rootable, Trace};
///
/// #[derive(Trace)]
/// struct Node<'gc> {
///     value: u32,
///     next: Option<Gc<'gc, Node<'gc>>>,
/// }
///
/// let heap = Heap::new();
/// let mut m = heap.mutator();
/// let root: Root<Rootable![Node<'_>]> = m.enter(|mc| {
///     let tail = Gc::new(mc, Node { value: 2, next: None });
///     Root::new(mc, Gc::new(mc, Node { value: 1, next: Some(tail) }))
/// });
/// heap.collect();
/// m.enter(|mc| assert_eq!(root.get(mc).next.unwrap().value, 2));
/// ```
#[macro_export]
macro_rules! Rootable {
    ($gc:lifetime => $root:ty) => {
        $crate::__DynRootable::<dyn for<$gc> $crate::Rootable<$gc, Root = $root>>
    };
    ($($root:tt)*) => {
        $crate::Rootable!['__gc => $crate::__rootable_elide!('__gc; $($root)*)]
    };
}

/// Replaces `'_` with the brand in a type (used by `Rootable![T<'_>]`).
///
/// A token muncher with an explicit stack: on `(` or `[` it saves the tokens done so far and
/// the tokens after the group, and munches the group's contents; when those run out it wraps
/// them back in their delimiter. (Munching a group by a nested macro call would not work: a
/// macro in type position must expand to a whole type, and `A, B` or `T; 4` is not one.)
#[doc(hidden)]
#[macro_export]
macro_rules! __rootable_elide {
    ($gc:lifetime; $($t:tt)*) => { $crate::__rootable_elide!(@ $gc; []; []; $($t)*) };
    // Done.
    (@ $gc:lifetime; []; [$($done:tt)*]; ) => { $($done)* };
    // The end of a group: wrap it and resume after it.
    (@ $gc:lifetime; [(paren [$($d:tt)*] [$($r:tt)*]) $($stack:tt)*]; [$($done:tt)*]; ) => {
        $crate::__rootable_elide!(@ $gc; [$($stack)*]; [$($d)* ($($done)*)]; $($r)*)
    };
    (@ $gc:lifetime; [(bracket [$($d:tt)*] [$($r:tt)*]) $($stack:tt)*]; [$($done:tt)*]; ) => {
        $crate::__rootable_elide!(@ $gc; [$($stack)*]; [$($d)* [$($done)*]]; $($r)*)
    };
    // The brand.
    (@ $gc:lifetime; [$($stack:tt)*]; [$($done:tt)*]; '_ $($rest:tt)*) => {
        $crate::__rootable_elide!(@ $gc; [$($stack)*]; [$($done)* $gc]; $($rest)*)
    };
    // The start of a group.
    (@ $gc:lifetime; [$($stack:tt)*]; [$($done:tt)*]; ($($inner:tt)*) $($rest:tt)*) => {
        $crate::__rootable_elide!(
            @ $gc; [(paren [$($done)*] [$($rest)*]) $($stack)*]; []; $($inner)*
        )
    };
    (@ $gc:lifetime; [$($stack:tt)*]; [$($done:tt)*]; [$($inner:tt)*] $($rest:tt)*) => {
        $crate::__rootable_elide!(
            @ $gc; [(bracket [$($done)*] [$($rest)*]) $($stack)*]; []; $($inner)*
        )
    };
    // Anything else passes through.
    (@ $gc:lifetime; [$($stack:tt)*]; [$($done:tt)*]; $next:tt $($rest:tt)*) => {
        $crate::__rootable_elide!(@ $gc; [$($stack)*]; [$($done)* $next]; $($rest)*)
    };
}

/// Roots of `'static` types (no brand): `Root<Static<String>>`, the same as
/// `Root<Rootable![String]>`.
///
/// ```
/// use tricolor::{Gc, Heap, Root, Static};
///
/// let heap = Heap::new();
/// let mut m = heap.mutator();
/// let config: Root<Static<Vec<u8>>> = m.enter(|mc| Root::new(mc, Gc::new(mc, vec![1, 2, 3])));
/// m.enter(|mc| assert_eq!(config.get(mc).len(), 3));
/// ```
pub struct Static<T>(PhantomData<T>);

impl<'gc, T: Trace<'gc> + 'static> Rootable<'gc> for Static<T> {
    type Root = T;
}

struct RootInner {
    entry: RootEntry,
    heap: Heap,
}

/// A persistent handle to a GC object: keeps it alive across scopes, in ordinary Rust
/// collections, and across threads, until dropped.
///
/// `R` names the object's type family with [`Rootable!`](crate::Rootable!). Cloning is cheap (a
/// reference count). `Root<R>` is `Send` and `Sync` when the rooted type is `Sync` for every
/// brand (another thread that gets it reads the object through `get`), so a root of a type with a
/// `RefLock` (not `Sync`) stays on its thread.
///
/// Roots are *roots*: an object reachable only from a root held inside the heap (in a GC object)
/// never dies, like a `Rc` cycle.
///
/// Root the entry points of a data structure (one root to a container object rather than one
/// per element): each root is an entry in the heap's global root table.
///
/// ```
/// use tricolor::{Gc, GcCell, Heap, Root, Rootable, Trace};
///
/// #[derive(Trace)]
/// struct Counter<'gc> {
///     latest: GcCell<Option<Gc<'gc, u64>>>,
/// }
///
/// let heap = Heap::new();
/// let mut m = heap.mutator();
/// let counter: Root<Rootable![Counter<'_>]> = m.enter(|mc| {
///     Root::new(mc, Gc::new(mc, Counter { latest: GcCell::new(None) }))
/// });
/// // `Counter` is `Sync` (a `GcCell` is), so its root can go to another thread.
/// let (heap2, counter2) = (heap.clone(), counter.clone());
/// std::thread::spawn(move || {
///     let mut m = heap2.mutator();
///     m.enter(|mc| counter2.get(mc).latest.set(mc, Some(Gc::new(mc, 42))));
/// })
/// .join()
/// .unwrap();
/// heap.collect();
/// m.enter(|mc| assert_eq!(counter.get(mc).latest.get().map(|g| *g), Some(42)));
/// ```
pub struct Root<R: ?Sized + for<'gc> Rootable<'gc>> {
    inner: Arc<RootInner>,
    _marker: PhantomData<R>,
}

// SAFETY: a root only gives access to its object through `get`, which hands a `Gc` to the
// calling thread's scope: the object is then shared between threads, which needs `Sync` (and
// nothing else: the object is dropped by the collector, under the `Trace` contract).
unsafe impl<R> Send for Root<R>
where
    R: ?Sized + for<'gc> Rootable<'gc>,
    for<'gc> <R as Rootable<'gc>>::Root: Sync,
{
}
// SAFETY: as above.
unsafe impl<R> Sync for Root<R>
where
    R: ?Sized + for<'gc> Rootable<'gc>,
    for<'gc> <R as Rootable<'gc>>::Root: Sync,
{
}

impl<R: ?Sized + for<'gc> Rootable<'gc>> Clone for Root<R> {
    fn clone(&self) -> Self {
        Root {
            inner: self.inner.clone(),
            _marker: PhantomData,
        }
    }
}

impl<R: ?Sized + for<'gc> Rootable<'gc>> fmt::Debug for Root<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Root")
            .field(&self.inner.entry.object())
            .finish()
    }
}

impl<R: ?Sized + for<'gc> Rootable<'gc>> Root<R> {
    /// Roots `gc`. (While a collection is marking, the new root's target is marked, so it
    /// survives the cycle.)
    pub fn new<'gc>(mc: &Mutation<'gc>, gc: Gc<'gc, <R as Rootable<'gc>>::Root>) -> Root<R> {
        // SAFETY: `gc` is a live object of the scope's heap.
        let entry = unsafe { RootEntry::new(mc.scope, Gc::header(gc)) };
        Root {
            inner: Arc::new(RootInner {
                entry,
                heap: mc.heap().clone(),
            }),
            _marker: PhantomData,
        }
    }

    /// The rooted object, in scope `'gc`.
    ///
    /// # Panics
    ///
    /// If the root belongs to another heap than the scope's.
    #[inline]
    pub fn get<'gc>(&self, mc: &Mutation<'gc>) -> Gc<'gc, <R as Rootable<'gc>>::Root> {
        assert!(
            Heap::ptr_eq(&self.inner.heap, mc.heap()),
            "Root::get: the root belongs to another heap"
        );
        // SAFETY: the root keeps the object alive, and it belongs to this scope's heap; the
        // object's type is the rooted family at brand `'gc` (the brand is only a lifetime).
        unsafe { Gc::from_header(self.inner.entry.object()) }
    }

    /// The heap the object lives in.
    pub fn heap(&self) -> &Heap {
        &self.inner.heap
    }

    /// Whether two roots root the same object.
    pub fn ptr_eq(a: &Root<R>, b: &Root<R>) -> bool {
        a.inner.entry.object() == b.inner.entry.object()
    }
}
