//! Heap growth across arenas, and running out of the reservation.

use std::sync::Arc;

use tricolor_alloc::size_class::PAGE_SIZE;
use tricolor_alloc::{AllocConfig, AllocError, Allocator, ThreadCache};

const ARENA: usize = 256 << 10; // 32 pages

fn small_heap(max: usize) -> Arc<Allocator> {
    Arc::new(
        Allocator::new(AllocConfig {
            max_heap_bytes: max,
            arena_bytes: ARENA,
            ..AllocConfig::default()
        })
        .unwrap(),
    )
}

#[test]
fn grows_beyond_one_arena_and_fails_cleanly_at_the_end() {
    let heap = small_heap(16 * ARENA);
    assert_eq!(heap.stats().reserved_bytes, 16 * ARENA);
    let mut cache = ThreadCache::new(heap.clone());
    let mut objs = Vec::new();
    let err = loop {
        match cache.alloc(1000, 8) {
            Ok(p) => {
                // SAFETY: a fresh 1000-byte object (slot 1024) we own.
                unsafe { p.as_ptr().cast::<u64>().write(objs.len() as u64) };
                objs.push(p);
            }
            Err(e) => break e,
        }
    };
    assert!(matches!(err, AllocError::OutOfMemory), "{err}");
    // 16 arenas of 32 one-page spans of 8 objects.
    assert_eq!(objs.len(), 16 * 32 * 8);
    let st = heap.stats();
    assert_eq!(st.obtained_bytes, 16 * ARENA);
    assert_eq!(st.idle_bytes, 0);
    // Objects in different arenas all look up, and hold what was written.
    for (i, p) in objs.iter().enumerate() {
        assert_eq!(heap.object_base(p.as_ptr() as usize + 999), Some(*p));
        // SAFETY: written above.
        assert_eq!(unsafe { p.as_ptr().cast::<u64>().read() }, i as u64);
    }
    // Large objects fail too, without crashing; the allocator stays usable after a sweep.
    assert!(matches!(
        cache.alloc(10 * PAGE_SIZE, 8),
        Err(AllocError::OutOfMemory)
    ));
    cache.release_all();
    heap.check_invariants();
    heap.start_sweep();
    heap.finish_sweep();
    heap.check_invariants();
    assert_eq!(heap.stats().idle_bytes, 16 * ARENA);
    let big = cache
        .alloc(16 * ARENA - PAGE_SIZE, 8)
        .expect("all pages free again");
    assert_eq!(
        heap.object_base(big.as_ptr() as usize + ARENA * 3),
        Some(big),
        "spans arenas"
    );
    assert!(matches!(
        cache.alloc(16 * ARENA, 8),
        Err(AllocError::OutOfMemory)
    ));
    assert!(matches!(
        cache.alloc(17 * ARENA, 8),
        Err(AllocError::TooLarge { .. })
    ));
    cache.release_all();
    heap.check_invariants();
}

#[test]
fn large_object_bigger_than_an_arena() {
    let heap = small_heap(64 * ARENA);
    let mut cache = ThreadCache::new(heap.clone());
    let small = cache.alloc(16, 8).unwrap();
    let size = 5 * ARENA + 123;
    let p = cache.alloc(size, 8).unwrap();
    // SAFETY: a fresh object of `size` bytes.
    unsafe {
        p.as_ptr().write_bytes(0xab, size);
        assert_eq!(*p.as_ptr().add(size - 1), 0xab);
    }
    assert_eq!(heap.object_base(p.as_ptr() as usize + size - 1), Some(p));
    assert_eq!(heap.object_base(small.as_ptr() as usize), Some(small));
    cache.release_all();
    heap.check_invariants();
    // 1 + 5 arenas: the large span starts in the free tail of the first one.
    assert_eq!(heap.stats().obtained_bytes, 6 * ARENA);
}

#[test]
fn invalid_configs_are_rejected() {
    for config in [
        AllocConfig {
            arena_bytes: 3 * PAGE_SIZE,
            ..AllocConfig::default()
        },
        AllocConfig {
            arena_bytes: 4096,
            ..AllocConfig::default()
        },
        AllocConfig {
            max_heap_bytes: ARENA - 1,
            arena_bytes: ARENA,
            ..AllocConfig::default()
        },
    ] {
        assert!(matches!(
            Allocator::new(config),
            Err(AllocError::InvalidConfig(_))
        ));
    }
}

