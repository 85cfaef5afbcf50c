//! Barriered cells: the only ways to change a GC pointer inside a heap object.
//!
//! * [`GcCell`] holds one GC pointer (`Gc` or `Option<Gc>`) in an atomic word. `get` is a load;
//!   `set(mc, v)` runs the *slot barrier* (while marking: shade the old target, and the new one
//!   if this thread's stack is still grey) and stores. Cheap, lock-free, `Sync` when the
//!   pointee is.
//! * [`RefLock`] holds any traced value (a `Vec<Gc<_>>`, a map, a struct) behind a
//!   `RefCell`-like borrow flag. Shared borrows are free. A mutable borrow needs the scope's
//!   [`Mutation`] and passes the *object barrier* first: during marking, the first mutable
//!   borrow of an object in a cycle traces it (shades its current children) and blackens it,
//!   claiming it so a mark worker never reads it while it changes; when the borrow ends, a
//!   thread whose stack is still grey shades the children again.
//! * [`GcMutex`] is the thread-safe container: the same object barrier, behind a lock, so
//!   several mutator threads can share and mutate one object.
//!
//! std's `Cell`/`RefCell`/`Mutex` holding GC pointers are not `Trace` (they would let a write skip
//! the barrier): only `'static` contents are allowed in them.

use core::cell::Cell;
use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;
// The slot word and the mutex go through the engine's `sync` shim, so that loom models of the
// barriers (`loom-tests`) see them.
use tricolor_gc::sync::{AtomicPtr, Mutex, MutexGuard, Ordering};

use tricolor_gc::Header;

use crate::gc::Gc;
use crate::mutation::Mutation;
use crate::trace::{Trace, Tracer};

mod sealed {
    pub trait Sealed {}
}

/// A value a [`GcCell`] can hold: `Gc<'gc, T>` or `Option<Gc<'gc, T>>` (one pointer word).
pub trait SlotValue<'gc>: Copy + sealed::Sealed {
    #[doc(hidden)]
    fn into_raw(self) -> *mut Header;
    /// # Safety
    ///
    /// `raw` must come from `into_raw` of a value of the same type, still alive.
    #[doc(hidden)]
    unsafe fn from_raw(raw: *mut Header) -> Self;
}

impl<T> sealed::Sealed for Gc<'_, T> {}
impl<'gc, T: 'gc> SlotValue<'gc> for Gc<'gc, T> {
    #[inline]
    fn into_raw(self) -> *mut Header {
        Gc::header(self).as_ptr()
    }
    #[inline]
    unsafe fn from_raw(raw: *mut Header) -> Self {
        // SAFETY: the caller guarantees `raw` came from a live `Gc<'gc, T>`.
        unsafe { Gc::from_header(NonNull::new_unchecked(raw)) }
    }
}

impl<T> sealed::Sealed for Option<Gc<'_, T>> {}
impl<'gc, T: 'gc> SlotValue<'gc> for Option<Gc<'gc, T>> {
    #[inline]
    fn into_raw(self) -> *mut Header {
        self.map_or(core::ptr::null_mut(), |g| Gc::header(g).as_ptr())
    }
    #[inline]
    unsafe fn from_raw(raw: *mut Header) -> Self {
        // SAFETY: the caller guarantees a non-null `raw` came from a live `Gc<'gc, T>`.
        NonNull::new(raw).map(|p| unsafe { Gc::from_header(p) })
    }
}

/// A mutable slot holding one GC pointer: `GcCell<Gc<'gc, T>>` or `GcCell<Option<Gc<'gc, T>>>`.
///
/// The pointer lives in an atomic word: [`get`](GcCell::get) is a load, and
/// [`set`](GcCell::set) runs the *slot barrier* (while a collection is marking, it shades the
/// old and the new target, so the concurrent marker cannot lose either) and stores. It is
/// lock-free and `Sync` when the pointee is, so several threads may share and change it.
///
/// Use it for a field that holds one pointer and changes (a link, a parent, a current value);
/// for containers of pointers use [`RefLock`] or [`GcMutex`]. A std `Cell<Gc<..>>` would skip
/// the barrier, and is not [`Trace`].
///
/// ```
/// use tricolor::{Gc, GcCell, Heap, Trace};
///
/// #[derive(Trace)]
/// struct Node<'gc> {
///     value: i32,
///     next: GcCell<Option<Gc<'gc, Node<'gc>>>>,
/// }
///
/// Heap::new().mutator().enter(|mc| {
///     let a = Gc::new(mc, Node { value: 1, next: GcCell::new(None) });
///     let b = Gc::new(mc, Node { value: 2, next: GcCell::new(None) });
///     a.next.set(mc, Some(b));
///     b.next.set(mc, Some(a)); // a cycle: fine
///     assert_eq!(a.next.get().unwrap().value, 2);
/// });
/// ```
pub struct GcCell<V> {
    raw: AtomicPtr<Header>,
    _marker: PhantomData<V>,
}

