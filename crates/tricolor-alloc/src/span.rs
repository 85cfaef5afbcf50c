//! Spans: runs of pages holding objects of one size class, with their bitmaps.
//!
//! # Design
//!
//! A [`Span`] is metadata only; it lives off-heap (a `Box` owned by the allocator), never in
//! the arena pages it describes. Span structs are never freed while the allocator lives: an
//! empty span goes back to its class's spare pool and is reused for the same class, so its
//! bitmaps keep their size and a stale page-table entry always points at a live struct.
//!
//! Fields, and what protects them:
//!
//! * `class`, `nelems`, `elem_size`, `div_magic`, `nwords`, `bits` — fixed when the struct is
//!   created (a struct serves one class for life); read freely;
//! * `base`, `npages` — set by the thread that takes the span from the page heap, before it
//!   publishes `state` (Release); read after an Acquire load of `state`;
//! * `bits` = `[alloc | mark[0] | mark[1]]`, `nwords` words each (`nwords = ⌈nelems/64⌉`, so at
//!   most 16 words per bitmap):
//!   * alloc bits: bit i set = slot i was allocated as of the last sweep. Written only by the
//!     span's owner (the sweeper that claimed it, or the thread that takes it from the page
//!     heap); read by the owner and, racily, by debug queries (`is_allocated`);
//!   * mark bits: set with atomic `fetch_or` by any marking thread (several may mark in one
//!     word), read and cleared only by the sweeper that owns the span — except that a thread
//!     cache allocating black sets the bits of its current word's free slots ahead and clears
//!     those it did not hand out (atomic `fetch_or` / `fetch_and` on bits of no object; see
//!     `cache`);
//! * `freeindex`, `alloc_count` — owned by whoever owns the span: the thread cache that cached
//!   it, the sweeper that claimed it, or (in a central list) the list's mutex holder. All
//!   slots below `freeindex` are allocated, whatever their alloc bit says (they were handed out
//!   since the last sweep); `alloc_count` counts allocated slots. Atomics only so that
//!   debug queries may read them racily without undefined behaviour;
//! * `state`, `sweepgen` — atomics, see below.
//!
//! # States
//!
//! `state` is [`SPAN_FREE`] (in the spare pool, or never used) or [`SPAN_IN_USE`] (its pages
//! are allocated from the page heap). Transitions: FREE → IN_USE when a cache or a large
//! allocation takes pages (fields set first, then `state` stored with Release); IN_USE → FREE
//! only when a sweep finds it empty, or at teardown.
//!
//! While in use, `sweepgen` relative to the allocator's `sweepgen` `sg` (which grows by 2 per
//! cycle) says where the span is, exactly as in Go:
//!
//! | span value | meaning | where the span is |
//! |---|---|---|
//! | sg − 2 | needs sweeping | an unswept central list (or being popped from it) |
//! | sg − 1 | being swept | owned by the sweeper that CASed it from sg − 2 |
//! | sg | swept | a swept central list, or being moved to a cache |
//! | sg + 1 | cached before the sweep started: needs sweeping when released | a thread cache |
//! | sg + 3 | swept, then cached | a thread cache |
//!
//! Legal moves: sg−2 → sg−1 (CAS, by whoever sweeps first) → sg (Release store after the
//! bitmaps are swept); sg → sg+3 (a cache takes it; the cache owns it); sg+3 → sg (release to
//! a swept list); sg+1 → sg−1 → sg (stale cache release sweeps it first). `start_sweep`
//! turns every sg into sg−2 and every sg+3 into sg+1 by advancing the allocator's counter.
//!
//! # Sweeping ([`Span::sweep_bits`])
//!
//! With `p` the mark parity of the cycle that just finished marking:
//!
//! 1. allocated = alloc | (slots below freeindex);
//! 2. dead = allocated & !mark[p]; each dead slot is reported (the free hook runs on it);
//!    a marked slot that is not allocated is a zombie (debug builds panic);
//! 3. alloc := mark[p] (the survivors); freeindex := 0; alloc_count := popcount;
//! 4. mark[1 − p] := 0, ready for the next cycle. mark[p] is left alone: late, redundant marks
//!    from the cycle that just ended may still land there and must never leak into the
//!    bitmap the next cycle marks.

