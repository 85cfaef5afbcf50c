//! The [`Allocator`]: one garbage-collected heap's memory — arenas, page heap, central lists,
//! sweep state, statistics — and the lookups and mark operations the collector calls.
//!
//! # Design
//!
//! Data, and what protects it:
//!
//! * `sweepgen: AtomicU32` — the sweep generation (+2 per cycle); changed only by
//!   `start_sweep`, under every central-list lock;
//! * `arenas` — the reservation and page tables (see `arena`); page tables are written under
//!   the `heap` lock (activation) or by a span's owner (its own pages);
//! * `heap: Mutex<PageHeap>` — free page runs (see `page_heap`);
//! * `central[class]` — per-class span sets and spare span structs (see `central`);
//! * `all_spans: Mutex<Vec<SpanPtr>>` — every span struct ever created, for teardown and
//!   validation; structs are freed only when the allocator drops;
//! * `active_sweepers`, `sweep_hint` — sweep bookkeeping (see `sweep`);
//! * `stats` — counters, all atomics (see `stats`).
//!
//! Large allocation ([`Allocator::alloc_large_span`]):
//!
//! 1. round the request up to pages; take a run from the page heap (growing into new arenas
//!    if needed), page-aligned or aligned to the request's alignment;
//! 2. set up a class-0 span (one slot, its alloc bit set) and point its pages at it;
//! 3. mark it if the caller allocates black; count it in `heap_live`;
//! 4. push it on class 0's swept full set, where the sweeper finds it; it is freed (hook,
//!    pages back to the page heap) by the first sweep that finds it unmarked.
//!
//! Marking ([`Allocator::mark`]): address → arena → page → span (O(1), see `arena`), slot index
//! by multiply-shift, then one atomic `fetch_or` on the mark word.

use std::ptr::NonNull;

use crate::arena::Arenas;
use crate::central::{Central, SpanPtr, lock};
use crate::error::AllocError;
use crate::page_heap::PageHeap;
use crate::size_class::{NUM_CLASSES, PAGE_SIZE};
use crate::span::{MarkParity, SPAN_FREE, SPAN_IN_USE, Span};
use crate::stats::Counters;
use crate::sync::{AtomicU32, AtomicUsize, Mutex, Ordering};

/// Called by the sweeper with the slot base of every object it frees.
///
/// It runs on whichever thread sweeps (a background sweeper, an allocating thread refilling
/// its cache, the thread releasing a cache or calling `finish_sweep`), with no allocator lock
/// held, before the slot can be reused. It must not unwind, and must not call back into the
/// allocator's sweeping entry points (`sweep_one`, `finish_sweep`, `start_sweep`) or allocate
/// from this allocator.
pub type FreeHook = fn(NonNull<u8>);

/// Where a live object's mark bit is: its span, looked up (and its metadata prefetched) by
/// [`Allocator::mark_site_live`] some steps before [`Allocator::mark_site`] sets the bit.
#[derive(Debug, Clone, Copy)]
pub struct MarkSite {
    span: NonNull<Span>,
    addr: usize,
}

// SAFETY: a site is an address and a reference to a span struct, which is `Sync` and lives as
// long as its allocator; it is only used through the allocator's `unsafe` `mark_site`.
unsafe impl Send for MarkSite {}

impl MarkSite {
    /// A placeholder naming no object (for filling buffers of sites); never to be passed to
    /// [`Allocator::mark_site`].
    pub const EMPTY: MarkSite = MarkSite {
        span: NonNull::dangling(),
        addr: 0,
    };
}

/// The span a marker last set a mark bit in, so that marking the next object of the same span
/// (objects allocated together tend to be reached together) skips the page-table walk of
/// [`Allocator::mark_site_live`]. Filled in by [`Allocator::mark_site`] (when the span's
/// metadata is in the cache) and used by [`Allocator::mark_site_hinted`].
///
/// A hint is only as good as the span's use: it must be forgotten ([`SpanHint::EMPTY`])
/// whenever a span may have been freed since it was taken, that is, at least once between the
/// end of one cycle's marking and the start of the next (spans are freed only by sweeping).
#[derive(Debug, Clone, Copy)]
pub struct SpanHint {
    base: usize,
    len: usize,
    span: NonNull<Span>,
    /// The span's `needs_scan` when the hint was taken (only a prefetching hint: it may have
    /// been set since).
    scan: bool,
}

// SAFETY: as for `MarkSite`: an address range and a reference to a span struct, used only
// through the allocator's `unsafe` `mark_site_hinted`.
unsafe impl Send for SpanHint {}

impl SpanHint {
    /// No span: every lookup walks the page table.
    pub const EMPTY: SpanHint = SpanHint {
        base: 0,
        len: 0,
        span: NonNull::dangling(),
        scan: true,
    };

