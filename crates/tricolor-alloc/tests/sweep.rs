//! Sweeping semantics, single-threaded: exactly the unmarked objects are freed, the free hook
//! sees each once, memory is reused, mark parities alternate, stale caches are swept on
//! release, allocate-black keeps new objects, stats add up.

use std::collections::HashSet;
use std::ptr::NonNull;
use std::sync::Arc;

use tricolor_alloc::size_class::{PAGE_SIZE, size_to_class};
use tricolor_alloc::sync::Mutex;
use tricolor_alloc::{AllocConfig, Allocator, ThreadCache};

/// Every address the free hook saw, from all allocators of this test binary.
static FREED: Mutex<Vec<usize>> = Mutex::new(Vec::new());

fn record(p: NonNull<u8>) {
    FREED.lock().unwrap().push(p.as_ptr() as usize);
}

/// Takes the hook calls for `heap`'s addresses out of `FREED`.
fn take_freed(heap: &Allocator) -> Vec<usize> {
    let range = heap.reservation();
    let mut all = FREED.lock().unwrap();
    let (mine, others): (Vec<usize>, Vec<usize>) = all.iter().partition(|a| range.contains(a));
    *all = others;
    mine
}

fn heap() -> Arc<Allocator> {
    Arc::new(
        Allocator::new(AllocConfig {
            max_heap_bytes: 1 << 30,
            free_hook: Some(record),
            ..AllocConfig::default()
        })
        .unwrap(),
    )
}

fn addrs(v: &[NonNull<u8>]) -> Vec<usize> {
    v.iter().map(|p| p.as_ptr() as usize).collect()
}

fn sorted(mut v: Vec<usize>) -> Vec<usize> {
    v.sort_unstable();
    v
}

#[test]
fn frees_exactly_the_unmarked_and_reuses_their_memory() {
    let heap = heap();
    let mut cache = ThreadCache::new(heap.clone());
    let objs: Vec<NonNull<u8>> = (0..1000).map(|_| cache.alloc(48, 8).unwrap()).collect();
    let parity = heap.mark_parity();
    let (keep, drop): (Vec<_>, Vec<_>) = objs.iter().enumerate().partition(|(i, _)| i % 3 == 0);
    let keep: Vec<NonNull<u8>> = keep.into_iter().map(|(_, p)| *p).collect();
    let drop: Vec<NonNull<u8>> = drop.into_iter().map(|(_, p)| *p).collect();
    for &p in &keep {
        assert_eq!(heap.mark(p, parity), Some(48));
    }
    cache.release_all();
    heap.check_invariants();
    let st = heap.stats();
    assert_eq!(st.objects_in_use, 1000);
    assert_eq!(st.in_use_bytes, 1000 * 48);
    heap.start_sweep();
    assert!(!heap.sweep_done());
    heap.finish_sweep();
    assert!(heap.sweep_done());
    heap.check_invariants();
    assert_eq!(sorted(take_freed(&heap)), sorted(addrs(&drop)));
    for &p in &keep {
        assert!(heap.is_allocated(p));
    }
    for &p in &drop {
        assert!(!heap.is_allocated(p));
    }
    let st = heap.stats();
    assert_eq!(st.objects_in_use, keep.len() as u64);
    assert_eq!(st.in_use_bytes, keep.len() * 48);
    assert_eq!(
        st.classes[size_to_class(48) as usize].frees,
        drop.len() as u64
    );
    // The freed slots are handed out again; the survivors are not.
    let dropped: HashSet<usize> = addrs(&drop).into_iter().collect();
    let kept: HashSet<usize> = addrs(&keep).into_iter().collect();
    let again: Vec<NonNull<u8>> = (0..drop.len())
        .map(|_| cache.alloc(48, 8).unwrap())
        .collect();
    for a in addrs(&again) {
        assert!(!kept.contains(&a), "a live object was handed out again");
    }
    assert!(
        addrs(&again).iter().all(|a| dropped.contains(a)),
        "freed slots reused first"
    );
    cache.release_all();
    heap.check_invariants();
}

