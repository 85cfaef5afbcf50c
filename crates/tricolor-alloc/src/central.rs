//! Central lists: per size class, the spans no thread cache holds, by fullness and sweep state.
//!
//! # Design
//!
//! One [`Central`] per class (class 0 holds large-object spans), cache-line padded:
//!
//! * `partial[i]`, `full[i]: SpanSet` — spans with / without a free slot, each set a
//!   `Mutex<Vec<SpanPtr>>` plus its length in an atomic (written under the lock, read without
//!   it to skip empty sets). Which index is which depends on the allocator's `sweepgen` `sg`:
//!   `[sg/2 % 2]` holds swept spans, the other index spans that still need sweeping. Advancing
//!   `sg` by 2 therefore turns every swept set into an unswept one without touching a span;
//! * `spare: Mutex<Spare>` — free span structs of this class, reused before a new one is
//!   allocated (a struct keeps its class, so its bitmaps keep their size), and how many were
//!   taken since the background thread last topped the pool up
//!   ([`Allocator::restock_spare_spans`]).
//!
//! A span is in at most one set, or held by exactly one owner (a thread cache, a sweeper, a
//! refill in progress). Whoever pops it owns it. Refill is a slow path, so plain mutexes over
//! vectors are enough (Go's lock-free `spanSet` is an optimisation we do without); no code
//! holds two list locks at once except `start_sweep`, which takes them all, in a fixed order,
//! to advance `sg`. Every push or pop first reads `sg`, locks the set for that `sg`, and checks
//! under the lock that `sg` has not moved (it cannot move while any list lock is held), so no
//! span lands in the wrong set when `start_sweep` races with allocation.
//!
//! Taking a span for a thread cache ([`Allocator::cache_span`], Go's `cacheSpan`):
//!
//! 1. pop a swept partial span: done;
//! 2. pop an unswept partial span, sweep it (the cache will use it even if it came out empty);
//! 3. pop an unswept full span, sweep it, use it if the sweep freed anything, else push it on
//!    the swept full set;
//! 4. after 100 unswept spans (bounding the time spent), or when none are left: take new pages
//!    from the page heap (`grow`).
//!
//! Returning a cached span ([`Allocator::uncache_span`], Go's `uncacheSpan`): if the span was
//! cached before the current sweep started (sweepgen sg+1) it is swept first; otherwise it goes
//! onto the swept partial or full set.

use crate::Allocator;
use crate::error::AllocError;
use crate::size_class::class_pages;
use crate::span::Span;
use crate::sync::{AtomicUsize, Mutex, MutexGuard, Ordering};
use std::ptr::NonNull;

/// A pointer to a span struct owned by an [`Allocator`] (in its `all_spans` registry).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct SpanPtr(NonNull<Span>);

// SAFETY: a `SpanPtr` is an address of a `Span`, which is `Sync` (all its shared fields are
// atomics or immutable); who may write which field is governed by span ownership (see `span`).
unsafe impl Send for SpanPtr {}
// SAFETY: as above.
unsafe impl Sync for SpanPtr {}

impl SpanPtr {
    /// Wraps a span struct pointer.
    pub(crate) fn new(span: NonNull<Span>) -> Self {
        Self(span)
    }

    /// The raw pointer.
    pub(crate) fn as_ptr(self) -> *const Span {
        self.0.as_ptr()
    }

    /// The span.
    ///
    /// # Safety
    ///
    /// The allocator that owns the struct must outlive `'a`.
    #[inline]
    pub(crate) unsafe fn get<'a>(self) -> &'a Span {
        // SAFETY: by the caller's contract the owning allocator is alive, and it frees span
        // structs only when it drops.
        unsafe { self.0.as_ref() }
    }
}

/// One of a class's span sets.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Fullness {
    /// Spans with at least one free slot.
    Partial,
    /// Spans without a free slot.
    Full,
}