use crate::size_class::{
    PAGE_SIZE, class_div_magic, class_objects, class_pages, class_size, object_index,
};
use crate::sync::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};

/// Which of a span's two mark bitmaps a cycle marks into: 0 or 1.
///
/// The collector marks cycle k into `mark[p]` with `p = (sweepgen / 2) & 1` read before that
/// cycle's sweep starts ([`Allocator::mark_parity`](crate::Allocator::mark_parity)).
pub type MarkParity = u8;

/// `Span::state`: not in use (spare, or never used).
pub(crate) const SPAN_FREE: u8 = 0;
/// `Span::state`: its pages are allocated and hold objects.
pub(crate) const SPAN_IN_USE: u8 = 1;

/// Eight bitmap words on a cache line of their own.
#[repr(C, align(64))]
struct BitLine([AtomicU64; 8]);

/// Metadata of one span. See the module docs for the fields, their protection and the state
/// machine. Obtained through [`Allocator::span_of`](crate::Allocator::span_of); lives as long
/// as the allocator.
///
/// The struct and its bitmaps each start on a cache line and share none with other
/// allocations: marking threads set bits in one span while a mutator allocating black sets
/// bits in another (and the owners of others write their counters), and on shared lines those
/// writes would evict each other's lines across cores.
#[repr(align(64))]
pub struct Span {
    class: u8,
    nelems: usize,
    elem_size: usize,
    div_magic: u32,
    nwords: usize,
    bits: Box<[BitLine]>,
    base: AtomicUsize,
    npages: AtomicUsize,
    pub(crate) state: AtomicU8,
    pub(crate) sweepgen: AtomicU32,
    pub(crate) freeindex: AtomicUsize,
    pub(crate) alloc_count: AtomicUsize,
    /// Whether an object allocated in the span since it was initialised may need the free hook
    /// (its owner said so: it has drop glue); sweeping skips the hook for spans without. Set by
    /// the caching thread (Relaxed), read by the sweeper after the span handoff (its list lock
    /// and sweepgen Release/Acquire), reset by `init`.
    pub(crate) needs_hook: AtomicBool,
    /// Whether the span may hold an object with GC pointers to trace (a thread cache that
    /// allocated one said so); marking reads the headers only of objects in spans with it set.
    /// Set by the caching thread (Relaxed) before the object's header is written, so a marker
    /// that has come to know the object (which it can only through its publication, after its
    /// header) reads it set; reset only by `init`, which no span with a live object sees.
    pub(crate) needs_scan: AtomicBool,
    /// Whether a sweep found the span empty and kept it for its class, and no thread cache has
    /// taken it since: a sweep that finds it so frees it to the page heap. Written by the
    /// span's owner (the sweeper, the caching refill), read by its next owner after the handoff
    /// (list lock and sweepgen); reset by `init`.
    pub(crate) idle: AtomicBool,
}

impl std::fmt::Debug for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Span")
            .field("class", &self.class)
            .field("base", &format_args!("{:#x}", self.base()))
            .field("npages", &self.npages())
            .field("nelems", &self.nelems)
            .field("state", &self.state.load(Ordering::Relaxed))
            .field("sweepgen", &self.sweepgen())
            .field("freeindex", &self.freeindex.load(Ordering::Relaxed))
            .field("alloc_count", &self.alloc_count.load(Ordering::Relaxed))
            .finish()
    }
}

/// Counts from one sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SweepCounts {
    /// Slots freed.
    pub(crate) freed: usize,
    /// Slots that survived (now allocated).
    pub(crate) live: usize,
}

