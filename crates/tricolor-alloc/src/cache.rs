//! Thread caches: lock-free small-object allocation, one current span per size class.
//!
//! # Design
//!
//! A [`ThreadCache`] belongs to one mutator thread (`Send`, not `Sync`). Per class it keeps a
//! `Slot`, a private copy of where it is in its current span:
//!
//! * `span` — the span it owns while cached (sweepgen sg+3, or sg+1 once a sweep has started);
//! * `word` — which 64-slot word of the span's alloc bitmap it is working through;
//! * `free` — the free slots of that word not yet handed out (bit i = slot `word·64 + i`),
//!   computed from the inverted alloc bits, masked to real slots and to slots at or above the
//!   span's `freeindex`;
//! * `word_base`, `elem_size` — the address of slot `word·64`, and the slot size.
//!
//! Fast path ([`ThreadCache::alloc_fast`], inlined; no lock, no atomic read-modify-write):
//!
//! 1. `free == 0` → step 3;
//! 2. `bit = ctz(free)`; `free &= free − 1`; the object is `word_base + bit · elem_size`;
//!    return;
//! 3. (`next_word`, out of line, every ≤ 64 allocations) advance `word` to the next word
//!    of the alloc bitmap with a free slot, still without a lock, and allocate from it; if the
//!    span has no word left it is exhausted: return `None`.
//!
//! **Allocating black** (while a cycle marks, so that new objects survive it) works a word at
//! a time: whenever the cache takes up a word (step 3, a refill, or the switch to black), one
//! `fetch_or` sets the mark bits of all of its `free` slots at once, so the fast path marks
//! nothing itself. Invariant: while allocating black into `mark[p]`, every slot in a cached
//! word's `free` has its bit set in `mark[p]` ("pre-marked"). Pre-marked slots the cache does
//! not hand out are cleared again (one `fetch_and`) when it gives the word up without using
//! them: when it releases the span and when allocating black stops. A pre-marked free slot is
//! harmless meanwhile: no marker can reach it (it is no object), and no sweep reads a span a
//! cache holds. Markers set bits of other slots of the same word concurrently; both sides use
//! atomic read-modify-writes on disjoint bits.
//!
//! Slow path ([`ThreadCache::alloc_slow`], `#[cold]`): return the exhausted span to its
//! central list (writing back `freeindex` — every slot below it is now allocated — and the
//! allocation count), take another span (`Allocator::cache_span`: swept partial, else sweep
//! unswept ones, else new pages), then allocate from it.
//!
//! Accounting as in Go: taking a span adds all its free slots to `heap_live`; returning it
//! subtracts the slots not handed out and credits the class's allocation counter with the
//! ones that were.

use std::ptr::{self, NonNull};
use std::sync::Arc;

use crate::Allocator;
use crate::central::SpanPtr;
use crate::error::AllocError;
use crate::size_class::{NUM_CLASSES, class_for, size_to_class};
use crate::span::{MarkParity, Span};
use crate::sync::{AtomicBool, AtomicU64, Ordering};

/// Where a cache is in its current span of one class (see the module docs).
#[derive(Clone, Copy)]
struct Slot {
    free: u64,
    word_base: *mut u8,
    elem_size: usize,
    word: u32,
    nwords: u32,
    span: Option<SpanPtr>,
    /// The span's `needs_hook` is already set (saves repeated stores).
    hooked: bool,
    /// The span's `needs_scan` is already set (saves repeated stores).
    scanned: bool,
}

impl Slot {
    const EMPTY: Slot = Slot {
        free: 0,
        word_base: ptr::null_mut(),
        elem_size: 0,
        word: 0,
        nwords: 0,
        span: None,
        hooked: false,
        scanned: false,
    };
}

/// A per-thread allocation cache over an [`Allocator`]. See the module docs.
///
/// Dropping it releases its spans ([`release_all`](Self::release_all)).
pub struct ThreadCache {
    slots: [Slot; NUM_CLASSES],
    /// Bytes of free slots this cache took by refills (and large allocations) since
    /// [`ThreadCache::take_refilled_bytes`] last read it: what it added to `heap_live`.
    refilled: usize,
    black: Option<MarkParity>,
    /// Whether the owner asked for a pause at the next word boundary
    /// ([`ThreadCache::pause_at_next_word`]).
    pause_at_word: bool,
    /// Free slots of each cached span when it was cached (for the allocation count).
    cached_free: [usize; NUM_CLASSES],
    alloc: Arc<Allocator>,
}

