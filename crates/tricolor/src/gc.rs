//! The [`Gc`] pointer.

use core::fmt;
use core::hash::{Hash, Hasher};
use core::marker::PhantomData;
use core::ops::Deref;
use core::ptr::NonNull;

use tricolor_gc::{AllocError, GcBox, Header};

use crate::mutation::{Invariant, Mutation};
use crate::trace::{Desc, Trace, Tracer};

/// A pointer to a garbage-collected `T`, valid for the mutation scope `'gc`.
///
/// `Gc` is `Copy` and dereferences to `&T`. It cannot outlive its scope (the `'gc` brand is
/// invariant and unique to the scope); to keep an object across scopes, root it with
/// [`Root`](crate::Root) or store it in a rooted object. Writes to GC pointers inside objects go
/// through barriered cells ([`GcCell`](crate::GcCell), [`RefLock`](crate::RefLock)).
///
/// `Gc<'gc, T>` is `Send` and `Sync` exactly when `T` is `Sync`, like `&T`: another thread can
/// only receive it within the scope (a scoped thread, since the brand is not `'static`), and can
/// only read through it (it has no [`Mutation`], which is neither `Send` nor `Sync`), so it
/// behaves like part of the scope's own stack.
///
/// Comparison, hashing and formatting look at the *value* (`a == b` compares the pointees);
/// use [`Gc::ptr_eq`] for identity.
///
/// ```
/// use tricolor::{Gc, Heap};
/// let heap = Heap::new();
/// heap.mutator().enter(|mc| {
///     let a = Gc::new(mc, String::from("hi"));
///     let b = a; // Copy
///     assert!(Gc::ptr_eq(a, b));
///     assert_eq!(a.len(), 2);
/// });
/// ```
pub struct Gc<'gc, T: ?Sized + 'gc> {
    ptr: NonNull<GcBox<T>>,
    _marker: PhantomData<(&'gc T, Invariant<'gc>)>,
}

// SAFETY: see the type docs: a `Gc` gives shared read access to `T` only, within its scope.
unsafe impl<T: ?Sized + Sync> Send for Gc<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Sync> Sync for Gc<'_, T> {}

impl<T: ?Sized> Clone for Gc<'_, T> {
    #[inline]
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: ?Sized> Copy for Gc<'_, T> {}

