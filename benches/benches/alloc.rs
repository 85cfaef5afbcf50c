//! Allocation throughput: tricolor's thread cache (including the amortized sweep) against the
//! system allocator and mimalloc, for small objects.
//!
//! Per iteration each variant allocates `N` objects of one size, writes a word into each, and
//! frees them all: tricolor by releasing the cache and sweeping with nothing marked
//! (`start_sweep` + `finish_sweep`), the others with `dealloc` of every object.
//! `tricolor-alloc-only` times the allocation loop alone (the sweep runs untimed), which is the
//! fast path plus the refills.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mimalloc::MiMalloc;
use tricolor_alloc::size_class::size_to_class;
use tricolor_alloc::{AllocConfig, Allocator, ThreadCache};

const N: usize = 100_000;
const SIZES: [usize; 4] = [16, 32, 64, 256];

/// Allocates `N` objects of `class`, writing one word into each.
#[inline(always)]
fn tricolor_round(cache: &mut ThreadCache, class: u8) {
    for i in 0..N {
        let p = match cache.alloc_fast(class) {
            Some(p) => p,
            None => cache.alloc_slow(class).expect("out of memory"),
        };
        // SAFETY: a fresh object of at least 16 bytes, 8-aligned.
        unsafe { p.as_ptr().cast::<usize>().write(i) };
    }
}

/// Frees everything: one collection cycle that marks nothing.
fn sweep_all(heap: &Allocator, cache: &mut ThreadCache) {
    cache.release_all();
    heap.start_sweep();
    heap.finish_sweep();
}

fn raw_round<A: GlobalAlloc>(a: &A, layout: Layout, ptrs: &mut Vec<*mut u8>) {
    for i in 0..N {
        // SAFETY: `layout` has a non-zero size.
        let p = unsafe { a.alloc(layout) };
        assert!(!p.is_null());
        // SAFETY: a fresh allocation of at least 16 bytes, 8-aligned.
        unsafe { p.cast::<usize>().write(i) };
        ptrs.push(p);
    }
    for p in ptrs.drain(..) {
        // SAFETY: allocated above by `a` with `layout`, freed once.
        unsafe { a.dealloc(black_box(p), layout) };
    }
}

fn alloc(c: &mut Criterion) {
    let heap = Arc::new(Allocator::new(AllocConfig::default()).expect("reserve heap"));
    let mut group = c.benchmark_group("alloc");
    group.throughput(Throughput::Elements(N as u64));
    for size in SIZES {
        let class = size_to_class(size);
        group.bench_with_input(BenchmarkId::new("tricolor", size), &size, |b, _| {
            let mut cache = ThreadCache::new(heap.clone());
            b.iter(|| {
                tricolor_round(&mut cache, class);
                sweep_all(&heap, &mut cache);
            });
        });
        group.bench_with_input(
            BenchmarkId::new("tricolor-alloc-only", size),
            &size,
            |b, _| {
                let mut cache = ThreadCache::new(heap.clone());
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let start = Instant::now();
                        tricolor_round(&mut cache, class);
                        total += start.elapsed();
                        sweep_all(&heap, &mut cache);
                    }
                    total
                });
            },
        );
        let layout = Layout::from_size_align(size, 8).expect("layout");
        group.bench_with_input(BenchmarkId::new("system", size), &size, |b, _| {
            let mut ptrs = Vec::with_capacity(N);
            b.iter(|| raw_round(&System, layout, &mut ptrs));
        });
        group.bench_with_input(BenchmarkId::new("mimalloc", size), &size, |b, _| {
            let mut ptrs = Vec::with_capacity(N);
            b.iter(|| raw_round(&MiMalloc, layout, &mut ptrs));
        });
    }
    group.finish();
}

criterion_group!(benches, alloc);
criterion_main!(benches);