impl<'gc, V: SlotValue<'gc>> GcCell<V> {
    /// A cell holding `value`.
    #[inline]
    pub fn new(value: V) -> GcCell<V> {
        GcCell {
            raw: AtomicPtr::new(value.into_raw()),
            _marker: PhantomData,
        }
    }

    /// The current value.
    #[inline]
    pub fn get(&self) -> V {
        // Acquire: pairs with the Release of `set`, so the target's initialisation is visible.
        // SAFETY: the cell only ever holds values of type `V` stored by `new`/`set`; a value
        // stored in a live object is kept alive by tracing (the cell's trace reports it).
        unsafe { V::from_raw(self.raw.load(Ordering::Acquire)) }
    }

    /// Stores `value`, through the slot barrier.
    #[inline]
    pub fn set(&self, mc: &Mutation<'gc>, value: V) {
        if mc.scope.is_marking() {
            self.replace(mc, value);
        } else {
            // No cycle is marking for this mutator, so the old value needs no barrier and need
            // not be known: a plain store, not a swap (which would wait for this thread's
            // earlier stores, such as the new target's initialisation, to drain first).
            // Release: publishes the new target's initialisation to readers and mark workers.
            self.raw.store(value.into_raw(), Ordering::Release);
        }
    }

    /// Stores `value` and returns the old value, through the slot barrier.
    #[inline]
    pub fn replace(&self, mc: &Mutation<'gc>, value: V) -> V {
        let new = value.into_raw();
        // The swap makes the old value exact even when several threads store at once; while
        // marking it is shaded right after (before this thread's next poll point, so before
        // any termination round can complete).
        let old = if mc.scope.is_marking() {
            let old = self.raw.swap(new, Ordering::AcqRel);
            mc.scope.slot_barrier(NonNull::new(old), NonNull::new(new));
            old
        } else {
            // Release: publishes the new target's initialisation to readers and mark workers.
            self.raw.swap(new, Ordering::AcqRel)
        };
        // SAFETY: `old` was a value of type `V` held by this cell.
        unsafe { V::from_raw(old) }
    }
}

impl<'gc, T: 'gc> GcCell<Option<Gc<'gc, T>>> {
    /// Takes the value out, leaving `None`.
    pub fn take(&self, mc: &Mutation<'gc>) -> Option<Gc<'gc, T>> {
        self.replace(mc, None)
    }
}

impl<'gc, V: SlotValue<'gc> + Default> Default for GcCell<V> {
    fn default() -> Self {
        GcCell::new(V::default())
    }
}

impl<'gc, V: SlotValue<'gc> + fmt::Debug> fmt::Debug for GcCell<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("GcCell").field(&self.get()).finish()
    }
}

// SAFETY: the cell holds one GC pointer and reports it. Its value changes only atomically
// (`swap`), with the slot barrier, so tracing needs no claim.
unsafe impl<'gc, V: SlotValue<'gc>> Trace<'gc> for GcCell<V> {
    const NEEDS_TRACE: bool = true;
    const NEEDS_CLAIM: bool = false;
    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        // Acquire: pairs with the Release part of the storing swap.
        if let Some(p) = NonNull::new(self.raw.load(Ordering::Acquire)) {
            // SAFETY: the cell's value is a live object of this heap (reachable through it).
            unsafe { tracer.edge(p) }
        }
    }
}

const UNUSED: isize = 0;
const WRITING: isize = -1;

