//! *latency*: pause times of a mutator running over a large live set.
//!
//! The live set is `lists` singly linked lists of `list_len` small nodes (32 B of payload each:
//! a next link and three words), about `live_bytes` in total, held from one array of heads.
//! Node `j` of list `i` carries the value `i·list_len + j`.
//!
//! Then one mutator thread loops for `duration`; each iteration
//! 1. builds a short-lived list of `garbage_per_iter` nodes, sums it, and drops it;
//! 2. replaces the head node of a pseudo-random list ([`Rng`]) by a fresh node with the same
//!    value and link (so the live set stays the same size and content but old objects keep
//!    changing, which exercises a collector's write barrier and creates old garbage);
//! 3. calls [`GapRecorder::tick`](crate::stats::GapRecorder::tick).
//!
//! The gaps between ticks go to a histogram and a pause timeline (see
//! [`GapRecord`](crate::stats::GapRecord) for the definitions of pause and MMU).
//!
//! Checksum: the sum of the values of the live set, walked after the loop
//! (`Σ k for k < lists·list_len`), independent of how many iterations ran.

use std::fmt;
use std::time::Duration;

use super::Size;
use crate::stats::RecorderConfig;

/// Nominal size of one node: a link and three `u64` words.
pub const NODE_BYTES: usize = 32;

/// Parameters of the latency workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// Nominal live-set size (node count × [`NODE_BYTES`]).
    pub live_bytes: usize,
    /// Nodes per live list.
    pub list_len: usize,
    /// Short-lived nodes allocated per iteration.
    pub garbage_per_iter: usize,
    /// How long to measure.
    pub duration: Duration,
    /// How long the loop runs, unrecorded, before calibration and measurement.
    pub warmup: Duration,
    /// Calibration iterations before measuring.
    pub calibration_iterations: u64,
}

impl Params {
    /// The parameters at `size`.
    pub fn for_size(size: Size) -> Self {
        let (live_bytes, duration, calibration_iterations) = match size {
            Size::Tiny => (4 << 20, Duration::from_millis(50), 1_000),
            Size::Ci => (128 << 20, Duration::from_secs(2), 10_000),
            Size::Report => (1 << 30, Duration::from_secs(10), 10_000),
        };
        Params {
            live_bytes,
            list_len: 32,
            garbage_per_iter: 16,
            duration,
            warmup: Duration::ZERO,
            calibration_iterations,
        }
    }

    /// Number of live lists.
    pub fn lists(&self) -> usize {
        (self.live_bytes / NODE_BYTES / self.list_len).max(1)
    }

    /// Number of live nodes.
    pub fn live_nodes(&self) -> u64 {
        (self.lists() * self.list_len) as u64
    }

    /// The value of node `j` of list `i`.
    pub fn value(&self, i: usize, j: usize) -> u64 {
        (i * self.list_len + j) as u64
    }

    /// The recorder configuration for these parameters.
    pub fn recorder_config(&self) -> RecorderConfig {
        let mut c = RecorderConfig::new(self.duration);
        c.calibration_iterations = self.calibration_iterations;
        c.warmup = self.warmup;
        c
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "live set {} MiB ({} nodes of {} B in lists of {}), {} garbage nodes + 1 live replacement per iteration, {:?}",
            self.live_bytes >> 20,
            self.live_nodes(),
            NODE_BYTES,
            self.list_len,
            self.garbage_per_iter,
            self.duration
        )?;
        if !self.warmup.is_zero() {
            write!(f, " after {:?} of warm-up", self.warmup)?;
        }
        Ok(())
    }
}

/// The checksum of a correct run, in closed form.
pub fn expected_checksum(p: &Params) -> u64 {
    let n = p.live_nodes();
    n * (n - 1) / 2
}

/// A xorshift64 generator: which list each iteration replaces a node of.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Default for Rng {
    fn default() -> Self {
        Rng(0x2545_F491_4F6C_DD1D)
    }
}

impl Rng {
    /// The next index below `n`.
    #[inline]
    pub fn below(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x % n as u64) as usize
    }
}
