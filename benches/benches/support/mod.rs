//! Shared by the criterion benches: one group per workload, every peer side by side.

use std::hint::black_box;

use benches::peers;
use benches::workloads::{Size, Workload};
use criterion::Criterion;

/// Benches `workloads` at the `ci` size on every peer that supports them, all in one group
/// called `group`; a benchmark is named after the peer, suffixed with the workload name when the
/// group holds several.
pub fn bench_group(c: &mut Criterion, group: &str, workloads: &[Workload]) {
    let size = Size::Ci;
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    for &peer in peers::ALL {
        for &w in workloads {
            // Run once: skips unsupported peers and checks the answer before timing.
            match peers::run(peer, w, size) {
                Err(why) => {
                    eprintln!("{w}/{}: {why}", peer.name());
                    continue;
                }
                Ok(out) => assert_eq!(
                    Some(out.checksum),
                    w.expected_checksum(size),
                    "{w} on {}",
                    peer.name()
                ),
            }
            let id = if workloads.len() == 1 {
                peer.name().to_string()
            } else {
                format!("{}/{w}", peer.name())
            };
            g.bench_function(id, |b| {
                b.iter(|| black_box(peers::run(peer, w, size).map(|o| o.checksum)))
            });
        }
    }
    g.finish();
}
