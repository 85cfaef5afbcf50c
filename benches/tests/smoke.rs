//! Runs every workload on every peer at the tiny size, in-process, and checks the checksums
//! against each other and against the closed forms (computed independently here).

use benches::peers::{self, Outcome};
use benches::workloads::{Size, Workload, binary_trees, churn, gcbench, latency};

/// Nodes in a complete binary tree of depth `d`.
fn nodes(d: u32) -> u64 {
    (1 << (d + 1)) - 1
}

#[test]
fn closed_forms_at_tiny() {
    // binary-trees, n = 8: stretch depth 9, long-lived 8, 2^(8-d+4) trees of each depth d.
    let bt = binary_trees::Params::for_size(Size::Tiny);
    assert_eq!(bt.depth, 8);
    let by_hand = nodes(9) + 256 * nodes(4) + 64 * nodes(6) + 16 * nodes(8) + nodes(8);
    assert_eq!(
        Workload::BinaryTrees.expected_checksum(Size::Tiny),
        Some(by_hand)
    );

    // GCBench tiny: stretch 10, long-lived 8, depths 4, 6, 8 with 2·2047/TreeSize(d) iterations
    // each of a top-down and a bottom-up tree; then the long-lived walk and the array probe (1).
    let gb = gcbench::Params::for_size(Size::Tiny);
    let iters = |d| 2 * nodes(10) / nodes(d);
    assert_eq!((iters(4), iters(6), iters(8)), (132, 32, 8));
    let allocated = nodes(10) + nodes(8) + 2 * (132 * nodes(4) + 32 * nodes(6) + 8 * nodes(8));
    assert_eq!(gcbench::expected_checksum(&gb), allocated + nodes(8) + 1);

    // churn: every object k is read once and contributes k + 1.
    let ch = churn::Params::for_size(Size::Tiny);
    assert_eq!(
        churn::expected_checksum(&ch),
        (1..=ch.allocations).sum::<u64>()
    );

    // latency: the live set holds the values 0..n.
    let la = latency::Params::for_size(Size::Tiny);
    assert_eq!(
        latency::expected_checksum(&la),
        (0..la.live_nodes()).sum::<u64>()
    );
}

#[test]
fn every_peer_agrees_at_tiny() {
    for w in Workload::ALL {
        let expected = w.expected_checksum(Size::Tiny).expect("closed form");
        let mut supported = 0;
        for &peer in peers::ALL {
            match peers::run(peer, w, Size::Tiny) {
                Ok(Outcome { checksum, latency }) => {
                    supported += 1;
                    assert_eq!(checksum, expected, "{w} on {}", peer.name());
                    if let Some((record, _)) = latency {
                        assert!(record.histogram.count() > 0, "{w} on {}", peer.name());
                        let s = record.summary();
                        assert!(s.p50_ns <= s.p99_ns && s.p99_ns <= s.max_ns);
                        assert!((0.0..=1.0).contains(&s.mmu_10ms));
                    }
                }
                Err(why) => assert!(!why.0.is_empty(), "{w} on {}", peer.name()),
            }
        }
        // The baselines and tricolor run everything; multi-thread churn also has dumpster-sync.
        let min = match w {
            Workload::Latency => 2,
            Workload::ChurnMt1 | Workload::ChurnMt2 => 4,
            _ => peers::ALL.len(),
        };
        assert!(supported >= min, "{w}: only {supported} peers ran it");
    }
}

#[test]
fn peer_names_are_unique_and_known() {
    let mut names: Vec<&str> = peers::ALL.iter().map(|p| p.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), peers::ALL.len());
    for n in [
        "box",
        "rc",
        "tricolor",
        "gc",
        "gc-arena",
        "dumpster-unsync",
        "dumpster-sync",
    ] {
        assert!(peers::by_name(n).is_some(), "{n}");
    }
}
