//! The scavenger returns free pages to the OS and released pages are reusable.
//!
//! Its own test binary (process RSS is shared by all tests in a binary), one test, one thread.

use std::sync::Arc;

use tricolor_alloc::{AllocConfig, Allocator, ThreadCache};

const MIB: usize = 1 << 20;

/// Resident set size of this process, from `/proc/self/statm`.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// Allocates `bytes` worth of objects of `size`, touching every 4 KiB of each, and returns them.
fn fill(cache: &mut ThreadCache, size: usize, bytes: usize, seed: u64) -> Vec<(usize, u64)> {
    (0..bytes / size)
        .map(|i| {
            let p = cache.alloc(size, 8).unwrap().as_ptr();
            let tag = seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            for off in (0..size).step_by(4096) {
                // SAFETY: `p` is a fresh object of `size` bytes.
                unsafe { p.add(off).cast::<u64>().write(tag ^ off as u64) };
            }
            (p as usize, tag)
        })
        .collect()
}

fn check(objs: &[(usize, u64)], size: usize) {
    for &(p, tag) in objs {
        for off in (0..size).step_by(4096) {
            // SAFETY: written by `fill`, still allocated.
            let v = unsafe { (p as *const u8).add(off).cast::<u64>().read() };
            assert_eq!(v, tag ^ off as u64);
        }
    }
}

#[test]
fn freed_pages_go_back_to_the_os_and_come_back_usable() {
    let heap = Arc::new(Allocator::new(AllocConfig::default()).unwrap());
    let mut cache = ThreadCache::new(heap.clone());
    let before = rss();

    // 384 MiB: 256 MiB of 4 KiB objects, 128 MiB of 1 MiB objects.
    let small = fill(&mut cache, 4096, 256 * MIB, 1);
    let large = fill(&mut cache, MIB, 128 * MIB, 2);
    check(&small, 4096);
    check(&large, MIB);
    let full = rss();
    assert!(
        full >= before + 370 * MIB,
        "touched 384 MiB: rss {before} -> {full}"
    );

    // Nothing marked: the sweep frees everything, but the pages stay resident.
    cache.release_all();
    heap.start_sweep();
    heap.finish_sweep();
    heap.check_invariants();
    let st = heap.stats();
    assert_eq!(st.objects_in_use, 0);
    assert_eq!(st.span_bytes, 0);
    assert!(st.idle_bytes - st.released_bytes >= 384 * MIB, "{st:?}");
    assert!(
        rss() >= before + 370 * MIB,
        "sweeping alone releases nothing"
    );

    // Keep 64 MiB backed, release the rest.
    let released = heap.scavenge(64 * MIB);
    let st = heap.stats();
    assert_eq!(st.idle_bytes - st.released_bytes, 64 * MIB, "{st:?}");
    assert!(released >= 320 * MIB);
    heap.check_invariants();
    let mid = rss();
    assert!(
        mid <= before + 64 * MIB + 32 * MIB,
        "rss {before} -> {full} -> {mid}"
    );

    let released_rest = heap.release_all_free();
    assert_eq!(released_rest, 64 * MIB);
    let st = heap.stats();
    assert_eq!(st.released_bytes, st.idle_bytes);
    assert_eq!(heap.scavenge(0), 0, "nothing left to release");
    let after = rss();
    assert!(
        after <= before + 32 * MIB,
        "rss {before} -> {full} -> {after}"
    );
    heap.check_invariants();

    // Released pages are handed out again; they read back as zero before we write them.
    let again = fill(&mut cache, MIB, 256 * MIB, 3);
    let obtained = heap.stats().obtained_bytes;
    assert_eq!(
        obtained,
        384 * MIB,
        "the first fill took exactly six 64 MiB arenas"
    );
    let used = heap.reservation().start..heap.reservation().start + obtained;
    assert!(
        again.iter().all(|&(p, _)| used.contains(&p)),
        "released pages reused, no growth"
    );
    check(&again, MIB);
    let fresh = cache.alloc(8 * MIB, 8).unwrap().as_ptr();
    // SAFETY: a fresh 8 MiB object; every page of it was released or never touched.
    let zero = unsafe { std::slice::from_raw_parts(fresh, 8 * MIB) }
        .iter()
        .all(|&b| b == 0);
    assert!(zero, "released memory reads as zero");
    assert_eq!(heap.stats().obtained_bytes, obtained, "no growth");
    cache.release_all();
    heap.check_invariants();
}