/// One set of spans: a mutex-protected vector, plus its length mirrored in an atomic so that
/// refills and sweepers can skip an empty set without taking its lock.
pub(crate) struct SpanSet {
    spans: Mutex<Vec<SpanPtr>>,
    /// `spans.len()`, stored under the lock after every change; read without it as a hint.
    len: AtomicUsize,
}

/// A locked [`SpanSet`]; reads through `Deref`, changes through `push`/`pop`.
pub(crate) struct SetGuard<'a> {
    spans: MutexGuard<'a, Vec<SpanPtr>>,
    len: &'a AtomicUsize,
}

impl SpanSet {
    fn new() -> Self {
        Self {
            spans: Mutex::new(Vec::new()),
            len: AtomicUsize::new(0),
        }
    }

    /// Locks the set (ignoring poisoning: every critical section is a push or a pop, so a
    /// panic elsewhere leaves the vector consistent).
    pub(crate) fn lock(&self) -> SetGuard<'_> {
        SetGuard {
            spans: lock(&self.spans),
            len: &self.len,
        }
    }

    /// Whether the set looked empty a moment ago (no lock). Used only to skip work: a span
    /// pushed concurrently may be missed, which costs a refill some memory, never a sweep —
    /// nothing is pushed onto an unswept set after `start_sweep` (whose Release store of the
    /// sweepgen, under every list lock, the caller's Acquire load of it synchronises with).
    #[inline]
    pub(crate) fn looks_empty(&self) -> bool {
        self.len.load(Ordering::Relaxed) == 0
    }
}

impl SetGuard<'_> {
    pub(crate) fn push(&mut self, span: SpanPtr) {
        self.spans.push(span);
        self.len.store(self.spans.len(), Ordering::Relaxed);
    }

    pub(crate) fn pop(&mut self) -> Option<SpanPtr> {
        let span = self.spans.pop()?;
        self.len.store(self.spans.len(), Ordering::Relaxed);
        Some(span)
    }

    /// Removes and returns the spans for which `pred` holds.
    pub(crate) fn take_if(&mut self, mut pred: impl FnMut(SpanPtr) -> bool) -> Vec<SpanPtr> {
        let mut taken = Vec::new();
        self.spans.retain(|&span| {
            let take = pred(span);
            if take {
                taken.push(span);
            }
            !take
        });
        self.len.store(self.spans.len(), Ordering::Relaxed);
        taken
    }
}

impl std::ops::Deref for SetGuard<'_> {
    type Target = [SpanPtr];

    fn deref(&self) -> &[SpanPtr] {
        &self.spans
    }
}

/// The lists of one size class. See the module docs.
#[repr(align(128))]
pub(crate) struct Central {
    partial: [SpanSet; 2],
    full: [SpanSet; 2],
    pub(crate) spare: Mutex<Spare>,
}

/// A class's pool of free span structs. See the module docs.
#[derive(Default)]
pub(crate) struct Spare {
    /// Free structs (state `SPAN_FREE`), each registered in `Allocator::all_spans`.
    pub(crate) spans: Vec<SpanPtr>,
    /// Structs asked for (from the pool or newly allocated) since the last restock.
    pub(crate) taken: usize,
}

/// Index of the swept sets for sweepgen `sg`.
#[inline]
pub(crate) fn swept_index(sg: u32) -> usize {
    (sg / 2 % 2) as usize
}

/// Locks `m`, ignoring poisoning (a panic elsewhere leaves the protected data consistent:
/// every critical section in this crate completes its update or panics before starting it).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Central {
    pub(crate) fn new() -> Self {
        Self {
            partial: [SpanSet::new(), SpanSet::new()],
            full: [SpanSet::new(), SpanSet::new()],
            spare: Mutex::new(Spare::default()),
        }
    }

    /// Set `index` of the given fullness.
    pub(crate) fn set(&self, fullness: Fullness, index: usize) -> &SpanSet {
        match fullness {
            Fullness::Partial => &self.partial[index],
            Fullness::Full => &self.full[index],
        }
    }

    /// All four sets, in the fixed lock order.
    pub(crate) fn sets(&self) -> [&SpanSet; 4] {
        [
            &self.partial[0],
            &self.partial[1],
            &self.full[0],
            &self.full[1],
        ]
    }
}

