//! Weak references, the weak-keyed table, and cleanups.

use core::fmt;
use core::marker::PhantomData;
use core::ptr::NonNull;
use std::collections::HashMap;

use tricolor_gc::{CleanupId, Header};

use crate::cell::RefLock;
use crate::gc::Gc;
use crate::mutation::{Heap, Invariant, Mutation};
use crate::trace::{Trace, Tracer};

/// A weak reference: does not keep its target alive; [`Weak::upgrade`] gives the target back
/// while it lives. Cleared by the collector exactly when the target dies.
///
/// Made with [`Gc::downgrade`]. Like a [`Gc`], a `Weak` is `Copy` and branded with its scope;
/// to keep one across scopes, store it in the heap (in a rooted object, or in a
/// `Gc<Weak<'gc, T>>` of its own, as below).
///
/// ```
/// use tricolor::{Gc, Heap, Root, Rootable, Weak};
///
/// let heap = Heap::new();
/// let mut m = heap.mutator();
/// let (strong, weak) = m.enter(|mc| {
///     let obj = Gc::new(mc, 7u32);
///     let weak = Gc::new(mc, Gc::downgrade(obj, mc));
///     (Root::<Rootable![u32]>::new(mc, obj), Root::<Rootable![Weak<'_, u32>]>::new(mc, weak))
/// });
/// heap.collect();
/// m.enter(|mc| assert_eq!(weak.get(mc).upgrade(mc).map(|g| *g), Some(7)));
/// drop(strong);
/// heap.collect();
/// m.enter(|mc| assert!(weak.get(mc).upgrade(mc).is_none()));
/// ```
pub struct Weak<'gc, T: 'gc> {
    slot: NonNull<Header>,
    _marker: PhantomData<(&'gc T, Invariant<'gc>)>,
}

// SAFETY: like `Gc`: shared read access to `T` only (through `upgrade`), within the scope.
unsafe impl<T: Sync> Send for Weak<'_, T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for Weak<'_, T> {}

impl<T> Clone for Weak<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Weak<'_, T> {}

impl<T> fmt::Debug for Weak<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(Weak)")
    }
}

impl<'gc, T: 'gc> Gc<'gc, T> {
    /// A weak reference to `this`.
    ///
    /// Each call allocates a small weak slot in the heap: downgrade once and copy the `Weak`
    /// rather than downgrading the same object repeatedly.
    ///
    /// # Panics
    ///
    /// If the heap cannot allocate the weak slot.
    pub fn downgrade(this: Gc<'gc, T>, mc: &Mutation<'gc>) -> Weak<'gc, T> {
        // SAFETY: `this` is a live object of the scope's heap.
        let slot = unsafe { mc.scope.new_weak(Gc::header(this)) }
            .unwrap_or_else(|e| panic!("tricolor: allocating a weak reference failed: {e}"));
        Weak {
            slot,
            _marker: PhantomData,
        }
    }

    /// Registers `cleanup` to run after this object dies (on a mutator thread, when it enters a
    /// scope, or through [`Heap::run_cleanups`]). `cleanup` must not keep the object alive: it
    /// is `'static`, so it cannot hold a `Gc`; if it holds a [`Root`](crate::Root) of the object,
    /// the object never dies and the cleanup never runs.
    ///
    /// This is tricolor's finalization (like Go's `runtime.AddCleanup`): the cleanup captures
    /// what it must release — typically a copy of a native handle the object wraps — not the
    /// object. Keep it short; a panic in it propagates to the thread that runs it.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use tricolor::{Gc, Heap};
    ///
    /// let heap = Heap::new();
    /// let mut m = heap.mutator();
    /// let closed = Arc::new(Mutex::new(Vec::new()));
    /// m.enter(|mc| {
    ///     let fd = 7u32; // stands for a native handle
    ///     let file = Gc::new(mc, fd);
    ///     let closed = closed.clone();
    ///     Gc::add_cleanup(file, mc, move || closed.lock().unwrap().push(fd));
    /// });
    /// heap.collect(); // `file` died: its cleanup is ready to run
    /// heap.run_cleanups(usize::MAX);
    /// assert_eq!(*closed.lock().unwrap(), [7]);
    /// ```
    pub fn add_cleanup(
        this: Gc<'gc, T>,
        mc: &Mutation<'gc>,
        cleanup: impl FnOnce() + Send + 'static,
    ) -> Cleanup {
        // SAFETY: `this` is a live object of the scope's heap.
        let id = unsafe { mc.scope.add_cleanup(Gc::header(this), cleanup) };
        Cleanup {
            id,
            heap: mc.heap().clone(),
        }
    }
}