impl Span {
    /// A free span struct for `class` (0 = large).
    pub(crate) fn new(class: u8) -> Box<Span> {
        let (nelems, elem_size) = if class == 0 {
            (1, 0)
        } else {
            (class_objects(class), class_size(class))
        };
        let nwords = nelems.div_ceil(64);
        Box::new(Span {
            class,
            nelems,
            elem_size,
            div_magic: class_div_magic(class),
            nwords,
            bits: (0..(3 * nwords).div_ceil(8))
                .map(|_| BitLine(core::array::from_fn(|_| AtomicU64::new(0))))
                .collect(),
            base: AtomicUsize::new(0),
            npages: AtomicUsize::new(0),
            state: AtomicU8::new(SPAN_FREE),
            sweepgen: AtomicU32::new(0),
            freeindex: AtomicUsize::new(0),
            alloc_count: AtomicUsize::new(0),
            needs_hook: AtomicBool::new(false),
            needs_scan: AtomicBool::new(false),
            idle: AtomicBool::new(false),
        })
    }

    /// Prepares a free span struct for pages at `base`: clears every bitmap and counter. The
    /// caller owns the struct (it is FREE and out of every list) and publishes it afterwards
    /// by storing `sweepgen` and then `state` with Release.
    pub(crate) fn init(&self, base: usize, npages: usize) {
        debug_assert_eq!(self.state.load(Ordering::Relaxed), SPAN_FREE);
        debug_assert!(self.class == 0 || npages == class_pages(self.class));
        self.base.store(base, Ordering::Relaxed);
        self.npages.store(npages, Ordering::Relaxed);
        for w in self.bits.iter().flat_map(|line| &line.0) {
            w.store(0, Ordering::Relaxed);
        }
        self.freeindex.store(0, Ordering::Relaxed);
        self.alloc_count.store(0, Ordering::Relaxed);
        // Large-object spans always run the hook (one object, allocated with it in mind).
        self.needs_hook.store(self.class == 0, Ordering::Relaxed);
        self.needs_scan.store(self.class == 0, Ordering::Relaxed);
        self.idle.store(false, Ordering::Relaxed);
    }

    /// Size class (0 = a large object).
    #[inline]
    pub fn class(&self) -> u8 {
        self.class
    }

    /// Address of the first page.
    #[inline]
    pub fn base(&self) -> usize {
        self.base.load(Ordering::Relaxed)
    }

    /// Number of pages.
    #[inline]
    pub fn npages(&self) -> usize {
        self.npages.load(Ordering::Relaxed)
    }

    /// Slot size: the class size, or the whole span for a large object.
    #[inline]
    pub fn elem_size(&self) -> usize {
        if self.class == 0 {
            self.npages() * PAGE_SIZE
        } else {
            self.elem_size
        }
    }

    /// Number of slots (1 for a large object).
    #[inline]
    pub fn nelems(&self) -> usize {
        self.nelems
    }

    /// Words per bitmap.
    #[inline]
    pub(crate) fn nwords(&self) -> usize {
        self.nwords
    }

    /// The span's sweep generation (see the module docs).
    #[inline]
    pub fn sweepgen(&self) -> u32 {
        self.sweepgen.load(Ordering::Relaxed)
    }

    /// Whether the span's pages are allocated.
    #[inline]
    pub fn is_in_use(&self) -> bool {
        self.state.load(Ordering::Relaxed) == SPAN_IN_USE
    }

    /// Allocated slots as of the last time the span's owner wrote it back (exact for spans not
    /// held by a thread cache).
    #[inline]
    pub fn alloc_count(&self) -> usize {
        self.alloc_count.load(Ordering::Relaxed)
    }

    /// Word `w` of the allocation bitmap.
    #[inline]
    pub(crate) fn alloc_word(&self, w: usize) -> &AtomicU64 {
        self.bit_word(w)
    }