/// A container cell for any traced value, like `RefCell`, whose mutable borrows pass the
/// object barrier. Not `Sync` (use [`GcMutex`] to share a mutable object between threads).
///
/// A `Gc<'gc, RefLock<T>>` is mutably borrowed with [`Gc::borrow_mut`]; a `RefLock` field of a
/// larger object is reached through [`Gc::write`] and [`Write::unlock`]. Shared borrows
/// ([`borrow`](RefLock::borrow)) need no barrier and no [`Mutation`].
///
/// The *object barrier*: while a collection is marking, the first mutable borrow of an object
/// scans the object's current contents itself (so nothing it held is lost) and marks it done,
/// so that no mark worker reads it while it changes. Until the thread has passed a scope
/// boundary since marking began, the end of each mutable borrow scans the contents again (it
/// may have stored a pointer only its stack held); otherwise later borrows cost a flag check.
/// A collection cannot start while the thread has a mutable borrow open: keep borrows short
/// (an operation, or one slice of an interpreter loop), but make many changes to a large
/// container in one borrow rather than one borrow each.
///
/// std's `RefCell` holding GC pointers is not [`Trace`], since its `borrow_mut` would skip the
/// barrier; `RefLock` is its replacement.
///
/// ```
/// use tricolor::{Gc, Heap, RefLock};
///
/// Heap::new().mutator().enter(|mc| {
///     let list = Gc::new(mc, RefLock::new(Vec::new()));
///     for i in 0..3 {
///         let item = Gc::new(mc, i);
///         list.borrow_mut(mc).push(item);
///     }
///     assert_eq!(list.borrow().iter().map(|g| **g).sum::<i32>(), 3);
/// });
/// ```
pub struct RefLock<T: ?Sized> {
    flag: Cell<isize>,
    value: core::cell::UnsafeCell<T>,
}

/// `RefLock` is `Send` when its contents are (it is never `Sync`).
// SAFETY: moving the cell moves the value; the flag is plain data.
unsafe impl<T: ?Sized + Send> Send for RefLock<T> {}

impl<T> RefLock<T> {
    /// A cell holding `value`.
    pub const fn new(value: T) -> RefLock<T> {
        RefLock {
            flag: Cell::new(UNUSED),
            value: core::cell::UnsafeCell::new(value),
        }
    }

    /// Unwraps the value.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> RefLock<T> {
    /// Borrows the value immutably.
    ///
    /// # Panics
    ///
    /// If it is mutably borrowed.
    #[track_caller]
    pub fn borrow(&self) -> Ref<'_, T> {
        self.try_borrow()
            .unwrap_or_else(|_| panic!("RefLock already mutably borrowed"))
    }

    /// Borrows the value immutably, or fails if it is mutably borrowed.
    pub fn try_borrow(&self) -> Result<Ref<'_, T>, BorrowError> {
        let n = self.flag.get();
        if n < UNUSED || n == isize::MAX {
            return Err(BorrowError(()));
        }
        self.flag.set(n + 1);
        Ok(Ref { lock: self })
    }

    /// A mutable reference through exclusive access (no barrier needed: nothing else can see
    /// the value).
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    fn acquire_write(&self) -> Result<(), BorrowError> {
        if self.flag.get() != UNUSED {
            return Err(BorrowError(()));
        }
        self.flag.set(WRITING);
        Ok(())
    }
}

/// The error of a borrow that conflicts with an existing one (see [`RefLock::try_borrow`] and
/// [`Gc::try_borrow_mut`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BorrowError(());

impl fmt::Display for BorrowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefLock already borrowed")
    }
}

impl std::error::Error for BorrowError {}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RefLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_borrow() {
            Ok(r) => f.debug_tuple("RefLock").field(&&*r).finish(),
            Err(_) => f.write_str("RefLock(<borrowed>)"),
        }
    }
}

impl<T: Default> Default for RefLock<T> {
    fn default() -> Self {
        RefLock::new(T::default())
    }
}

// SAFETY: tracing reads the contents through the raw pointer, never the non-atomic flag. A
// tracer (mark worker) only runs on an object it has claimed, and the object barrier makes a
// mutator claim-and-blacken the object before it mutably borrows it during marking (and defers
// the acknowledgement of mark start while a borrow is open), so contents are never written
// while traced. `NEEDS_CLAIM` is therefore true whenever the contents hold GC pointers.
unsafe impl<'gc, T: ?Sized + Trace<'gc>> Trace<'gc> for RefLock<T> {
    const NEEDS_TRACE: bool = T::NEEDS_TRACE;
    const NEEDS_CLAIM: bool = T::NEEDS_TRACE;
    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        // SAFETY: see the impl comment.
        unsafe { (*self.value.get()).trace(tracer) }
    }
    #[inline]
    fn trace_chunk(&self, tracer: &mut Tracer, chunk: usize) -> bool {
        // SAFETY: see the impl comment.
        unsafe { (*self.value.get()).trace_chunk(tracer, chunk) }
    }
}

/// A shared borrow of a [`RefLock`], from [`RefLock::borrow`].
pub struct Ref<'a, T: ?Sized> {
    lock: &'a RefLock<T>,
}

