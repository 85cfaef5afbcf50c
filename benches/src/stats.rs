//! Statistics: medians, a log-linear latency histogram, the gap recorder used by the latency
//! workload, and minimum mutator utilisation (MMU).
//!
//! Everything here is plain arithmetic on nanosecond counts so that it can be unit-tested with
//! known gap sequences; only [`GapRecorder`] reads the clock.

use std::time::{Duration, Instant};

/// The median of `values` (the mean of the two middle values for an even count), or `None` if
/// `values` is empty.
pub fn median(values: &[u64]) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        // Average without overflow.
        sorted[mid - 1] / 2 + sorted[mid] / 2 + (sorted[mid - 1] % 2 + sorted[mid] % 2) / 2
    })
}

/// Number of bits of sub-bucket precision: each power-of-two range is split into
/// `2^SUB_BITS` equal buckets, so a recorded value is known to within `1/64` of itself.
const SUB_BITS: u32 = 6;
/// Buckets per power of two.
const SUB: u64 = 1 << SUB_BITS;
/// Total number of buckets needed to cover the whole `u64` range.
const BUCKETS: usize = (SUB + (64 - SUB_BITS as u64) * SUB) as usize;

/// A log-linear histogram of `u64` values (nanoseconds, by convention), HDR-style.
///
/// Values below 128 are recorded exactly; above that, each power-of-two range `[2^e, 2^(e+1))` is
/// split into 64 equal buckets, so the relative error of a reported percentile is below 1/64
/// (1.6 %). Percentiles are reported as the *highest* value of the bucket that holds them (capped
/// at the exact maximum), i.e. they never under-state a latency. Count, sum, minimum and maximum
/// are exact.
#[derive(Clone, Debug)]
pub struct Histogram {
    counts: Vec<u64>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            count: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    /// The bucket that holds `v`.
    fn index(v: u64) -> usize {
        if v < SUB {
            v as usize
        } else {
            let e = 63 - v.leading_zeros(); // >= SUB_BITS
            let shift = e - SUB_BITS;
            let mantissa = (v >> shift) & (SUB - 1);
            (SUB + u64::from(shift) * SUB + mantissa) as usize
        }
    }

    /// The smallest and largest value of bucket `i`.
    fn bucket_bounds(i: usize) -> (u64, u64) {
        let i = i as u64;
        if i < SUB {
            (i, i)
        } else {
            let shift = (i - SUB) / SUB;
            let mantissa = (i - SUB) % SUB;
            let low = (SUB + mantissa) << shift;
            (low, low + ((1u64 << shift) - 1))
        }
    }

    /// Records one value.
    #[inline]
    pub fn record(&mut self, v: u64) {
        self.counts[Self::index(v)] += 1;
        self.count += 1;
        self.sum += u128::from(v);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    /// Adds every value recorded in `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Number of values recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The largest value recorded (0 if empty).
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The smallest value recorded (0 if empty).
    pub fn min(&self) -> u64 {
        if self.count == 0 { 0 } else { self.min }
    }

    /// The mean of the recorded values (0 if empty).
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    /// The `q`-quantile (`q` in `[0, 1]`, e.g. `0.99` for p99): the smallest bucket such that at
    /// least `ceil(q * count)` values are at or below it, reported as that bucket's highest value
    /// capped at the exact maximum. Returns 0 if empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let q = q.clamp(0.0, 1.0);
        let rank = ((q * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Self::bucket_bounds(i).1.min(self.max);
            }
        }
        self.max
    }

    /// Non-empty buckets as `(low, high, count)`, in increasing order.
    pub fn buckets(&self) -> impl Iterator<Item = (u64, u64, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c > 0)
            .map(|(i, &c)| {
                let (lo, hi) = Self::bucket_bounds(i);
                (lo, hi, c)
            })
    }
}