#[test]
fn mark_parities_alternate_and_late_marks_do_not_leak() {
    let heap = heap();
    let mut cache = ThreadCache::new(heap.clone());
    let a = cache.alloc(16, 8).unwrap();
    let b = cache.alloc(16, 8).unwrap();
    cache.release_all();
    // Cycle 1 marks a and b.
    let p1 = heap.mark_parity();
    heap.mark(a, p1);
    heap.mark(b, p1);
    heap.start_sweep();
    heap.finish_sweep();
    assert!(take_freed(&heap).is_empty());
    let p2 = heap.mark_parity();
    assert_eq!(p2, p1 ^ 1, "parity flips every cycle");
    // A late, redundant mark of cycle 1 lands after its sweep.
    assert_eq!(
        heap.mark(a, p1),
        None,
        "still set: the sweep left mark[p1] alone"
    );
    // Cycle 2 marks only b: a must die although mark[p1] still has its bit.
    heap.mark(b, p2);
    heap.start_sweep();
    heap.finish_sweep();
    assert_eq!(take_freed(&heap), addrs(&[a]));
    // Cycle 3 marks into p1 again; the sweep of cycle 2 cleared it, so b must be re-marked.
    let p3 = heap.mark_parity();
    assert_eq!(p3, p1);
    assert!(
        !heap.is_marked(b, p3),
        "cycle 2's sweep cleared the bitmap cycle 3 marks into"
    );
    heap.start_sweep();
    heap.finish_sweep();
    assert_eq!(take_freed(&heap), addrs(&[b]));
    heap.check_invariants();
    assert_eq!(heap.stats().objects_in_use, 0);
    assert_eq!(
        heap.stats().spans_in_use,
        0,
        "the empty span went back to the page heap"
    );
}

#[test]
fn stale_cached_spans_are_queued_for_sweeping_on_release_and_black_allocation_survives() {
    let heap = heap();
    let mut cache = ThreadCache::new(heap.clone());
    let parity = heap.mark_parity();
    // 30 + 20 + 10 objects: all from the one 64-slot span the cache holds.
    let old: Vec<NonNull<u8>> = (0..30).map(|_| cache.alloc(128, 8).unwrap()).collect();
    heap.mark(old[7], parity);
    // Marking is on: new objects are allocated black, small and large.
    cache.set_allocate_black(Some(parity));
    let black: Vec<NonNull<u8>> = (0..20).map(|_| cache.alloc(128, 8).unwrap()).collect();
    let big = cache.alloc(3 * PAGE_SIZE, 8).unwrap();
    assert!(black.iter().all(|&p| heap.is_marked(p, parity)));
    assert!(heap.is_marked(big, parity));
    // The cycle ends while the cache still holds its span: it is "cached before the sweep".
    heap.start_sweep();
    heap.finish_sweep();
    assert!(heap.sweep_done(), "cached spans do not hold up the sweep");
    assert!(
        take_freed(&heap).is_empty(),
        "the cached span is not swept yet"
    );
    let during: Vec<NonNull<u8>> = (0..10).map(|_| cache.alloc(128, 8).unwrap()).collect();
    cache.release_all();
    cache.set_allocate_black(None);
    // Releasing does not sweep (the releasing thread may be a mutator in a handshake): the
    // span waits in its class's unswept set for the sweeper.
    assert!(
        take_freed(&heap).is_empty(),
        "not swept by the releasing thread"
    );
    assert!(
        !heap.sweep_done(),
        "the released stale span still needs sweeping"
    );
    heap.finish_sweep();
    assert!(heap.sweep_done());
    let mut expect: Vec<usize> = addrs(&old);
    expect.remove(7);
    assert_eq!(
        sorted(take_freed(&heap)),
        sorted(expect),
        "swept once, by the sweeper"
    );
    heap.finish_sweep();
    assert!(take_freed(&heap).is_empty(), "never swept twice");
    for &p in black.iter().chain(&during).chain([&old[7], &big]) {
        assert!(heap.is_allocated(p));
    }
    heap.check_invariants();
    assert_eq!(heap.stats().objects_in_use, 20 + 10 + 1 + 1);
}

#[test]
fn lazy_sweeping_by_refill_and_background_sweep_one() {
    let heap = heap();
    let mut cache = ThreadCache::new(heap.clone());
    // Ten spans of 64-byte objects (128 per span); keep every 10th object.
    let objs: Vec<NonNull<u8>> = (0..1280).map(|_| cache.alloc(64, 8).unwrap()).collect();
    let parity = heap.mark_parity();
    for p in objs.iter().step_by(10) {
        heap.mark(*p, parity);
    }
    cache.release_all();
    heap.start_sweep();
    // Refill sweeps one unswept span and allocates from it.
    let p = cache.alloc(64, 8).unwrap();
    let freed = take_freed(&heap);
    assert!(
        !freed.is_empty() && freed.len() < 1280 - 128,
        "one span swept: {}",
        freed.len()
    );
    assert!(
        freed.contains(&(p.as_ptr() as usize)),
        "allocated from the span it swept"
    );
    let mut swept = 0;
    while let Some(pages) = heap.sweep_one() {
        assert_eq!(pages, 1);
        swept += 1;
    }
    assert_eq!(swept, 9);
    assert!(heap.sweep_done());
    assert_eq!(freed.len() + take_freed(&heap).len(), 1280 - 128);
    cache.release_all();
    heap.check_invariants();
    assert_eq!(heap.stats().objects_in_use, 128 + 1);
}