impl<T: ?Sized> Deref for Ref<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the flag counts this shared borrow, so no mutable borrow exists.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for Ref<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.flag.set(self.lock.flag.get() - 1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

/// A mutable borrow of a [`RefLock`], from [`Gc::borrow_mut`] or [`Unlocked::borrow_mut`] (it
/// passed the object barrier; dropping it ends the borrow and completes the barrier).
pub struct RefMut<'a, 'gc, T: ?Sized> {
    lock: &'a RefLock<T>,
    /// The object whose barrier this borrow holds; `None` when a [`Write`] token holds it.
    barrier: Option<(&'a Mutation<'gc>, NonNull<Header>)>,
}

impl<T: ?Sized> Deref for RefMut<'_, '_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the flag is WRITING for us: no other borrow exists.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> DerefMut for RefMut<'_, '_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above, and `&mut self` makes this the only reference handed out now.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for RefMut<'_, '_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.flag.set(UNUSED);
        if let Some((mc, obj)) = self.barrier {
            // SAFETY: `obj` is the object whose `write_begin` this borrow did; the borrow has
            // ended (no reference into the contents remains).
            unsafe { mc.scope.write_end(obj) };
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RefMut<'_, '_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<'gc, T: Trace<'gc> + 'gc> Gc<'gc, RefLock<T>> {
    /// Borrows the contents mutably, through the object barrier.
    ///
    /// # Panics
    ///
    /// If the contents are already borrowed.
    #[track_caller]
    #[inline]
    pub fn borrow_mut<'a>(self, mc: &'a Mutation<'gc>) -> RefMut<'a, 'gc, T> {
        self.try_borrow_mut(mc)
            .unwrap_or_else(|_| panic!("RefLock already borrowed"))
    }

    /// Borrows the contents mutably through the object barrier, or fails if they are borrowed.
    #[inline]
    pub fn try_borrow_mut<'a>(
        self,
        mc: &'a Mutation<'gc>,
    ) -> Result<RefMut<'a, 'gc, T>, BorrowError> {
        let lock: &'gc RefLock<T> = Gc::as_ref(self);
        lock.acquire_write()?;
        let obj = Gc::header(self);
        // SAFETY: `obj` is a live object of this heap (we hold a `Gc` to it in its scope). The
        // flag is WRITING but no reference into the contents exists yet, so the barrier may read
        // them.
        unsafe { mc.scope.write_begin(obj) };
        Ok(RefMut {
            lock,
            barrier: Some((mc, obj)),
        })
    }
}

/// Write access to an object, with the object barrier passed: unlocks the [`RefLock`] fields
/// of the object (see [`Gc::write`]). Dropping it completes the barrier, so keep it no longer
/// than the writes. It dereferences to the object.
pub struct Write<'a, 'gc, T: ?Sized> {
    gc: Gc<'gc, T>,
    mc: &'a Mutation<'gc>,
}

impl<'gc, T: Trace<'gc> + 'gc> Gc<'gc, T> {
    /// Opens the object for writing through its [`RefLock`] fields: runs the object barrier
    /// once, for all of them. Unlock each field with [`Write::unlock`].
    ///
    /// ```
    /// use tricolor::{Gc, Heap, RefLock, Trace};
    ///
    /// #[derive(Trace)]
    /// struct Instance<'gc> {
    ///     class: Gc<'gc, String>,
    ///     fields: RefLock<Vec<(String, Gc<'gc, f64>)>>,
    /// }
    ///
    /// Heap::new().mutator().enter(|mc| {
    ///     let class = Gc::new(mc, "Point".to_string());
    ///     let p = Gc::new(mc, Instance { class, fields: RefLock::new(vec![]) });
    ///     let x = Gc::new(mc, 1.5);
    ///     let w = p.write(mc);
    ///     w.unlock(&p.fields).borrow_mut().push(("x".into(), x));
    ///     drop(w);
    ///     assert_eq!(*p.fields.borrow()[0].1, 1.5);
    /// });
    /// ```
    #[inline]
    pub fn write<'a>(self, mc: &'a Mutation<'gc>) -> Write<'a, 'gc, T> {
        // SAFETY: `self` is a live object of this heap.
        unsafe { mc.scope.write_begin(Gc::header(self)) };
        Write { gc: self, mc }
    }
}