    /// The hint naming `span`, whose struct is `s`.
    #[inline(always)]
    fn of(span: NonNull<Span>, s: &Span) -> SpanHint {
        SpanHint {
            base: s.base(),
            len: s.npages() * PAGE_SIZE,
            span,
            // Relaxed: a hint for prefetching only; see `Span::needs_scan`.
            scan: s.needs_scan.load(Ordering::Relaxed),
        }
    }

    /// Whether the object at `addr` is worth prefetching for marking: unless it lies in the
    /// hinted span and that span held only objects without pointers when the hint was taken
    /// (marking will not read such an object's header). A hint only: correctness never
    /// depends on it.
    #[inline(always)]
    pub fn worth_prefetching(&self, addr: usize) -> bool {
        self.scan || !self.covers(addr)
    }

    /// Whether `addr` lies in the hinted span's pages.
    #[inline(always)]
    fn covers(&self, addr: usize) -> bool {
        addr.wrapping_sub(self.base) < self.len
    }
}

/// Mark bits gathered for one word of one span's mark bitmap, to be set together by one atomic
/// OR ([`Allocator::flush_mark_word`]) rather than one read-modify-write per object: objects
/// allocated together tend to be reached together, so successive marks often fall in one word.
#[derive(Debug, Clone, Copy)]
pub struct MarkWord {
    span: NonNull<Span>,
    word: usize,
    bits: u64,
}

// SAFETY: as for `MarkSite`: a reference to a span struct and bit positions, used only through
// the allocator's `unsafe` methods.
unsafe impl Send for MarkWord {}

impl MarkWord {
    /// No bits gathered.
    pub const EMPTY: MarkWord = MarkWord {
        span: NonNull::dangling(),
        word: 0,
        bits: 0,
    };

    /// Whether no bit is gathered.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.bits == 0
    }
}

/// The objects a flushed [`MarkWord`] newly marked: each one's slot base and size, in address
/// order.
#[derive(Debug, Clone)]
pub struct NewlyMarked {
    /// The first slot of the word (with the heap mapping's provenance).
    first: *mut u8,
    elem_size: usize,
    bits: u64,
    scan: bool,
}

impl NewlyMarked {
    /// Whether the objects may hold GC pointers: false when no object with a trace function
    /// was ever allocated in their span (see
    /// [`ThreadCache::note_needs_scan`](crate::ThreadCache::note_needs_scan)), so that they are
    /// all leaves (black once marked) and their headers need not be read.
    /// Exact for every object the caller learnt of through its publication (see
    /// `note_needs_scan`).
    #[inline]
    pub fn may_hold_pointers(&self) -> bool {
        self.scan
    }

    /// The total size of the objects not yet iterated over.
    #[inline]
    pub fn bytes(&self) -> usize {
        self.bits.count_ones() as usize * self.elem_size
    }
}

impl Iterator for NewlyMarked {
    type Item = (NonNull<u8>, usize);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.bits == 0 {
            return None;
        }
        let i = self.bits.trailing_zeros() as usize;
        self.bits &= self.bits - 1;
        // Slots lie in the reservation, which does not start at 0.
        NonNull::new(self.first.wrapping_add(i * self.elem_size)).map(|p| (p, self.elem_size))
    }
}

/// Configuration of an [`Allocator`].
#[derive(Debug, Clone, Copy)]
pub struct AllocConfig {
    /// Address space to reserve for the heap (default 64 GiB). Rounded down to a multiple of
    /// `arena_bytes`. It costs no memory: pages are committed as the heap touches them. If
    /// the reservation fails it is retried at half the size, down to `min_reservation_bytes`.
    pub max_heap_bytes: usize,
    /// Smallest reservation to fall back to (default 1 GiB, or `max_heap_bytes` if smaller).
    pub min_reservation_bytes: usize,
    /// Arena size (default 64 MiB): a power of two, at least [`PAGE_SIZE`]. The heap grows by
    /// whole arenas; each active arena has a page table of `arena_bytes / 8 KiB` pointers.
    pub arena_bytes: usize,
    /// Called for every object a sweep frees (see [`FreeHook`]); `None` for none. To save the
    /// cost of calling it for objects that need nothing, it only runs for objects in spans
    /// marked as needing it: spans of large objects, spans that served [`ThreadCache::alloc`](crate::ThreadCache::alloc),
    /// and spans for which the cache's [`ThreadCache::note_needs_free_hook`](crate::ThreadCache::note_needs_free_hook) was called after a
    /// class-based allocation.
    pub free_hook: Option<FreeHook>,
    /// Advise the kernel to back the heap with transparent huge pages (`MADV_HUGEPAGE` on the
    /// reservation; default `false`). Fewer TLB misses make random access over a large heap
    /// (marking, pointer chasing) faster; pages are committed 2 MiB at a time, and where the
    /// kernel has no transparent huge pages the advice is ignored. Under the kernel's THP
    /// `defrag` setting `madvise` (its default), a fault in advised memory may enter direct
    /// reclaim and compaction, which can stall the faulting allocation.
    pub huge_pages: bool,
}