impl<'gc, T: 'gc> Weak<'gc, T> {
    /// The target, if it is still alive.
    #[inline]
    pub fn upgrade(self, mc: &Mutation<'gc>) -> Option<Gc<'gc, T>> {
        // SAFETY: the slot is alive (this `Weak` is reachable in the scope) and belongs to the
        // scope's heap (brands match); an upgraded target is a live `T`.
        unsafe { mc.scope.upgrade_weak(self.slot).map(|p| Gc::from_header(p)) }
    }

    /// Whether the target has died (a `false` may turn `true` at the end of any later cycle).
    pub fn is_dead(self, mc: &Mutation<'gc>) -> bool {
        self.upgrade(mc).is_none()
    }
}

// SAFETY: a weak reference keeps its slot object alive (one edge), not the target. The pointer
// to the slot never changes.
unsafe impl<'gc, T: 'gc> Trace<'gc> for Weak<'gc, T> {
    const NEEDS_TRACE: bool = true;
    const NEEDS_CLAIM: bool = false;
    fn trace(&self, tracer: &mut Tracer) {
        // SAFETY: the slot is a live object of the heap being traced.
        unsafe { tracer.edge(self.slot) }
    }
}

/// A registered cleanup (see [`Gc::add_cleanup`]). Dropping it does not cancel the cleanup.
///
/// ```
/// use tricolor::{Gc, Heap, Root, Rootable};
///
/// let heap = Heap::new();
/// let mut m = heap.mutator();
/// let (object, cleanup) = m.enter(|mc| {
///     let object = Gc::new(mc, 0u8);
///     let cleanup = Gc::add_cleanup(object, mc, || unreachable!("cancelled"));
///     (Root::<Rootable![u8]>::new(mc, object), cleanup)
/// });
/// // The object is alive, so its cleanup cannot have been queued yet: cancelling succeeds.
/// assert!(cleanup.cancel());
/// drop(object);
/// heap.collect();
/// heap.run_cleanups(usize::MAX); // nothing runs
/// ```
///
/// Once the object is unreachable, a collection may queue the cleanup at any time, and
/// `cancel` then returns `false`.
#[derive(Clone, Debug)]
pub struct Cleanup {
    id: CleanupId,
    heap: Heap,
}

impl Cleanup {
    /// Cancels the cleanup if it has not been queued to run yet; returns whether it was.
    pub fn cancel(&self) -> bool {
        self.heap.collector().cancel_cleanup(self.id)
    }
}

/// One entry of a [`WeakKeyTable`]: an engine ephemeron object.
struct Entry<'gc> {
    eph: NonNull<Header>,
    _brand: Invariant<'gc>,
}

// SAFETY: an entry is one strong edge to its ephemeron object; the ephemeron's key and value are
// handled by the collector's ephemeron protocol. The pointer never changes.
unsafe impl<'gc> Trace<'gc> for Entry<'gc> {
    const NEEDS_TRACE: bool = true;
    const NEEDS_CLAIM: bool = false;
    fn trace(&self, tracer: &mut Tracer) {
        // SAFETY: the ephemeron is a live object of the heap being traced.
        unsafe { tracer.edge(self.eph) }
    }
}

/// A table from objects (by identity) to objects with *ephemeron* semantics: an entry keeps its
/// value alive only while its key is alive, and vanishes when the key dies — even if the value
/// refers back to the key. For interpreters: weak-keyed tables, per-object caches and
/// properties.
///
/// Store it in the heap (`Gc<'gc, WeakKeyTable<'gc, K, V>>`); it is a container, mutated through
/// the object barrier. Keys are compared by identity (which object), not by value. The table
/// is not `Sync`, so a root of it (or of an object holding it) stays on its thread.
///
/// ```
/// use tricolor::{Gc, Heap, Root, Rootable, WeakKeyTable};
///
/// let heap = Heap::new();
/// let mut m = heap.mutator();
/// let (table, key) = m.enter(|mc| {
///     let table = Gc::new(mc, WeakKeyTable::<u32, String>::new());
///     let key = Gc::new(mc, 1u32);
///     table.insert(mc, key, Gc::new(mc, "one".to_string()));
///     (
///         Root::<Rootable![WeakKeyTable<'_, u32, String>]>::new(mc, table),
///         Root::<Rootable![u32]>::new(mc, key),
///     )
/// });
/// heap.collect();
/// m.enter(|mc| {
///     let t = table.get(mc);
///     assert_eq!(t.get(mc, key.get(mc)).as_deref().map(String::as_str), Some("one"));
/// });
/// drop(key);
/// heap.collect();
/// m.enter(|mc| assert_eq!(table.get(mc).len(mc), 0));
/// ```
pub struct WeakKeyTable<'gc, K: 'gc, V: 'gc> {
    map: RefLock<HashMap<usize, Entry<'gc>>>,
    _marker: PhantomData<(Gc<'gc, K>, Gc<'gc, V>)>,
}

