//! Multi-threaded allocation and collection cycles against a model.
//!
//! Four worker threads (more than this machine's cores, so they preempt each other) allocate
//! objects of mixed sizes, small and large, each stamped with a pattern derived from a unique
//! id. Then, cycle after cycle: no two live objects overlap and every pattern is intact; the
//! workers mark a pseudo-random half of the objects (two workers mark each object, so marks
//! race in the same words); the caches are released before or after `start_sweep`; two
//! workers sweep in the background while two allocate (sweeping lazily on refill) and the main
//! thread runs `finish_sweep`; exactly the unmarked objects are reported to the free hook, none
//! of the objects allocated during the sweep is; freed memory is handed out again; the stats
//! count exactly the survivors, and `check_invariants` holds.

use std::collections::HashSet;
use std::ptr::NonNull;
use std::sync::{Arc, Barrier};

use tricolor_alloc::size_class::MAX_SMALL_SIZE;
use tricolor_alloc::sync::{AtomicUsize, Mutex, Ordering};
use tricolor_alloc::{AllocConfig, Allocator, ThreadCache};

const THREADS: usize = 4;
const ROUNDS: u64 = if cfg!(debug_assertions) { 4 } else { 6 };
/// Objects each worker allocates per round.
const PER_ROUND: usize = if cfg!(debug_assertions) {
    20_000
} else {
    100_000
};

static FREED: Mutex<Vec<usize>> = Mutex::new(Vec::new());

fn record(p: NonNull<u8>) {
    FREED.lock().unwrap().push(p.as_ptr() as usize);
}

#[derive(Clone, Copy, Debug)]
struct Obj {
    addr: usize,
    size: usize,
    id: u64,
}

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

fn size_for(id: u64) -> usize {
    let r = mix(id);
    let pick = r % 1000;
    let v = (r >> 10) as usize;
    if pick < 700 {
        8 + v % 249
    } else if pick < 900 {
        257 + v % (4096 - 256)
    } else if pick < 995 {
        4097 + v % (MAX_SMALL_SIZE - 4096)
    } else {
        MAX_SMALL_SIZE + 1 + v % (96 << 10)
    }
}

fn survives(id: u64, round: u64) -> bool {
    mix(id ^ round.wrapping_mul(0x9e37_79b9_7f4a_7c15)) & 1 == 0
}

/// Word offsets stamped in an object of `size` bytes: all of a small one, a few of a big one.
fn stamp_offsets(size: usize) -> impl Iterator<Item = usize> {
    let words = size / 8;
    let all = if words <= 32 { words } else { 0 };
    let few = if words > 32 {
        [0, words / 2, words - 1]
    } else {
        [usize::MAX; 3]
    };
    (0..all).chain(few.into_iter().filter(|&w| w != usize::MAX))
}

fn stamp(o: &Obj) {
    for w in stamp_offsets(o.size) {
        // SAFETY: `o` is a live object of `o.size` bytes that only this test touches.
        unsafe {
            (o.addr as *mut u64)
                .add(w)
                .write(o.id.rotate_left(w as u32) ^ 0xa5a5)
        };
    }
}

fn check_stamp(o: &Obj) {
    for w in stamp_offsets(o.size) {
        // SAFETY: as in `stamp`.
        let v = unsafe { (o.addr as *const u64).add(w).read() };
        assert_eq!(
            v,
            o.id.rotate_left(w as u32) ^ 0xa5a5,
            "object {o:?} word {w} clobbered"
        );
    }
}

fn alloc_obj(cache: &mut ThreadCache, id: u64) -> Obj {
    let size = size_for(id);
    let p = cache.alloc(size, 8).expect("allocation failed");
    let o = Obj {
        addr: p.as_ptr() as usize,
        size,
        id,
    };
    stamp(&o);
    o
}

