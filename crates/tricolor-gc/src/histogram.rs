//! A lock-free log-linear histogram of durations (or any `u64` quantity).
//!
//! Values are bucketed by their power of two and, within it, into [`SUB`] equal sub-buckets, so
//! every bucket's width is at most 1/[`SUB`] of its lower bound (≤ 25 % relative error on
//! quantiles). Recording is three relaxed atomic adds and a `fetch_max`; reading takes a
//! snapshot that may be slightly torn against concurrent recording (each counter is exact, the
//! set of them is not one instant), which is fine for statistics.

use crate::sync::stat::{Ordering, StatU64 as AtomicU64};

/// Sub-buckets per power of two.
pub const SUB: usize = 4;
const SUB_BITS: u32 = SUB.trailing_zeros();
/// Number of buckets: values up to 2^64.
pub const BUCKETS: usize = (64 - SUB_BITS as usize + 1) * SUB;

/// Bucket index of `v`.
fn bucket(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let log = 63 - v.leading_zeros(); // ≥ SUB_BITS
    let shift = log - SUB_BITS;
    let sub = ((v >> shift) as usize) & (SUB - 1);
    ((log - SUB_BITS + 1) as usize) * SUB + sub
}

/// Smallest value that falls in bucket `i`.
fn bucket_low(i: usize) -> u64 {
    if i < SUB {
        return i as u64;
    }
    let group = (i / SUB) as u32; // ≥ 1
    let sub = (i % SUB) as u64;
    let log = group + SUB_BITS - 1;
    (1u64 << log) + (sub << (log - SUB_BITS))
}

/// Largest value that falls in bucket `i`.
fn bucket_high(i: usize) -> u64 {
    if i + 1 >= BUCKETS {
        u64::MAX
    } else {
        bucket_low(i + 1) - 1
    }
}

/// A concurrent histogram.
pub struct Histogram {
    counts: Box<[AtomicU64]>,
    total: AtomicU64,
    sum: AtomicU64,
    max: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.snapshot().fmt(f)
    }
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Histogram {
        Histogram {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            total: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            max: AtomicU64::new(0),
        }
    }

    /// Records one value.
    #[inline]
    pub fn record(&self, v: u64) {
        self.counts[bucket(v)].fetch_add(1, Ordering::Relaxed);
        self.total.fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(v, Ordering::Relaxed);
        self.max.fetch_max(v, Ordering::Relaxed);
    }

    /// A copy of the current counts.
    pub fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            counts: self
                .counts
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .collect(),
            count: self.total.load(Ordering::Relaxed),
            sum: self.sum.load(Ordering::Relaxed),
            max: self.max.load(Ordering::Relaxed),
        }
    }
}

/// A point-in-time copy of a [`Histogram`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HistogramSnapshot {
    counts: Vec<u64>,
    /// Number of values recorded.
    pub count: u64,
    /// Sum of the values recorded.
    pub sum: u64,
    /// Largest value recorded (exact).
    pub max: u64,
}

impl core::fmt::Debug for HistogramSnapshot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HistogramSnapshot")
            .field("count", &self.count)
            .field("mean", &self.mean())
            .field("p50", &self.quantile(0.5))
            .field("p99", &self.quantile(0.99))
            .field("max", &self.max)
            .finish()
    }
}

impl HistogramSnapshot {
    /// The value below which a fraction `q` (0..=1) of the recorded values fall, as the upper
    /// bound of the bucket holding it (capped at the exact maximum). 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_high(i).min(self.max);
            }
        }
        self.max
    }

    /// Mean of the recorded values (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    /// Non-empty buckets as `(low, high, count)`, in increasing order.
    pub fn buckets(&self) -> impl Iterator<Item = (u64, u64, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, &c)| (bucket_low(i), bucket_high(i), c))
    }
}

#[cfg(all(test, not(tricolor_loom)))]
mod tests {
    use super::*;

    #[test]
    fn buckets_tile_the_range() {
        for i in 0..BUCKETS - 1 {
            assert_eq!(bucket_high(i) + 1, bucket_low(i + 1), "bucket {i}");
        }
        for v in (0..100_000u64).chain([u64::MAX, u64::MAX / 3, 1 << 40]) {
            let b = bucket(v);
            assert!(bucket_low(b) <= v && v <= bucket_high(b), "{v} in {b}");
        }
        // Relative width at most 1/SUB.
        for i in SUB..BUCKETS - 1 {
            let (lo, hi) = (bucket_low(i), bucket_high(i));
            assert!((hi - lo + 1) * SUB as u64 <= lo, "{i}: {lo}..{hi}");
        }
    }

    #[test]
    fn quantiles_are_upper_bounds_within_a_bucket() {
        let h = Histogram::new();
        for v in 1..=1000u64 {
            h.record(v);
        }
        let s = h.snapshot();
        assert_eq!(s.count, 1000);
        assert_eq!(s.max, 1000);
        assert_eq!(s.sum, 500_500);
        let p50 = s.quantile(0.5);
        assert!((500..=640).contains(&p50), "{p50}");
        let p99 = s.quantile(0.99);
        assert!((990..=1000).contains(&p99), "{p99}");
        assert_eq!(s.quantile(1.0), 1000);
        assert_eq!(HistogramSnapshot::default().quantile(0.5), 0);
        let total: u64 = s.buckets().map(|(_, _, c)| c).sum();
        assert_eq!(total, 1000);
    }
}