impl Default for AllocConfig {
    fn default() -> Self {
        Self {
            max_heap_bytes: 64 << 30,
            min_reservation_bytes: 1 << 30,
            arena_bytes: 64 << 20,
            free_hook: None,
            huge_pages: false,
        }
    }
}

/// A span allocator for one garbage-collected heap. `Send + Sync`; share it in an `Arc` and
/// allocate through one [`ThreadCache`](crate::ThreadCache) per thread. Several allocators
/// may live in one process; each owns its own reservation.
pub struct Allocator {
    pub(crate) sweepgen: AtomicU32,
    pub(crate) active_sweepers: AtomicUsize,
    pub(crate) sweep_hint: AtomicUsize,
    pub(crate) arenas: Arenas,
    pub(crate) heap: Mutex<PageHeap>,
    pub(crate) central: Box<[Central]>,
    pub(crate) all_spans: Mutex<Vec<SpanPtr>>,
    pub(crate) free_hook: Option<FreeHook>,
    pub(crate) stats: Counters,
}

/// Most free span structs [`Allocator::restock_spare_spans`] keeps in one class's spare pool.
pub const SPARE_SPANS_MAX: usize = 1024;

/// A new free span struct for `class`, owned by nobody yet: the caller registers it in
/// `Allocator::all_spans`, which frees it when the allocator drops.
fn leak_span_struct(class: u8) -> SpanPtr {
    SpanPtr::new(NonNull::from(Box::leak(Span::new(class))))
}

impl std::fmt::Debug for Allocator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Allocator")
            .field("reserved_bytes", &self.arenas.len())
            .field("sweepgen", &self.sweepgen())
            .finish_non_exhaustive()
    }
}

impl Allocator {
    /// Reserves the heap's address space and sets up an empty heap.
    pub fn new(config: AllocConfig) -> Result<Self, AllocError> {
        let arena = config.arena_bytes;
        if !arena.is_power_of_two() || arena < PAGE_SIZE {
            return Err(AllocError::InvalidConfig(
                "arena_bytes must be a power of two of at least one page",
            ));
        }
        let max = config.max_heap_bytes & !(arena - 1);
        if max == 0 {
            return Err(AllocError::InvalidConfig(
                "max_heap_bytes must hold at least one arena",
            ));
        }
        if max / arena > 1 << 22 {
            return Err(AllocError::InvalidConfig(
                "more than 2^22 arenas: raise arena_bytes",
            ));
        }
        let min = config.min_reservation_bytes.min(max);
        let arenas = Arenas::reserve(max, min, arena, config.huge_pages)?;
        let max_pages = arenas.len() / PAGE_SIZE;
        let heap = PageHeap::new(max_pages, arenas.pages_per_arena());
        Ok(Self {
            // Start at 4 so that sg − 2 never wraps in the first cycles (values are compared
            // with wrapping arithmetic anyway).
            sweepgen: AtomicU32::new(4),
            active_sweepers: AtomicUsize::new(0),
            sweep_hint: AtomicUsize::new(0),
            stats: Counters::new(arenas.len()),
            arenas,
            heap: Mutex::new(heap),
            central: (0..NUM_CLASSES).map(|_| Central::new()).collect(),
            all_spans: Mutex::new(Vec::new()),
            free_hook: config.free_hook,
        })
    }

    /// Takes `npages` pages (aligned to `align_pages`) from the page heap, growing it into new
    /// arenas if needed, and sets up an in-use span of `class` over them, its pages pointing
    /// at it. The span's sweepgen is left for the caller to set before anyone else sees it.
    pub(crate) fn alloc_span(
        &self,
        class: u8,
        npages: usize,
        align_pages: usize,
    ) -> Result<SpanPtr, AllocError> {
        let run = {
            let mut heap = lock(&self.heap);
            let mut released_empty = false;
            let run = loop {
                if let Some(run) = heap.alloc(npages, align_pages) {
                    break run;
                }
                if !released_empty {
                    // Before growing: the empty spans sweeping kept for their classes.
                    released_empty = true;
                    drop(heap);
                    self.release_empty_spans();
                    heap = lock(&self.heap);
                    continue;
                }
                let Some(new) = heap.grow(npages, align_pages) else {
                    return Err(AllocError::OutOfMemory);
                };
                for arena in new {
                    self.arenas.activate(arena);
                }
            };
            self.stats.mirror_heap(&heap);
            run
        };
        let span = self.new_span_struct(class);
        let s = self.span(span);
        s.init(self.arenas.page_addr(run.start), npages);
        // Release: pairs with the Acquire load of `state` in `Arenas::span_of`.
        s.state.store(SPAN_IN_USE, Ordering::Release);
        self.arenas.set_span(run.start, npages, span.as_ptr());
        self.stats.spans_in_use.fetch_add(1, Ordering::Relaxed);
        self.stats.classes[class as usize]
            .spans
            .fetch_add(1, Ordering::Relaxed);
        Ok(span)
    }

