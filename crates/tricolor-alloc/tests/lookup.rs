//! Address → span → object lookups for every class and for large objects.

use std::ptr::NonNull;
use std::sync::Arc;

use tricolor_alloc::size_class::{NUM_CLASSES, PAGE_SIZE, class_objects, class_size};
use tricolor_alloc::{AllocConfig, Allocator, ThreadCache};

fn heap() -> Arc<Allocator> {
    Arc::new(
        Allocator::new(AllocConfig {
            max_heap_bytes: 4 << 30,
            ..AllocConfig::default()
        })
        .unwrap(),
    )
}

/// An object of `class` from `cache`, through the fast path or, when its span is used up, the
/// slow one.
fn alloc_small(cache: &mut ThreadCache, class: u8) -> NonNull<u8> {
    match cache.alloc_fast(class) {
        Some(p) => p,
        None => cache.alloc_slow(class).unwrap(),
    }
}

#[test]
fn interior_pointers_map_to_their_slot_base_in_every_class() {
    let heap = heap();
    let mut cache = ThreadCache::new(heap.clone());
    let parity = heap.mark_parity();
    for class in 1..NUM_CLASSES as u8 {
        let size = class_size(class);
        // More than one span's worth, so lookups cross spans.
        let n = class_objects(class) + 3;
        let objs: Vec<NonNull<u8>> = (0..n).map(|_| alloc_small(&mut cache, class)).collect();
        for &p in &objs {
            let base = p.as_ptr() as usize;
            assert_eq!(base % 8, 0);
            for off in [0, 1, size / 2, size - 8, size - 1] {
                assert_eq!(
                    heap.object_base(base + off),
                    Some(p),
                    "class {class} off {off}"
                );
            }
            assert_eq!(heap.object_size(p), Some(size));
            let span = heap.span_of(base).expect("span");
            assert_eq!(span.class(), class);
            assert!(span.base() <= base && base + size <= span.base() + span.npages() * PAGE_SIZE);
            assert!(!heap.is_marked(p, parity));
        }
        // Interior-pointer marking marks the containing object exactly once.
        let p = objs[n / 2];
        assert_eq!(
            heap.mark(
                NonNull::new(p.as_ptr().wrapping_add(size - 1)).unwrap(),
                parity
            ),
            Some(size)
        );
        assert_eq!(heap.mark(p, parity), None);
        assert!(heap.is_marked(p, parity));
        assert!(!heap.is_marked(p, parity ^ 1));
        assert!(!heap.is_marked(objs[n / 2 - 1], parity));
    }
    // Addresses outside in-use spans.
    let r = heap.reservation();
    assert_eq!(heap.object_base(0), None);
    assert_eq!(heap.object_base(r.start - 1), None);
    assert_eq!(heap.object_base(r.end), None);
    assert_eq!(heap.object_base(r.end - 8), None, "inactive arena");
    // The tail past the last slot of a 24-byte span (341 slots, 8 bytes of tail).
    let p = cache.alloc(24, 8).unwrap();
    let span = heap.span_of(p.as_ptr() as usize).unwrap();
    assert_eq!(heap.object_base(span.base() + 341 * 24), None);
    assert_eq!(
        heap.object_base(span.base() + 341 * 24 - 1)
            .map(|p| p.as_ptr() as usize),
        Some(span.base() + 340 * 24)
    );
    cache.release_all();
    heap.check_invariants();
}

#[test]
fn is_allocated_after_release() {
    let heap = heap();
    let mut cache = ThreadCache::new(heap.clone());
    let a = cache.alloc(64, 8).unwrap();
    cache.release_all();
    assert!(heap.is_allocated(a));
    let span = heap.span_of(a.as_ptr() as usize).unwrap();
    let next = span.base() + 64 * (span.alloc_count());
    assert!(!heap.is_allocated(NonNull::new(next as *mut u8).unwrap()));
    heap.check_invariants();
}

#[test]
fn large_object_lookups() {
    let heap = heap();
    let mut cache = ThreadCache::new(heap.clone());
    let size = 100_000;
    let p = cache.alloc(size, 8).unwrap();
    let base = p.as_ptr() as usize;
    assert_eq!(base % PAGE_SIZE, 0);
    let slot = size.div_ceil(PAGE_SIZE) * PAGE_SIZE;
    assert_eq!(heap.object_size(p), Some(slot));
    for off in [0, 1, PAGE_SIZE, size - 1, slot - 1] {
        assert_eq!(heap.object_base(base + off), Some(p), "offset {off}");
    }
    assert_eq!(heap.object_base(base + slot), None);
    assert!(heap.is_allocated(p));
    let parity = heap.mark_parity();
    assert_eq!(
        heap.mark(
            NonNull::new(p.as_ptr().wrapping_add(50_000)).unwrap(),
            parity
        ),
        Some(slot)
    );
    assert_eq!(heap.mark(p, parity), None);
    heap.check_invariants();
}