    /// Word `w` of mark bitmap `parity`.
    #[inline]
    pub(crate) fn mark_word(&self, parity: MarkParity, w: usize) -> &AtomicU64 {
        self.bit_word((1 + (parity as usize & 1)) * self.nwords + w)
    }

    /// Word `i` of `[alloc | mark[0] | mark[1]]`.
    #[inline(always)]
    fn bit_word(&self, i: usize) -> &AtomicU64 {
        &self.bits[i / 8].0[i % 8]
    }

    /// The bits of word `w` that stand for real slots.
    #[inline]
    pub(crate) fn valid_mask(&self, w: usize) -> u64 {
        let rem = self.nelems - w * 64;
        if rem >= 64 { !0 } else { (1u64 << rem) - 1 }
    }

    /// Slot index of the object containing `addr`, if `addr` is inside one of the span's
    /// slots (not in the tail past the last slot). `addr` must be ≥ `base`.
    #[inline]
    pub(crate) fn slot_index(&self, base: usize, addr: usize) -> Option<usize> {
        let off = addr - base;
        if self.class == 0 {
            return (off < self.npages() * PAGE_SIZE).then_some(0);
        }
        let idx = object_index(off, self.div_magic);
        (idx < self.nelems).then_some(idx)
    }

    /// The slot holding `addr`, which the caller knows lies in this in-use span.
    #[inline(always)]
    pub(crate) fn slot_index_live(&self, addr: usize) -> usize {
        if self.class == 0 {
            0
        } else {
            object_index(addr - self.base(), self.div_magic)
        }
    }

    /// Starts loading the struct's fields that marking reads (class, base, divisor, bitmap
    /// pointer) into the cache.
    #[inline(always)]
    pub(crate) fn prefetch_meta(&self) {
        let p = core::ptr::from_ref(self).cast::<u8>();
        crate::sync::prefetch(p);
        crate::sync::prefetch(p.wrapping_add(64));
    }

    /// Sets slot `idx`'s bit in `mark[parity]`; true if this call set it.
    #[inline]
    pub(crate) fn set_mark(&self, parity: MarkParity, idx: usize) -> bool {
        let bit = 1u64 << (idx % 64);
        let word = self.mark_word(parity, idx / 64);
        // Relaxed: the bit is the whole message. The sweeper reads it only after the collector
        // has finished marking and advanced `sweepgen` (Release), which the sweeper loads with
        // Acquire; that chain, not this RMW, orders the mark before the sweep. Test first: most
        // shades in a barrier or of shared objects find the bit set, and skip the RMW (a stale
        // 0 only costs the RMW; a 1 is never stale within a cycle).
        if word.load(Ordering::Relaxed) & bit != 0 {
            return false;
        }
        word.fetch_or(bit, Ordering::Relaxed) & bit == 0
    }

    /// Whether slot `idx` is set in `mark[parity]`.
    #[inline]
    pub(crate) fn is_marked(&self, parity: MarkParity, idx: usize) -> bool {
        self.mark_word(parity, idx / 64).load(Ordering::Relaxed) >> (idx % 64) & 1 != 0
    }

    /// Whether slot `idx` is allocated per the span's own fields (alloc bit or below
    /// `freeindex`). Slots handed out by a thread cache that still holds the span are not
    /// visible here until the cache releases it.
    #[inline]
    pub(crate) fn slot_allocated(&self, idx: usize) -> bool {
        idx < self.freeindex.load(Ordering::Relaxed)
            || self.alloc_word(idx / 64).load(Ordering::Relaxed) >> (idx % 64) & 1 != 0
    }

    /// Mask of the slots of word `w` that lie below `freeindex`.
    #[inline]
    fn below_mask(w: usize, freeindex: usize) -> u64 {
        let n = freeindex.saturating_sub(w * 64);
        if n >= 64 { !0 } else { (1u64 << n) - 1 }
    }

