//! Heaps, mutators and mutation scopes.

use core::marker::PhantomData;
use std::sync::Arc;

use tricolor_gc::{Collector, Config, MemStats, StartError, Threads};

/// Makes a lifetime invariant (so that two scopes' brands never unify).
pub(crate) type Invariant<'gc> = PhantomData<fn(&'gc ()) -> &'gc ()>;

struct HeapInner {
    collector: Arc<Collector>,
    /// `None` for a heap driven by hand (`Heap::__manual`).
    _threads: Option<Threads>,
}

/// A garbage-collected heap, shared by any number of threads.
///
/// Cloning a `Heap` makes another handle to the same heap (it is `Send + Sync`: clone it into
/// every thread that works with the heap); the heap (and its background collector threads)
/// lives until the last handle, [`Mutator`] and [`Root`](crate::Root) is gone, and then runs the
/// drop glue of every object still in it.
///
/// Objects are allocated and changed inside mutation scopes, opened by a thread's [`Mutator`]
/// with [`Mutator::enter`].
///
/// ```
/// use tricolor::{Gc, Heap};
///
/// let heap = Heap::new();
/// let mut m = heap.mutator();
/// let sum = m.enter(|mc| {
///     let a = Gc::new(mc, 40);
///     let b = Gc::new(mc, 2);
///     *a + *b
/// });
/// assert_eq!(sum, 42);
/// ```
#[derive(Clone)]
pub struct Heap {
    inner: Arc<HeapInner>,
}

impl core::fmt::Debug for Heap {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Heap")
            .field("config", self.config())
            .finish_non_exhaustive()
    }
}

impl Default for Heap {
    fn default() -> Self {
        Heap::new()
    }
}

