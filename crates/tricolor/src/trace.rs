//! The [`Trace`] trait: how the collector finds the GC pointers inside a value.

use core::ptr::NonNull;

pub use tricolor_gc::Tracer;
use tricolor_gc::header::{GcBox, Header, TypeDesc};

/// A type that can live in the garbage-collected heap of a scope branded `'gc`, or inside a value
/// that does.
///
/// Implement it with `#[derive(Trace)]`; hand-written impls are `unsafe` because the collector
/// trusts them to find every pointer.
///
/// The `'gc` parameter is the brand of the mutation scope the value belongs to: a
/// `Gc<'gc, T>` is `Trace<'gc>` for its own brand only, so a value holding a pointer from another
/// scope (another heap, or another mutator's stack) cannot be moved into this scope's heap.
/// Types holding no GC pointers implement `Trace<'gc>` for every `'gc`.
///
/// # Implementations
///
/// * The crate's pointers and cells: [`Gc`](crate::Gc), [`Weak`](crate::Weak),
///   [`GcCell`](crate::GcCell), [`RefLock`](crate::RefLock), [`GcMutex`](crate::GcMutex),
///   [`WeakKeyTable`](crate::WeakKeyTable).
/// * Plain data, for every brand, never scanned: numbers, `bool`, `char`, `()`, `String`,
///   `str`, `&'static str`, `Cow<'static, str>`, C and OS strings, paths, `Duration`,
///   `Instant`, `SystemTime`, IP and socket addresses, atomics, `PhantomData`.
/// * Containers, when their elements are `Trace` for the same brand: `Box`, slices, arrays,
///   `Vec`, `VecDeque`, `LinkedList`, `BinaryHeap`, `HashMap`, `HashSet`, `BTreeMap`,
///   `BTreeSet`, `Option`, `Result`, tuples up to 12, ranges, `Reverse`, `Wrapping`,
///   `Saturating`, `ManuallyDrop`.
/// * std's `Cell`, `RefCell`, `Mutex`, `RwLock`, `OnceCell`, `OnceLock` and `Arc` only around
///   `'static + Send` contents (`+ Sync` for `Arc`), which hold no GC pointers: a GC pointer
///   stored through them would skip the write barrier.
/// * Deliberately not: `Rc` and the std `Weak`s, raw pointers, references other than
///   `&'static str`, `MaybeUninit`, `Pin`.
///
/// # Implementing it by hand
///
/// Prefer the derive. A manual impl reports each GC pointer by calling `trace` on it, and
/// justifies every rule below:
///
/// ```
/// use tricolor::{Gc, Heap, Trace, Tracer};
///
/// /// A small vector with its first element inline.
/// struct Small<'gc> {
///     first: Option<Gc<'gc, u32>>,
///     rest: Vec<Gc<'gc, u32>>,
///     len: usize,
/// }
///
/// // SAFETY: `trace` reports every GC pointer (`first`, and each of `rest`) and does nothing
/// // else (rules 1, 2). The fields are `Send` with ordinary drop glue and there is no `Drop`
/// // impl (3, 4). The value has no interior mutability, so its pointers never change while it
/// // is in the heap (5), and it holds no lock cell: `NEEDS_CLAIM = false` (6).
/// unsafe impl<'gc> Trace<'gc> for Small<'gc> {
///     const NEEDS_TRACE: bool = true;
///     const NEEDS_CLAIM: bool = false;
///     fn trace(&self, tracer: &mut Tracer) {
///         self.first.trace(tracer);
///         self.rest.trace(tracer);
///     }
/// }
///
/// Heap::new().mutator().enter(|mc| {
///     let one = Gc::new(mc, 1);
///     let v = Gc::new(mc, Small { first: Some(one), rest: vec![one, one], len: 3 });
///     assert_eq!(v.len, 3);
/// });
/// ```
///
/// # Safety
///
/// An implementation promises:
///
/// 1. **Every GC pointer is traced.** `trace` calls [`Trace::trace`] on every field (or element)
///    that holds a GC pointer the program can reach through this value. A missed pointer lets the
///    collector free an object that is still in use.
/// 2. **Tracing does nothing else.** `trace` never allocates GC objects, enters a mutation scope,
///    or touches the heap in any other way. It may run on any thread (a background mark worker),
///    concurrently with mutators reading the value, so it reads only the GC pointers and the
///    structures that hold them — which the crate's cell types make safe to read concurrently.
/// 3. **Drop glue may run on any thread.** Dead objects are dropped by whichever thread sweeps
///    them, so dropping the value must be sound on any thread (no `Rc`, no `MutexGuard`, no
///    thread-local handles).
/// 4. **`Drop` never dereferences GC pointers.** When an object is dropped, the objects it points
///    to may already be freed. The derive rejects a `Drop` impl unless the type opts in with
///    `#[trace(unsafe_drop)]`; to act on an object's death use a cleanup instead.
/// 5. **GC pointers change only through the barriered cells** ([`GcCell`](crate::GcCell),
///    [`RefLock`](crate::RefLock) and friends), never through `Cell`/`RefCell`/raw pointers, so the
///    write barrier sees every store.
/// 6. **The constants are truthful.** `NEEDS_TRACE == false` only if no value of the type ever
///    holds a GC pointer (such objects are never scanned). `NEEDS_CLAIM == false` only if the
///    type contains no lock cell (`RefLock` and friends), i.e. the GC pointers it holds are never
///    written non-atomically while the value is in the heap.
pub unsafe trait Trace<'gc> {
    /// Whether values of this type may hold GC pointers. If `false`, `trace` is never called.
    const NEEDS_TRACE: bool = true;

    /// Whether the value contains a lock cell, so that tracing it must first claim the object
    /// (the object barrier's protocol). Conservative default: `true`.
    const NEEDS_CLAIM: bool = true;

    /// Reports every GC pointer held by `self` to `tracer` (by calling `trace` on each field).
    fn trace(&self, tracer: &mut Tracer);

    /// Reports the GC pointers of part `chunk` (0, 1, 2, …) of `self`, and returns whether
    /// parts remain. Large sequences (`Vec`, slices, arrays, `VecDeque`, and the lock cells
    /// around them) trace [`TRACE_CHUNK`] elements per part, so that a mark worker scans a large
    /// object in bounded steps and releases it between them. The default traces everything in
    /// part 0. Together, the parts must report what `trace` reports (contract rule 1).
    #[inline]
    fn trace_chunk(&self, tracer: &mut Tracer, chunk: usize) -> bool {
        if chunk == 0 {
            self.trace(tracer);
        }
        false
    }
}

