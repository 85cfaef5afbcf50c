//! The scavenger: returns free pages to the OS.
//!
//! # Design
//!
//! Free pages that stay free still occupy memory once touched. [`Allocator::scavenge`] gives
//! them back with `madvise(MADV_DONTNEED)` (through `os`), highest addresses first, until at
//! most `retain_bytes` of free-but-backed memory remains (the collector's background thread
//! calls it with a target derived from the heap goal, as Go keeps retained memory within
//! ~10 % of the goal). One step:
//!
//! 1. under the page-heap lock, borrow the highest run of free, backed pages (at most
//!    [`SCAVENGE_CHUNK_PAGES`], and no more than needed) — `PageHeap::take_for_scavenge`;
//!    the pages leave the free runs, so nobody can allocate them meanwhile;
//! 2. with no lock held, `madvise` them away;
//! 3. under the lock again, put them back as free and released.
//!
//! A released page is allocated like any other; the kernel hands it back zeroed on first touch.
//! Fresh arena pages count as released until first allocated (they were never backed).

use crate::Allocator;
use crate::central::lock;
use crate::size_class::PAGE_SIZE;

/// Most pages released per lock hold and `madvise` call (4 MiB).
pub const SCAVENGE_CHUNK_PAGES: usize = 512;

impl Allocator {
    /// Releases free pages to the OS, highest first, until at most `retain_bytes` of free pages
    /// remain backed by memory. Returns the bytes released. Safe to call concurrently with
    /// allocation and sweeping (the page-heap lock is held only to pick and to return pages).
    pub fn scavenge(&self, retain_bytes: usize) -> usize {
        let retain = retain_bytes / PAGE_SIZE;
        let mut released = 0;
        loop {
            let (start, n) = {
                let mut heap = lock(&self.heap);
                let backed = heap.free_pages() - heap.released_pages();
                if backed <= retain {
                    break;
                }
                let want = (backed - retain).min(SCAVENGE_CHUNK_PAGES);
                let Some(run) = heap.take_for_scavenge(want) else {
                    break;
                };
                self.stats.mirror_heap(&heap);
                run
            };
            // SAFETY: the pages are free and lent to us by the page heap: nothing can allocate
            // them until we return them below.
            let ok = unsafe { self.arenas.decommit(start, n) }.is_ok();
            let mut heap = lock(&self.heap);
            if ok {
                heap.return_scavenged(start, n);
                released += n;
            } else {
                heap.return_unscavenged(start, n);
                self.stats.mirror_heap(&heap);
                break;
            }
            self.stats.mirror_heap(&heap);
        }
        released * PAGE_SIZE
    }

    /// Releases every free page to the OS ([`scavenge`](Self::scavenge) with nothing
    /// retained). Returns the bytes released.
    pub fn release_all_free(&self) -> usize {
        self.scavenge(0)
    }
}