// SAFETY: the raw pointers in `slots` are addresses inside the allocator's reservation and
// pointers to span structs it owns; the `Arc` keeps both alive wherever the cache goes. The
// cache's claim on its spans is ownership, not tied to a thread: any thread holding the cache
// (by value or `&mut`) may allocate from them or release them.
unsafe impl Send for ThreadCache {}

impl std::fmt::Debug for ThreadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cached = self.slots.iter().filter(|s| s.span.is_some()).count();
        f.debug_struct("ThreadCache")
            .field("cached_spans", &cached)
            .field("allocate_black", &self.black)
            .finish_non_exhaustive()
    }
}

impl ThreadCache {
    /// An empty cache allocating from `alloc`.
    pub fn new(alloc: Arc<Allocator>) -> ThreadCache {
        ThreadCache {
            slots: [Slot::EMPTY; NUM_CLASSES],
            refilled: 0,
            black: None,
            pause_at_word: false,
            cached_free: [0; NUM_CLASSES],
            alloc,
        }
    }

    /// The allocator this cache allocates from.
    pub fn allocator(&self) -> &Arc<Allocator> {
        &self.alloc
    }

    /// While `Some(p)`, every allocation (fast, slow and large) also sets the new object's bit
    /// in `mark[p]` of its span, so objects allocated during marking survive the cycle. (Small
    /// objects' bits are set a word of slots ahead: see the module docs.)
    pub fn set_allocate_black(&mut self, parity: Option<MarkParity>) {
        let parity = parity.map(|p| p & 1);
        if parity == self.black {
            return;
        }
        for c in 1..NUM_CLASSES {
            if let Some(old) = self.black {
                self.unmark_unused(c, old);
            }
            if let Some(new) = parity {
                self.premark(c, new);
            }
        }
        self.black = parity;
    }

    /// Sets the mark bits of the free slots of class `c`'s current word in `mark[parity]`.
    #[inline]
    fn premark(&self, c: usize, parity: MarkParity) {
        if let Some((word, free)) = self.free_slots_marks(c, parity) {
            // Relaxed: see `Span::set_mark` (the cycle's marks are published to the sweep by
            // the sweepgen Release/Acquire, and the span itself by its handoff).
            word.fetch_or(free, Ordering::Relaxed);
        }
    }

    /// Clears the mark bits [`premark`](Self::premark) set for the slots of class `c`'s current
    /// word that were not handed out.
    #[inline]
    fn unmark_unused(&self, c: usize, parity: MarkParity) {
        if let Some((word, free)) = self.free_slots_marks(c, parity) {
            // Relaxed: as in `premark`; these bits belong to no object, so no marker reads or
            // sets them.
            word.fetch_and(!free, Ordering::Relaxed);
        }
    }

    /// The word of `mark[parity]` covering class `c`'s current word, and the free slots there
    /// not handed out yet (`None` if there are none).
    #[inline]
    fn free_slots_marks(&self, c: usize, parity: MarkParity) -> Option<(&AtomicU64, u64)> {
        let slot = &self.slots[c];
        let span = slot.span.filter(|_| slot.free != 0)?;
        Some((
            self.alloc.span(span).mark_word(parity, slot.word as usize),
            slot.free,
        ))
    }

    /// Asks the fast path to fail once, at the next word of slots it moves to (every 64
    /// slots of a class at most), so that the owner's slow path runs then although the span
    /// has free slots: a collector uses it to pay mark-assist debt in more, shorter slices
    /// than one per span refill. The slow path ([`ThreadCache::alloc_slow`]) then allocates
    /// from the next word as usual. `false` withdraws the request.
    pub fn pause_at_next_word(&mut self, pause: bool) {
        self.pause_at_word = pause;
    }

    /// Whether allocation marks new objects, and into which bitmap.
    pub fn allocate_black(&self) -> Option<MarkParity> {
        self.black
    }

