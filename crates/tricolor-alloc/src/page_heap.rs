//! The page heap: free runs of 8 KiB pages inside the reservation, and which of them are
//! backed by memory.
//!
//! # Design
//!
//! Pages are numbered from the start of the reservation (page `p` is at
//! `base + p · PAGE_SIZE`); pages `[0, active_pages)` belong to activated arenas, the rest of
//! the reservation is untouched. The heap is one struct behind one mutex
//! (`Allocator::heap`); nothing here is shared without that lock.
//!
//! * `by_start: BTreeMap<start, len>` — the free runs, address-ordered, never adjacent (a run
//!   freed next to another is merged with it at once);
//! * `by_size: BTreeSet<(len, start)>` — the same runs ordered by length then address;
//! * `released: Vec<u64>` — one bit per active page, set when the page is free *and* not
//!   backed by memory (returned to the OS by the scavenger, or never touched since its arena
//!   was activated). Pages in use always have a clear bit;
//! * counters: free pages, released pages, pages lent to the scavenger, and `scav_hint`, a page
//!   index above which every free page is released.
//!
//! Allocating `n` pages (`alloc`):
//!
//! 1. Best fit: the first entry of `by_size` at or after `(n, 0)` is the shortest run that
//!    fits, lowest address first among equals — `O(log r)` for `r` free runs. With an
//!    alignment above one page the scan goes on to longer runs until one holds an aligned
//!    start (rare: only large objects with huge alignments ask for it).
//! 2. Split the run, keep the remainders free, clear the released bits of the pages taken
//!    (they come back zeroed by the kernel, which nothing here relies on).
//! 3. If nothing fits, the allocator calls `grow`, which activates whole arenas at the end of
//!    the active range (coalescing with a free run that ends there) and tries again; when the
//!    reservation is used up the allocation fails with `OutOfMemory`.
//!
//! Freeing (`free`, only ever done by sweeping or teardown) merges the run with its free
//! neighbours in `O(log r)`.
//!
//! Scavenging (`take_for_scavenge` / `return_scavenged`) lends the highest free, backed pages
//! to the scavenger, which releases them with the heap lock dropped, then puts them back as
//! free and released.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

/// See the module docs. Protected by `Allocator::heap`.
#[derive(Debug)]
pub(crate) struct PageHeap {
    by_start: BTreeMap<usize, usize>,
    by_size: BTreeSet<(usize, usize)>,
    released: Vec<u64>,
    active_pages: usize,
    max_pages: usize,
    pages_per_arena: usize,
    free_pages: usize,
    released_pages: usize,
    lent_pages: usize,
    scav_hint: usize,
}

/// A run of pages handed out by [`PageHeap::alloc`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageRun {
    /// First page.
    pub(crate) start: usize,
    /// Pages of the run that were released (not backed) before this allocation.
    pub(crate) released: usize,
}

impl PageHeap {
    /// An empty heap over a reservation of `max_pages` pages carved into arenas of
    /// `pages_per_arena` pages (`max_pages` is a multiple of it).
    pub(crate) fn new(max_pages: usize, pages_per_arena: usize) -> Self {
        debug_assert!(pages_per_arena > 0 && max_pages.is_multiple_of(pages_per_arena));
        Self {
            by_start: BTreeMap::new(),
            by_size: BTreeSet::new(),
            released: Vec::new(),
            active_pages: 0,
            max_pages,
            pages_per_arena,
            free_pages: 0,
            released_pages: 0,
            lent_pages: 0,
            scav_hint: 0,
        }
    }

    /// Pages of activated arenas.
    pub(crate) fn active_pages(&self) -> usize {
        self.active_pages
    }

    /// Free pages (including released ones; excluding pages lent to the scavenger).
    pub(crate) fn free_pages(&self) -> usize {
        self.free_pages
    }

    /// Free pages that are not backed by memory.
    pub(crate) fn released_pages(&self) -> usize {
        self.released_pages
    }

    /// Pages currently lent to the scavenger.
    pub(crate) fn lent_pages(&self) -> usize {
        self.lent_pages
    }

    fn insert_run(&mut self, start: usize, len: usize) {
        debug_assert!(len > 0);
        self.by_start.insert(start, len);
        self.by_size.insert((len, start));
    }

    fn remove_run(&mut self, start: usize, len: usize) {
        let removed = self.by_start.remove(&start);
        debug_assert_eq!(removed, Some(len));
        let removed = self.by_size.remove(&(len, start));
        debug_assert!(removed);
    }