    /// Allocated slots per the span's fields (`alloc | below freeindex`), for each word.
    pub(crate) fn allocated_word(&self, w: usize) -> u64 {
        let fi = self.freeindex.load(Ordering::Relaxed);
        (self.alloc_word(w).load(Ordering::Relaxed) | Self::below_mask(w, fi)) & self.valid_mask(w)
    }

    /// Sweeps the bitmaps for a cycle that marked into `mark[parity]` (steps 1–4 of the module
    /// docs), calling `dead(slot)`, if given, for every freed slot before the slot can be
    /// reused.
    ///
    /// The caller must own the span for sweeping: it CASed `sweepgen` from sg−2 to sg−1, or
    /// is releasing a stale cached span (sg+1 → sg−1). Nobody else writes the alloc bits,
    /// `freeindex` or `alloc_count` meanwhile, and nobody marks into `mark[1 − parity]` (the
    /// next cycle has not started).
    pub(crate) fn sweep_bits(
        &self,
        parity: MarkParity,
        mut dead: Option<impl FnMut(usize)>,
    ) -> SweepCounts {
        let mut counts = SweepCounts { freed: 0, live: 0 };
        for w in 0..self.nwords {
            let allocated = self.allocated_word(w);
            // Relaxed: see `set_mark`; the Acquire load of the allocator's sweepgen that
            // preceded this sweep makes every mark of the finished cycle visible.
            let marked = self.mark_word(parity, w).load(Ordering::Relaxed);
            debug_assert!(
                marked & !allocated == 0,
                "zombie: span {:?} word {w} has marked slots that are free ({:#x})",
                self,
                marked & !allocated
            );
            let live = marked & allocated;
            let freed = allocated & !live;
            counts.freed += freed.count_ones() as usize;
            counts.live += live.count_ones() as usize;
            if let Some(dead) = &mut dead {
                let mut freed = freed;
                while freed != 0 {
                    dead(w * 64 + freed.trailing_zeros() as usize);
                    freed &= freed - 1;
                }
            }
            self.alloc_word(w).store(live, Ordering::Relaxed);
            self.mark_word(parity ^ 1, w).store(0, Ordering::Relaxed);
        }
        self.freeindex.store(0, Ordering::Relaxed);
        self.alloc_count.store(counts.live, Ordering::Relaxed);
        counts
    }

    /// Recounts the allocated slots from the bitmaps (for validation).
    pub(crate) fn count_allocated(&self) -> usize {
        (0..self.nwords)
            .map(|w| self.allocated_word(w).count_ones() as usize)
            .sum()
    }