#[test]
fn several_allocators_in_one_process() {
    let a = small_heap(8 * ARENA);
    let b = small_heap(8 * ARENA);
    let (mut ca, mut cb) = (ThreadCache::new(a.clone()), ThreadCache::new(b.clone()));
    let pa = ca.alloc(32, 8).unwrap();
    let pb = cb.alloc(32, 8).unwrap();
    assert!(a.reservation().contains(&(pa.as_ptr() as usize)));
    assert!(b.reservation().contains(&(pb.as_ptr() as usize)));
    assert_eq!(a.object_base(pb.as_ptr() as usize), None);
    assert_eq!(b.object_base(pa.as_ptr() as usize), None);
}

#[test]
fn reservation_falls_back_to_smaller_sizes() {
    // 4 PiB cannot be mapped on a 47-bit address space; halving finds something that can.
    let heap = Allocator::new(AllocConfig {
        max_heap_bytes: 1 << 52,
        arena_bytes: 1 << 30,
        ..AllocConfig::default()
    })
    .expect("some halving of 4 PiB fits");
    let reserved = heap.stats().reserved_bytes;
    assert!(
        (1 << 30..1 << 52).contains(&reserved),
        "reserved {reserved}"
    );
    assert!(reserved.is_power_of_two());
    // With no fallback allowed it fails cleanly.
    let err = Allocator::new(AllocConfig {
        max_heap_bytes: 1 << 52,
        min_reservation_bytes: 1 << 52,
        arena_bytes: 1 << 30,
        ..AllocConfig::default()
    })
    .unwrap_err();
    assert!(matches!(err, AllocError::Reserve { .. }), "{err}");
    assert!(std::error::Error::source(&err).is_some());
}

/// Sweeps everything without `finish_sweep` (which would release the kept spans).
fn sweep_in_background(heap: &Allocator) {
    heap.start_sweep();
    while heap.sweep_one().is_some() {}
    assert!(heap.sweep_done());
}

#[test]
fn empty_spans_stay_with_their_class_until_released_and_never_block_growth() {
    let heap = small_heap(4 * ARENA);
    let mut cache = ThreadCache::new(heap.clone());
    let fill = |cache: &mut ThreadCache| {
        let mut n = 0usize;
        while cache.alloc(1000, 8).is_ok() {
            n += 1;
        }
        n
    };
    // The whole reservation in 1000-byte objects, none marked.
    let n = fill(&mut cache);
    assert_eq!(n, 4 * 32 * 8);
    cache.release_all();
    sweep_in_background(&heap);
    let st = heap.stats();
    assert_eq!(st.objects_in_use, 0);
    assert_eq!(
        st.span_bytes,
        4 * ARENA,
        "emptied spans are kept for their class"
    );
    assert_eq!(st.idle_bytes, 0);

    // The class refills from its kept spans: the page heap is not touched.
    assert_eq!(fill(&mut cache), n, "every kept span is reused");
    assert_eq!(heap.stats().span_bytes, 4 * ARENA);
    cache.release_all();
    sweep_in_background(&heap);
    assert_eq!(
        heap.stats().span_bytes,
        4 * ARENA,
        "used again, so kept again"
    );
    // A sweep that finds a kept span still untouched gives it back.
    sweep_in_background(&heap);
    let st = heap.stats();
    assert_eq!((st.span_bytes, st.idle_bytes), (0, 4 * ARENA));
    assert_eq!(fill(&mut cache), n);
    cache.release_all();
    sweep_in_background(&heap);
    assert_eq!(heap.stats().span_bytes, 4 * ARENA);

    // An allocation the page heap cannot serve releases the kept spans instead of failing.
    cache
        .alloc(4 * ARENA - PAGE_SIZE, 8)
        .expect("kept spans are released for a large object");
    assert_eq!(heap.stats().span_bytes, 4 * ARENA - PAGE_SIZE);
    cache.release_all();
    heap.check_invariants();

    // `finish_sweep` releases what a sweep kept.
    sweep_in_background(&heap);
    assert_eq!(heap.stats().span_bytes, 0, "the large object was unmarked");
    assert_eq!(
        fill(&mut cache),
        n,
        "the large object's pages serve the class again"
    );
    cache.release_all();
    heap.start_sweep();
    heap.finish_sweep();
    let st = heap.stats();
    assert_eq!(
        st.span_bytes, 0,
        "finish_sweep returns kept spans to the page heap"
    );
    assert_eq!(st.idle_bytes, 4 * ARENA);
    assert_eq!(heap.release_empty_spans(), 0);
    heap.check_invariants();
}