/// One gap that counted as a pause: the mutator made no progress during
/// `[start_ns, start_ns + len_ns)` (times relative to the start of measurement).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pause {
    /// Start of the gap, in ns since the start of measurement.
    pub start_ns: u64,
    /// Length of the gap in ns.
    pub len_ns: u64,
}

/// The outcome of a latency measurement: every gap in the histogram, the long gaps (pauses) on a
/// timeline for MMU.
///
/// # Definitions
///
/// The mutator loop calls [`GapRecorder::tick`] once per iteration; a **gap** is the time between
/// two consecutive ticks (the first gap starts when measurement starts). The gaps tile the
/// measured timeline `[0, total_ns)` without overlap.
///
/// A gap is a **pause** if it is longer than `threshold_ns` (by default
/// [`DEFAULT_PAUSE_FACTOR`] × the median gap of a calibration phase, i.e. clearly longer than a
/// normal iteration). The whole pause counts as non-mutator time (conservative: the normal
/// iteration work done inside it is not credited); gaps at or below the threshold count entirely
/// as mutator time.
///
/// The **minimum mutator utilisation** for a window length `w` is
///
/// ```text
/// MMU(w) = min over t in [0, total_ns - w] of  1 - |[t, t + w) ∩ pauses| / w
/// ```
///
/// i.e. the worst fraction of any time window of length `w` during which the mutator was not
/// inside a pause. If `w >= total_ns`, the only window is the whole run. An MMU of 0 means some
/// pause lasted at least `w`; 1 means no pause touched any window.
#[derive(Clone, Debug)]
pub struct GapRecord {
    /// All gaps, in ns.
    pub histogram: Histogram,
    /// The gaps longer than `threshold_ns`, in time order.
    pub pauses: Vec<Pause>,
    /// Gaps longer than this (ns) are pauses.
    pub threshold_ns: u64,
    /// Length of the measured timeline (sum of all gaps), in ns.
    pub total_ns: u64,
}

impl GapRecord {
    /// Builds a record from a known sequence of consecutive gaps (ns), e.g. for tests.
    pub fn from_gaps(gaps: &[u64], threshold_ns: u64) -> Self {
        let mut histogram = Histogram::new();
        let mut pauses = Vec::new();
        let mut t = 0u64;
        for &g in gaps {
            histogram.record(g);
            if g > threshold_ns {
                pauses.push(Pause {
                    start_ns: t,
                    len_ns: g,
                });
            }
            t += g;
        }
        GapRecord {
            histogram,
            pauses,
            threshold_ns,
            total_ns: t,
        }
    }

    /// Total time spent in pauses, in ns.
    pub fn paused_ns(&self) -> u64 {
        self.pauses.iter().map(|p| p.len_ns).sum()
    }

    /// Minimum mutator utilisation for windows of `window_ns` (see the type's documentation).
    /// Returns 1.0 for an empty record.
    pub fn mmu(&self, window_ns: u64) -> f64 {
        mmu(&self.pauses, self.total_ns, window_ns)
    }

    /// A summary with the usual figures.
    pub fn summary(&self) -> LatencySummary {
        LatencySummary {
            iterations: self.histogram.count(),
            p50_ns: self.histogram.quantile(0.5),
            p99_ns: self.histogram.quantile(0.99),
            p999_ns: self.histogram.quantile(0.999),
            max_ns: self.histogram.max(),
            mmu_1ms: self.mmu(1_000_000),
            mmu_10ms: self.mmu(10_000_000),
            threshold_ns: self.threshold_ns,
            pauses: self.pauses.len() as u64,
            paused_ns: self.paused_ns(),
            total_ns: self.total_ns,
        }
    }
}

