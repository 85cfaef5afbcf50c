//! `AllocConfig::huge_pages` advises the kernel (`MADV_HUGEPAGE`) on the heap's reservation,
//! and only then: checked in the mapping's `VmFlags` (`hg`) in `/proc/self/smaps`.
#![cfg(target_os = "linux")]

use std::sync::Arc;

use tricolor_alloc::{AllocConfig, Allocator, ThreadCache};

/// Whether this kernel has transparent huge pages enabled in some mode.
fn thp_available() -> bool {
    std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .is_ok_and(|s| !s.contains("[never]"))
}

/// The `VmFlags` line of the mapping in `/proc/self/smaps` that contains `addr`.
fn vm_flags(addr: usize) -> String {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
    let mut inside = false;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((lo, hi)) = first.split_once('-')
            && let (Ok(lo), Ok(hi)) = (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
        {
            inside = (lo..hi).contains(&addr);
            continue;
        }
        if inside && let Some(flags) = line.strip_prefix("VmFlags:") {
            return flags.to_string();
        }
    }
    panic!("no mapping of {addr:#x} in /proc/self/smaps");
}

/// The `VmFlags` of the mapping holding an object of a fresh heap configured with `huge_pages`.
fn flags_with(huge_pages: bool) -> String {
    let heap = Arc::new(
        Allocator::new(AllocConfig {
            max_heap_bytes: 1 << 30,
            huge_pages,
            ..AllocConfig::default()
        })
        .unwrap(),
    );
    let mut cache = ThreadCache::new(heap.clone());
    let p = cache.alloc_slow(1).unwrap();
    let flags = vm_flags(p.as_ptr() as usize);
    drop(cache);
    flags
}

#[test]
fn huge_pages_are_advised_only_when_configured() {
    if !thp_available() {
        eprintln!("skipped: no transparent huge pages on this kernel");
        return;
    }
    let on = flags_with(true);
    assert!(
        on.split_whitespace().any(|f| f == "hg"),
        "huge_pages: true, but the heap mapping's VmFlags lack hg:{on}"
    );
    let off = flags_with(false);
    assert!(
        !off.split_whitespace().any(|f| f == "hg"),
        "huge_pages: false, but the heap mapping's VmFlags have hg:{off}"
    );
}
