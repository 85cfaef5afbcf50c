//! Size classes: the fixed set of object sizes small allocations are rounded up to.
//!
//! # Design
//!
//! The table is *generated at compile time* (`const fn`) by the rule of Go's
//! `mksizeclasses.go`, not copied from Go's output:
//!
//! 1. Candidate sizes step by an alignment that grows with the size: 8 B; 16 B from 32 B;
//!    `size / 8` from 128 B (so the step is at most 12.5 % of the size); 256 B from 2 KiB.
//! 2. Each candidate gets the smallest number of 8 KiB pages whose leftover tail (the part of
//!    the span no whole object fits in) is at most 1/8 of the span.
//! 3. A candidate with the same page count *and* the same object count as the previous class
//!    replaces that class (a larger size at no cost).
//! 4. Finally each class is raised to the largest multiple of 128 B that still gives the same
//!    object count in the same pages.
//!
//! The result is 68 classes (class 0 stands for "large": an object that gets a span of its own)
//! and equals Go's table row for row (tested against `tests/data/go-sizeclasses.tsv`).
//!
//! Data (all `const`, laid down in read-only memory):
//!
//! * `SIZES[c]`, `PAGES[c]`, `OBJECTS[c]`, `DIV_MAGIC[c]` — per class object size, span
//!   pages, objects per span, and the reciprocal used for division;
//! * `SIZE_TO_CLASS_8[⌈size / 8⌉]` for sizes ≤ 1024 B;
//! * `SIZE_TO_CLASS_128[⌈(size − 1024) / 128⌉]` for 1024 B < size ≤ 32 KiB.
//!
//! Size → class is therefore one table load ([`size_to_class`]), never a search. Dividing a
//! byte offset in a span by the object size is a multiply and a shift: `(offset · m) >> 32`
//! with `m = ⌈2³² / size⌉` ([`object_index`]); the unit tests check every byte offset of
//! every class's span.

/// Bytes in one allocator page (spans are whole runs of pages).
pub const PAGE_SIZE: usize = 8192;
/// `log2(PAGE_SIZE)`.
pub const PAGE_SHIFT: u32 = 13;
/// Largest request served from a size class; larger requests get a span of their own.
pub const MAX_SMALL_SIZE: usize = 32768;
/// Upper bound on the objects in one span (the 8 B class: 1024 per 8 KiB page).
pub const MAX_OBJECTS_PER_SPAN: usize = 1024;
/// Upper bound on the pages of a small-object span.
pub const MAX_SPAN_PAGES: usize = 10;
/// Largest alignment a small size class can guarantee (objects sit at `base + i · size`, and
/// span bases are page-aligned). Larger alignments are served as large objects.
pub const MAX_SMALL_ALIGN: usize = PAGE_SIZE;

const MIN_ALIGN: usize = 8;
const SMALL_SIZE_MAX: usize = 1024;
const SMALL_SIZE_DIV: usize = 8;
const LARGE_SIZE_DIV: usize = 128;
/// Capacity of the scratch arrays the generator works in (> the class count).
const CAP: usize = 128;

/// Output of the generator before it is cut to its real length.
struct Raw {
    sizes: [usize; CAP],
    pages: [usize; CAP],
    count: usize,
}

/// Go's class generator (steps 1–4 of the module docs).
const fn generate() -> Raw {
    let mut sizes = [0usize; CAP];
    let mut pages = [0usize; CAP];
    let mut count = 1; // class 0: large objects
    let mut align = MIN_ALIGN;
    let mut size = MIN_ALIGN;
    while size <= MAX_SMALL_SIZE {
        // 1. Bump the step once in a while.
        if size.is_power_of_two() {
            if size >= 2048 {
                align = 256;
            } else if size >= 128 {
                align = size / 8;
            } else if size >= 32 {
                align = 16;
            }
        }
        // 2. Enough pages that the tail is at most 1/8 of the span.
        let mut span = PAGE_SIZE;
        while span % size > span / 8 {
            span += PAGE_SIZE;
        }
        let npages = span / PAGE_SIZE;
        // 3. Same pages and same object count as the previous class: widen that class.
        if count > 1 && npages == pages[count - 1] && span / size == span / sizes[count - 1] {
            sizes[count - 1] = size;
        } else {
            sizes[count] = size;
            pages[count] = npages;
            count += 1;
        }
        size += align;
    }
    // 4. Raise each class to the largest multiple of 128 with the same object count.
    let mut c = 1;
    while c < count {
        let span = pages[c] * PAGE_SIZE;
        let raised = (span / (span / sizes[c])) & !(LARGE_SIZE_DIV - 1);
        if raised > sizes[c] {
            sizes[c] = raised;
        }
        c += 1;
    }
    Raw {
        sizes,
        pages,
        count,
    }
}

const RAW: Raw = generate();

/// Number of size classes, including class 0 (large objects).
pub const NUM_CLASSES: usize = RAW.count;

const _: () = assert!(NUM_CLASSES == 68, "the generator must give Go's 68 classes");