impl<'gc, T: Trace<'gc> + 'gc> Gc<'gc, T> {
    /// Moves `value` into the heap.
    ///
    /// `T` must be [`Trace`] for this scope's brand: a value holding pointers of another scope
    /// or heap does not compile.
    ///
    /// # Panics
    ///
    /// If the heap's address space is exhausted (like `Box::new` on out-of-memory).
    #[inline(always)]
    pub fn new(mc: &Mutation<'gc>, value: T) -> Gc<'gc, T> {
        match Self::alloc(mc, value, false) {
            Ok(gc) => gc,
            Err((_, e)) => panic!(
                "tricolor: allocation of a `{}` failed: {e}",
                core::any::type_name::<T>()
            ),
        }
    }

    /// Moves `value` into the heap, or gives it back with the error if the heap cannot take it:
    /// its address space is exhausted, or a memory limit is set and the heap is already at it
    /// (leave the scope to let a collection run, then retry).
    ///
    /// ```
    /// use tricolor::{AllocError, Config, Gc, Heap};
    ///
    /// let mut config = Config::default();
    /// config.memory_limit = Some(1 << 20);
    /// let heap = Heap::with_config(config).unwrap();
    /// let mut m = heap.mutator();
    /// let err = m.enter(|mc| loop {
    ///     if let Err((_block, e)) = Gc::try_new(mc, [0u64; 512]) {
    ///         break e;
    ///     }
    /// });
    /// assert!(matches!(err, AllocError::OutOfMemory));
    /// heap.collect(); // the blocks were garbage: there is room again
    /// assert!(m.enter(|mc| Gc::try_new(mc, [0u64; 512]).is_ok()));
    /// ```
    pub fn try_new(mc: &Mutation<'gc>, value: T) -> Result<Gc<'gc, T>, (T, AllocError)> {
        Self::alloc(mc, value, true)
    }

    #[inline(always)]
    fn alloc(mc: &Mutation<'gc>, value: T, limited: bool) -> Result<Gc<'gc, T>, (T, AllocError)> {
        let desc = Desc::<T>::DESC;
        if limited
            && let Some(limit) = mc.heap().config().memory_limit
            && mc
                .collector()
                .allocator()
                .heap_live_bytes()
                .saturating_add(desc.size)
                > limit
        {
            mc.heap().request_collection();
            return Err((value, AllocError::OutOfMemory));
        }
        let obj = match mc.scope.alloc(desc) {
            Ok(obj) => obj,
            Err(e) => return Err((value, e)),
        };
        let boxed = obj.cast::<GcBox<T>>();
        // SAFETY: `alloc` returned room for a `GcBox<T>` (size and alignment from `T`'s
        // descriptor) with its header written; we initialise the value and complete the
        // allocation before anything else can observe the object.
        unsafe {
            (&raw mut (*boxed.as_ptr()).value).write(value);
            mc.scope.init_done(obj);
        }
        Ok(Gc {
            ptr: boxed,
            _marker: PhantomData,
        })
    }
}

impl<'gc, T: ?Sized + 'gc> Gc<'gc, T> {
    /// The value, borrowed for the whole scope (which `Deref` and `AsRef`, borrowing the
    /// pointer itself, cannot express).
    ///
    /// ```
    /// use tricolor::{Gc, Heap};
    ///
    /// fn name<'gc>(s: Gc<'gc, String>) -> &'gc str {
    ///     Gc::as_ref(s).as_str() // `s.as_str()` would borrow the local `s`
    /// }
    ///
    /// Heap::new().mutator().enter(|mc| assert_eq!(name(Gc::new(mc, "x".into())), "x"));
    /// ```
    #[allow(clippy::should_implement_trait)]
    #[inline]
    pub fn as_ref(this: Gc<'gc, T>) -> &'gc T {
        // SAFETY: the object is alive for the whole scope `'gc`: it was reachable from this
        // scope's stack when the scope (or marking) began, or was allocated since, and the
        // barriers keep every such object alive until the scope ends.
        unsafe { &this.ptr.as_ref().value }
    }

    /// Whether two pointers point to the same object.
    #[inline]
    pub fn ptr_eq(a: Gc<'gc, T>, b: Gc<'gc, T>) -> bool {
        core::ptr::addr_eq(a.ptr.as_ptr(), b.ptr.as_ptr())
    }

    /// The object's address (stable: the collector never moves objects). Useful as an
    /// identity key within a scope; another object may get the address once this one is dead.
    #[inline]
    pub fn as_ptr(this: Gc<'gc, T>) -> *const T {
        // SAFETY: see `as_ref`.
        unsafe { &raw const (*this.ptr.as_ptr()).value }
    }

    /// The bytes the object occupies in the heap: its header and value, rounded up to the size
    /// class it was allocated from (or to whole pages for a large object).
    pub fn allocation_size(this: Gc<'gc, T>) -> usize {
        // SAFETY: the object is alive for the scope (see `as_ref`); its header is initialised.
        let desc = unsafe { Gc::header(this).as_ref() }.desc();
        tricolor_gc::allocation_size(desc)
    }

    /// The object's header (for `tricolor_gc::model` in model checks and tests).
    #[doc(hidden)]
    pub fn __header(this: Gc<'gc, T>) -> NonNull<Header> {
        Gc::header(this)
    }

    /// The object's header, for the engine.
    #[inline]
    pub(crate) fn header(this: Gc<'gc, T>) -> NonNull<Header> {
        this.ptr.cast()
    }

    /// Rebuilds a `Gc` from a header.
    ///
    /// # Safety
    ///
    /// `obj` must head a live `GcBox<T>` that stays alive for `'gc`.
    #[inline]
    pub(crate) unsafe fn from_header(obj: NonNull<Header>) -> Gc<'gc, T>
    where
        T: Sized,
    {
        Gc {
            ptr: obj.cast(),
            _marker: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for Gc<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: see `Gc::as_ref`.
        unsafe { &self.ptr.as_ref().value }
    }
}

// SAFETY: a `Gc` is one edge to a separate object: trace reports it; the pointer itself never
// changes (cells that hold pointers have their own impls), so no claim is needed. Only for its
// own brand `'gc`: a pointer from another scope cannot enter this scope's heap.
unsafe impl<'gc, T: ?Sized + 'gc> Trace<'gc> for Gc<'gc, T> {
    const NEEDS_TRACE: bool = true;
    const NEEDS_CLAIM: bool = false;
    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        // SAFETY: the pointer names a live object of the heap being traced (it is reachable
        // from the object being traced).
        unsafe { tracer.edge(self.ptr.cast()) }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Gc<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for Gc<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: ?Sized> fmt::Pointer for Gc<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&self.ptr, f)
    }
}

impl<T: ?Sized + PartialEq> PartialEq for Gc<'_, T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: ?Sized + Eq> Eq for Gc<'_, T> {}

impl<T: ?Sized + PartialOrd> PartialOrd for Gc<'_, T> {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        (**self).partial_cmp(&**other)
    }
}

impl<T: ?Sized + Ord> Ord for Gc<'_, T> {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        (**self).cmp(&**other)
    }
}

impl<T: ?Sized + Hash> Hash for Gc<'_, T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl<T: ?Sized> AsRef<T> for Gc<'_, T> {
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T: ?Sized> core::borrow::Borrow<T> for Gc<'_, T> {
    fn borrow(&self) -> &T {
        self
    }
}