    /// A free span struct for `class`: a spare one, or a new one registered in `all_spans`.
    fn new_span_struct(&self, class: u8) -> SpanPtr {
        let mut spare = lock(&self.central[class as usize].spare);
        spare.taken += 1;
        if let Some(span) = spare.spans.pop() {
            return span;
        }
        drop(spare);
        let span = leak_span_struct(class);
        lock(&self.all_spans).push(span);
        span
    }

    /// Creates span structs ahead of need, so that a thread taking new pages for a span finds
    /// a struct in its class's spare pool instead of allocating one: two calls into the system
    /// allocator on the refill path, which took 4–14 µs in about 0.4 % of the latency
    /// harness's iterations while its heap grew (`docs/PERFORMANCE.md`). Tops each class's
    /// pool up to twice the structs taken from it since the last call, at most
    /// [`SPARE_SPANS_MAX`] per class. Returns how many it created. Meant for a background
    /// thread, every few milliseconds while the heap grows; safe to call concurrently with
    /// allocation and sweeping.
    pub fn restock_spare_spans(&self) -> usize {
        let mut created = 0;
        for (class, c) in self.central.iter().enumerate() {
            let short = {
                let mut spare = lock(&c.spare);
                let want = core::mem::take(&mut spare.taken)
                    .saturating_mul(2)
                    .min(SPARE_SPANS_MAX);
                want.saturating_sub(spare.spans.len())
            };
            if short == 0 {
                continue;
            }
            let new: Vec<SpanPtr> = (0..short).map(|_| leak_span_struct(class as u8)).collect();
            lock(&self.all_spans).extend_from_slice(&new);
            lock(&c.spare).spans.extend_from_slice(&new);
            created += short;
        }
        created
    }

    /// Returns an empty span's pages to the page heap and its struct to the spare pool. The
    /// caller owns the span (it swept it and found it empty).
    pub(crate) fn free_span(&self, span: SpanPtr) {
        let s = self.span(span);
        let start = self.arenas.page_of(s.base());
        let npages = s.npages();
        // Release: pairs with the Acquire load in `Arenas::span_of`; lookups stop finding the
        // span before its pages can be handed out again.
        s.state.store(SPAN_FREE, Ordering::Release);
        {
            let mut heap = lock(&self.heap);
            heap.free(start, npages);
            self.stats.mirror_heap(&heap);
        }
        self.stats.spans_in_use.fetch_sub(1, Ordering::Relaxed);
        self.stats.classes[s.class() as usize]
            .spans
            .fetch_sub(1, Ordering::Relaxed);
        lock(&self.central[s.class() as usize].spare)
            .spans
            .push(span);
    }

    /// Allocates a large object of `size` bytes aligned to `align` (see the module docs),
    /// marking it in `mark[black]` if given. Used by
    /// [`ThreadCache::alloc_large`](crate::ThreadCache::alloc_large).
    pub(crate) fn alloc_large_span(
        &self,
        size: usize,
        align: usize,
        black: Option<MarkParity>,
    ) -> Result<NonNull<u8>, AllocError> {
        if !align.is_power_of_two() || align > self.arenas.arena_bytes() {
            return Err(AllocError::InvalidAlignment { align });
        }
        if size > self.arenas.len() {
            return Err(AllocError::TooLarge { size });
        }
        let npages = size.max(1).div_ceil(PAGE_SIZE);
        let span = self.alloc_span(0, npages, (align / PAGE_SIZE).max(1))?;
        let s = self.span(span);
        s.alloc_word(0).store(1, Ordering::Relaxed);
        s.alloc_count.store(1, Ordering::Relaxed);
        if let Some(p) = black {
            s.set_mark(p, 0);
        }
        let bytes = npages * PAGE_SIZE;
        self.stats.heap_live.fetch_add(bytes, Ordering::Relaxed);
        self.stats.large_bytes.fetch_add(bytes, Ordering::Relaxed);
        self.stats.classes[0].allocs.fetch_add(1, Ordering::Relaxed);
        let base = s.base();
        self.publish_large(span);
        // SAFETY: the base of a span is inside the reservation, which does not start at 0.
        Ok(unsafe { NonNull::new_unchecked(self.arenas.ptr_at(base)) })
    }

