//! Sweeping: freeing what the last mark left unmarked, one span at a time.
//!
//! # Design
//!
//! The collector drives a cycle's sweep; the allocator keeps it exactly-once per span:
//!
//! 1. marking of cycle k ends (the collector's business); every mark went into
//!    `mark[p]`, `p = mark_parity()`;
//! 2. [`Allocator::start_sweep`] advances `sweepgen` by 2 under every central-list lock: all
//!    listed spans now need sweeping, all cached spans are "cached before the sweep";
//! 3. spans are swept by whoever claims them first (CAS sweepgen sg−2 → sg−1, done under the
//!    list lock as the span is popped): the background sweeper ([`Allocator::sweep_one`]),
//!    an allocating thread whose refill needs a span ([`Allocator::cache_span`]), or
//!    [`Allocator::finish_sweep`]; a thread cache's stale spans are swept when the cache
//!    is released;
//! 4. sweeping a span ([`Allocator::sweep_span`]): run the free hook on every dead slot, with
//!    no lock held, *before* any slot can be reused; swap the bitmaps (see `span`); publish the
//!    swept sweepgen (Release); then put it on its class's swept partial or full set. An
//!    empty span goes back to the page heap at once if it is a large object's, or if the
//!    previous sweep kept it already and no refill took it since; any other empty span is kept
//!    for its class until then or until [`Allocator::release_empty_spans`] (which
//!    `finish_sweep`, a page-heap shortfall and an idle collector call);
//! 5. [`Allocator::sweep_done`] is true once no listed span needs sweeping and no sweep of a
//!    listed span is in progress (`active_sweepers`, raised under the list lock at the claim).
//!
//! The mark parity a sweep for sweepgen `sg` reads is `((sg − 2) / 2) & 1`: the parity the
//! cycle that just ended marked with. The sweep clears the *other* bitmap, which the next cycle
//! will mark into.

use std::ptr::NonNull;

use crate::Allocator;
use crate::central::{Fullness, SpanPtr, swept_index};
use crate::size_class::NUM_CLASSES;
use crate::span::{MarkParity, SweepCounts};
use crate::sync::{Ordering, thread};

/// The parity the cycle before sweepgen `sg` marked into.
#[inline]
pub(crate) fn sweep_parity(sg: u32) -> MarkParity {
    ((sg.wrapping_sub(2) / 2) & 1) as MarkParity
}

impl Allocator {
    /// The mark bitmap the current (or next) marking cycle must mark into: `(sweepgen / 2) & 1`.
    ///
    /// Read it once per cycle, before that cycle's [`start_sweep`](Self::start_sweep), and pass
    /// it to [`mark`](Self::mark), [`is_marked`](Self::is_marked) and
    /// [`ThreadCache::set_allocate_black`](crate::ThreadCache::set_allocate_black).
    #[inline]
    pub fn mark_parity(&self) -> MarkParity {
        // Acquire: pairs with the Release store of the advanced value in `start_sweep`.
        ((self.sweepgen.load(Ordering::Acquire) / 2) & 1) as MarkParity
    }

    /// The allocator's sweep generation (grows by 2 per [`start_sweep`](Self::start_sweep)).
    pub fn sweepgen(&self) -> u32 {
        // Acquire: pairs with the Release store of the advanced value in `start_sweep`.
        self.sweepgen.load(Ordering::Acquire)
    }

    /// Starts sweeping the cycle that just finished marking: advances `sweepgen` by 2.
    ///
    /// Preconditions (the collector's duty):
    /// * marking of the cycle is finished: every mark it will make is in `mark[p]` (late,
    ///   redundant re-marks of already-marked objects are harmless);
    /// * the previous sweep is finished ([`sweep_done`](Self::sweep_done), or
    ///   [`finish_sweep`](Self::finish_sweep) returned) — debug builds assert that no listed
    ///   span still needs sweeping — and every [`ThreadCache`](crate::ThreadCache) was
    ///   released since the previous `start_sweep`.
    ///
    /// Threads may keep allocating while this runs: a span a cache holds becomes "cached
    /// before the sweep" and is swept when the cache is released. Objects allocated from such
    /// a span until then are swept against the finished cycle's marks, so they must be
    /// allocated black (keep [`set_allocate_black`](crate::ThreadCache::set_allocate_black)
    /// on until the cache is released). New large objects are never swept by the sweep that
    /// races with their allocation.
    ///
    /// After this, call [`ThreadCache::release_all`](crate::ThreadCache::release_all) on every
    /// cache and complete the sweep ([`sweep_one`](Self::sweep_one) in the background,
    /// [`finish_sweep`](Self::finish_sweep)) before the next cycle starts marking: marking
    /// clears nothing, the sweep clears the bitmap the next cycle marks into.
    pub fn start_sweep(&self) {
        let mut guards = Vec::with_capacity(NUM_CLASSES * 4);
        for c in self.central.iter() {
            for set in c.sets() {
                guards.push(set.lock());
            }
        }
        let sg = self.sweepgen.load(Ordering::Relaxed);
        if cfg!(debug_assertions) {
            let unswept = swept_index(sg) ^ 1;
            for (i, g) in guards.iter().enumerate() {
                // Sets are locked in the order partial[0], partial[1], full[0], full[1].
                assert!(
                    i % 2 != unswept || g.is_empty(),
                    "start_sweep: class {} still has unswept spans (previous sweep not finished)",
                    i / 4
                );
            }
        }
        // Release: pairs with the Acquire loads of sweepgen by sweepers, refills and cache
        // releases: whoever sweeps for the new value sees what this thread saw of the marks.
        self.sweepgen.store(sg.wrapping_add(2), Ordering::Release);
        drop(guards);
    }

