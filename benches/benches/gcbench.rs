//! GCBench on every peer at the `ci` size (see `benches::workloads::gcbench`).

use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let w = benches::workloads::Workload::GcBench;
    support::bench_group(c, w.name(), &[w]);
}

mod support;

criterion_group!(group, bench);
criterion_main!(group);