impl Heap {
    /// A heap configured from the `TRICOLOR_*` environment variables (see [`Config`]):
    ///
    /// | variable | meaning |
    /// |---|---|
    /// | `TRICOLOR_GOGC` | heap growth ratio in percent, or `off` (default 100) |
    /// | `TRICOLOR_MEMORY_LIMIT` | soft memory limit, such as `512MiB` or `2G`, or `off` |
    /// | `TRICOLOR_GCTRACE` | `1`: print one line per collection cycle on stderr |
    /// | `TRICOLOR_GC_STRESS` | `1`: collect at every allocation slow path and poll point |
    /// | `TRICOLOR_MARK_WORKERS` | number of background mark threads |
    ///
    /// # Panics
    ///
    /// If a variable has an invalid value or the heap's address space cannot be reserved; use
    /// [`Heap::with_config`] to handle those as errors.
    pub fn new() -> Heap {
        let config = Config::from_env().unwrap_or_else(|e| panic!("tricolor: {e}"));
        Heap::with_config(config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A heap with an explicit configuration.
    ///
    /// ```
    /// use tricolor::{Config, Heap};
    ///
    /// let mut config = Config::default(); // or `Config::from_env()?` to honour the variables
    /// config.gogc = Some(50); // collect when the heap has grown by half since the last mark
    /// config.mark_workers = 1;
    /// let heap = Heap::with_config(config)?;
    /// assert_eq!(heap.config().gogc, Some(50));
    /// # Ok::<(), tricolor::StartError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// If the configuration is invalid ([`Config::validate`]), the heap's address space cannot
    /// be reserved, or a background thread cannot be started.
    pub fn with_config(config: Config) -> Result<Heap, StartError> {
        let (collector, threads) = Collector::start(config)?;
        Ok(Heap {
            inner: Arc::new(HeapInner {
                collector,
                _threads: Some(threads),
            }),
        })
    }

    /// A heap without background threads: nothing collects unless the caller drives the cycle
    /// with `tricolor_gc::model`. For model checking (`loom-tests`) and deterministic tests.
    #[doc(hidden)]
    pub fn __manual(config: Config) -> Result<Heap, StartError> {
        Ok(Heap {
            inner: Arc::new(HeapInner {
                collector: tricolor_gc::model::collector(config)?,
                _threads: None,
            }),
        })
    }

    /// The engine under this heap (for `tricolor_gc::model`).
    #[doc(hidden)]
    pub fn __collector(&self) -> &Arc<Collector> {
        &self.inner.collector
    }

    /// Registers the calling thread as a mutator of this heap. Every thread that works with
    /// the heap needs its own (a `Mutator` can move to another thread between scopes, but not
    /// be shared).
    pub fn mutator(&self) -> Mutator {
        Mutator {
            inner: self.inner.collector.mutator(),
            heap: self.clone(),
        }
    }

    /// The configuration the heap runs with.
    pub fn config(&self) -> &Config {
        self.inner.collector.config()
    }

    /// A snapshot of the heap's statistics, cheap enough to take while the program runs.
    ///
    /// Object and byte counts are exact after [`Heap::collect`] returns; at other times they
    /// include the unused rest of the spans that threads hold in their allocation caches.
    ///
    /// ```
    /// use tricolor::{Gc, Heap};
    ///
    /// let heap = Heap::new();
    /// let mut m = heap.mutator();
    /// m.enter(|mc| {
    ///     for i in 0..1000u64 {
    ///         Gc::new(mc, i); // garbage once the scope ends
    ///     }
    /// });
    /// heap.collect();
    /// let s = heap.stats();
    /// assert_eq!(s.objects_in_use, 0);
    /// assert!(s.cycles >= 1);
    /// println!(
    ///     "{} cycles; collector-caused waits: p99 {} ns, max {} ns",
    ///     s.cycles,
    ///     s.mutator_waits.quantile(0.99),
    ///     s.mutator_waits.max
    /// );
    /// ```
    pub fn stats(&self) -> MemStats {
        self.inner.collector.stats()
    }

    /// Runs a full collection and waits for it to finish sweeping: when this returns, every
    /// object that was unreachable when it was called has been freed and dropped.
    ///
    /// **Call it outside any mutation scope of this heap.** The cycle needs every mutator to
    /// pass a scope boundary, so calling it from inside a scope (directly, or from a function
    /// called in the scope) waits for itself forever. Other threads' long scopes delay it.
    ///
    /// The pacer starts cycles by itself as the heap grows; call this when you need the
    /// guarantee (tests, measurements, before a latency-sensitive phase).
    ///
    /// ```
    /// use tricolor::{Gc, Heap};
    ///
    /// let heap = Heap::new();
    /// let mut m = heap.mutator();
    /// m.enter(|mc| {
    ///     Gc::new(mc, String::from("garbage"));
    ///     // not here: `mc.heap().collect()` would never return
    /// });
    /// heap.collect(); // here: this thread is between scopes
    /// assert_eq!(heap.stats().objects_in_use, 0);
    /// ```
    pub fn collect(&self) {
        self.inner.collector.collect();
    }

    /// Asks for a collection without waiting for it (unlike [`Heap::collect`], this may be
    /// called inside a scope).
    pub fn request_collection(&self) {
        self.inner.collector.request_cycle(true);
    }

    /// Runs up to `max` cleanups whose objects have died, on this thread. Returns how many ran.
    /// (Mutators also run a few each time they enter a scope.)
    pub fn run_cleanups(&self, max: usize) -> usize {
        self.inner.collector.run_cleanups(max)
    }

    /// Whether two handles refer to the same heap.
    pub fn ptr_eq(a: &Heap, b: &Heap) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }

    pub(crate) fn collector(&self) -> &Arc<Collector> {
        &self.inner.collector
    }
}

/// A thread's handle for working with a [`Heap`]: it owns the thread's allocation cache and opens
/// mutation scopes.
///
/// Between scopes a mutator holds no GC pointers, which is what lets the collector treat its
/// stack as scanned without looking at it. Keep long-lived pointers in [`Root`](crate::Root)s.
///
/// Make one per thread with [`Heap::mutator`]. It is `Send` (it can move to another thread
/// between scopes) but not `Sync`; dropping it unregisters it.
pub struct Mutator {
    inner: tricolor_gc::Mutator,
    heap: Heap,
}

impl core::fmt::Debug for Mutator {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Mutator").finish_non_exhaustive()
    }
}