    /// Inserts `[start, start + len)` as free, merging with free neighbours.
    fn insert_coalesced(&mut self, mut start: usize, mut len: usize) {
        if let Some((&prev, &prev_len)) = self.by_start.range(..start).next_back() {
            debug_assert!(prev + prev_len <= start, "freeing pages that are free");
            if prev + prev_len == start {
                self.remove_run(prev, prev_len);
                start = prev;
                len += prev_len;
            }
        }
        if let Some(&next_len) = self.by_start.get(&(start + len)) {
            self.remove_run(start + len, next_len);
            len += next_len;
        }
        debug_assert!(
            self.by_start
                .range(start..)
                .next()
                .is_none_or(|(&s, _)| s >= start + len),
            "freeing pages that are free"
        );
        self.insert_run(start, len);
    }

    /// Takes `n` pages whose first page is a multiple of `align` (in pages, a power of two),
    /// or `None` if no free run fits (then [`grow`](Self::grow) and retry).
    pub(crate) fn alloc(&mut self, n: usize, align: usize) -> Option<PageRun> {
        debug_assert!(n > 0 && align.is_power_of_two());
        let (run_len, run_start, start) = if align <= 1 {
            let &(len, start) = self.by_size.range((n, 0)..).next()?;
            (len, start, start)
        } else {
            self.by_size.range((n, 0)..).find_map(|&(len, start)| {
                let aligned = start.next_multiple_of(align);
                (aligned + n <= start + len).then_some((len, start, aligned))
            })?
        };
        self.remove_run(run_start, run_len);
        if start > run_start {
            self.insert_run(run_start, start - run_start);
        }
        if start + n < run_start + run_len {
            self.insert_run(start + n, run_start + run_len - (start + n));
        }
        self.free_pages -= n;
        let released = clear_bits(&mut self.released, start..start + n);
        self.released_pages -= released;
        Some(PageRun { start, released })
    }

    /// Returns `[start, start + n)` (pages in use until now) to the free runs.
    pub(crate) fn free(&mut self, start: usize, n: usize) {
        debug_assert!(n > 0 && start + n <= self.active_pages);
        debug_assert_eq!(count_bits(&self.released, start..start + n), 0);
        self.insert_coalesced(start, n);
        self.free_pages += n;
        self.scav_hint = self.scav_hint.max(start + n);
    }

    /// Activates enough whole arenas at the end of the active range for an allocation of `n`
    /// pages aligned to `align` pages to succeed. Returns the indices of the new arenas, or
    /// `None` if the reservation cannot hold them. The new pages are free and released.
    pub(crate) fn grow(&mut self, n: usize, align: usize) -> Option<Range<usize>> {
        let trailing = match self.by_start.last_key_value() {
            Some((&s, &l)) if s + l == self.active_pages && align <= 1 => l,
            _ => 0,
        };
        let need = (n + align.max(1) - 1).saturating_sub(trailing).max(1);
        let arenas = need.div_ceil(self.pages_per_arena);
        let new_pages = arenas.checked_mul(self.pages_per_arena)?;
        let end = self.active_pages.checked_add(new_pages)?;
        if end > self.max_pages {
            return None;
        }
        let first_arena = self.active_pages / self.pages_per_arena;
        let start = self.active_pages;
        self.active_pages = end;
        self.released.resize(end.div_ceil(64), 0);
        set_bits(&mut self.released, start..end);
        self.insert_coalesced(start, new_pages);
        self.free_pages += new_pages;
        self.released_pages += new_pages;
        Some(first_arena..first_arena + arenas)
    }

    /// Lends the scavenger up to `max` contiguous free, backed pages: the highest such pages
    /// (below `scav_hint`). They leave the free runs until [`return_scavenged`]
    /// (Self::return_scavenged). `None` when every free page is released.
    pub(crate) fn take_for_scavenge(&mut self, max: usize) -> Option<(usize, usize)> {
        debug_assert!(max > 0);
        let mut found = None;
        for (&start, &len) in self.by_start.range(..self.scav_hint).rev() {
            let end = (start + len).min(self.scav_hint);
            if let Some(top) = highest_clear_bit(&self.released, start..end) {
                let mut low = top;
                while low > start && top + 1 - low < max && !get_bit(&self.released, low - 1) {
                    low -= 1;
                }
                found = Some((start, len, low, top + 1 - low));
                break;
            }
        }
        let Some((run_start, run_len, take, n)) = found else {
            self.scav_hint = 0;
            return None;
        };
        self.scav_hint = take;
        self.remove_run(run_start, run_len);
        if take > run_start {
            self.insert_run(run_start, take - run_start);
        }
        if take + n < run_start + run_len {
            self.insert_run(take + n, run_start + run_len - (take + n));
        }
        self.free_pages -= n;
        self.lent_pages += n;
        Some((take, n))
    }