    /// Allocates `size` bytes aligned to `align` (a power of two). Small requests go through
    /// the size class [`class_for`]`(size, align)`, large ones (or alignments a class cannot
    /// give) to the page heap. The memory is not zeroed.
    #[inline]
    pub fn alloc(&mut self, size: usize, align: usize) -> Result<NonNull<u8>, AllocError> {
        let class = if align <= 8 {
            if !align.is_power_of_two() {
                return Err(AllocError::InvalidAlignment { align });
            }
            size_to_class(size)
        } else {
            class_for(size, align)
        };
        if class == 0 {
            return self.alloc_large(size, align);
        }
        let p = match self.alloc_fast(class) {
            Some(p) => p,
            None => self.alloc_slow(class)?,
        };
        // The general entry point does not know whether the object has drop glue or pointers:
        // assume it has both (the class-based entry points leave it to the caller).
        self.note_needs_free_hook(class);
        self.note_needs_scan(class);
        Ok(p)
    }

    /// The fast path: an object of `class` from the current span, or `None` when the span is
    /// exhausted or there is none (or `class` is not a small class), or once at a word
    /// boundary after [`ThreadCache::pause_at_next_word`]. No lock, no atomic
    /// read-modify-write (except the mark while allocating black).
    #[inline]
    pub fn alloc_fast(&mut self, class: u8) -> Option<NonNull<u8>> {
        let c = class as usize;
        if c >= NUM_CLASSES {
            return None;
        }
        if self.slots[c].free == 0 {
            return self.next_word(c);
        }
        Some(self.take(c))
    }

    /// Hands out the lowest free slot of the current word; `slots[c].free != 0`.
    #[inline(always)]
    fn take(&mut self, c: usize) -> NonNull<u8> {
        let slot = &mut self.slots[c];
        let free = slot.free;
        debug_assert_ne!(free, 0);
        let bit = free.trailing_zeros() as usize;
        slot.free = free & (free - 1);
        // SAFETY: `free` only has bits of real slots of the span, so slot `word·64 + bit` lies
        // inside the span's pages, which are inside the reservation `word_base` points into.
        let p = unsafe { slot.word_base.add(bit * slot.elem_size) };
        // (Allocating black, the slot is pre-marked: see the module docs.)
        // SAFETY: derived from the non-null reservation base by an in-bounds offset.
        unsafe { NonNull::new_unchecked(p) }
    }

    /// Moves to the next word of the current span with a free slot and allocates from it
    /// (step 3 of the fast path); `None` if the span is exhausted or there is none.
    #[inline(never)]
    fn next_word(&mut self, c: usize) -> Option<NonNull<u8>> {
        if core::mem::take(&mut self.pause_at_word) {
            return None;
        }
        let slot = &mut self.slots[c];
        let span = self.alloc.span(slot.span?);
        loop {
            let next = slot.word + 1;
            if next >= slot.nwords {
                slot.word = slot.nwords;
                return None;
            }
            slot.word = next;
            // SAFETY: word `next < nwords` has at least one real slot, so its first slot lies
            // inside the span.
            slot.word_base = unsafe { slot.word_base.add(64 * slot.elem_size) };
            let w = next as usize;
            // Relaxed: the span is ours; its alloc bits were written by whoever owned it
            // before, and the list mutex (or the sweepgen Release/Acquire) that passed the
            // span to us ordered those writes before this read.
            let free = !span.alloc_word(w).load(Ordering::Relaxed) & span.valid_mask(w);
            if free != 0 {
                slot.free = free;
                if let Some(parity) = self.black {
                    self.premark(c, parity);
                }
                return Some(self.take(c));
            }
        }
    }

    /// The slow path: refills the class's span and allocates from it. Call it when
    /// [`alloc_fast`](Self::alloc_fast) returned `None`. May sweep spans (running the free
    /// hook on this thread) and grow the heap.
    #[cold]
    #[inline(never)]
    pub fn alloc_slow(&mut self, class: u8) -> Result<NonNull<u8>, AllocError> {
        let c = class as usize;
        if c == 0 || c >= NUM_CLASSES {
            return Err(AllocError::InvalidClass { class });
        }
        if let Some(p) = self.alloc_fast(class) {
            return Ok(p);
        }
        self.refill(c)?;
        Ok(self
            .alloc_fast(class)
            .expect("a freshly cached span has a free slot"))
    }