/// Elements per part when a large sequence is traced in parts ([`Trace::trace_chunk`]).
#[cfg(not(tricolor_loom))]
pub const TRACE_CHUNK: usize = 1024;

/// Elements per part when a large sequence is traced in parts ([`Trace::trace_chunk`]). Two
/// under the loom model checker, so that a model's object is traced in several parts while
/// each part stays a handful of scheduling points.
#[cfg(tricolor_loom)]
pub const TRACE_CHUNK: usize = 2;

/// Traces part `chunk` of a slice of traced elements; whether parts remain.
#[inline]
pub(crate) fn trace_slice_chunk<'gc, T: Trace<'gc>>(
    items: &[T],
    tracer: &mut Tracer,
    chunk: usize,
) -> bool {
    if !T::NEEDS_TRACE {
        return false;
    }
    let start = chunk.saturating_mul(TRACE_CHUNK);
    let end = start.saturating_add(TRACE_CHUNK).min(items.len());
    if let Some(part) = items.get(start..end) {
        for item in part {
            item.trace(tracer);
        }
    }
    end < items.len()
}

/// The type descriptor of the heap box of a `T`.
pub(crate) struct Desc<'gc, T>(core::marker::PhantomData<(&'gc (), T)>);

impl<'gc, T: Trace<'gc>> Desc<'gc, T> {
    /// A promoted `'static` constant: one descriptor per type.
    pub(crate) const DESC: &'static TypeDesc = &TypeDesc {
        size: core::mem::size_of::<GcBox<T>>(),
        align: core::mem::align_of::<GcBox<T>>(),
        class: tricolor_gc::class_for(
            core::mem::size_of::<GcBox<T>>(),
            core::mem::align_of::<GcBox<T>>(),
        ),
        trace: if T::NEEDS_TRACE {
            Some(Self::trace_erased)
        } else {
            None
        },
        drop: if core::mem::needs_drop::<T>() {
            Some(Self::drop_erased)
        } else {
            None
        },
        needs_claim: T::NEEDS_TRACE && T::NEEDS_CLAIM,
        name: core::any::type_name::<T>,
    };

    /// # Safety
    ///
    /// `obj` must be the header of a live, initialised `GcBox<T>`.
    unsafe fn trace_erased(obj: NonNull<Header>, tracer: &mut Tracer, chunk: usize) -> bool {
        // SAFETY: the caller guarantees `obj` heads a live `GcBox<T>`; the header is its first
        // field (`repr(C)`), so the cast recovers the box.
        let boxed = unsafe { obj.cast::<GcBox<T>>().as_ref() };
        boxed.value.trace_chunk(tracer, chunk)
    }

    /// # Safety
    ///
    /// `obj` must be the header of an initialised `GcBox<T>` that nobody will access again.
    unsafe fn drop_erased(obj: NonNull<Header>) {
        // SAFETY: the caller guarantees the box is initialised and dead, so dropping its value in
        // place is the last access to it.
        unsafe { core::ptr::drop_in_place(&raw mut (*obj.cast::<GcBox<T>>().as_ptr()).value) }
    }
}
