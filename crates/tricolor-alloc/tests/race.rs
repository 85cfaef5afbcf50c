//! `start_sweep` racing with allocation.
//!
//! Three threads allocate continuously (small and large objects, allocating black) while the
//! main thread advances the sweep generation under them; they keep allocating after it, then
//! release their caches. Objects allocated during a cycle were all allocated black, so the
//! sweep of that cycle must free none of them — wherever the bump fell relative to their
//! refills, span placements and large-object publication — and the sweep of the next cycle
//! (which marks nothing) must free exactly them.

use std::collections::HashSet;
use std::ptr::NonNull;
use std::sync::{Arc, Barrier};

use tricolor_alloc::sync::{AtomicBool, AtomicUsize, Mutex, Ordering, thread};
use tricolor_alloc::{AllocConfig, Allocator, ThreadCache};

const WORKERS: usize = 3;
const CYCLES: usize = if cfg!(debug_assertions) { 6 } else { 20 };
/// Objects each worker allocates before, and again after, the main thread's `start_sweep`.
const BURST: usize = if cfg!(debug_assertions) {
    2_000
} else {
    20_000
};

static FREED: Mutex<Vec<usize>> = Mutex::new(Vec::new());

fn record(p: NonNull<u8>) {
    FREED.lock().unwrap().push(p.as_ptr() as usize);
}

fn size_for(i: usize) -> usize {
    match i % 101 {
        0 => 40_000 + i % 50_000,
        1..=10 => 1000 + i % 20_000,
        _ => 8 + i % 500,
    }
}

#[test]
fn objects_allocated_across_start_sweep_survive_it() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        std::process::abort();
    }));
    let heap = Arc::new(
        Allocator::new(AllocConfig {
            free_hook: Some(record),
            ..AllocConfig::default()
        })
        .unwrap(),
    );
    let counts: Arc<Vec<AtomicUsize>> =
        Arc::new((0..WORKERS).map(|_| AtomicUsize::new(0)).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let barrier = Arc::new(Barrier::new(WORKERS + 1));
    let allocated: Arc<Vec<Mutex<Vec<usize>>>> =
        Arc::new((0..WORKERS).map(|_| Mutex::new(Vec::new())).collect());

    let workers: Vec<_> = (0..WORKERS)
        .map(|t| {
            let (heap, counts, stop, barrier, allocated) = (
                heap.clone(),
                counts.clone(),
                stop.clone(),
                barrier.clone(),
                allocated.clone(),
            );
            thread::spawn(move || {
                let mut cache = ThreadCache::new(heap.clone());
                let mut i = t;
                for _ in 0..CYCLES {
                    barrier.wait(); // cycle starts: the previous sweep is finished
                    cache.set_allocate_black(Some(heap.mark_parity()));
                    let mut mine = Vec::new();
                    // Stop flag: Acquire pairs with the main thread's Release store.
                    while !stop.load(Ordering::Acquire) {
                        let size = size_for(i);
                        i += WORKERS;
                        let p = cache.alloc(size, 8).unwrap();
                        // SAFETY: a fresh object of at least 8 bytes.
                        unsafe { p.as_ptr().cast::<usize>().write(i) };
                        mine.push(p.as_ptr() as usize);
                        counts[t].fetch_add(1, Ordering::Relaxed);
                    }
                    cache.release_all();
                    cache.set_allocate_black(None);
                    *allocated[t].lock().unwrap() = mine;
                    barrier.wait(); // released
                }
            })
        })
        .collect();

    let mut previous: HashSet<usize> = HashSet::new();
    let wait_for = |target: usize| {
        while counts.iter().any(|c| c.load(Ordering::Relaxed) < target) {
            thread::yield_now();
        }
    };
    for cycle in 0..CYCLES {
        for c in counts.iter() {
            c.store(0, Ordering::Relaxed);
        }
        // Release: pairs with the workers' Acquire loads of the flag.
        stop.store(false, Ordering::Release);
        barrier.wait(); // cycle starts
        wait_for(BURST);
        heap.start_sweep(); // while everyone allocates
        wait_for(2 * BURST);
        stop.store(true, Ordering::Release);
        barrier.wait(); // every cache released
        heap.finish_sweep();
        assert!(heap.sweep_done());
        heap.check_invariants();
        let mut freed = std::mem::take(&mut *FREED.lock().unwrap());
        freed.sort_unstable();
        let mut expect: Vec<usize> = previous.iter().copied().collect();
        expect.sort_unstable();
        assert_eq!(freed.len(), expect.len(), "cycle {cycle}: number of frees");
        assert!(
            freed == expect,
            "cycle {cycle}: freed set is not the previous cycle's objects"
        );
        previous = allocated
            .iter()
            .flat_map(|a| a.lock().unwrap().clone())
            .collect();
        let total: usize = allocated.iter().map(|a| a.lock().unwrap().len()).sum();
        assert_eq!(
            previous.len(),
            total,
            "cycle {cycle}: an address was handed out twice"
        );
        assert_eq!(heap.stats().objects_in_use, total as u64);
    }
    for w in workers {
        w.join().unwrap();
    }
}