    /// The reserved address range of this heap: every object lies inside it.
    pub fn reservation(&self) -> std::ops::Range<usize> {
        let base = self.arenas.page_addr(0);
        base..base + self.arenas.len()
    }

    /// The in-use span containing `addr`, if any: O(1) through the arena page tables.
    ///
    /// While another thread frees and reuses the span concurrently, the answer may be stale
    /// (but always a live span struct of this allocator).
    #[inline]
    pub fn span_of(&self, addr: usize) -> Option<&Span> {
        self.arenas.span_of(addr)
    }

    /// The span and slot index of the object containing `addr`.
    #[inline]
    fn slot_of(&self, addr: usize) -> Option<(&Span, usize)> {
        let span = self.arenas.span_of(addr)?;
        let idx = span.slot_index(span.base(), addr)?;
        Some((span, idx))
    }

    /// Marks the object containing `obj` (its slot base or any address inside it) in
    /// `mark[parity]`, atomically. Returns `Some(slot size)` if this call set the bit, `None`
    /// if it was already set — or if `obj` is not in an in-use span (debug builds panic then).
    #[inline]
    pub fn mark(&self, obj: NonNull<u8>, parity: MarkParity) -> Option<usize> {
        let Some((span, idx)) = self.slot_of(obj.as_ptr().addr()) else {
            debug_assert!(false, "mark: {obj:p} is not in an in-use span");
            return None;
        };
        span.set_mark(parity, idx).then(|| span.elem_size())
    }

    /// [`Allocator::mark`] for an object the caller knows is live: skips the lookup's checks
    /// (the hot path of marking).
    ///
    /// # Safety
    ///
    /// `obj` must lie in an in-use span of this allocator.
    #[inline(always)]
    pub unsafe fn mark_live(&self, obj: NonNull<u8>, parity: MarkParity) -> Option<usize> {
        let addr = obj.as_ptr().addr();
        debug_assert!(
            self.slot_of(addr).is_some(),
            "mark_live: {obj:p} is not live"
        );
        // SAFETY: forwarded from the caller.
        let span = unsafe { self.arenas.span_of_live(addr) };
        span.set_mark(parity, span.slot_index_live(addr))
            .then(|| span.elem_size())
    }

    /// Gathers `site`'s mark bit into `pending` (leaving the site's span in `hint`, as
    /// [`Allocator::mark_site`] does). If `pending` holds bits of another word, those are set
    /// first ([`Allocator::flush_mark_word`]) and the objects they newly marked are returned.
    ///
    /// # Safety
    ///
    /// As for [`Allocator::mark_site`], and `pending` must be [`MarkWord::EMPTY`] or filled
    /// by this allocator's `mark_site_gathered` in the current cycle's marking (its objects
    /// are live and no span has been freed since).
    #[inline(always)]
    pub unsafe fn mark_site_gathered(
        &self,
        site: MarkSite,
        parity: MarkParity,
        hint: &mut SpanHint,
        pending: &mut MarkWord,
    ) -> Option<NewlyMarked> {
        // SAFETY: span structs live as long as the allocator, and the caller guarantees the
        // span is still the in-use span of the object.
        let span = unsafe { site.span.as_ref() };
        *hint = SpanHint::of(site.span, span);
        let idx = span.slot_index_live(site.addr);
        let (word, bit) = (idx / 64, 1u64 << (idx % 64));
        if pending.span == site.span && pending.word == word {
            pending.bits |= bit;
            return None;
        }
        // SAFETY: forwarded from the caller.
        let flushed = unsafe { self.flush_mark_word(pending, parity) };
        *pending = MarkWord {
            span: site.span,
            word,
            bits: bit,
        };
        flushed
    }

    /// Sets the bits gathered in `pending` in `mark[parity]` with one atomic OR and empties
    /// it; returns the objects this call newly marked (those whose bits were clear), if any.
    ///
    /// # Safety
    ///
    /// `pending` must be [`MarkWord::EMPTY`] or filled by this allocator's
    /// `mark_site_gathered` in the current cycle's marking.
    #[inline]
    pub unsafe fn flush_mark_word(
        &self,
        pending: &mut MarkWord,
        parity: MarkParity,
    ) -> Option<NewlyMarked> {
        let bits = core::mem::replace(&mut pending.bits, 0);
        if bits == 0 {
            return None;
        }
        // SAFETY: the caller guarantees the span is still the in-use span of the gathered
        // objects (they are live), and span structs live as long as the allocator.
        let span = unsafe { pending.span.as_ref() };
        let word = span.mark_word(parity, pending.word);
        // Relaxed, and test first: as in `Span::set_mark`.
        let want = bits & !word.load(Ordering::Relaxed);
        if want == 0 {
            return None;
        }
        let newly = want & !word.fetch_or(want, Ordering::Relaxed);
        (newly != 0).then(|| NewlyMarked {
            first: self
                .arenas
                .ptr_at(span.base() + pending.word * 64 * span.elem_size()),
            elem_size: span.elem_size(),
            bits: newly,
            // Relaxed: see `Span::needs_scan` (read after the mark, for objects the caller
            // learnt of through their publication).
            scan: span.needs_scan.load(Ordering::Relaxed),
        })
    }

