//! `latency`: runs the latency workload once for one peer and prints the mutator's gap
//! statistics (percentiles, max, MMU at 1 and 10 ms), the gap histogram, and the engine's own
//! histogram of collector-caused waits when the peer keeps one.
//!
//! ```text
//! latency --peer box [--size tiny|ci|report] [--live-mib N] [--seconds S] [--warmup-secs S] [--pause-factor F]
//! ```
//!
//! Definitions of gap, pause and MMU: `benches::stats::GapRecord`. The workload:
//! `benches::workloads::latency`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use benches::peers;
use benches::report::{self, fmt_kib, fmt_ns};
use benches::stats::{GapRecorder, Histogram};
use benches::workloads::{Size, latency};

const USAGE: &str = "usage: latency --peer PEER [--size tiny|ci|report] [--live-mib N] \
[--seconds S] [--warmup-secs S] [--pause-factor F]";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("latency: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut peer = None;
    let mut size = Size::Report;
    let mut live_mib = None;
    let mut seconds = None;
    let mut warmup = None;
    let mut pause_factor = None;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v = it.next().ok_or(format!("{a} needs a value"))?;
        let num = |v: &str| {
            v.parse::<f64>()
                .map_err(|_| format!("{a}: not a number: {v}"))
        };
        match a.as_str() {
            "--peer" => {
                peer = Some(peers::by_name(v).ok_or(format!("unknown peer {v}"))?);
            }
            "--size" => size = Size::parse(v).ok_or(format!("unknown size {v}"))?,
            "--live-mib" => live_mib = Some(num(v)?),
            "--seconds" => seconds = Some(num(v)?),
            "--warmup-secs" => warmup = Some(num(v)?),
            "--pause-factor" => pause_factor = Some(num(v)?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let peer = peer.ok_or("--peer is required")?;
    let mut p = latency::Params::for_size(size);
    if let Some(m) = live_mib {
        p.live_bytes = (m * 1024.0 * 1024.0) as usize;
    }
    if let Some(s) = seconds {
        p.duration = Duration::from_secs_f64(s);
    }
    if let Some(s) = warmup {
        p.warmup = Duration::from_secs_f64(s);
    }
    let mut config = p.recorder_config();
    if let Some(f) = pause_factor {
        config.pause_factor = f;
    }
    println!("peer: {} ({})", peer.name(), peer.description());
    println!("workload: {p}");
    let start = Instant::now();
    let mut rec = GapRecorder::new(config);
    let outcome = peer.latency(&p, &mut rec).map_err(|u| u.to_string())?;
    let record = rec.finish();
    let expected = latency::expected_checksum(&p);
    if outcome.checksum != expected {
        return Err(format!(
            "checksum {} differs from the closed form {expected}",
            outcome.checksum
        ));
    }
    let s = record.summary();
    println!(
        "wall time {} (measured {}), peak RSS {}, checksum ok",
        fmt_ns(start.elapsed().as_nanos() as u64),
        fmt_ns(s.total_ns),
        fmt_kib(report::peak_rss_kib().unwrap_or(0))
    );
    println!(
        "iterations {}  p50 {}  p99 {}  p99.9 {}  max {}",
        s.iterations,
        fmt_ns(s.p50_ns),
        fmt_ns(s.p99_ns),
        fmt_ns(s.p999_ns),
        fmt_ns(s.max_ns)
    );
    println!(
        "pause threshold {}: {} pauses, {} in pauses ({:.3}% of the run)",
        fmt_ns(s.threshold_ns),
        s.pauses,
        fmt_ns(s.paused_ns),
        s.paused_ns as f64 / s.total_ns.max(1) as f64 * 100.0
    );
    println!("MMU 1 ms {:.4}  MMU 10 ms {:.4}", s.mmu_1ms, s.mmu_10ms);
    if let Some(h) = &outcome.engine_waits {
        println!(
            "engine waits {}  p50 {}  p99 {}  p99.9 {}  max {}  sum <= {}",
            h.count(),
            fmt_ns(h.quantile(0.5)),
            fmt_ns(h.quantile(0.99)),
            fmt_ns(h.quantile(0.999)),
            fmt_ns(h.max()),
            fmt_ns((h.mean() * h.count() as f64) as u64)
        );
    }
    for (cause, h) in &outcome.engine_waits_by_cause {
        println!(
            "  {cause}: {}  p99 {}  max {}",
            h.count(),
            fmt_ns(h.quantile(0.99)),
            fmt_ns(h.max())
        );
    }
    println!("\nmutator gap histogram:");
    print_histogram(&record.histogram);
    if let Some(h) = &outcome.engine_waits {
        println!("\nengine histogram of collector-caused waits:");
        print_histogram(h);
    }
    Ok(())
}

/// Prints a coarse view: counts per power-of-two range.
fn print_histogram(h: &Histogram) {
    let mut rows: Vec<(u64, u64)> = Vec::new();
    for (lo, _, c) in h.buckets() {
        let top = if lo == 0 { 0 } else { 63 - lo.leading_zeros() };
        let floor = if lo == 0 { 0 } else { 1u64 << top };
        match rows.last_mut() {
            Some((f, n)) if *f == floor => *n += c,
            _ => rows.push((floor, c)),
        }
    }
    let total = h.count().max(1) as f64;
    for (floor, n) in rows {
        println!(
            "  >= {:>9}  {:>12}  {:>8.4}%",
            fmt_ns(floor),
            n,
            n as f64 / total * 100.0
        );
    }
}