    /// Allocates a large object: a span of its own, rounded up to whole pages, the object at
    /// its (page-aligned) base. Any power-of-two `align` up to the arena size works (page
    /// indices count from the reservation base, which is arena-aligned).
    #[cold]
    #[inline(never)]
    pub fn alloc_large(&mut self, size: usize, align: usize) -> Result<NonNull<u8>, AllocError> {
        let p = self.alloc.alloc_large_span(size, align, self.black)?;
        self.refilled += size.div_ceil(crate::size_class::PAGE_SIZE) * crate::size_class::PAGE_SIZE;
        Ok(p)
    }

    /// The bytes this cache has taken from the heap (free slots of the spans it cached, and
    /// large objects) since the last call: what its allocations added to the heap's size.
    pub fn take_refilled_bytes(&mut self) -> usize {
        core::mem::take(&mut self.refilled)
    }

    /// Notes that the object just allocated from `class` needs the free hook when it dies (it
    /// has drop glue): sweeping runs the hook only for spans that ever held such an object.
    #[inline]
    pub fn note_needs_free_hook(&mut self, class: u8) {
        // Relaxed: published to the sweeper by the span handoff (see `Span::needs_hook`).
        self.note_span_flag(class, |slot| &mut slot.hooked, |span| &span.needs_hook);
    }

    /// Notes that the object just allocated from `class` may hold GC pointers (its type has a
    /// trace function): marking reads the header of a newly marked object (to find its trace
    /// function) only in spans that ever held such an object, and treats the others' as leaves
    /// without touching them. Call it after the allocation and before the object's header is
    /// written (so that whoever learns of the object learns of the flag too).
    #[inline]
    pub fn note_needs_scan(&mut self, class: u8) {
        // Relaxed: ordered before the object's header write by program order; a marker reads
        // the flag only for objects whose publication it has synchronised with (see
        // `Span::needs_scan`).
        self.note_span_flag(class, |slot| &mut slot.scanned, |span| &span.needs_scan);
    }

    /// Sets the flag `flag` selects in the current span of `class` (a Relaxed store, once per
    /// cached span: `noted` selects the slot's record of having done so).
    #[inline(always)]
    fn note_span_flag(
        &mut self,
        class: u8,
        noted: impl FnOnce(&mut Slot) -> &mut bool,
        flag: impl FnOnce(&Span) -> &AtomicBool,
    ) {
        let slot = &mut self.slots[class as usize];
        let Some(span) = slot.span else { return };
        let done = noted(slot);
        if !*done {
            flag(self.alloc.span(span)).store(true, Ordering::Relaxed);
            *done = true;
        }
    }

    /// Returns the class's current span and caches a new one with a free slot.
    #[cold]
    #[inline(never)]
    fn refill(&mut self, c: usize) -> Result<(), AllocError> {
        self.uncache(c);
        let (span, sg) = self.alloc.cache_span(c as u8)?;
        let s = self.alloc.span(span);
        // Release: pairs with the Acquire loads of the span's sweepgen by its next owner.
        s.sweepgen.store(sg.wrapping_add(3), Ordering::Release);
        let nelems = s.nelems();
        let elem = s.elem_size();
        let free_slots = nelems - s.alloc_count();
        debug_assert!(free_slots > 0);
        self.cached_free[c] = free_slots;
        self.refilled += free_slots * elem;
        self.alloc
            .stats
            .heap_live
            .fetch_add(free_slots * elem, Ordering::Relaxed);
        let fi = s.freeindex.load(Ordering::Relaxed);
        let word = fi / 64;
        debug_assert!(word < s.nwords(), "cached a full span");
        let free =
            !s.alloc_word(word).load(Ordering::Relaxed) & s.valid_mask(word) & (!0u64 << (fi % 64));
        self.slots[c] = Slot {
            free,
            word_base: self.alloc.arenas.ptr_at(s.base() + word * 64 * elem),
            elem_size: elem,
            word: word as u32,
            nwords: s.nwords() as u32,
            span: Some(span),
            hooked: false,
            scanned: false,
        };
        if let Some(parity) = self.black {
            self.premark(c, parity);
        }
        Ok(())
    }