    /// Takes back pages lent by [`take_for_scavenge`](Self::take_for_scavenge), now released.
    pub(crate) fn return_scavenged(&mut self, start: usize, n: usize) {
        self.lent_pages -= n;
        set_bits(&mut self.released, start..start + n);
        self.insert_coalesced(start, n);
        self.free_pages += n;
        self.released_pages += n;
    }

    /// Takes back lent pages that could not be released (they stay backed).
    pub(crate) fn return_unscavenged(&mut self, start: usize, n: usize) {
        self.lent_pages -= n;
        self.insert_coalesced(start, n);
        self.free_pages += n;
        self.scav_hint = self.scav_hint.max(start + n);
    }

    /// The free runs, address-ordered (for validation).
    pub(crate) fn runs(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.by_start.iter().map(|(&s, &l)| (s, l))
    }

    /// Panics unless the heap's own invariants hold: runs sorted, non-overlapping, coalesced,
    /// inside the active range; both indexes agree; counters match; released bits only on
    /// free pages; every free page at or above `scav_hint` released.
    pub(crate) fn check_invariants(&self) {
        assert_eq!(
            self.by_start.len(),
            self.by_size.len(),
            "page heap: index sizes differ"
        );
        let mut prev_end = None;
        let mut free = 0;
        let mut released_in_runs = 0;
        for (&start, &len) in &self.by_start {
            assert!(len > 0, "page heap: empty run at {start}");
            assert!(
                self.by_size.contains(&(len, start)),
                "page heap: run {start}+{len} unindexed"
            );
            if let Some(end) = prev_end {
                assert!(
                    start > end,
                    "page heap: runs overlap or are not coalesced at page {start}"
                );
            }
            assert!(
                start + len <= self.active_pages,
                "page heap: run beyond the active pages"
            );
            prev_end = Some(start + len);
            free += len;
            let released = count_bits(&self.released, start..start + len);
            released_in_runs += released;
            if start + len > self.scav_hint {
                let from = start.max(self.scav_hint);
                assert_eq!(
                    count_bits(&self.released, from..start + len),
                    start + len - from,
                    "page heap: unreleased free page above the scavenger hint"
                );
            }
        }
        assert_eq!(free, self.free_pages, "page heap: free page count");
        assert_eq!(
            released_in_runs, self.released_pages,
            "page heap: released page count"
        );
        let total: usize = self.released.iter().map(|w| w.count_ones() as usize).sum();
        assert_eq!(
            total, self.released_pages,
            "page heap: released bit on a page not free"
        );
        assert!(self.active_pages <= self.max_pages);
    }
}

fn get_bit(bits: &[u64], i: usize) -> bool {
    bits[i / 64] >> (i % 64) & 1 != 0
}

/// Mask of the bits of word `w` that fall in `range`.
fn word_mask(w: usize, range: &Range<usize>) -> u64 {
    let lo = range.start.max(w * 64) - w * 64;
    let hi = range.end.min(w * 64 + 64) - w * 64;
    if hi <= lo {
        0
    } else if hi - lo == 64 {
        !0
    } else {
        ((1u64 << (hi - lo)) - 1) << lo
    }
}

fn words(range: &Range<usize>) -> Range<usize> {
    if range.is_empty() {
        0..0
    } else {
        range.start / 64..range.end.div_ceil(64)
    }
}

fn set_bits(bits: &mut [u64], range: Range<usize>) {
    for w in words(&range) {
        bits[w] |= word_mask(w, &range);
    }
}

/// Clears the bits of `range`, returning how many were set.
fn clear_bits(bits: &mut [u64], range: Range<usize>) -> usize {
    let mut n = 0;
    for w in words(&range) {
        let m = word_mask(w, &range);
        n += (bits[w] & m).count_ones() as usize;
        bits[w] &= !m;
    }
    n
}

fn count_bits(bits: &[u64], range: Range<usize>) -> usize {
    words(&range)
        .map(|w| (bits[w] & word_mask(w, &range)).count_ones() as usize)
        .sum()
}

