//! Large objects: allocation, alignment, freeing by sweep, coalescing in the page heap.

use std::ptr::NonNull;
use std::sync::Arc;

use tricolor_alloc::size_class::{MAX_SMALL_SIZE, PAGE_SIZE};
use tricolor_alloc::sync::Mutex;
use tricolor_alloc::{AllocConfig, AllocError, Allocator, ThreadCache};

static FREED: Mutex<Vec<usize>> = Mutex::new(Vec::new());

fn record(p: NonNull<u8>) {
    FREED.lock().unwrap().push(p.as_ptr() as usize);
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

#[test]
fn large_objects_are_page_aligned_freed_by_sweep_and_coalesced() {
    let heap = heap();
    let mut cache = ThreadCache::new(heap.clone());
    let sizes = [
        MAX_SMALL_SIZE + 1,
        40_000,
        64 << 10,
        100_000,
        1 << 20,
        5 * PAGE_SIZE + 1,
    ];
    let objs: Vec<NonNull<u8>> = sizes.iter().map(|&s| cache.alloc(s, 8).unwrap()).collect();
    let mut pages = 0;
    for (&p, &size) in objs.iter().zip(&sizes) {
        assert_eq!(p.as_ptr() as usize % PAGE_SIZE, 0);
        // SAFETY: a fresh object of `size` bytes.
        unsafe { p.as_ptr().write_bytes(0x5a, size) };
        pages += size.div_ceil(PAGE_SIZE);
    }
    for w in objs.windows(2) {
        assert_ne!(w[0], w[1]);
    }
    let st = heap.stats();
    assert_eq!(st.large_objects_in_use, sizes.len() as u64);
    assert_eq!(st.large_bytes_in_use, pages * PAGE_SIZE);
    assert_eq!(st.in_use_bytes, pages * PAGE_SIZE);
    assert_eq!(st.span_bytes, pages * PAGE_SIZE);
    heap.check_invariants();

    // Keep objects 1 and 4; the rest are freed by the sweep.
    let parity = heap.mark_parity();
    heap.mark(objs[1], parity);
    heap.mark(
        NonNull::new(objs[4].as_ptr().wrapping_add(12345)).unwrap(),
        parity,
    );
    heap.start_sweep();
    heap.finish_sweep();
    let mut freed = std::mem::take(&mut *FREED.lock().unwrap());
    freed.sort_unstable();
    let mut expect: Vec<usize> = [0, 2, 3, 5]
        .iter()
        .map(|&i| objs[i].as_ptr() as usize)
        .collect();
    expect.sort_unstable();
    assert_eq!(freed, expect);
    let st = heap.stats();
    assert_eq!(st.large_objects_in_use, 2);
    assert_eq!(st.large_frees, 4);
    let kept = 40_000usize.div_ceil(PAGE_SIZE) + (1 << 20) / PAGE_SIZE;
    assert_eq!(st.large_bytes_in_use, kept * PAGE_SIZE);
    assert_eq!(heap.object_base(objs[0].as_ptr() as usize), None);
    heap.check_invariants();

    // Next cycle: nothing marked; everything goes and the pages coalesce into one free run,
    // big enough for an object of all of them at once.
    heap.start_sweep();
    heap.finish_sweep();
    heap.check_invariants();
    let st = heap.stats();
    assert_eq!(st.large_objects_in_use, 0);
    assert_eq!(st.span_bytes, 0);
    assert_eq!(st.idle_bytes, st.obtained_bytes);
    let obtained = st.obtained_bytes;
    let all = cache.alloc(obtained, 8).unwrap();
    assert_eq!(
        heap.stats().obtained_bytes,
        obtained,
        "reused the coalesced run, no growth"
    );
    assert_eq!(
        heap.object_base(all.as_ptr() as usize + obtained - 1),
        Some(all)
    );
}

#[test]
fn large_alignments() {
    let heap = heap();
    let mut cache = ThreadCache::new(heap.clone());
    let _pad = cache.alloc(40_000, 8).unwrap();
    for align in [PAGE_SIZE, 2 * PAGE_SIZE, 1 << 20, 16 << 20] {
        let p = cache.alloc(50_000, align).unwrap();
        assert_eq!(p.as_ptr() as usize % align, 0, "align {align}");
        assert_eq!(heap.object_base(p.as_ptr() as usize + 49_999), Some(p));
    }
    // Small sizes with a big alignment become class sizes that are multiples of it, or large.
    let p = cache.alloc(100, 4096).unwrap();
    assert_eq!(p.as_ptr() as usize % 4096, 0);
    let p = cache.alloc(100, 16384).unwrap();
    assert_eq!(p.as_ptr() as usize % 16384, 0);
    assert!(matches!(
        cache.alloc(8, 3),
        Err(AllocError::InvalidAlignment { align: 3 })
    ));
    assert!(matches!(
        cache.alloc(8, 128 << 20),
        Err(AllocError::InvalidAlignment { .. })
    ));
    cache.release_all();
    heap.check_invariants();
}