/// Per-class tables, cut to `NUM_CLASSES`.
struct Tables {
    sizes: [u32; NUM_CLASSES],
    pages: [u8; NUM_CLASSES],
    objects: [u16; NUM_CLASSES],
    div_magic: [u32; NUM_CLASSES],
    to_class_8: [u8; SMALL_SIZE_MAX / SMALL_SIZE_DIV + 1],
    to_class_128: [u8; (MAX_SMALL_SIZE - SMALL_SIZE_MAX) / LARGE_SIZE_DIV + 1],
}

const fn build_tables() -> Tables {
    let mut t = Tables {
        sizes: [0; NUM_CLASSES],
        pages: [0; NUM_CLASSES],
        objects: [0; NUM_CLASSES],
        div_magic: [0; NUM_CLASSES],
        to_class_8: [0; SMALL_SIZE_MAX / SMALL_SIZE_DIV + 1],
        to_class_128: [0; (MAX_SMALL_SIZE - SMALL_SIZE_MAX) / LARGE_SIZE_DIV + 1],
    };
    let mut c = 1;
    while c < NUM_CLASSES {
        let size = RAW.sizes[c];
        let span = RAW.pages[c] * PAGE_SIZE;
        assert!(size.is_multiple_of(MIN_ALIGN) && size <= MAX_SMALL_SIZE);
        assert!(span / size <= MAX_OBJECTS_PER_SPAN && RAW.pages[c] <= MAX_SPAN_PAGES);
        t.sizes[c] = size as u32;
        t.pages[c] = RAW.pages[c] as u8;
        t.objects[c] = (span / size) as u16;
        t.div_magic[c] = ((1u64 << 32).div_ceil(size as u64)) as u32;
        c += 1;
    }
    // Smallest class holding each size (class sizes are increasing).
    let mut i = 0;
    let mut c = 1;
    while i < t.to_class_8.len() {
        let size = i * SMALL_SIZE_DIV;
        while RAW.sizes[c] < size {
            c += 1;
        }
        t.to_class_8[i] = c as u8;
        i += 1;
    }
    let mut i = 0;
    let mut c = 1;
    while i < t.to_class_128.len() {
        let size = SMALL_SIZE_MAX + i * LARGE_SIZE_DIV;
        while RAW.sizes[c] < size {
            c += 1;
        }
        t.to_class_128[i] = c as u8;
        i += 1;
    }
    t
}

/// The tables behind a reference so that runtime indexing reads read-only memory.
const TABLES: &Tables = &build_tables();

/// The size class for a request of `size` bytes: the smallest class whose objects hold it.
///
/// Two table loads at most, no search. Returns 0 (large) for `size > MAX_SMALL_SIZE`; a
/// request of 0 bytes gets class 1.
#[inline]
pub const fn size_to_class(size: usize) -> u8 {
    if size <= SMALL_SIZE_MAX {
        TABLES.to_class_8[size.div_ceil(SMALL_SIZE_DIV)]
    } else if size <= MAX_SMALL_SIZE {
        TABLES.to_class_128[(size - SMALL_SIZE_MAX).div_ceil(LARGE_SIZE_DIV)]
    } else {
        0
    }
}

/// The smallest class whose object size is at least `size` and a multiple of `align`.
///
/// `align` must be a power of two. Every class is a multiple of 8, so `align ≤ 8` is just
/// [`size_to_class`]. Since span bases are page-aligned, a class whose size is a multiple of
/// `align ≤ PAGE_SIZE` aligns every object in it. Returns 0 (large: a page-aligned span of its
/// own) when no class fits, when `align > MAX_SMALL_ALIGN`, or when `align` is not a power of
/// two. Meant to be evaluated once per type in a `const`; it loops over at most 67 classes.
pub const fn class_for(size: usize, align: usize) -> u8 {
    if !align.is_power_of_two() || align > MAX_SMALL_ALIGN {
        return 0;
    }
    let mut c = size_to_class(size) as usize;
    if c == 0 {
        return 0;
    }
    while c < NUM_CLASSES {
        if (TABLES.sizes[c] as usize).is_multiple_of(align) {
            return c as u8;
        }
        c += 1;
    }
    0
}

/// Object (slot) size of class `c`; 0 for class 0 and for `c ≥ NUM_CLASSES`.
#[inline]
pub const fn class_size(c: u8) -> usize {
    if (c as usize) < NUM_CLASSES {
        TABLES.sizes[c as usize] as usize
    } else {
        0
    }
}

/// Pages in a span of class `c`; 0 for class 0 and for `c ≥ NUM_CLASSES`.
#[inline]
pub const fn class_pages(c: u8) -> usize {
    if (c as usize) < NUM_CLASSES {
        TABLES.pages[c as usize] as usize
    } else {
        0
    }
}

/// Objects in a span of class `c`; 0 for class 0 and for `c ≥ NUM_CLASSES`.
#[inline]
pub const fn class_objects(c: u8) -> usize {
    if (c as usize) < NUM_CLASSES {
        TABLES.objects[c as usize] as usize
    } else {
        0
    }
}