#[test]
fn concurrent_cycles_free_exactly_the_unmarked() {
    // A failed check on any thread would leave the others waiting at a barrier forever:
    // report it and abort instead.
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
    let lists: Vec<Mutex<Vec<Obj>>> = (0..THREADS).map(|_| Mutex::new(Vec::new())).collect();
    let barrier = Barrier::new(THREADS + 1);
    let newly_marked = AtomicUsize::new(0);

    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (heap, lists, barrier, newly_marked) = (&heap, &lists, &barrier, &newly_marked);
            s.spawn(move || {
                let mut cache = ThreadCache::new(heap.clone());
                let mut next_id = (t as u64) << 48;
                for round in 0..ROUNDS {
                    // A: allocate.
                    for _ in 0..PER_ROUND {
                        let o = alloc_obj(&mut cache, next_id);
                        next_id += 1;
                        lists[t].lock().unwrap().push(o);
                    }
                    barrier.wait(); // A done
                    barrier.wait(); // B checked by main
                    // C: mark the survivors of our list and of the next one.
                    let parity = heap.mark_parity();
                    for l in [t, (t + 1) % THREADS] {
                        let objs = lists[l].lock().unwrap().clone();
                        for o in objs.iter().filter(|o| survives(o.id, round)) {
                            let p = NonNull::new(o.addr as *mut u8).unwrap();
                            if let Some(size) = heap.mark(p, parity) {
                                assert!(size >= o.size);
                                newly_marked.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    if round % 2 == 0 {
                        cache.release_all();
                    }
                    barrier.wait(); // C done
                    barrier.wait(); // main ran start_sweep
                    if round % 2 == 1 {
                        // Stale spans are swept here, on release.
                        cache.release_all();
                    }
                    // D: sweep concurrently: two background sweepers, two allocators.
                    if t < 2 {
                        while heap.sweep_one().is_some() {}
                    } else {
                        for _ in 0..PER_ROUND / 4 {
                            let o = alloc_obj(&mut cache, next_id);
                            next_id += 1;
                            lists[t].lock().unwrap().push(o);
                        }
                    }
                    barrier.wait(); // D done
                    // E: release so the stats are exact.
                    cache.release_all();
                    barrier.wait(); // E done
                    barrier.wait(); // main checked
                }
            });
        }

        let mut freed_last: HashSet<usize> = HashSet::new();
        let mut reused = 0usize;
        for round in 0..ROUNDS {
            barrier.wait(); // A done
            // B: every live object intact, none overlapping; new ones may reuse freed memory.
            let mut all: Vec<Obj> = lists
                .iter()
                .flat_map(|l| l.lock().unwrap().clone())
                .collect();
            reused += all.iter().filter(|o| freed_last.contains(&o.addr)).count();
            all.sort_unstable_by_key(|o| o.addr);
            for w in all.windows(2) {
                assert!(
                    w[0].addr + w[0].size <= w[1].addr,
                    "overlap: {:?} {:?}",
                    w[0],
                    w[1]
                );
            }
            for o in &all {
                check_stamp(o);
                assert_eq!(
                    heap.object_base(o.addr + o.size - 1).unwrap().as_ptr() as usize,
                    o.addr
                );
            }
            let before: Vec<Obj> = all;
            let survivors: HashSet<usize> = before
                .iter()
                .filter(|o| survives(o.id, round))
                .map(|o| o.addr)
                .collect();
            newly_marked.store(0, Ordering::Relaxed);
            barrier.wait(); // B checked
            barrier.wait(); // C done
            assert_eq!(
                newly_marked.load(Ordering::Relaxed),
                survivors.len(),
                "mark reported each object once"
            );
            heap.start_sweep();
            barrier.wait(); // main ran start_sweep
            heap.finish_sweep();
            barrier.wait(); // D done
            barrier.wait(); // E done: every cache released
            assert!(heap.sweep_done());
            heap.check_invariants();
            // Exactly the unmarked objects were freed, each once.
            let mut freed = std::mem::take(&mut *FREED.lock().unwrap());
            freed.sort_unstable();
            let mut expect: Vec<usize> = before
                .iter()
                .filter(|o| !survivors.contains(&o.addr))
                .map(|o| o.addr)
                .collect();
            expect.sort_unstable();
            assert_eq!(
                freed.len(),
                expect.len(),
                "round {round}: wrong number of frees"
            );
            assert!(
                freed == expect,
                "round {round}: freed set differs from the unmarked set"
            );
            freed_last = freed.into_iter().collect();
            // Drop the dead from the model (by id: objects allocated during the sweep may
            // already sit in freed slots, which the sweep made reusable).
            let dead: HashSet<u64> = before
                .iter()
                .filter(|o| !survivors.contains(&o.addr))
                .map(|o| o.id)
                .collect();
            for l in &lists {
                l.lock().unwrap().retain(|o| !dead.contains(&o.id));
            }
            let live: Vec<Obj> = lists
                .iter()
                .flat_map(|l| l.lock().unwrap().clone())
                .collect();
            for o in &live {
                check_stamp(o);
                assert!(heap.is_allocated(NonNull::new(o.addr as *mut u8).unwrap()));
            }
            let st = heap.stats();
            let large = live.iter().filter(|o| o.size > MAX_SMALL_SIZE).count();
            assert_eq!(
                st.objects_in_use,
                live.len() as u64,
                "round {round}: objects in use"
            );
            assert_eq!(st.large_objects_in_use, large as u64);
            let slot_bytes: usize = live
                .iter()
                .map(|o| {
                    heap.object_size(NonNull::new(o.addr as *mut u8).unwrap())
                        .unwrap()
                })
                .sum();
            assert_eq!(
                st.in_use_bytes, slot_bytes,
                "round {round}: heap-live bytes"
            );
            assert_eq!(st.total_allocs - st.total_frees, live.len() as u64);
            barrier.wait(); // main checked
        }
        assert!(reused > 0, "freed memory was never handed out again");
    });
    let st = heap.stats();
    assert_eq!(
        st.total_allocs,
        (THREADS * PER_ROUND) as u64 * ROUNDS + (2 * (PER_ROUND / 4)) as u64 * ROUNDS
    );
}