#[test]
fn for_each_allocated_sees_every_live_object() {
    let heap = heap();
    let mut cache = ThreadCache::new(heap.clone());
    let mut objs: Vec<usize> = Vec::new();
    for size in [8, 100, 1000, 5000, 30000, 40000, 300_000] {
        for _ in 0..20 {
            objs.push(cache.alloc(size, 8).unwrap().as_ptr() as usize);
        }
    }
    // Unswept garbage counts too (teardown runs the drop glue of everything not yet freed).
    cache.release_all();
    let mut seen = Vec::new();
    heap.for_each_allocated(|p| seen.push(p.as_ptr() as usize));
    assert_eq!(sorted(seen), sorted(objs.clone()));
    heap.start_sweep();
    heap.finish_sweep();
    let mut seen = Vec::new();
    heap.for_each_allocated(|p| seen.push(p.as_ptr() as usize));
    assert!(seen.is_empty());
    assert_eq!(take_freed(&heap).len(), objs.len());
    heap.check_invariants();
}

#[test]
fn dropping_the_allocator_unmaps_with_objects_live() {
    let heap = heap();
    let mut cache = ThreadCache::new(heap.clone());
    for _ in 0..10_000 {
        cache.alloc(24, 8).unwrap();
    }
    cache.alloc(1 << 20, 8).unwrap();
    drop(cache);
    assert_eq!(Arc::strong_count(&heap), 1);
    drop(heap);
}

#[test]
fn allocating_black_marks_exactly_the_objects_handed_out() {
    let heap = heap();
    let mut cache = ThreadCache::new(heap.clone());
    let parity = heap.mark_parity();
    // A fresh span of 48-byte slots: 10 white objects, then 100 black ones across a bitmap word
    // boundary (slots 10..110).
    let white: Vec<NonNull<u8>> = (0..10).map(|_| cache.alloc(48, 8).unwrap()).collect();
    let base = white[0].as_ptr() as usize;
    let nelems = PAGE_SIZE / 48;
    let slot = |i: usize| NonNull::new((base + i * 48) as *mut u8).unwrap();
    cache.set_allocate_black(Some(parity));
    let black: Vec<NonNull<u8>> = (0..100).map(|_| cache.alloc(48, 8).unwrap()).collect();
    assert_eq!(
        addrs(&black),
        (10..110).map(|i| base + i * 48).collect::<Vec<_>>()
    );
    assert!(black.iter().all(|&p| heap.is_marked(p, parity)));
    assert!(white.iter().all(|&p| !heap.is_marked(p, parity)));
    // Stopping clears the marks of the slots set ahead and not handed out.
    cache.set_allocate_black(None);
    let marked = |upto: usize| {
        (0..nelems)
            .filter(|&i| heap.is_marked(slot(i), parity))
            .collect::<Vec<_>>()
            == (10..upto).collect::<Vec<_>>()
    };
    assert!(marked(110), "exactly the black objects are marked");
    // White allocation marks nothing; black again, then the span is released while black.
    let more_white = cache.alloc(48, 8).unwrap();
    assert_eq!(more_white.as_ptr() as usize, base + 110 * 48);
    cache.set_allocate_black(Some(parity));
    let more_black: Vec<NonNull<u8>> = (0..5).map(|_| cache.alloc(48, 8).unwrap()).collect();
    assert!(more_black.iter().all(|&p| heap.is_marked(p, parity)));
    cache.release_all();
    cache.set_allocate_black(None);
    assert!(
        (0..nelems)
            .filter(|&i| heap.is_marked(slot(i), parity))
            .eq((10..110).chain(111..116)),
        "releasing the span clears the marks set ahead"
    );
    heap.check_invariants();
    // The sweep frees exactly the white objects.
    heap.start_sweep();
    heap.finish_sweep();
    let mut expect = addrs(&white);
    expect.push(more_white.as_ptr() as usize);
    assert_eq!(sorted(take_freed(&heap)), sorted(expect));
    for &p in black.iter().chain(&more_black) {
        assert!(heap.is_allocated(p));
    }
    heap.check_invariants();
}
