//! Statistics: atomic counters updated on the slow paths, and the [`AllocStats`] snapshot.
//!
//! # Design
//!
//! Nothing on the allocation fast path touches a counter. Counting follows Go:
//!
//! * `heap_live` rises by `free slots × slot size` when a thread cache takes a span, falls by
//!   the unused slots when the cache returns it, by `freed × slot size` when a sweep frees
//!   objects, and moves by the page size of large objects as they are allocated and freed;
//! * per-class `allocs` are credited when a cache returns a span (the slots it handed out);
//!   `frees` when a sweep frees objects; large objects count one alloc at allocation;
//! * page counters are copied from the page heap under its lock after every change.
//!
//! All counters are Relaxed atomics: a snapshot is a set of independent reads, each exact at
//! some moment during the call, not one consistent cut. See [`AllocStats`] for which numbers
//! are exact when.

use crate::Allocator;
use crate::page_heap::PageHeap;
use crate::size_class::{NUM_CLASSES, PAGE_SIZE, class_size};
use crate::sync::{AtomicU64, AtomicUsize, Ordering};

/// Per-class counters.
pub(crate) struct ClassCounters {
    pub(crate) allocs: AtomicU64,
    pub(crate) frees: AtomicU64,
    pub(crate) spans: AtomicUsize,
}

/// The allocator's counters (see the module docs).
pub(crate) struct Counters {
    pub(crate) reserved_bytes: usize,
    pub(crate) heap_live: AtomicUsize,
    pub(crate) large_bytes: AtomicUsize,
    pub(crate) spans_in_use: AtomicUsize,
    pub(crate) classes: Box<[ClassCounters]>,
    active_pages: AtomicUsize,
    free_pages: AtomicUsize,
    released_pages: AtomicUsize,
    lent_pages: AtomicUsize,
}

impl Counters {
    pub(crate) fn new(reserved_bytes: usize) -> Self {
        Self {
            reserved_bytes,
            heap_live: AtomicUsize::new(0),
            large_bytes: AtomicUsize::new(0),
            spans_in_use: AtomicUsize::new(0),
            classes: (0..NUM_CLASSES)
                .map(|_| ClassCounters {
                    allocs: AtomicU64::new(0),
                    frees: AtomicU64::new(0),
                    spans: AtomicUsize::new(0),
                })
                .collect(),
            active_pages: AtomicUsize::new(0),
            free_pages: AtomicUsize::new(0),
            released_pages: AtomicUsize::new(0),
            lent_pages: AtomicUsize::new(0),
        }
    }

    /// Copies the page heap's counters; called with the heap lock held.
    pub(crate) fn mirror_heap(&self, heap: &PageHeap) {
        self.active_pages
            .store(heap.active_pages(), Ordering::Relaxed);
        self.free_pages.store(heap.free_pages(), Ordering::Relaxed);
        self.released_pages
            .store(heap.released_pages(), Ordering::Relaxed);
        self.lent_pages.store(heap.lent_pages(), Ordering::Relaxed);
    }
}

/// Counters of one size class (or, for class 0, of large objects).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClassStats {
    /// Slot size of the class (0 for class 0).
    pub object_size: usize,
    /// Objects in use: `allocs − frees`.
    pub objects_in_use: u64,
    /// Cumulative allocations credited so far.
    pub allocs: u64,
    /// Cumulative frees by sweeping.
    pub frees: u64,
    /// Spans of the class in use (held by caches or in the central lists).
    pub spans: usize,
}

/// A snapshot of an allocator's statistics ([`Allocator::stats`]). Plain data.
///
/// Exactness:
/// * page numbers (`obtained`, `idle`, `released`, `span_bytes`) are exact whenever the page
///   heap is not changing (each is updated under the page-heap lock);
/// * per-class `allocs` and so `objects_in_use` and the totals are exact once every thread
///   cache has been released (allocations are credited when a cache returns a span); until
///   then they lag by what the caches have handed out;
/// * `frees` are exact once the sweep is finished (objects are freed when their span is swept);
/// * large-object numbers are exact at all times (up to the sweep);
/// * `in_use_bytes` follows Go's heap-live rule: exact once every cache is released; while a
///   cache holds a span, that span's free slots count as in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AllocStats {
    /// Address space reserved for the heap.
    pub reserved_bytes: usize,
    /// Address space of activated arenas (memory the heap may have touched).
    pub obtained_bytes: usize,
    /// Heap-live bytes (see [`Allocator::heap_live_bytes`]).
    pub in_use_bytes: usize,
    /// Bytes of pages held by in-use spans.
    pub span_bytes: usize,
    /// Bytes of free pages, released or not.
    pub idle_bytes: usize,
    /// Bytes of free pages not backed by memory (returned to the OS, or never touched).
    pub released_bytes: usize,
    /// In-use spans, all classes.
    pub spans_in_use: usize,
    /// Per-class counters; index 0 counts large objects.
    pub classes: [ClassStats; NUM_CLASSES],
    /// Large objects in use.
    pub large_objects_in_use: u64,
    /// Bytes (whole pages) of large objects in use.
    pub large_bytes_in_use: usize,
    /// Cumulative large allocations.
    pub large_allocs: u64,
    /// Cumulative large frees.
    pub large_frees: u64,
    /// Objects in use, all classes and large.
    pub objects_in_use: u64,
    /// Cumulative allocations, all classes and large.
    pub total_allocs: u64,
    /// Cumulative frees, all classes and large.
    pub total_frees: u64,
    /// The allocator's sweep generation.
    pub sweepgen: u32,
}

impl Allocator {
    /// A snapshot of the counters. Cheap (a few hundred atomic loads, no lock); safe while
    /// other threads allocate. See [`AllocStats`] for what is exact when.
    pub fn stats(&self) -> AllocStats {
        let c = &self.stats;
        let mut classes = [ClassStats::default(); NUM_CLASSES];
        let (mut total_allocs, mut total_frees) = (0, 0);
        for (i, (out, cc)) in classes.iter_mut().zip(c.classes.iter()).enumerate() {
            let allocs = cc.allocs.load(Ordering::Relaxed);
            let frees = cc.frees.load(Ordering::Relaxed);
            *out = ClassStats {
                object_size: class_size(i as u8),
                objects_in_use: allocs.saturating_sub(frees),
                allocs,
                frees,
                spans: cc.spans.load(Ordering::Relaxed),
            };
            total_allocs += allocs;
            total_frees += frees;
        }
        let active = c.active_pages.load(Ordering::Relaxed);
        let free = c.free_pages.load(Ordering::Relaxed);
        let lent = c.lent_pages.load(Ordering::Relaxed);
        AllocStats {
            reserved_bytes: c.reserved_bytes,
            obtained_bytes: active * PAGE_SIZE,
            in_use_bytes: c.heap_live.load(Ordering::Relaxed),
            span_bytes: active.saturating_sub(free + lent) * PAGE_SIZE,
            idle_bytes: free * PAGE_SIZE,
            released_bytes: c.released_pages.load(Ordering::Relaxed) * PAGE_SIZE,
            spans_in_use: c.spans_in_use.load(Ordering::Relaxed),
            large_objects_in_use: classes[0].objects_in_use,
            large_bytes_in_use: c.large_bytes.load(Ordering::Relaxed),
            large_allocs: classes[0].allocs,
            large_frees: classes[0].frees,
            objects_in_use: total_allocs.saturating_sub(total_frees),
            total_allocs,
            total_frees,
            classes,
            sweepgen: self.sweepgen(),
        }
    }
}