    /// Looks up the span of a live object ahead of marking it, and starts loading the span's
    /// metadata into the cache: marking a batch of objects by [`Allocator::mark_site`] a few
    /// steps after their lookups overlaps the cache misses instead of taking them one by one.
    ///
    /// # Safety
    ///
    /// `obj` must lie in an in-use span of this allocator.
    #[inline(always)]
    pub unsafe fn mark_site_live(&self, obj: NonNull<u8>) -> MarkSite {
        let addr = obj.as_ptr().addr();
        debug_assert!(
            self.slot_of(addr).is_some(),
            "mark_site_live: {obj:p} is not live"
        );
        // SAFETY: forwarded from the caller.
        let span = unsafe { self.arenas.span_of_live(addr) };
        span.prefetch_meta();
        MarkSite {
            span: NonNull::from(span),
            addr,
        }
    }

    /// [`Allocator::mark_site_live`], or, if `obj` lies in `hint`'s span, that span without a
    /// lookup.
    ///
    /// # Safety
    ///
    /// `obj` must lie in an in-use span of this allocator, and `hint` must be
    /// [`SpanHint::EMPTY`] or filled in by this allocator's `mark_site` with no span freed
    /// since (see [`SpanHint`]).
    #[inline(always)]
    pub unsafe fn mark_site_hinted(&self, obj: NonNull<u8>, hint: &SpanHint) -> MarkSite {
        let addr = obj.as_ptr().addr();
        if hint.covers(addr) {
            debug_assert!(
                self.span_of(addr)
                    .is_some_and(|s| core::ptr::eq(s, hint.span.as_ptr())),
                "mark_site_hinted: stale hint for {obj:p}"
            );
            // The span was in use over [base, base + len) when the hint was taken and none has
            // been freed since, so it is still `obj`'s span.
            MarkSite {
                span: hint.span,
                addr,
            }
        } else {
            // SAFETY: forwarded from the caller.
            unsafe { self.mark_site_live(obj) }
        }
    }

    /// [`Allocator::mark_live`] at a site found by [`Allocator::mark_site_live`] or
    /// [`Allocator::mark_site_hinted`]; leaves the site's span in `hint`.
    ///
    /// # Safety
    ///
    /// `site` must come from this allocator's `mark_site_live`/`mark_site_hinted`, and its
    /// object must still lie in the same in-use span (it is live: nothing has freed it since
    /// the lookup).
    #[inline(always)]
    pub unsafe fn mark_site(
        &self,
        site: MarkSite,
        parity: MarkParity,
        hint: &mut SpanHint,
    ) -> Option<usize> {
        // SAFETY: span structs live as long as the allocator, and the caller guarantees the
        // span is still the in-use span of the object.
        let span = unsafe { site.span.as_ref() };
        *hint = SpanHint::of(site.span, span);
        span.set_mark(parity, span.slot_index_live(site.addr))
            .then(|| span.elem_size())
    }

    /// [`Allocator::is_marked`] for an object the caller knows is in an in-use span.
    ///
    /// # Safety
    ///
    /// `obj` must lie in an in-use span of this allocator.
    #[inline(always)]
    pub unsafe fn is_marked_live(&self, obj: NonNull<u8>, parity: MarkParity) -> bool {
        let addr = obj.as_ptr().addr();
        debug_assert!(
            self.slot_of(addr).is_some(),
            "is_marked_live: {obj:p} is not live"
        );
        // SAFETY: forwarded from the caller.
        let span = unsafe { self.arenas.span_of_live(addr) };
        span.is_marked(parity, span.slot_index_live(addr))
    }

    /// Whether the object containing `obj` is set in `mark[parity]` (false outside in-use
    /// spans).
    #[inline]
    pub fn is_marked(&self, obj: NonNull<u8>, parity: MarkParity) -> bool {
        self.slot_of(obj.as_ptr().addr())
            .is_some_and(|(span, idx)| span.is_marked(parity, idx))
    }

    /// The base of the slot containing `addr` (an interior pointer), in O(1): arena → page
    /// table → span → multiply-shift slot index. `None` outside in-use spans, including the
    /// unused tail of a span.
    #[inline]
    pub fn object_base(&self, addr: usize) -> Option<NonNull<u8>> {
        let (span, idx) = self.slot_of(addr)?;
        let base = span.base() + idx * span.elem_size();
        // SAFETY: `base` is a slot inside the reservation, which does not start at 0.
        Some(unsafe { NonNull::new_unchecked(self.arenas.ptr_at(base)) })
    }