    /// Panics with a description of the first broken invariant of an in-use span: geometry
    /// matches the class, page-aligned base, `freeindex ≤ nelems`, no bits past `nelems` in any
    /// bitmap, and — unless a thread cache holds the span or a sweep is running on it (odd
    /// sweepgen) — `alloc_count` equals the allocated slots. Free spans are not checked. Call
    /// it while nobody allocates from or sweeps the span.
    pub fn check_invariants(&self) {
        if !self.is_in_use() {
            return;
        }
        let base = self.base();
        let npages = self.npages();
        assert!(
            base.is_multiple_of(PAGE_SIZE),
            "span {self:?}: base not page-aligned"
        );
        if self.class == 0 {
            assert!(
                npages > 0 && self.nelems == 1,
                "large span {self:?}: bad geometry"
            );
        } else {
            assert_eq!(
                npages,
                class_pages(self.class),
                "span {self:?}: wrong page count"
            );
            assert_eq!(
                self.nelems,
                class_objects(self.class),
                "span {self:?}: wrong nelems"
            );
            assert!(
                self.nelems * self.elem_size <= npages * PAGE_SIZE,
                "span {self:?}: overfull"
            );
        }
        let fi = self.freeindex.load(Ordering::Relaxed);
        assert!(fi <= self.nelems, "span {self:?}: freeindex past nelems");
        for w in 0..self.nwords {
            let invalid = !self.valid_mask(w);
            for (name, word) in [
                ("alloc", self.alloc_word(w)),
                ("mark[0]", self.mark_word(0, w)),
                ("mark[1]", self.mark_word(1, w)),
            ] {
                assert!(
                    word.load(Ordering::Relaxed) & invalid == 0,
                    "span {self:?}: {name} bits past nelems in word {w}"
                );
            }
        }
        if self.sweepgen().is_multiple_of(2) {
            let counted = self.count_allocated();
            assert_eq!(
                self.alloc_count(),
                counted,
                "span {self:?}: alloc_count disagrees with the bitmap"
            );
            if self.class == 0 {
                assert_eq!(counted, 1, "large span {self:?}: object not allocated");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_keeps_exactly_the_marked_slots() {
        let s = Span::new(1); // 8 B: 1024 slots, 16 words
        s.init(0x10000, 1);
        s.state.store(SPAN_IN_USE, Ordering::Relaxed);
        // Slots 0..100 handed out by a cache (below freeindex), plus alloc bits at 500, 1023.
        s.freeindex.store(100, Ordering::Relaxed);
        s.alloc_word(500 / 64)
            .fetch_or(1 << (500 % 64), Ordering::Relaxed);
        s.alloc_word(15).fetch_or(1 << 63, Ordering::Relaxed);
        s.alloc_count.store(102, Ordering::Relaxed);
        s.check_invariants();
        for i in [3, 64, 99, 1023] {
            assert!(s.set_mark(0, i));
            assert!(!s.set_mark(0, i), "second mark reports already set");
        }
        // The next cycle's bitmap holds junk from two cycles ago: the sweep must clear it.
        s.mark_word(1, 2).store(0xff, Ordering::Relaxed);
        let mut dead = Vec::new();
        let c = s.sweep_bits(0, Some(|i| dead.push(i)));
        assert_eq!(c, SweepCounts { freed: 98, live: 4 });
        let mut expect: Vec<usize> = (0..100).filter(|i| ![3, 64, 99].contains(i)).collect();
        expect.push(500);
        assert_eq!(dead, expect);
        for i in 0..1024 {
            assert_eq!(
                s.slot_allocated(i),
                [3, 64, 99, 1023].contains(&i),
                "slot {i}"
            );
            assert!(!s.is_marked(1, i));
        }
        assert!(s.is_marked(0, 3), "mark[p] is left for late marks");
        assert_eq!(s.alloc_count(), 4);
        s.check_invariants();
    }

    #[test]
    #[should_panic(expected = "zombie")]
    #[cfg(debug_assertions)]
    fn zombie_is_caught() {
        let s = Span::new(4);
        s.init(0x10000, 1);
        s.set_mark(1, 7);
        s.sweep_bits(1, None::<fn(usize)>);
    }

    #[test]
    fn slot_index_and_masks() {
        let s = Span::new(3); // 24 B: 341 slots, tail 8 B
        s.init(0x20000, 1);
        assert_eq!(s.nwords(), 6);
        assert_eq!(s.valid_mask(5), (1 << (341 - 320)) - 1);
        assert_eq!(s.slot_index(0x20000, 0x20000 + 24 * 340 + 23), Some(340));
        assert_eq!(
            s.slot_index(0x20000, 0x20000 + 24 * 341),
            None,
            "tail is no slot"
        );
        let l = Span::new(0);
        l.init(0x40000, 5);
        assert_eq!(l.elem_size(), 5 * PAGE_SIZE);
        assert_eq!(l.slot_index(0x40000, 0x40000 + 5 * PAGE_SIZE - 1), Some(0));
        assert_eq!(l.slot_index(0x40000, 0x40000 + 5 * PAGE_SIZE), None);
    }
}