/// Highest index in `range` whose bit is clear.
fn highest_clear_bit(bits: &[u64], range: Range<usize>) -> Option<usize> {
    words(&range).rev().find_map(|w| {
        let clear = !bits[w] & word_mask(w, &range);
        (clear != 0).then(|| w * 64 + 63 - clear.leading_zeros() as usize)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heap() -> PageHeap {
        let mut h = PageHeap::new(64 * 8, 64);
        assert_eq!(h.alloc(1, 1), None);
        assert_eq!(h.grow(1, 1), Some(0..1));
        h
    }

    #[test]
    fn alloc_free_coalesce() {
        let mut h = heap();
        let a = h.alloc(3, 1).unwrap();
        let b = h.alloc(5, 1).unwrap();
        let c = h.alloc(2, 1).unwrap();
        assert_eq!((a.start, b.start, c.start), (0, 3, 8));
        assert_eq!(a.released, 3, "fresh pages count as released");
        h.check_invariants();
        assert_eq!(h.free_pages(), 64 - 10);
        h.free(b.start, 5);
        h.check_invariants();
        assert_eq!(h.runs().collect::<Vec<_>>(), [(3, 5), (10, 54)]);
        // Best fit: a 4-page request takes the 5-page hole, not the tail.
        let d = h.alloc(4, 1).unwrap();
        assert_eq!(d.start, 3);
        assert_eq!(d.released, 0, "reused pages were in use, so backed");
        h.free(a.start, 3);
        h.free(d.start, 4);
        h.free(c.start, 2);
        h.check_invariants();
        assert_eq!(h.runs().collect::<Vec<_>>(), [(0, 64)]);
    }

    #[test]
    fn aligned_alloc() {
        let mut h = heap();
        let a = h.alloc(1, 1).unwrap();
        let b = h.alloc(4, 16).unwrap();
        assert_eq!(a.start, 0);
        assert_eq!(b.start, 16);
        h.check_invariants();
        assert_eq!(h.runs().collect::<Vec<_>>(), [(1, 15), (20, 44)]);
    }

    #[test]
    fn grow_coalesces_with_the_tail_and_stops_at_the_reservation() {
        let mut h = heap();
        let a = h.alloc(60, 1).unwrap();
        assert_eq!(h.alloc(10, 1), None);
        // 4 free pages at the end count towards the request: one more arena suffices.
        assert_eq!(h.grow(10, 1), Some(1..2));
        let b = h.alloc(10, 1).unwrap();
        assert_eq!(b.start, 60, "spans may cross arena boundaries");
        h.check_invariants();
        assert_eq!(h.grow(64 * 7, 1), None, "only 6 arenas left");
        assert_eq!(h.grow(64 * 6, 1), Some(2..8));
        assert_eq!(h.grow(1, 1), None);
        h.free(a.start, 60);
        h.free(b.start, 10);
        h.check_invariants();
        assert_eq!(h.runs().collect::<Vec<_>>(), [(0, 512)]);
    }

    #[test]
    fn scavenge_highest_first_and_reuse() {
        let mut h = heap();
        let a = h.alloc(20, 1).unwrap();
        let b = h.alloc(20, 1).unwrap();
        h.free(a.start, 20);
        h.free(b.start, 20);
        h.check_invariants();
        assert_eq!(h.released_pages(), 24);
        let (s, n) = h.take_for_scavenge(8).unwrap();
        assert_eq!((s, n), (32, 8), "highest backed pages first");
        assert_eq!(h.lent_pages(), 8);
        h.return_scavenged(s, n);
        h.check_invariants();
        let mut released = 0;
        while let Some((s, n)) = h.take_for_scavenge(16) {
            h.return_scavenged(s, n);
            released += n;
        }
        assert_eq!(released, 32);
        assert_eq!(h.released_pages(), 64);
        h.check_invariants();
        let c = h.alloc(10, 1).unwrap();
        assert_eq!(c.released, 10);
        h.free(c.start, 10);
        assert_eq!(h.released_pages(), 54);
        h.check_invariants();
    }

    #[test]
    fn bit_helpers() {
        let mut bits = vec![0u64; 3];
        set_bits(&mut bits, 5..130);
        assert_eq!(count_bits(&bits, 0..192), 125);
        assert_eq!(count_bits(&bits, 64..128), 64);
        assert_eq!(highest_clear_bit(&bits, 0..192), Some(191));
        assert_eq!(highest_clear_bit(&bits, 5..130), None);
        assert_eq!(highest_clear_bit(&bits, 0..130), Some(4));
        assert_eq!(clear_bits(&mut bits, 60..70), 10);
        assert_eq!(highest_clear_bit(&bits, 0..130), Some(69));
        assert!(get_bit(&bits, 70) && !get_bit(&bits, 69));
    }
}