    /// Returns the class's span, if any, to the central lists.
    fn uncache(&mut self, c: usize) {
        if let Some(parity) = self.black {
            // Before the span can reach a sweeper or another cache.
            self.unmark_unused(c, parity);
        }
        let slot = std::mem::replace(&mut self.slots[c], Slot::EMPTY);
        let Some(span) = slot.span else {
            return;
        };
        let s = self.alloc.span(span);
        let nelems = s.nelems();
        let (freeindex, unused) = if slot.word >= slot.nwords {
            (nelems, 0)
        } else {
            let w = slot.word as usize;
            let pos = if slot.free == 0 {
                64
            } else {
                slot.free.trailing_zeros() as usize
            };
            let mut unused = slot.free.count_ones() as usize;
            for w in w + 1..s.nwords() {
                unused += (!s.alloc_word(w).load(Ordering::Relaxed) & s.valid_mask(w)).count_ones()
                    as usize;
            }
            ((w * 64 + pos).min(nelems), unused)
        };
        s.freeindex.store(freeindex, Ordering::Relaxed);
        s.alloc_count.store(nelems - unused, Ordering::Relaxed);
        let stats = &self.alloc.stats;
        stats.classes[c]
            .allocs
            .fetch_add((self.cached_free[c] - unused) as u64, Ordering::Relaxed);
        stats
            .heap_live
            .fetch_sub(unused * s.elem_size(), Ordering::Relaxed);
        self.cached_free[c] = 0;
        self.alloc.uncache_span(span);
    }

    /// Returns every cached span to the central lists (spans cached before the current sweep
    /// started are swept on the way, running the free hook on this thread). Afterwards the
    /// cache holds nothing. The collector calls it for every cache at the end of each cycle,
    /// possibly from another thread while the owner is parked.
    pub fn release_all(&mut self) {
        for c in 1..NUM_CLASSES {
            self.uncache(c);
        }
    }
}

impl Drop for ThreadCache {
    fn drop(&mut self) {
        self.release_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_cache_is_send() {
        fn check<T: Send>() {}
        check::<ThreadCache>();
    }

    #[test]
    fn a_pause_fails_the_fast_path_once_at_the_next_word_and_not_before() {
        let alloc = Arc::new(
            Allocator::new(crate::AllocConfig {
                max_heap_bytes: 1 << 30,
                ..crate::AllocConfig::default()
            })
            .unwrap(),
        );
        let mut cache = ThreadCache::new(alloc);
        let class = crate::size_class::size_to_class(16);
        // The first allocation refills; the span (512 slots of 16 B) has eight words.
        let first = cache.alloc_slow(class).unwrap();
        assert!(cache.take_refilled_bytes() > 0);
        cache.pause_at_next_word(true);
        // The rest of the first word: the pause waits for the boundary.
        let mut last = first;
        for _ in 1..64 {
            last = cache.alloc_fast(class).expect("slots left in the word");
        }
        // The boundary: the fast path fails once although the span has free slots ...
        assert!(cache.alloc_fast(class).is_none());
        // ... and the slow path allocates the next slot of the same span, without a refill.
        let next = cache.alloc_slow(class).unwrap();
        assert_eq!(next.as_ptr() as usize, last.as_ptr() as usize + 16);
        assert_eq!(cache.take_refilled_bytes(), 0);
        // Once only.
        for _ in 1..64 {
            cache.alloc_fast(class).expect("slots left in the word");
        }
        assert!(cache.alloc_fast(class).is_some(), "no pause was asked for");
        // Withdrawn before the boundary: no pause.
        cache.pause_at_next_word(true);
        cache.pause_at_next_word(false);
        for _ in 1..64 {
            cache.alloc_fast(class).expect("slots left in the word");
        }
        assert!(cache.alloc_fast(class).is_some(), "the pause was withdrawn");
    }
}
