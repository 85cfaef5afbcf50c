//! # tricolor
//!
//! Garbage-collected `Gc<T>` pointers for Rust, on a concurrent tricolor mark-sweep collector
//! modelled on Go's runtime: a span allocator with per-thread caches, marking on background
//! threads while your threads keep running (kept correct by write barriers), and concurrent
//! sweeping. Pauses do not grow with the heap.
//!
//! * A [`Heap`] is shared by any number of threads; each thread that allocates registers a
//!   [`Mutator`] and works inside **mutation scopes**: [`Mutator::enter`] hands the closure a
//!   [`Mutation`] context, branded with a fresh lifetime `'gc`.
//! * [`Gc<'gc, T>`](Gc) is a `Copy` pointer valid for the scope; it cannot escape it. To keep
//!   objects across scopes or share them with other threads, use [`Root`]s.
//! * GC pointers inside objects change only through barriered cells: [`GcCell`] (one pointer),
//!   [`RefLock`] (any container, single-threaded) and [`GcMutex`] (any container, shared).
//! * Types stored in the heap implement [`Trace`], normally with `#[derive(Trace)]`.
//! * [`Weak`] references, a [`WeakKeyTable`] with ephemeron semantics, and cleanups
//!   ([`Gc::add_cleanup`]) for acting on an object's death.
//!
//! ```
//! use tricolor::{Gc, GcCell, Heap, Root, Rootable, Trace};
//!
//! #[derive(Trace)]
//! struct Node<'gc> {
//!     value: u64,
//!     next: GcCell<Option<Gc<'gc, Node<'gc>>>>,
//! }
//!
//! let heap = Heap::new();
//! let mut m = heap.mutator();
//! // Build a cycle and keep it across scopes with a root.
//! let root: Root<Rootable![Node<'_>]> = m.enter(|mc| {
//!     let a = Gc::new(mc, Node { value: 1, next: GcCell::new(None) });
//!     let b = Gc::new(mc, Node { value: 2, next: GcCell::new(Some(a)) });
//!     a.next.set(mc, Some(b));
//!     Root::new(mc, a)
//! });
//! heap.collect(); // the cycle survives: it is rooted
//! let sum = m.enter(|mc| {
//!     let a = root.get(mc);
//!     a.value + a.next.get().unwrap().value
//! });
//! assert_eq!(sum, 3);
//! drop(root);
//! heap.collect(); // now the cycle is garbage, and is freed
//! ```
//!
//! # Rules of thumb
//!
//! * **Keep scopes short.** A collection runs concurrently with your threads but can only
//!   finish once every mutator has left the scope it was in when the collection began. A long
//!   scope never stops other threads; it delays the collector, and the heap grows meanwhile.
//!   Long-running loops (interpreters) keep their state in objects reached from a [`Root`] and
//!   return from their scope every so often.
//! * **Keep container borrows short**: a collection cannot start while a thread holds a
//!   [`RefLock`] mutably borrowed or a [`GcMutex`] locked.
//! * **Call [`Heap::collect`] outside scopes** (inside one it would wait for itself). Usually
//!   the pacer decides when to collect and you need not call it at all.
//! * **No `Drop` that touches GC pointers**: objects are dropped in no particular order, on the
//!   sweeping thread. The derive rejects `Drop` impls unless opted in; use
//!   [`Gc::add_cleanup`] to act on an object's death.
//!
//! # Configuration and statistics
//!
//! [`Heap::new`] reads `TRICOLOR_GOGC`, `TRICOLOR_MEMORY_LIMIT`, `TRICOLOR_GCTRACE`,
//! `TRICOLOR_GC_STRESS` and `TRICOLOR_MARK_WORKERS`; [`Heap::with_config`] takes a [`Config`].
//! [`Heap::stats`] returns a [`MemStats`] snapshot: memory in use, cycles, phase durations, and
//! a histogram of every wait the collector caused a mutator.
//!
//! # More
//!
//! `docs/GUIDE.md` in the repository is the user guide, for applications and for interpreters
//! embedding tricolor. The examples (`cargo run -p tricolor --example <name>`):
//! `doubly_linked_list` (cycles, roots, weak references, cleanups), `shared_graph` (a graph
//! mutated by four threads while collections run), `expr_interpreter` (a small language whose
//! interpreter follows the embedding contract) and `binary_trees` (allocation throughput).
#![deny(missing_docs)]
#![warn(unsafe_op_in_unsafe_fn)]

mod cell;
mod gc;
mod mutation;
mod root;
mod trace;
mod trace_impls;
mod weak;

pub use cell::{
    BorrowError, GcCell, GcMutex, GcMutexGuard, Ref, RefLock, RefMut, SlotValue, Unlocked, Write,
};
pub use gc::Gc;
pub use mutation::{Heap, Mutation, Mutator};
#[doc(hidden)]
pub use root::__DynRootable;
pub use root::{Root, Rootable, Static};
pub use trace::{TRACE_CHUNK, Trace, Tracer};
pub use tricolor_derive::Trace;
/// Histogram snapshots in [`MemStats`].
pub use tricolor_gc::histogram::HistogramSnapshot;
pub use tricolor_gc::{
    AllocError, ClassStats, Config, ConfigError, CycleSummary, MemStats, StartError,
};
pub use weak::{Cleanup, Weak, WeakKeyTable};

/// The user guide, `docs/GUIDE.md`: its code blocks are compiled and run as doc-tests, so the
/// guide stays true to the API.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/GUIDE.md")]
mod guide {}