/// The headline figures of a [`GapRecord`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatencySummary {
    /// Number of iterations (gaps) measured.
    pub iterations: u64,
    /// Median gap (ns).
    pub p50_ns: u64,
    /// 99th-percentile gap (ns).
    pub p99_ns: u64,
    /// 99.9th-percentile gap (ns).
    pub p999_ns: u64,
    /// Longest gap (ns).
    pub max_ns: u64,
    /// MMU for 1 ms windows.
    pub mmu_1ms: f64,
    /// MMU for 10 ms windows.
    pub mmu_10ms: f64,
    /// Pause threshold used (ns).
    pub threshold_ns: u64,
    /// Number of pauses.
    pub pauses: u64,
    /// Total time in pauses (ns).
    pub paused_ns: u64,
    /// Length of the measured run (ns).
    pub total_ns: u64,
}

/// Overlap of `[a, b)` with the union of `pauses` (sorted, non-overlapping); `prefix[i]` is the
/// total length of `pauses[..i]`.
fn paused_in(pauses: &[Pause], prefix: &[u64], a: u64, b: u64) -> u64 {
    // First pause that ends after `a`, first pause that starts at or after `b`.
    let first = pauses.partition_point(|p| p.start_ns + p.len_ns <= a);
    let last = pauses.partition_point(|p| p.start_ns < b);
    if first >= last {
        return 0;
    }
    let mut total = prefix[last] - prefix[first];
    // Clip the partially covered pauses at both ends.
    let p = pauses[first];
    total -= a.saturating_sub(p.start_ns).min(p.len_ns);
    let q = pauses[last - 1];
    total -= (q.start_ns + q.len_ns).saturating_sub(b).min(q.len_ns);
    total
}

/// Minimum mutator utilisation over windows of `window_ns` on the timeline `[0, total_ns)`, given
/// the `pauses` (sorted by start, non-overlapping). See [`GapRecord`] for the definition.
///
/// The overlap of a sliding window with the pauses is piecewise linear in the window start, so
/// its maximum is reached at a breakpoint: where either end of the window meets either end of a
/// pause. All such candidate starts (clamped to the valid range) are evaluated, in
/// `O(n log n)` for `n` pauses.
pub fn mmu(pauses: &[Pause], total_ns: u64, window_ns: u64) -> f64 {
    assert!(window_ns > 0, "MMU window must be positive");
    if total_ns == 0 {
        return 1.0;
    }
    let w = window_ns.min(total_ns);
    let latest = total_ns - w;
    let mut prefix = Vec::with_capacity(pauses.len() + 1);
    prefix.push(0u64);
    for p in pauses {
        prefix.push(prefix.last().copied().unwrap_or(0) + p.len_ns);
    }
    let mut worst =
        paused_in(pauses, &prefix, 0, w).max(paused_in(pauses, &prefix, latest, latest + w));
    for p in pauses {
        let end = p.start_ns + p.len_ns;
        for t in [
            p.start_ns,
            end,
            p.start_ns.saturating_sub(w),
            end.saturating_sub(w),
        ] {
            let t = t.min(latest);
            worst = worst.max(paused_in(pauses, &prefix, t, t + w));
        }
    }
    1.0 - worst.min(w) as f64 / w as f64
}

/// How a latency run is measured; see [`GapRecord`] for the definitions.
#[derive(Clone, Copy, Debug)]
pub struct RecorderConfig {
    /// How long to measure after calibration.
    pub duration: Duration,
    /// How long the loop runs first, unrecorded, before calibration: time for a collector's
    /// heap to grow to its steady-state size (zero: none).
    pub warmup: Duration,
    /// Iterations run first (after the live set is built) to find the normal iteration time; they
    /// are not part of the measurement.
    pub calibration_iterations: u64,
    /// A gap is a pause if it is longer than this factor times the calibrated median gap.
    pub pause_factor: f64,
    /// If set, overrides the calibrated pause threshold (ns).
    pub fixed_threshold_ns: Option<u64>,
}

/// The default pause factor: a gap longer than 4 normal (median) iterations is a pause.
pub const DEFAULT_PAUSE_FACTOR: f64 = 4.0;

