//! multi-thread churn (1 and 2 threads) on every peer that has a thread-shared heap, at the `ci` size (see
//! `benches::workloads::churn`).

use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    use benches::workloads::Workload;
    support::bench_group(c, "churn-mt", &[Workload::ChurnMt1, Workload::ChurnMt2]);
}

mod support;

criterion_group!(group, bench);
criterion_main!(group);
