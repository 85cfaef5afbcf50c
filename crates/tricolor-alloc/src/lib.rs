//! tricolor-alloc: a Go-style span allocator for a concurrent mark-sweep garbage collector.
//!
//! Objects up to 32 KiB are rounded up to one of 67 [size classes](size_class) and carved out
//! of *spans* — runs of 8 KiB pages holding objects of one class, with an allocation bitmap
//! and two mark bitmaps. Each thread allocates through its own [`ThreadCache`], which holds one
//! span per class and hands out objects without locks or atomic read-modify-writes. Spans
//! that no cache holds sit in per-class central lists, split by fullness and by whether this
//! cycle's sweep has reached them. A page heap carves spans from 64 MiB arenas of one
//! reserved region, maps any address to its span in O(1), and gives idle pages back to the OS
//! ([`Allocator::scavenge`]). Objects over 32 KiB get a span of their own.
//!
//! The allocator knows nothing of tracing. The collector that sits on it:
//!
//! * marks objects with [`Allocator::mark`] into the bitmap [`Allocator::mark_parity`] names,
//!   and has caches allocate black ([`ThreadCache::set_allocate_black`]) while marking;
//! * ends a cycle with [`Allocator::start_sweep`], [`ThreadCache::release_all`] on every
//!   cache, and [`Allocator::sweep_one`] / [`Allocator::finish_sweep`] — the sweep frees every
//!   allocated object that was not marked, calling the [`FreeHook`] for each;
//! * reads [`Allocator::heap_live_bytes`] and [`Allocator::stats`] for pacing.
//!
//! There is no way to free one object: memory comes back only through sweeping.
//!
//! ```
//! use std::sync::Arc;
//! use tricolor_alloc::{AllocConfig, Allocator, ThreadCache, size_class::class_for};
//!
//! let heap = Arc::new(Allocator::new(AllocConfig::default())?);
//! let mut cache = ThreadCache::new(heap.clone());
//! const CLASS: u8 = class_for(24, 8);
//! let a = match cache.alloc_fast(CLASS) {
//!     Some(p) => p,
//!     None => cache.alloc_slow(CLASS)?,
//! };
//! let b = cache.alloc(100_000, 8)?; // a large object
//!
//! // One collection cycle that finds only `a` alive.
//! let parity = heap.mark_parity();
//! assert_eq!(heap.mark(a, parity), Some(24));
//! heap.start_sweep();
//! cache.release_all();
//! heap.finish_sweep();
//! assert!(heap.object_base(a.as_ptr() as usize + 5) == Some(a));
//! assert!(heap.object_base(b.as_ptr() as usize).is_none(), "b was freed");
//! # Ok::<(), tricolor_alloc::AllocError>(())
//! ```
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod allocator;
mod arena;
mod cache;
mod central;
mod error;
#[doc(hidden)]
pub mod faults;
mod os;
mod page_heap;
mod scavenge;
pub mod size_class;
mod span;
mod stats;
mod sweep;
#[doc(hidden)]
pub mod sync;

pub use allocator::{
    AllocConfig, Allocator, FreeHook, MarkSite, MarkWord, NewlyMarked, SPARE_SPANS_MAX, SpanHint,
};
pub use cache::ThreadCache;
pub use error::AllocError;
pub use scavenge::SCAVENGE_CHUNK_PAGES;
pub use span::{MarkParity, Span};
pub use stats::{AllocStats, ClassStats};