/// `⌈2³² / class_size(c)⌉`, the multiplier of [`object_index`]; 0 for class 0.
#[inline]
pub const fn class_div_magic(c: u8) -> u32 {
    if (c as usize) < NUM_CLASSES {
        TABLES.div_magic[c as usize]
    } else {
        0
    }
}

/// `offset / size` computed as `(offset · magic) >> 32`, where `magic` is
/// [`class_div_magic`] of the class of `size`. Exact for every `offset` inside a span of that
/// class (checked exhaustively by the tests).
#[inline(always)]
pub const fn object_index(offset: usize, magic: u32) -> usize {
    ((offset as u64 * magic as u64) >> 32) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_count_and_bounds() {
        assert_eq!(NUM_CLASSES, 68);
        assert_eq!(class_size(1), 8);
        assert_eq!(class_size(NUM_CLASSES as u8 - 1), MAX_SMALL_SIZE);
        assert_eq!(class_size(0), 0);
        assert_eq!(class_size(200), 0);
        for c in 2..NUM_CLASSES as u8 {
            assert!(
                class_size(c) > class_size(c - 1),
                "class {c} not increasing"
            );
        }
    }

    #[test]
    fn tail_waste_at_most_one_eighth() {
        for c in 1..NUM_CLASSES as u8 {
            let span = class_pages(c) * PAGE_SIZE;
            let tail = span - class_objects(c) * class_size(c);
            assert!(tail <= span / 8, "class {c}: tail {tail} of {span}");
            assert_eq!(class_objects(c), span / class_size(c));
        }
    }

    #[test]
    fn every_small_size_maps_to_the_smallest_fitting_class() {
        for size in 0..=MAX_SMALL_SIZE {
            let c = size_to_class(size);
            assert!(c >= 1, "size {size}");
            assert!(class_size(c) >= size, "size {size} does not fit class {c}");
            assert!(
                class_size(c - 1) < size.max(1),
                "size {size}: class {} also fits",
                c - 1
            );
        }
        assert_eq!(size_to_class(MAX_SMALL_SIZE + 1), 0);
        assert_eq!(size_to_class(usize::MAX), 0);
    }

    #[test]
    fn round_up_waste_bounded() {
        // From 128 B on the step rule alone would keep the round-up waste at most 1/8 of the
        // class size; the merge (rule 3) widens seven classes past that (768 → 896 B, for
        // example), as in Go, to at most 15.8 %. Below 128 B steps of 8 and 16 bytes apply.
        let mut over_one_eighth = Vec::new();
        for size in 128..=MAX_SMALL_SIZE {
            let c = size_to_class(size);
            let waste = class_size(c) - size;
            assert!(
                waste * 6 < class_size(c),
                "size {size}: class {} wastes {waste}",
                class_size(c)
            );
            if waste * 8 > class_size(c) && over_one_eighth.last() != Some(&c) {
                over_one_eighth.push(c);
            }
        }
        assert_eq!(over_one_eighth, [31, 37, 40, 44, 45, 51, 52]);
        for size in 1..128 {
            let c = size_to_class(size);
            assert!(
                class_size(c) - size < if size <= 32 { 8 } else { 16 },
                "size {size}"
            );
        }
    }

    #[test]
    fn div_magic_exact_for_every_offset() {
        for c in 1..NUM_CLASSES as u8 {
            let size = class_size(c);
            let magic = class_div_magic(c);
            let span = class_pages(c) * PAGE_SIZE;
            for offset in 0..span {
                assert_eq!(
                    object_index(offset, magic),
                    offset / size,
                    "class {c} (size {size}) offset {offset}"
                );
            }
        }
    }

    #[test]
    fn class_for_respects_alignment() {
        let mut align = 8;
        while align <= MAX_SMALL_ALIGN {
            for size in (1..=MAX_SMALL_SIZE).step_by(7) {
                let c = class_for(size, align);
                if c == 0 {
                    // Only when no class ≥ size is a multiple of align.
                    let first = size_to_class(size);
                    for k in first..NUM_CLASSES as u8 {
                        assert_ne!(class_size(k) % align, 0, "size {size} align {align}");
                    }
                    continue;
                }
                assert!(class_size(c) >= size);
                assert_eq!(class_size(c) % align, 0, "size {size} align {align}");
                for k in size_to_class(size)..c {
                    assert_ne!(class_size(k) % align, 0, "class {k} was smaller and fits");
                }
            }
            align *= 2;
        }
        assert_eq!(class_for(24, 8), size_to_class(24));
        assert_eq!(class_for(24, 1), size_to_class(24));
        assert_eq!(class_for(24, 16), size_to_class(32));
        assert_eq!(class_for(100, 3), 0);
        assert_eq!(class_for(100, 2 * PAGE_SIZE), 0);
        assert_eq!(class_for(MAX_SMALL_SIZE + 1, 8), 0);
        // Usable in a const, as the engine does.
        const C: u8 = class_for(48, 16);
        assert_eq!(class_size(C), 48);
    }
}