impl Mutator {
    /// Runs `f` in a mutation scope. `f` receives the scope's [`Mutation`] context, through
    /// which it allocates and writes; its result cannot contain a GC pointer (the `'gc` brand is
    /// fresh for each scope and cannot appear in `R`).
    ///
    /// A collection can only finish once every mutator has left the scope it was in when the
    /// collection began, so long-running work (an interpreter loop) should return from its
    /// scope every so often, keeping its state in objects reached from a [`Root`](crate::Root).
    ///
    /// If `f` panics, the scope is closed properly and the heap stays usable.
    ///
    /// ```
    /// use tricolor::{Gc, Heap};
    ///
    /// let heap = Heap::new();
    /// let mut m = heap.mutator();
    /// let len = m.enter(|mc| {
    ///     let s = Gc::new(mc, String::from("hello"));
    ///     s.len() // plain data may leave the scope
    /// });
    /// assert_eq!(len, 5);
    /// ```
    ///
    /// A GC pointer may not (root it with [`Root`](crate::Root) instead):
    ///
    /// ```compile_fail
    /// # use tricolor::{Gc, Heap};
    /// # let heap = Heap::new();
    /// # let mut m = heap.mutator();
    /// let escaped = m.enter(|mc| Gc::new(mc, 5u32)); // error: lifetime may not live long enough
    /// ```
    pub fn enter<R>(&mut self, f: impl for<'gc> FnOnce(&Mutation<'gc>) -> R) -> R {
        let scope = self.inner.enter();
        let mc = Mutation {
            scope: &scope,
            heap: &self.heap,
            _brand: PhantomData,
        };
        f(&mc)
    }

    /// The heap this mutator works on.
    pub fn heap(&self) -> &Heap {
        &self.heap
    }

    /// Runs a full collection (see [`Heap::collect`]); the mutator is outside any scope here.
    pub fn collect(&mut self) {
        self.heap.collect();
    }
}

/// The context of one mutation scope: what allocation and barriered writes need.
///
/// `'gc` is a brand unique to the scope: every [`Gc`](crate::Gc) made in it carries it, so no GC
/// pointer can leave the scope or be mixed with another scope's. Not `Send`/`Sync`: only the
/// thread that entered the scope allocates and writes in it.
///
/// Functions that work with GC objects take it as their first argument:
///
/// ```
/// use tricolor::{Gc, Heap, Mutation};
///
/// fn pair<'gc>(mc: &Mutation<'gc>, a: u32, b: u32) -> Gc<'gc, (Gc<'gc, u32>, Gc<'gc, u32>)> {
///     Gc::new(mc, (Gc::new(mc, a), Gc::new(mc, b)))
/// }
///
/// Heap::new().mutator().enter(|mc| assert_eq!(*pair(mc, 1, 2).1, 2));
/// ```
pub struct Mutation<'gc> {
    pub(crate) scope: &'gc tricolor_gc::Scope<'gc>,
    heap: &'gc Heap,
    _brand: Invariant<'gc>,
}

impl core::fmt::Debug for Mutation<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Mutation").finish_non_exhaustive()
    }
}

impl<'gc> Mutation<'gc> {
    /// Runs a mark assist of `work` bytes of scan work now, if this mutator is marking (for the
    /// loom models; not a stable API).
    #[doc(hidden)]
    pub fn __assist(&self, work: usize) {
        self.scope.__assist(work);
    }

    /// The heap this scope belongs to.
    pub fn heap(&self) -> &'gc Heap {
        self.heap
    }

    /// A poll point: acknowledges a pending collector phase change. Long computations inside
    /// one scope may call it now and then; it is not a scope boundary, so it does not let a
    /// cycle finish.
    #[inline]
    pub fn safepoint(&self) {
        self.scope.safepoint();
    }

    /// Whether a collection is marking (barriers are on) for this thread right now. For
    /// diagnostics: the cells run the barriers by themselves.
    pub fn is_marking(&self) -> bool {
        self.scope.is_marking()
    }

    pub(crate) fn collector(&self) -> &Arc<Collector> {
        self.scope.collector()
    }
}