impl<'a, 'gc, T: ?Sized> Write<'a, 'gc, T> {
    /// Unlocks a [`RefLock`] that is part of this object (a field, or a field of a field, stored
    /// inline — not behind another pointer).
    ///
    /// # Panics
    ///
    /// If `lock` does not lie inside this object.
    #[track_caller]
    pub fn unlock<'w, U: ?Sized>(&'w self, lock: &'w RefLock<U>) -> Unlocked<'w, U> {
        assert_part_of(lock, Gc::as_ref(self.gc), "Write::unlock");
        Unlocked { lock }
    }
}

impl<T: ?Sized> Deref for Write<'_, '_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        Gc::as_ref(self.gc)
    }
}

impl<T: ?Sized> Drop for Write<'_, '_, T> {
    fn drop(&mut self) {
        // SAFETY: matches the `write_begin` of `Gc::write`; every `Unlocked` borrowed from this
        // token (and so every mutable borrow through one) has ended.
        unsafe { self.mc.scope.write_end(Gc::header(self.gc)) };
    }
}

/// A [`RefLock`] field unlocked by a [`Write`] token, ready for [`borrow_mut`](Unlocked::borrow_mut).
pub struct Unlocked<'w, U: ?Sized> {
    lock: &'w RefLock<U>,
}

impl<'w, U: ?Sized> Unlocked<'w, U> {
    /// Borrows the contents mutably (the token already passed the barrier).
    ///
    /// # Panics
    ///
    /// If the contents are already borrowed.
    #[track_caller]
    pub fn borrow_mut(&self) -> RefMut<'w, 'static, U> {
        self.lock
            .acquire_write()
            .unwrap_or_else(|_| panic!("RefLock already borrowed"));
        RefMut {
            lock: self.lock,
            barrier: None,
        }
    }
}

/// A thread-safe container cell: like [`RefLock`], but its mutable access is a lock, so a
/// `Gc<'gc, GcMutex<T>>` can be shared and mutated by several mutator threads.
///
/// * [`Gc::lock`] locks a `Gc<'gc, GcMutex<T>>` for reading and writing, through the object
///   barrier (see [`RefLock`]);
/// * [`GcMutex::lock_in`] does the same for a `GcMutex` that is a field of a larger object,
///   naming that object;
/// * [`GcMutex::with`] locks for reading only, with no barrier and no [`Mutation`].
///
/// It is `Send` and `Sync` when `T` is `Send` (as `std::sync::Mutex`), so objects built from
/// it can be rooted and shared between threads. The usual rules of mutexes apply: lock one at
/// a time or in a fixed order, and keep the lock short — a thread that holds it, or waits for
/// it, inside a scope also holds up the collector.
///
/// ```
/// use tricolor::{Gc, GcMutex, Heap, Root, Rootable, Trace};
///
/// #[derive(Trace)]
/// struct Node<'gc> {
///     id: u32,
///     edges: GcMutex<Vec<Gc<'gc, Node<'gc>>>>,
/// }
///
/// let heap = Heap::new();
/// let mut m = heap.mutator();
/// let hub = m.enter(|mc| {
///     let hub = Gc::new(mc, Node { id: 0, edges: GcMutex::new(vec![]) });
///     Root::<Rootable![Node<'_>]>::new(mc, hub)
/// });
/// std::thread::scope(|s| {
///     for t in 1..=4 {
///         let (heap, hub) = (&heap, &hub);
///         s.spawn(move || {
///             let mut m = heap.mutator();
///             m.enter(|mc| {
///                 let hub = hub.get(mc);
///                 let node = Gc::new(mc, Node { id: t, edges: GcMutex::new(vec![hub]) });
///                 hub.edges.lock_in(mc, hub).push(node); // a cycle through the hub
///             });
///         });
///     }
/// });
/// heap.collect();
/// m.enter(|mc| {
///     let hub = hub.get(mc);
///     let mut ids: Vec<u32> = hub.edges.with(|e| e.iter().map(|n| n.id).collect());
///     ids.sort();
///     assert_eq!(ids, [1, 2, 3, 4]);
/// });
/// ```
pub struct GcMutex<T: ?Sized> {
    lock: Mutex<()>,
    value: core::cell::UnsafeCell<T>,
}

// SAFETY: the value is only accessed under the lock by mutators (or by a tracer holding the
// object's claim, see the Trace impl), like `std::sync::Mutex`.
unsafe impl<T: ?Sized + Send> Send for GcMutex<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send> Sync for GcMutex<T> {}

