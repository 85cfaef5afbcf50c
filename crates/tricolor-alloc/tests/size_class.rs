//! The generated size classes against Go's table (`data/go-sizeclasses.tsv`, copied from the
//! project's reference notes).

use tricolor_alloc::size_class::{
    MAX_SMALL_SIZE, NUM_CLASSES, PAGE_SIZE, class_objects, class_pages, class_size, size_to_class,
};

const GO_TABLE: &str = include_str!("data/go-sizeclasses.tsv");

struct Row {
    class: u8,
    size: usize,
    span: usize,
    pages: usize,
    objects: usize,
    tail: usize,
    max_waste_pct: f64,
}

fn go_rows() -> Vec<Row> {
    GO_TABLE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("class") && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 7, "bad row {l:?}");
            Row {
                class: f[0].parse().unwrap(),
                size: f[1].parse().unwrap(),
                span: f[2].parse().unwrap(),
                pages: f[3].parse().unwrap(),
                objects: f[4].parse().unwrap(),
                tail: f[5].parse().unwrap(),
                max_waste_pct: f[6].parse().unwrap(),
            }
        })
        .collect()
}

#[test]
fn generated_table_equals_gos() {
    let rows = go_rows();
    assert_eq!(rows.len(), NUM_CLASSES - 1);
    for r in &rows {
        let c = r.class;
        assert_eq!(class_size(c), r.size, "class {c} size");
        assert_eq!(class_pages(c), r.pages, "class {c} pages");
        assert_eq!(class_pages(c) * PAGE_SIZE, r.span, "class {c} span bytes");
        assert_eq!(class_objects(c), r.objects, "class {c} objects");
        assert_eq!(r.span - r.objects * r.size, r.tail, "class {c} tail");
        // Go's "max waste": the worst request (one byte over the previous class) plus tail.
        let prev = class_size(c - 1);
        let waste = ((r.size - prev - 1) * r.objects + r.tail) as f64 / r.span as f64 * 100.0;
        assert!(
            (waste - r.max_waste_pct).abs() < 0.006,
            "class {c}: max waste {waste:.2}% vs Go's {}%",
            r.max_waste_pct
        );
    }
}

#[test]
fn worst_combined_waste_is_gos_bound() {
    // Round-up plus tail waste never exceeds Go's documented worst case (26.6 %, class 45
    // for a 4097-byte request is 16.65 % of the span; every request is below 26.6 % of its
    // slot for sizes from 128 B on).
    for size in 128..=MAX_SMALL_SIZE {
        let c = size_to_class(size);
        let span = class_pages(c) * PAGE_SIZE;
        let used = class_objects(c) * size;
        assert!(
            (span - used) * 1000 <= span * 266,
            "size {size}: {} of {span} wasted",
            span - used
        );
    }
}
