//! The workloads: their parameters per [`Size`], the shared drivers that fix the algorithm, and
//! the closed-form checksums every peer must reproduce.
//!
//! A peer implements each workload once (see [`crate::peers::Peer`]); where the algorithm has a
//! fixed shape (binary-trees, GCBench) the peer only provides the heap operations through a
//! small trait ([`binary_trees::TreeHeap`], [`gcbench::GcBenchHeap`]) and the driver here runs the
//! algorithm, so every peer does exactly the same work in the same order.

pub mod binary_trees;
pub mod churn;
pub mod gcbench;
pub mod latency;

use std::fmt;

/// How big a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Size {
    /// Seconds in total, even in a debug build: the smoke test and the CI check.
    Tiny,
    /// A moderate size: the criterion benches and a quick local look (well under a minute per
    /// workload and peer in release).
    Ci,
    /// The published size (the standard parameters of each benchmark).
    Report,
}

impl Size {
    /// Every size, smallest first.
    pub const ALL: [Size; 3] = [Size::Tiny, Size::Ci, Size::Report];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Size::Tiny => "tiny",
            Size::Ci => "ci",
            Size::Report => "report",
        }
    }

    /// Parses a command-line name.
    pub fn parse(s: &str) -> Option<Size> {
        Size::ALL.into_iter().find(|z| z.name() == s)
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One measured workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Workload {
    /// The Benchmarks Game binary-trees.
    BinaryTrees,
    /// Hans Boehm's GCBench.
    GcBench,
    /// Single-threaded churn through a sliding window.
    Churn,
    /// Churn on one worker thread (the baseline of the multi-thread speed-up).
    ChurnMt1,
    /// Churn split over two threads sharing one heap.
    ChurnMt2,
    /// Pause times of a mutator over a large live set.
    Latency,
}

impl Workload {
    /// Every workload, in report order.
    pub const ALL: [Workload; 6] = [
        Workload::BinaryTrees,
        Workload::GcBench,
        Workload::Churn,
        Workload::ChurnMt1,
        Workload::ChurnMt2,
        Workload::Latency,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Workload::BinaryTrees => "binary-trees",
            Workload::GcBench => "gcbench",
            Workload::Churn => "churn",
            Workload::ChurnMt1 => "churn-mt1",
            Workload::ChurnMt2 => "churn-mt2",
            Workload::Latency => "latency",
        }
    }

    /// The group it is reported in (`churn-mt` holds both thread counts).
    pub fn group(self) -> &'static str {
        match self {
            Workload::ChurnMt1 | Workload::ChurnMt2 => "churn-mt",
            w => w.name(),
        }
    }

    /// Parses a command-line name.
    pub fn parse(s: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == s)
    }

    /// Whether `--only filter` selects this workload (by name or group).
    pub fn matches(self, filter: &str) -> bool {
        self.name() == filter || self.group() == filter
    }

    /// Human-readable parameters at `size`.
    pub fn describe(self, size: Size) -> String {
        match self {
            Workload::BinaryTrees => binary_trees::Params::for_size(size).to_string(),
            Workload::GcBench => gcbench::Params::for_size(size).to_string(),
            Workload::Churn => churn::Params::for_size(size).to_string(),
            Workload::ChurnMt1 => format!("{}, 1 thread", churn::Params::for_size(size)),
            Workload::ChurnMt2 => {
                format!("{}, split over 2 threads", churn::Params::for_size(size))
            }
            Workload::Latency => latency::Params::for_size(size).to_string(),
        }
    }

    /// The checksum every peer must produce at `size`, where it is known in closed form.
    pub fn expected_checksum(self, size: Size) -> Option<u64> {
        Some(match self {
            Workload::BinaryTrees => {
                binary_trees::expected_checksum(&binary_trees::Params::for_size(size))
            }
            Workload::GcBench => gcbench::expected_checksum(&gcbench::Params::for_size(size)),
            Workload::Churn | Workload::ChurnMt1 | Workload::ChurnMt2 => {
                churn::expected_checksum(&churn::Params::for_size(size))
            }
            Workload::Latency => latency::expected_checksum(&latency::Params::for_size(size)),
        })
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