    /// Sweeps one span that needs sweeping, from any class (the background sweeper's step).
    /// Returns the pages of the span it swept, or `None` when no listed span needs sweeping
    /// (sweeps by other threads may still be in progress: see [`sweep_done`](Self::sweep_done)).
    ///
    /// Runs the free hook for the span's dead objects on the calling thread. Must not be called
    /// from the free hook.
    pub fn sweep_one(&self) -> Option<usize> {
        let start = self.sweep_hint.load(Ordering::Relaxed);
        for i in 0..NUM_CLASSES {
            let class = ((start + i) % NUM_CLASSES) as u8;
            for fullness in [Fullness::Partial, Fullness::Full] {
                if let Some((span, sg, _sweeping)) = self.pop_unswept(class, fullness) {
                    let npages = self.span(span).npages();
                    self.sweep_span(span, sg, false);
                    self.sweep_hint.store(class as usize, Ordering::Relaxed);
                    return Some(npages);
                }
            }
        }
        None
    }

    /// Sweeps every span that still needs sweeping and waits for sweeps other threads have
    /// started (refills, [`sweep_one`](Self::sweep_one) callers) to finish. Safe to call
    /// concurrently with those: each span is swept exactly once. On return
    /// [`sweep_done`](Self::sweep_done) holds (until the next `start_sweep`), and the empty
    /// spans the sweep kept for their classes are back in the page heap
    /// ([`release_empty_spans`](Self::release_empty_spans)). Spans still held by thread caches
    /// from before `start_sweep` are not covered: release the caches.
    ///
    /// Must not be called from the free hook (it would wait for itself).
    pub fn finish_sweep(&self) {
        self.complete_sweep();
        self.release_empty_spans();
    }

    /// [`finish_sweep`](Self::finish_sweep), except that the empty spans the sweep kept for
    /// their classes stay with them (for a collector starting its next cycle, whose mutators
    /// are about to allocate: a kept span that the next sweep finds still untouched goes back
    /// to the page heap then).
    pub fn complete_sweep(&self) {
        loop {
            while self.sweep_one().is_some() {}
            if self.sweep_done() {
                return;
            }
            thread::yield_now();
        }
    }

    /// Whether the current sweep is complete: no span in the central lists needs sweeping and
    /// no sweep of a listed span is running. Spans still held by thread caches from before the
    /// last [`start_sweep`](Self::start_sweep) do not count (releasing the cache sweeps them).
    pub fn sweep_done(&self) -> bool {
        // Acquire: pairs with the Release store of the advanced value in `start_sweep`.
        let sg = self.sweepgen.load(Ordering::Acquire);
        let unswept = swept_index(sg) ^ 1;
        for c in self.central.iter() {
            for fullness in [Fullness::Partial, Fullness::Full] {
                if !c.set(fullness, unswept).lock().is_empty() {
                    return false;
                }
            }
        }
        // Checked after the lists: a sweeper raises the count under the list lock as it pops,
        // so a pop that emptied a list we saw empty is counted here. Acquire: pairs with the
        // Release decrement when a sweep ends.
        self.active_sweepers.load(Ordering::Acquire) == 0 && self.sweepgen() == sg
    }

    /// Sweeps `span`, which the caller owns with sweepgen sg−1 (claimed for `sg`), and, unless
    /// `preserve`, frees it to the page heap (empty) or places it on a swept set. With
    /// `preserve` the span stays with the caller, swept (sweepgen `sg`), even if empty.
    pub(crate) fn sweep_span(&self, span: SpanPtr, sg: u32, preserve: bool) -> SweepCounts {
        let s = self.span(span);
        debug_assert_eq!(
            s.sweepgen(),
            sg.wrapping_sub(1),
            "sweeping an unclaimed span"
        );
        let base = s.base();
        let elem = s.elem_size();
        let class = s.class();
        // Relaxed: the flag's writer (the span's previous owner) handed the span over through
        // its list lock and sweepgen, which our claim acquired.
        let hook = self
            .free_hook
            .filter(|_| s.needs_hook.load(Ordering::Relaxed));
        let counts = s.sweep_bits(
            sweep_parity(sg),
            hook.map(|hook| {
                move |slot| {
                    let p = self.arenas.ptr_at(base + slot * elem);
                    // SAFETY: `p` is inside the reservation, whose base is non-null.
                    hook(unsafe { NonNull::new_unchecked(p) });
                }
            }),
        );
        let stats = &self.stats.classes[class as usize];
        stats
            .frees
            .fetch_add(counts.freed as u64, Ordering::Relaxed);
        self.stats
            .heap_live
            .fetch_sub(counts.freed * elem, Ordering::Relaxed);
        if class == 0 {
            self.stats
                .large_bytes
                .fetch_sub(counts.freed * elem, Ordering::Relaxed);
        }
        // An empty span of a size class stays with its class, on its swept partial set like
        // any span with free slots: a class allocates again soon after a sweep, about as much
        // as the sweep freed, and a span reused as it is costs no page-heap work (no
        // coalescing, no page-table writes). One kept by the previous sweep and not taken
        // since goes back to the page heap; `release_empty_spans` returns them all.
        // Relaxed: written by the span's previous owner, whose handoff our claim acquired.
        let keep = counts.live == 0 && class != 0 && !s.idle.load(Ordering::Relaxed);
        if counts.live == 0 && !preserve && !keep {
            self.free_span(span);
        } else if preserve {
            // Release: pairs with Acquire loads of the span's sweepgen by later owners.
            s.sweepgen.store(sg, Ordering::Release);
        } else {
            if keep {
                s.idle.store(true, Ordering::Relaxed);
            }
            self.place_swept(span, sg);
        }
        counts
    }
}