#[test]
fn span_hints_skip_the_lookup_only_inside_their_span() {
    use tricolor_alloc::SpanHint;

    let heap = heap();
    let mut cache = ThreadCache::new(heap.clone());
    let parity = heap.mark_parity();
    // Two classes, so the objects are in different spans; two spans' worth of the first, so
    // its objects cross a span boundary too.
    let (a, b) = (1u8, 5u8);
    let mut alloc = |class: u8, n: usize| -> Vec<NonNull<u8>> {
        (0..n).map(|_| alloc_small(&mut cache, class)).collect()
    };
    let xs = alloc(a, 2 * class_objects(a));
    let ys = alloc(b, 4);
    let span_of = |p: NonNull<u8>| heap.span_of(p.as_ptr() as usize).unwrap() as *const _;
    let mut hint = SpanHint::EMPTY;
    let mut marked = Vec::new();
    // Mark every other object, alternating between the classes and walking `xs` across its
    // span boundary: each mark goes through the hint left by the previous one.
    for (i, &x) in xs.iter().enumerate().step_by(2) {
        let y = ys[i / 2 % ys.len()];
        for p in [x, y] {
            // SAFETY: `p` is allocated (in an in-use span); no span has been freed since the
            // hint was taken (nothing was swept).
            let site = unsafe { heap.mark_site_hinted(p, &hint) };
            // SAFETY: `site` was just looked up for `p`, which is still allocated.
            let newly = unsafe { heap.mark_site(site, parity, &mut hint) };
            assert_eq!(newly.is_some(), !marked.contains(&p), "object {i}");
            marked.push(p);
            assert!(heap.is_marked(p, parity));
            // The hint now names `p`'s span: an object of that span is found through it.
            // SAFETY: as above.
            let again = unsafe { heap.mark_site_hinted(p, &hint) };
            // SAFETY: as above.
            assert_eq!(unsafe { heap.mark_site(again, parity, &mut hint) }, None);
        }
    }
    // Exactly the marked objects are marked: no hint put a bit into the wrong span.
    for p in xs.iter().chain(&ys) {
        assert_eq!(heap.is_marked(*p, parity), marked.contains(p), "{p:p}");
    }
    // The walk crossed from one span of `a` to another.
    assert_ne!(span_of(xs[0]), span_of(*xs.last().unwrap()));
}

#[test]
fn gathered_marks_are_set_once_per_word_and_report_exactly_the_newly_marked() {
    use tricolor_alloc::{MarkWord, SpanHint};

    let heap = heap();
    let mut cache = ThreadCache::new(heap.clone());
    let parity = heap.mark_parity();
    let class = 2u8;
    let size = class_size(class);
    // Three spans' worth, so the walk crosses bitmap words and spans.
    let objs: Vec<NonNull<u8>> = (0..3 * class_objects(class))
        .map(|_| alloc_small(&mut cache, class))
        .collect();
    // Some objects are marked already (as if by another thread).
    for p in objs.iter().step_by(5) {
        heap.mark(*p, parity);
    }
    let (mut hint, mut pending) = (SpanHint::EMPTY, MarkWord::EMPTY);
    let mut reported = Vec::new();
    // Every third object, each twice in a row (a duplicate edge).
    for p in objs.iter().step_by(3).flat_map(|p| [*p, *p]) {
        // SAFETY: `p` is allocated; nothing is swept during the walk, so `hint` and `pending`
        // stay valid.
        let flushed = unsafe {
            let site = heap.mark_site_hinted(p, &hint);
            heap.mark_site_gathered(site, parity, &mut hint, &mut pending)
        };
        reported.extend(flushed.into_iter().flatten());
        // Gathered bits are not set before the flush.
        if !pending.is_empty() && (objs.iter().position(|q| *q == p).unwrap() % 5 != 0) {
            assert!(
                !heap.is_marked(p, parity),
                "set before its word was flushed"
            );
        }
    }
    // SAFETY: as above.
    reported.extend(
        unsafe { heap.flush_mark_word(&mut pending, parity) }
            .into_iter()
            .flatten(),
    );
    assert!(pending.is_empty());
    let expected: Vec<(NonNull<u8>, usize)> = objs
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 0 && i % 5 != 0)
        .map(|(_, p)| (*p, size))
        .collect();
    assert_eq!(
        reported, expected,
        "each newly marked object once, in order"
    );
    for (i, p) in objs.iter().enumerate() {
        assert_eq!(
            heap.is_marked(*p, parity),
            i % 3 == 0 || i % 5 == 0,
            "object {i}"
        );
    }
}

#[test]
fn flushed_marks_say_whether_their_span_ever_held_an_object_to_scan() {
    use tricolor_alloc::{MarkWord, SpanHint};

    let heap = heap();
    let mut cache = ThreadCache::new(heap.clone());
    let parity = heap.mark_parity();
    let class = 2u8;
    let size = class_size(class);
    // Five leaves; then one object with pointers in the same span; then five more leaves.
    let leaves: Vec<NonNull<u8>> = (0..5).map(|_| alloc_small(&mut cache, class)).collect();
    let flush = |objs: &[NonNull<u8>]| {
        let (mut hint, mut pending) = (SpanHint::EMPTY, MarkWord::EMPTY);
        let mut out = Vec::new();
        for &p in objs {
            // SAFETY: `p` is allocated; nothing is swept during the walk.
            let flushed = unsafe {
                let site = heap.mark_site_hinted(p, &hint);
                heap.mark_site_gathered(site, parity, &mut hint, &mut pending)
            };
            out.extend(flushed);
        }
        // SAFETY: as above.
        out.extend(unsafe { heap.flush_mark_word(&mut pending, parity) });
        out
    };
    let first = flush(&leaves[..3]);
    assert_eq!(first.len(), 1, "one word");
    assert!(!first[0].may_hold_pointers(), "a span of leaves only");
    assert_eq!(first[0].bytes(), 3 * size);
    assert_eq!(first[0].clone().count(), 3);
    let _scanned = alloc_small(&mut cache, class);
    cache.note_needs_scan(class);
    let second = flush(&leaves[3..]);
    assert!(
        second[0].may_hold_pointers(),
        "once an object with pointers was allocated in the span, all its objects are scanned"
    );
    assert_eq!(second[0].bytes(), 2 * size);
    cache.release_all();
}
