//! binary-trees on every peer at the `ci` size (see `benches::workloads::binary_trees`).

use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let w = benches::workloads::Workload::BinaryTrees;
    support::bench_group(c, w.name(), &[w]);
}

mod support;

criterion_group!(group, bench);
criterion_main!(group);