    /// Slot size of the object containing `obj` (the class size, or the whole span for a
    /// large object).
    #[inline]
    pub fn object_size(&self, obj: NonNull<u8>) -> Option<usize> {
        self.slot_of(obj.as_ptr().addr())
            .map(|(span, _)| span.elem_size())
    }

    /// Whether the slot containing `obj` is allocated according to its span (alloc bit, or
    /// below the span's `freeindex`). For debug validation: exact for spans in the central
    /// lists; for a span a thread cache holds, objects the cache handed out since it took the
    /// span read as not allocated until the cache is released.
    pub fn is_allocated(&self, obj: NonNull<u8>) -> bool {
        self.slot_of(obj.as_ptr().addr())
            .is_some_and(|(span, idx)| span.slot_allocated(idx))
    }

    /// Bytes the pacer counts as allocated: in-use small objects, counting every free slot of
    /// a span a thread cache holds as in use (Go's rule: added when the span is cached,
    /// corrected when it is released), plus the pages of large objects. One atomic load.
    #[inline]
    pub fn heap_live_bytes(&self) -> usize {
        self.stats.heap_live.load(Ordering::Relaxed)
    }

    /// Calls `f` with the base of every allocated object (not yet freed by a sweep), for
    /// running drop glue at heap teardown.
    ///
    /// The caller guarantees that nothing allocates or sweeps meanwhile, and that every
    /// [`ThreadCache`](crate::ThreadCache) has been released or dropped (objects a cache
    /// handed out from a span it still holds are not visible to this walk).
    pub fn for_each_allocated(&self, mut f: impl FnMut(NonNull<u8>)) {
        let spans = lock(&self.all_spans).clone();
        for span in spans {
            let s = self.span(span);
            if !s.is_in_use() {
                continue;
            }
            let (base, elem) = (s.base(), s.elem_size());
            for w in 0..s.nwords() {
                let mut bits = s.allocated_word(w);
                while bits != 0 {
                    let slot = w * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    // SAFETY: a slot inside the reservation, which does not start at 0.
                    f(unsafe { NonNull::new_unchecked(self.arenas.ptr_at(base + slot * elem)) });
                }
            }
        }
    }

    /// Panics with a description of the first broken invariant: the page heap's own checks;
    /// every in-use span within the active pages, disjoint from free runs and other spans, and
    /// found by the page table from each of its pages; per-span checks
    /// ([`Span::check_invariants`]); every listed span in the right set; and, when no thread
    /// cache holds a span, the counters against the spans. Call it while no thread allocates,
    /// sweeps or releases a cache.
    pub fn check_invariants(&self) {
        let spans = lock(&self.all_spans).clone();
        let heap = lock(&self.heap);
        heap.check_invariants();
        let active = heap.active_pages();
        let mut owner = vec![None::<usize>; active];
        for (start, len) in heap.runs() {
            for o in &mut owner[start..start + len] {
                *o = Some(usize::MAX);
            }
        }
        let sg = self.sweepgen();
        let mut in_use = 0;
        let mut span_pages = 0;
        let mut cached = 0;
        let mut per_class = [0u64; NUM_CLASSES];
        let mut live_bytes = 0;
        for (i, &span) in spans.iter().enumerate() {
            let s = self.span(span);
            if !s.is_in_use() {
                continue;
            }
            s.check_invariants();
            in_use += 1;
            let start = self.arenas.page_of(s.base());
            let n = s.npages();
            assert!(start + n <= active, "span {s:?} beyond the active pages");
            for (page, o) in owner[start..start + n].iter_mut().enumerate() {
                assert!(
                    o.is_none(),
                    "span {s:?} overlaps a free run or another span"
                );
                *o = Some(i);
                let addr = self.arenas.page_addr(start + page);
                assert!(
                    std::ptr::eq(self.span_of(addr).expect("page table hole"), s),
                    "page {} of span {s:?} maps elsewhere",
                    start + page
                );
            }
            span_pages += n;
            let ssg = s.sweepgen();
            assert!(
                [
                    sg.wrapping_sub(2),
                    sg,
                    sg.wrapping_add(1),
                    sg.wrapping_add(3)
                ]
                .contains(&ssg),
                "span {s:?}: sweepgen {ssg} invalid for allocator sweepgen {sg}"
            );
            if ssg % 2 == 1 {
                cached += 1;
            } else {
                per_class[s.class() as usize] += s.alloc_count() as u64;
                live_bytes += s.alloc_count() * s.elem_size();
            }
        }
        assert_eq!(
            span_pages + heap.free_pages() + heap.lent_pages(),
            active,
            "pages lost: spans + free + lent != active"
        );
        assert_eq!(in_use, self.stats.spans_in_use.load(Ordering::Relaxed));
        drop(heap);
        // Listed spans: in the set their state and fullness say.
        let mut listed = 0;
        for (class, c) in self.central.iter().enumerate() {
            for (k, set) in c.sets().into_iter().enumerate() {
                let set = set.lock();
                for &span in set.iter() {
                    let s = self.span(span);
                    listed += 1;
                    assert!(s.is_in_use(), "free span {s:?} in a central list");
                    assert_eq!(
                        s.class() as usize,
                        class,
                        "span {s:?} in class {class}'s list"
                    );
                    let ssg = s.sweepgen();
                    assert_eq!(
                        ssg / 2 % 2,
                        (k % 2) as u32,
                        "span {s:?} in the wrong sweep set"
                    );
                    assert!(
                        ssg == sg || ssg == sg.wrapping_sub(2),
                        "listed span {s:?} cached?"
                    );
                    let full = s.alloc_count() == s.nelems();
                    assert_eq!(full, k >= 2, "span {s:?} in the wrong fullness set");
                }
            }
            for &span in lock(&c.spare).spans.iter() {
                assert!(
                    !self.span(span).is_in_use(),
                    "in-use span in the spare pool"
                );
            }
        }
        assert_eq!(
            listed + cached,
            in_use,
            "in-use spans neither listed nor cached"
        );
        // Acquire: pairs with the Release decrement that ends a sweep (`Sweeping::drop`).
        if cached == 0 && self.active_sweepers.load(Ordering::Acquire) == 0 {
            for (class, &n) in per_class.iter().enumerate() {
                let st = &self.stats.classes[class];
                let allocs = st.allocs.load(Ordering::Relaxed);
                let frees = st.frees.load(Ordering::Relaxed);
                assert_eq!(
                    allocs - frees,
                    n,
                    "class {class}: allocs - frees != objects"
                );
            }
            assert_eq!(
                live_bytes,
                self.heap_live_bytes(),
                "heap_live != allocated bytes"
            );
        }
    }
}