impl RecorderConfig {
    /// Measure for `duration` with the default calibration (10,000 iterations) and pause factor.
    pub fn new(duration: Duration) -> Self {
        RecorderConfig {
            duration,
            warmup: Duration::ZERO,
            calibration_iterations: 10_000,
            pause_factor: DEFAULT_PAUSE_FACTOR,
            fixed_threshold_ns: None,
        }
    }
}

/// Records the gaps between consecutive iterations of a mutator loop.
///
/// Use: build the live set, then call [`GapRecorder::tick`] at the end of every iteration until
/// it returns `true`, then [`GapRecorder::finish`]. Ticks during the first
/// [`RecorderConfig::warmup`] are not recorded; the next
/// [`RecorderConfig::calibration_iterations`] ticks only calibrate the pause threshold; the
/// measured run starts after them and lasts [`RecorderConfig::duration`].
#[derive(Debug)]
pub struct GapRecorder {
    config: RecorderConfig,
    calibration: Vec<u64>,
    measuring: bool,
    started: bool,
    warmed_up: bool,
    warm_until: Instant,
    start: Instant,
    last: Instant,
    threshold_ns: u64,
    histogram: Histogram,
    pauses: Vec<Pause>,
}

impl GapRecorder {
    /// A recorder that has not started yet (the first tick starts it).
    pub fn new(config: RecorderConfig) -> Self {
        let now = Instant::now();
        GapRecorder {
            config,
            calibration: Vec::with_capacity(config.calibration_iterations as usize),
            measuring: false,
            started: false,
            warmed_up: false,
            warm_until: now,
            start: now,
            last: now,
            threshold_ns: u64::MAX,
            histogram: Histogram::new(),
            pauses: Vec::with_capacity(1 << 16),
        }
    }

    /// Ends one iteration. Returns `true` when the measurement is over. The first call only
    /// starts the clock.
    #[inline]
    pub fn tick(&mut self) -> bool {
        let now = Instant::now();
        if !self.started {
            self.started = true;
            self.last = now;
            self.warm_until = now + self.config.warmup;
            if self.config.warmup.is_zero() {
                self.end_warmup(now);
            }
            return false;
        }
        let gap = (now - self.last).as_nanos() as u64;
        self.last = now;
        if self.measuring {
            self.histogram.record(gap);
            if gap > self.threshold_ns {
                let end = (now - self.start).as_nanos() as u64;
                self.pauses.push(Pause {
                    start_ns: end.saturating_sub(gap),
                    len_ns: gap,
                });
            }
            now - self.start >= self.config.duration
        } else if !self.warmed_up {
            if now >= self.warm_until {
                self.end_warmup(now);
            }
            false
        } else {
            self.calibration.push(gap);
            if self.calibration.len() as u64 >= self.config.calibration_iterations {
                let m = median(&self.calibration);
                self.begin_measuring(now, m);
            }
            false
        }
    }

    /// Whether the warm-up is over (calibration or measurement has begun): the moment to take
    /// a collector's statistics as the baseline of the measured run.
    pub fn warmed_up(&self) -> bool {
        self.warmed_up
    }

    fn end_warmup(&mut self, now: Instant) {
        self.warmed_up = true;
        if self.config.calibration_iterations == 0 {
            self.begin_measuring(now, None);
        }
    }

    fn begin_measuring(&mut self, now: Instant, median_gap: Option<u64>) {
        self.threshold_ns = match (self.config.fixed_threshold_ns, median_gap) {
            (Some(t), _) => t,
            (None, Some(m)) => ((m.max(1) as f64) * self.config.pause_factor) as u64,
            (None, None) => 0,
        };
        self.measuring = true;
        self.start = now;
    }

    /// The pause threshold in use (ns), once calibrated.
    pub fn threshold_ns(&self) -> u64 {
        self.threshold_ns
    }