impl<T> GcMutex<T> {
    /// A mutex holding `value`.
    pub fn new(value: T) -> GcMutex<T> {
        GcMutex {
            lock: Mutex::new(()),
            value: core::cell::UnsafeCell::new(value),
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for GcMutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GcMutex(..)")
    }
}

// SAFETY: as for `RefLock`: a tracer reads the contents only while holding the object's claim,
// and a mutator mutates them only after the object barrier blackened the object this cycle.
unsafe impl<'gc, T: ?Sized + Trace<'gc>> Trace<'gc> for GcMutex<T> {
    const NEEDS_TRACE: bool = T::NEEDS_TRACE;
    const NEEDS_CLAIM: bool = T::NEEDS_TRACE;
    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        // SAFETY: see the impl comment.
        unsafe { (*self.value.get()).trace(tracer) }
    }
    #[inline]
    fn trace_chunk(&self, tracer: &mut Tracer, chunk: usize) -> bool {
        // SAFETY: see the impl comment.
        unsafe { (*self.value.get()).trace_chunk(tracer, chunk) }
    }
}

/// Checks that `part` lies inside the object `owner` (inline, not behind another pointer).
#[track_caller]
fn assert_part_of<P: ?Sized, O: ?Sized>(part: &P, owner: &O, what: &str) {
    let start = owner as *const O as *const u8 as usize;
    let at = part as *const P as *const u8 as usize;
    assert!(
        at >= start && at + core::mem::size_of_val(part) <= start + core::mem::size_of_val(owner),
        "{what}: the cell is not part of the object given as its owner"
    );
}

impl<T: ?Sized> GcMutex<T> {
    /// Runs `f` on the contents under the lock, for reading only (no barrier needed, and no
    /// [`Mutation`]: any thread that can see the object may call it).
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        // SAFETY: we hold the lock: no mutator writes the contents.
        f(unsafe { &*self.value.get() })
    }

    /// Locks this mutex, which is a field of the object `owner`, for reading and writing,
    /// passing `owner`'s object barrier. Blocks while another thread holds the lock.
    ///
    /// `owner` must be the object that contains the mutex inline (`node.edges.lock_in(mc,
    /// node)`), since the barrier works on whole objects.
    ///
    /// # Panics
    ///
    /// If the mutex does not lie inside `owner` (inline).
    #[track_caller]
    pub fn lock_in<'a, 'gc, O: ?Sized + 'gc>(
        &'a self,
        mc: &'a Mutation<'gc>,
        owner: Gc<'gc, O>,
    ) -> GcMutexGuard<'a, 'gc, T> {
        assert_part_of(self, Gc::as_ref(owner), "GcMutex::lock_in");
        // Lock first, then run the barrier: the barrier's trace must not race with another
        // mutator's writes (which happen under this lock).
        let guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let obj = Gc::header(owner);
        // SAFETY: `obj` is a live object of this heap; no reference into the contents exists.
        unsafe { mc.scope.write_begin(obj) };
        GcMutexGuard {
            mutex: self,
            mc,
            obj,
            guard: core::mem::ManuallyDrop::new(guard),
        }
    }
}

impl<'gc, T: Trace<'gc> + 'gc> Gc<'gc, GcMutex<T>> {
    /// Locks the contents for reading and writing, passing the object barrier. Blocks while
    /// another thread holds the lock.
    pub fn lock<'a>(self, mc: &'a Mutation<'gc>) -> GcMutexGuard<'a, 'gc, T> {
        Gc::as_ref(self).lock_in(mc, self)
    }
}

/// The guard of a [`GcMutex`] lock, from [`Gc::lock`] or [`GcMutex::lock_in`]. Dropping it
/// completes the object barrier and unlocks.
pub struct GcMutexGuard<'a, 'gc, T: ?Sized> {
    mutex: &'a GcMutex<T>,
    mc: &'a Mutation<'gc>,
    obj: NonNull<Header>,
    guard: core::mem::ManuallyDrop<MutexGuard<'a, ()>>,
}

impl<T: ?Sized> Deref for GcMutexGuard<'_, '_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: we hold the lock.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T: ?Sized> DerefMut for GcMutexGuard<'_, '_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: we hold the lock, and `&mut self` makes this the only reference now.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T: ?Sized> Drop for GcMutexGuard<'_, '_, T> {
    fn drop(&mut self) {
        // SAFETY: matches the `write_begin` in `lock`; no reference into the contents remains,
        // and we still hold the lock while the barrier re-reads them.
        unsafe { self.mc.scope.write_end(self.obj) };
        // SAFETY: dropped exactly once, here.
        unsafe { core::mem::ManuallyDrop::drop(&mut self.guard) };
    }
}
