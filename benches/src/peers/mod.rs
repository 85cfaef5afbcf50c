//! The peers: one module per memory manager, each implementing [`Peer`].
//!
//! To add a peer (e.g. tricolor): write a module with a unit struct implementing [`Peer`] (use
//! the drivers in [`crate::workloads`] for binary-trees and GCBench, [`churn::run_range`] /
//! [`churn::run_threads`] where the handles fit, and a [`GapRecorder`] loop for latency), and add
//! it to [`ALL`]. The smoke test, the criterion benches and `bench-report` pick it up from there;
//! `bench-report` uses a peer named `tricolor` as the default reference.

pub mod boxed;
pub mod dumpster_sync;
pub mod dumpster_unsync;
pub mod gc_arena;
pub mod gc_rs;
pub mod rc;
pub mod tricolor;

use std::fmt;

use crate::stats::{GapRecord, GapRecorder, Histogram};
use crate::workloads::{Size, Workload, binary_trees, churn, gcbench, latency};

/// Why a peer cannot run a workload, shown in the tables as `n/a: <reason>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsupported(pub &'static str);

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n/a: {}", self.0)
    }
}

/// What a peer's latency run returns besides the gap record.
#[derive(Clone, Debug)]
pub struct LatencyOutcome {
    /// The workload checksum (the live-set sum).
    pub checksum: u64,
    /// The collector's own histogram of the waits it caused the mutator (ns), if it keeps one;
    /// printed by the `latency` binary next to the mutator-side gap histogram.
    pub engine_waits: Option<Histogram>,
    /// The same waits by cause (name, histogram), if the collector tells them apart.
    pub engine_waits_by_cause: Vec<(&'static str, Histogram)>,
}

/// One memory manager measured by the harness. Every method runs one whole workload with the
/// given parameters, from an empty heap, and returns the workload's checksum (see
/// [`crate::workloads`] for the algorithms and checksums). Implementations must leave no live
/// objects behind (so repeated runs in one process, as criterion does, do not accumulate).
pub trait Peer: Sync {
    /// Short name used on the command line and in the tables (`box`, `gc-arena`, …).
    fn name(&self) -> &'static str;

    /// The crates.io crate it comes from (for the version table), or `None` for std.
    fn crate_name(&self) -> Option<&'static str>;

    /// One line on what it is and how it is used here.
    fn description(&self) -> &'static str;

    /// binary-trees; usually `binary_trees::run(p, &mut MyTreeHeap::new())`.
    fn binary_trees(&self, p: &binary_trees::Params) -> u64;

    /// GCBench; usually `gcbench::run(p, &mut MyGcBenchHeap::new())`.
    fn gcbench(&self, p: &gcbench::Params) -> u64;

    /// Single-threaded churn on the calling thread.
    fn churn(&self, p: &churn::Params) -> u64;

    /// Churn split over `threads` new threads sharing one heap (see [`churn::run_threads`]), or
    /// `Unsupported` if the peer has no heap that threads can share.
    fn churn_threads(&self, p: &churn::Params, threads: usize) -> Result<u64, Unsupported>;

    /// The latency workload: build the live set, then loop calling `rec.tick()` once per
    /// iteration until it returns `true`.
    fn latency(
        &self,
        p: &latency::Params,
        rec: &mut GapRecorder,
    ) -> Result<LatencyOutcome, Unsupported> {
        let _ = (p, rec);
        Err(Unsupported("latency not implemented for this peer"))
    }
}

/// Every peer, in table order (the manual-memory baselines first).
pub static ALL: &[&dyn Peer] = &[
    &boxed::BoxPeer,
    &rc::RcPeer,
    &tricolor::TricolorPeer,
    &gc_rs::GcPeer,
    &gc_arena::GcArenaPeer,
    &dumpster_unsync::DumpsterUnsyncPeer,
    &dumpster_sync::DumpsterSyncPeer,
];

/// The peer called `name`.
pub fn by_name(name: &str) -> Option<&'static dyn Peer> {
    ALL.iter().copied().find(|p| p.name() == name)
}

/// The result of one run.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The workload checksum.
    pub checksum: u64,
    /// For the latency workload: the mutator's gap record and the engine's own histogram.
    pub latency: Option<(GapRecord, Option<Histogram>)>,
}

/// Runs `workload` at `size` on `peer` in this process.
pub fn run(peer: &dyn Peer, workload: Workload, size: Size) -> Result<Outcome, Unsupported> {
    let plain = |checksum| {
        Ok(Outcome {
            checksum,
            latency: None,
        })
    };
    match workload {
        Workload::BinaryTrees => plain(peer.binary_trees(&binary_trees::Params::for_size(size))),
        Workload::GcBench => plain(peer.gcbench(&gcbench::Params::for_size(size))),
        Workload::Churn => plain(peer.churn(&churn::Params::for_size(size))),
        Workload::ChurnMt1 => plain(peer.churn_threads(&churn::Params::for_size(size), 1)?),
        Workload::ChurnMt2 => plain(peer.churn_threads(&churn::Params::for_size(size), 2)?),
        Workload::Latency => {
            let p = latency::Params::for_size(size);
            let mut rec = GapRecorder::new(p.recorder_config());
            let out = peer.latency(&p, &mut rec)?;
            Ok(Outcome {
                checksum: out.checksum,
                latency: Some((rec.finish(), out.engine_waits)),
            })
        }
    }
}