    /// The finished record.
    pub fn finish(self) -> GapRecord {
        let total_ns = if self.measuring {
            (self.last - self.start).as_nanos() as u64
        } else {
            0
        };
        GapRecord {
            histogram: self.histogram,
            pauses: self.pauses,
            threshold_ns: self.threshold_ns,
            total_ns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_even_empty() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[5, 1, 3]), Some(3));
        assert_eq!(median(&[4, 1, 3, 2]), Some(2)); // (2 + 3) / 2 rounded down
        assert_eq!(median(&[u64::MAX, u64::MAX]), Some(u64::MAX));
    }

    #[test]
    fn histogram_small_values_are_exact() {
        let mut h = Histogram::new();
        for v in 1..=100 {
            h.record(v);
        }
        assert_eq!(h.count(), 100);
        assert_eq!(h.quantile(0.5), 50);
        assert_eq!(h.quantile(0.99), 99);
        assert_eq!(h.quantile(0.999), 100);
        assert_eq!(h.quantile(0.0), 1);
        assert_eq!(h.max(), 100);
        assert_eq!(h.min(), 1);
        assert!((h.mean() - 50.5).abs() < 1e-9);
    }

    #[test]
    fn histogram_bucket_bounds_cover_all_values() {
        for v in [
            0,
            1,
            63,
            64,
            127,
            128,
            129,
            1000,
            123_456_789,
            u64::MAX / 3,
            u64::MAX,
        ] {
            let (lo, hi) = Histogram::bucket_bounds(Histogram::index(v));
            assert!(lo <= v && v <= hi, "{v} not in [{lo}, {hi}]");
            assert!((hi - lo) as f64 <= lo as f64 / 64.0 + 1.0);
        }
        assert_eq!(Histogram::index(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn histogram_large_values_within_relative_error() {
        let mut h = Histogram::new();
        for _ in 0..990 {
            h.record(1_000);
        }
        for _ in 0..9 {
            h.record(2_000_000);
        }
        h.record(50_000_000);
        let p50 = h.quantile(0.5);
        assert!((1_000..=1_000 + 1_000 / 64).contains(&p50), "{p50}");
        let p99 = h.quantile(0.99);
        assert!((1_000..=1_016).contains(&p99), "{p99}");
        let p999 = h.quantile(0.999);
        assert!(
            (2_000_000..=2_000_000 + 2_000_000 / 64).contains(&p999),
            "{p999}"
        );
        assert_eq!(h.quantile(1.0), 50_000_000);
        assert_eq!(h.max(), 50_000_000);
        let mut h2 = Histogram::new();
        h2.record(7);
        h2.merge(&h);
        assert_eq!(h2.count(), 1001);
        assert_eq!(h2.min(), 7);
    }

    /// 10,000 iterations of 1 µs, one 2 ms pause, 10,000 more: a 22 ms timeline.
    fn one_pause() -> GapRecord {
        let mut gaps = vec![1_000u64; 10_000];
        gaps.push(2_000_000);
        gaps.extend(std::iter::repeat_n(1_000, 10_000));
        GapRecord::from_gaps(&gaps, 10_000)
    }

    #[test]
    fn mmu_single_pause() {
        let r = one_pause();
        assert_eq!(r.total_ns, 22_000_000);
        assert_eq!(
            r.pauses,
            vec![Pause {
                start_ns: 10_000_000,
                len_ns: 2_000_000
            }]
        );
        assert_eq!(r.mmu(1_000_000), 0.0);
        assert_eq!(r.mmu(2_000_000), 0.0);
        assert!((r.mmu(4_000_000) - 0.5).abs() < 1e-12);
        assert!((r.mmu(10_000_000) - 0.8).abs() < 1e-12);
        // A window longer than the run is the whole run.
        assert!((r.mmu(100_000_000) - (1.0 - 2.0 / 22.0)).abs() < 1e-12);
        let s = r.summary();
        assert_eq!(s.max_ns, 2_000_000);
        // Reported as the top of its bucket: within 1/64 above the true value.
        assert!((1_000..=1_016).contains(&s.p50_ns), "{}", s.p50_ns);
        assert_eq!(s.pauses, 1);
        assert_eq!(s.paused_ns, 2_000_000);
        assert_eq!(s.mmu_1ms, 0.0);
        assert!((s.mmu_10ms - 0.8).abs() < 1e-12);
    }

    #[test]
    fn mmu_two_close_pauses() {
        // 1 ms pauses at [10, 11) ms and [12, 13) ms.
        let mut gaps = vec![1_000u64; 10_000];
        gaps.push(1_000_000);
        gaps.extend(std::iter::repeat_n(1_000, 1_000));
        gaps.push(1_000_000);
        gaps.extend(std::iter::repeat_n(1_000, 10_000));
        let r = GapRecord::from_gaps(&gaps, 5_000);
        assert_eq!(r.pauses.len(), 2);
        // A 2.5 ms window can hold at most 1.5 ms of pause; a 4 ms window 2 ms; a 3 ms one 2 ms.
        assert!((r.mmu(2_500_000) - 0.4).abs() < 1e-12);
        assert!((r.mmu(3_000_000) - (1.0 - 2.0 / 3.0)).abs() < 1e-12);
        assert!((r.mmu(4_000_000) - 0.5).abs() < 1e-12);
        assert_eq!(r.mmu(1_000_000), 0.0);
        assert!((r.mmu(500_000) - 0.0).abs() < 1e-12);
    }

    #[test]
    fn mmu_without_pauses_is_one() {
        let r = GapRecord::from_gaps(&[1_000; 5_000], 4_000);
        assert!(r.pauses.is_empty());
        assert_eq!(r.mmu(1_000_000), 1.0);
        assert_eq!(GapRecord::from_gaps(&[], 1).mmu(1), 1.0);
    }

    #[test]
    fn gaps_at_threshold_are_not_pauses() {
        let r = GapRecord::from_gaps(&[100, 400, 401, 100], 400);
        assert_eq!(
            r.pauses,
            vec![Pause {
                start_ns: 500,
                len_ns: 401
            }]
        );
    }

    #[test]
    fn recorder_calibrates_and_stops() {
        let mut cfg = RecorderConfig::new(Duration::from_millis(20));
        cfg.calibration_iterations = 100;
        let mut rec = GapRecorder::new(cfg);
        let mut n = 0u64;
        while !rec.tick() {
            n += 1;
            std::hint::black_box(n);
        }
        let threshold = rec.threshold_ns();
        let r = rec.finish();
        assert!(threshold < u64::MAX);
        assert!(r.total_ns >= 20_000_000);
        // n + 1 ticks: 1 to start, 100 calibration gaps, then the measured gaps.
        assert_eq!(r.histogram.count(), n - 100);
        assert!(r.pauses.iter().all(|p| p.len_ns > threshold));
        let s = r.summary();
        assert!(s.mmu_10ms >= 0.0 && s.mmu_10ms <= 1.0);
    }

    #[test]
    fn recorder_warms_up_before_it_calibrates() {
        let mut cfg = RecorderConfig::new(Duration::from_millis(5));
        cfg.calibration_iterations = 10;
        cfg.warmup = Duration::from_millis(20);
        let mut rec = GapRecorder::new(cfg);
        let t0 = Instant::now();
        let mut warm_ticks = 0u64;
        assert!(!rec.tick(), "the first tick starts the clock");
        while !rec.warmed_up() {
            assert!(!rec.tick());
            warm_ticks += 1;
        }
        assert!(t0.elapsed() >= Duration::from_millis(20), "warmed up early");
        assert!(warm_ticks > 0);
        let mut n = 0u64;
        while !rec.tick() {
            n += 1;
        }
        let r = rec.finish();
        // The warm-up's ticks are in neither the calibration nor the histogram.
        assert_eq!(r.histogram.count(), n + 1 - 10);
        assert!(r.total_ns >= 5_000_000);
    }
}