// SAFETY: the map is a `RefLock` (traced under the claim protocol) of entries, each an edge to
// its ephemeron object.
unsafe impl<'gc, K: 'gc, V: 'gc> Trace<'gc> for WeakKeyTable<'gc, K, V> {
    const NEEDS_TRACE: bool = true;
    const NEEDS_CLAIM: bool = true;
    fn trace(&self, tracer: &mut Tracer) {
        self.map.trace(tracer)
    }
}

impl<K, V> Default for WeakKeyTable<'_, K, V> {
    fn default() -> Self {
        WeakKeyTable {
            map: RefLock::new(HashMap::new()),
            _marker: PhantomData,
        }
    }
}

impl<K, V> fmt::Debug for WeakKeyTable<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakKeyTable").finish_non_exhaustive()
    }
}

impl<'gc, K: 'gc, V: 'gc> WeakKeyTable<'gc, K, V> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<'gc, K: 'gc, V: 'gc> Gc<'gc, WeakKeyTable<'gc, K, V>> {
    fn read(self, mc: &Mutation<'gc>, key: Gc<'gc, K>) -> Option<Gc<'gc, V>> {
        let addr = Gc::as_ptr(key) as *const u8 as usize;
        let eph = self.map.borrow().get(&addr).map(|e| e.eph)?;
        // SAFETY: the ephemeron is alive (the table holds it) and belongs to this heap.
        let (k, v) = unsafe { mc.scope.read_ephemeron(eph) }?;
        // The address may have been reused by a new object after the old key died and before
        // the stale entry was noticed: the ephemeron names its key exactly.
        // SAFETY: `v` is the value of a live ephemeron with a live key: a live `V`.
        (k == Gc::header(key)).then(|| unsafe { Gc::from_header(v) })
    }

    /// The value for `key`, if any.
    pub fn get(self, mc: &Mutation<'gc>, key: Gc<'gc, K>) -> Option<Gc<'gc, V>> {
        self.read(mc, key)
    }

    /// Sets the value for `key`, returning the previous one.
    ///
    /// # Panics
    ///
    /// If the heap cannot allocate the entry.
    pub fn insert(
        self,
        mc: &Mutation<'gc>,
        key: Gc<'gc, K>,
        value: Gc<'gc, V>,
    ) -> Option<Gc<'gc, V>> {
        let old = self.read(mc, key);
        // SAFETY: key and value are live objects of the scope's heap.
        let eph = unsafe { mc.scope.new_ephemeron(Gc::header(key), Gc::header(value)) }
            .unwrap_or_else(|e| panic!("tricolor: allocating a table entry failed: {e}"));
        let addr = Gc::as_ptr(key) as *const u8 as usize;
        let w = self.write(mc);
        let mut map = w.unlock(&self.map).borrow_mut();
        map.insert(
            addr,
            Entry {
                eph,
                _brand: PhantomData,
            },
        );
        old
    }

    /// Removes the entry for `key`, returning its value.
    pub fn remove(self, mc: &Mutation<'gc>, key: Gc<'gc, K>) -> Option<Gc<'gc, V>> {
        let old = self.read(mc, key)?;
        let addr = Gc::as_ptr(key) as *const u8 as usize;
        let w = self.write(mc);
        w.unlock(&self.map).borrow_mut().remove(&addr);
        Some(old)
    }

    /// Drops the entries whose keys have died, and returns how many live entries remain.
    /// (Entries of dead keys are unreachable at once; this reclaims their slots in the map.)
    pub fn len(self, mc: &Mutation<'gc>) -> usize {
        let dead: Vec<usize> = self
            .map
            .borrow()
            .iter()
            // SAFETY: each ephemeron is alive (the table holds it) and belongs to this heap.
            .filter(|(_, e)| unsafe { mc.scope.read_ephemeron(e.eph) }.is_none())
            .map(|(a, _)| *a)
            .collect();
        if !dead.is_empty() {
            let w = self.write(mc);
            let mut map = w.unlock(&self.map).borrow_mut();
            for a in dead {
                map.remove(&a);
            }
        }
        self.map.borrow().len()
    }

    /// Whether the table has no live entries (drops dead ones).
    pub fn is_empty(self, mc: &Mutation<'gc>) -> bool {
        self.len(mc) == 0
    }
}