impl Drop for Allocator {
    fn drop(&mut self) {
        // No cache is alive (each holds an `Arc`), so nobody references a span any more.
        let spans = std::mem::take(&mut *lock(&self.all_spans));
        for span in spans {
            // SAFETY: every registered struct came from `Box::leak` in `new_span_struct` and
            // is freed exactly once, here; `&mut self` means no other reference exists.
            drop(unsafe { Box::from_raw(span.as_ptr().cast_mut()) });
        }
        // `arenas` drops next: page tables, then the reservation (unmapping the heap).
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocator_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Allocator>();
    }

    #[test]
    fn restocked_span_structs_serve_the_next_new_spans() {
        use crate::ThreadCache;
        use crate::size_class::{class_objects, size_to_class};
        use std::sync::Arc;

        let alloc = Arc::new(
            Allocator::new(AllocConfig {
                max_heap_bytes: 1 << 30,
                ..AllocConfig::default()
            })
            .unwrap(),
        );
        let class = size_to_class(64);
        let per_span = class_objects(class);
        let structs = || lock(&alloc.all_spans).len();
        let pool = || lock(&alloc.central[class as usize].spare).spans.len();
        let mut cache = ThreadCache::new(alloc.clone());
        assert_eq!(alloc.restock_spare_spans(), 0, "nothing taken yet");

        // Ten spans' worth of objects: ten refills, each allocating a struct.
        for _ in 0..10 * per_span {
            cache.alloc_slow(class).unwrap();
        }
        assert_eq!(structs(), 10);
        // The pool is topped up to twice what was taken.
        assert_eq!(alloc.restock_spare_spans(), 20);
        assert_eq!((structs(), pool()), (30, 20));
        // The next twenty spans take their structs from the pool: none is allocated.
        for _ in 0..20 * per_span {
            cache.alloc_slow(class).unwrap();
        }
        assert_eq!((structs(), pool()), (30, 0));
        assert_eq!(alloc.restock_spare_spans(), 40);
        // Nothing taken since the last restock: nothing to do.
        assert_eq!(alloc.restock_spare_spans(), 0);
        // However much was taken, a pool holds at most `SPARE_SPANS_MAX`.
        lock(&alloc.central[class as usize].spare).taken = 10 * SPARE_SPANS_MAX;
        assert_eq!(alloc.restock_spare_spans(), SPARE_SPANS_MAX - 40);
        assert_eq!(pool(), SPARE_SPANS_MAX);

        cache.release_all();
        alloc.check_invariants();
    }
}
