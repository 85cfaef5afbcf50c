//! churn on every peer at the `ci` size (see `benches::workloads::churn`).

use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let w = benches::workloads::Workload::Churn;
    support::bench_group(c, w.name(), &[w]);
}

mod support;

criterion_group!(group, bench);
criterion_main!(group);