/// Marks a sweep in progress on a span taken from (or bound for) the central lists, so that
/// [`Allocator::sweep_done`] waits for it. Dropping it ends the sweep.
pub(crate) struct Sweeping<'a>(&'a Allocator);

impl Drop for Sweeping<'_> {
    fn drop(&mut self) {
        // Release: pairs with the Acquire load in `sweep_done`, so whoever sees the count drop
        // sees the sweep's effects (bitmaps, free hooks, placement).
        self.0.active_sweepers.fetch_sub(1, Ordering::Release);
    }
}

impl Allocator {
    /// Starts a [`Sweeping`] section.
    pub(crate) fn begin_sweeping(&self) -> Sweeping<'_> {
        // Relaxed: when this guards a span popped from an unswept list, the increment happens
        // under that list's lock, and `sweep_done` checks the lists (taking the same locks)
        // before it reads the counter, so the lock orders the two.
        self.active_sweepers.fetch_add(1, Ordering::Relaxed);
        Sweeping(self)
    }

    /// The span behind `p`.
    #[inline]
    pub(crate) fn span(&self, p: SpanPtr) -> &Span {
        // SAFETY: every `SpanPtr` this allocator handles points at a struct in its own
        // `all_spans` registry, freed only when the allocator drops; `&self` keeps it alive.
        unsafe { p.get() }
    }

    /// Locks the set chosen by `pick(sg)` for the current sweepgen `sg`, retrying if `sg`
    /// moves before the lock is held. Returns the guard and the `sg` it is valid for: while the
    /// guard lives `sg` cannot change (`start_sweep` needs every list lock).
    fn lock_for_sweepgen<'a>(&'a self, pick: impl Fn(u32) -> &'a SpanSet) -> (SetGuard<'a>, u32) {
        loop {
            // Acquire: pairs with the Release store of the advanced value in `start_sweep` (the marks of the
            // cycle that just ended become visible to whoever sweeps for the new value).
            let sg = self.sweepgen.load(Ordering::Acquire);
            let guard = pick(sg).lock();
            // Relaxed: under a list lock the value is stable (see the function docs).
            if self.sweepgen.load(Ordering::Relaxed) == sg {
                return (guard, sg);
            }
        }
    }

    /// Pops a swept span of `class` from the given set. Returns it with the sweepgen it is
    /// swept for; the caller owns it.
    fn pop_swept(&self, class: u8, fullness: Fullness) -> Option<(SpanPtr, u32)> {
        let c = &self.central[class as usize];
        // Acquire: pairs with the Release store of the advanced value in `start_sweep`.
        let sg = self.sweepgen.load(Ordering::Acquire);
        if c.set(fullness, swept_index(sg)).looks_empty() {
            return None;
        }
        let (mut set, sg) = self.lock_for_sweepgen(|sg| c.set(fullness, swept_index(sg)));
        let span = set.pop()?;
        if let Some(&next) = set.last() {
            // The next refill takes that one.
            self.span(next).prefetch_meta();
        }
        debug_assert_eq!(
            self.span(span).sweepgen(),
            sg,
            "unswept span in a swept set"
        );
        Some((span, sg))
    }

    /// Pops an unswept span of `class` and claims it for sweeping (sweepgen sg−2 → sg−1), all
    /// under the set's lock. Returns it with the `sg` to sweep for and the [`Sweeping`] guard.
    pub(crate) fn pop_unswept(
        &self,
        class: u8,
        fullness: Fullness,
    ) -> Option<(SpanPtr, u32, Sweeping<'_>)> {
        let c = &self.central[class as usize];
        // Acquire: pairs with the Release store of the advanced value in `start_sweep`, after which nothing is
        // pushed onto the unswept sets, so an empty-looking set stays empty for this `sg`.
        let sg = self.sweepgen.load(Ordering::Acquire);
        if c.set(fullness, swept_index(sg) ^ 1).looks_empty() {
            return None;
        }
        let (mut set, sg) = self.lock_for_sweepgen(|sg| c.set(fullness, swept_index(sg) ^ 1));
        let span = set.pop()?;
        if let Some(&next) = set.last() {
            // The next sweeper claims that one: start loading it (a sweep touches each span
            // struct once per cycle, so it is rarely in the cache).
            self.span(next).prefetch_meta();
        }
        let sweeping = self.begin_sweeping();
        let claimed = self.span(span).sweepgen.compare_exchange(
            sg.wrapping_sub(2),
            sg.wrapping_sub(1),
            // Acquire on success and failure: pairs with the Release store of the span's
            // sweepgen by its previous owner, so its writes to the span are visible.
            Ordering::Acquire,
            Ordering::Acquire,
        );
        if let Err(found) = claimed {
            panic!(
                "span {:?} in an unswept set has sweepgen {found}, allocator {sg}: a sweep was \
                 skipped (start_sweep before the previous sweep finished?)",
                self.span(span)
            );
        }
        Some((span, sg, sweeping))
    }

    /// Puts a span the caller owns, swept for `swept` (its sweepgen value, or about to be),
    /// on the swept partial or full set of its class. If `start_sweep` has advanced the
    /// allocator's sweepgen past `swept` meanwhile, the span needs sweeping for the new value
    /// and is swept here first (which places it).
    pub(crate) fn place_swept(&self, span: SpanPtr, swept: u32) {
        let s = self.span(span);
        let fullness = if s.alloc_count() == s.nelems() {
            Fullness::Full
        } else {
            Fullness::Partial
        };
        let c = &self.central[s.class() as usize];
        let mut set = c.set(fullness, swept_index(swept)).lock();
        // Relaxed: stable under the list lock (see `lock_for_sweepgen`).
        let sg = self.sweepgen.load(Ordering::Relaxed);
        if sg == swept {
            // Release: pairs with the Acquire claim in `pop_unswept` / load in `span_of`.
            s.sweepgen.store(sg, Ordering::Release);
            set.push(span);
            return;
        }
        drop(set);
        if crate::faults::fault(crate::faults::Fault::SweepWithoutClaim) {
            // loom negative control: list it as swept for the new value without sweeping it.
            s.sweepgen.store(sg, Ordering::Release);
            c.set(fullness, swept_index(sg)).lock().push(span);
            return;
        }
        assert_eq!(
            swept,
            sg.wrapping_sub(2),
            "span {s:?} held across two sweep cycles (a thread cache not released?)"
        );
        let _sweeping = self.begin_sweeping();
        s.sweepgen.store(sg.wrapping_sub(1), Ordering::Relaxed);
        self.sweep_span(span, sg, false);
    }

    /// Frees to the page heap every empty span that sweeping kept for its class (on the
    /// class's swept partial set). [`Allocator::finish_sweep`] does this, and so does an
    /// allocation the page heap cannot serve before the heap grows; a collector calls it when
    /// the heap has been idle a while, so that memory a program stopped using can go back to
    /// the OS without another cycle. Returns how many spans were freed.
    pub fn release_empty_spans(&self) -> usize {
        let mut freed = 0;
        for c in self.central.iter().skip(1) {
            let empty = {
                let (mut set, _) =
                    self.lock_for_sweepgen(|sg| c.set(Fullness::Partial, swept_index(sg)));
                // `alloc_count` is the list holder's to read (module docs).
                set.take_if(|span| self.span(span).alloc_count() == 0)
            };
            freed += empty.len();
            for span in empty {
                // We own it: popped from a swept set, swept and empty.
                self.free_span(span);
            }
        }
        freed
    }

    /// Pushes a freshly allocated large-object span on class 0's swept full set, swept for the
    /// current sweepgen (a new object belongs to the current cycle whatever `start_sweep` did
    /// while it was being set up).
    pub(crate) fn publish_large(&self, span: SpanPtr) {
        let c = &self.central[0];
        let (mut set, sg) = self.lock_for_sweepgen(|sg| c.set(Fullness::Full, swept_index(sg)));
        // Release: pairs with the Acquire claim in `pop_unswept`.
        self.span(span).sweepgen.store(sg, Ordering::Release);
        set.push(span);
    }

    /// Takes a span with at least one free slot for a thread cache (steps 1–4 of the module
    /// docs). Returns it with the sweepgen it is swept for; the caller owns it and must store
    /// that value + 3 in its sweepgen.
    pub(crate) fn cache_span(&self, class: u8) -> Result<(SpanPtr, u32), AllocError> {
        let (span, sg) = self.find_span_to_cache(class)?;
        // Relaxed: read by the span's next owner after the handoff back (list lock, sweepgen).
        self.span(span).idle.store(false, Ordering::Relaxed);
        Ok((span, sg))
    }

    /// [`Allocator::cache_span`]'s search.
    fn find_span_to_cache(&self, class: u8) -> Result<(SpanPtr, u32), AllocError> {
        // 1. Swept partial spans.
        while let Some((span, sg)) = self.pop_swept(class, Fullness::Partial) {
            let s = self.span(span);
            if s.alloc_count() < s.nelems() {
                return Ok((span, sg));
            }
            self.place_swept(span, sg);
        }
        // 2., 3. Unswept spans, partial then full, within a budget.
        let mut budget = 100;
        for fullness in [Fullness::Partial, Fullness::Full] {
            while budget > 0 {
                let Some((span, sg, _sweeping)) = self.pop_unswept(class, fullness) else {
                    break;
                };
                budget -= 1;
                self.sweep_span(span, sg, true);
                let s = self.span(span);
                if s.alloc_count() < s.nelems() {
                    return Ok((span, sg));
                }
                self.place_swept(span, sg);
            }
        }
        // 4. New pages.
        // Acquire: pairs with the Release store of the advanced value in `start_sweep` (value only used as the
        // span's generation; a fresh span needs no sweeping for any generation).
        let sg = self.sweepgen.load(Ordering::Acquire);
        let span = self.alloc_span(class, class_pages(class), 1)?;
        Ok((span, sg))
    }

    /// Returns a span a thread cache held (its `freeindex` and `alloc_count` written back).
    pub(crate) fn uncache_span(&self, span: SpanPtr) {
        let s = self.span(span);
        // Acquire: pairs with the Release store of the advanced value in `start_sweep`.
        let sg = self.sweepgen.load(Ordering::Acquire);
        let ssg = s.sweepgen.load(Ordering::Relaxed);
        if ssg == sg.wrapping_add(1) {
            // Cached before this sweep started: it needs sweeping for `sg`. Go's uncacheSpan
            // sweeps it on the spot; we hand it to its class's unswept set instead, so that the
            // releasing thread (a mutator acknowledging the end of marking, which releases
            // every cached span) never runs whole-span sweeps — and the drop glue of their dead
            // objects — inside that acknowledgement. The background sweeper, a refill or
            // `finish_sweep` sweeps it, exactly once, through the usual claim.
            let fullness = if s.alloc_count() == s.nelems() {
                Fullness::Full
            } else {
                Fullness::Partial
            };
            let c = &self.central[s.class() as usize];
            let (mut set, now) = self.lock_for_sweepgen(|sg| c.set(fullness, swept_index(sg) ^ 1));
            assert_eq!(
                now, sg,
                "span {s:?} held across two sweep cycles (a thread cache not released?)"
            );
            // Release: pairs with the Acquire claim in `pop_unswept`, which sees the span's
            // final state from its owner.
            s.sweepgen.store(sg.wrapping_sub(2), Ordering::Release);
            set.push(span);
            return;
        }
        assert_eq!(
            ssg,
            sg.wrapping_add(3),
            "cached span {s:?} has sweepgen {ssg}, allocator {sg}: a thread cache was not \
             released at the end of a cycle"
        );
        self.place_swept(span, ssg.wrapping_sub(3));
    }
}
