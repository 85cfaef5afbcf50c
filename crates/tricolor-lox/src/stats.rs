//! The `--gc-stats` report: the heap's [`MemStats`] and the process's peak
//! resident memory.
//!
//! "GC time" for a concurrent collector has two parts, reported apart:
//!
//! * **mutator time lost to the collector** — the waits the collector caused
//!   the interpreter thread (phase handshakes, object barriers finding an
//!   object being traced) and the mark assists it did while allocating;
//!   this is what slows the program down directly;
//! * **background marking** — mark phases run on the collector's worker
//!   threads while the interpreter keeps running; it costs CPU (the GC CPU
//!   fraction), not interpreter time, unless the cores are all busy.

use std::io::Write;

use tricolor::MemStats;

/// The process's peak resident set size in bytes (`VmHWM` from
/// `/proc/self/status`), where available.
pub fn peak_rss() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: usize = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// The CPU time the calling thread has used, where available (the first
/// field of `/proc/thread-self/schedstat`, in nanoseconds).
pub fn thread_cpu_time() -> Option<std::time::Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(std::time::Duration::from_nanos(ns))
}

/// The CPU time the whole process has used (all threads, user and system),
/// where available (`/proc/self/stat`, in clock ticks of 10 ms).
pub fn process_cpu_time() -> Option<std::time::Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (which is in parentheses).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(std::time::Duration::from_millis(ticks * 10))
}

/// Writes the statistics summary. Call it from the interpreter thread (it
/// reports that thread's CPU time).
pub fn print_stats(out: &mut impl Write, s: &MemStats) {
    let mib = |b: usize| b as f64 / (1 << 20) as f64;
    let ms = |ns: u64| ns as f64 / 1e6;
    let _ = writeln!(out, "-- tricolor-lox gc stats --");
    let _ = writeln!(
        out,
        "cycles: {} ({} forced), termination rounds: {}",
        s.cycles, s.forced_cycles, s.termination_rounds
    );
    for (what, h) in [
        ("mutator waits", &s.mutator_waits),
        ("mark assists", &s.assists),
    ] {
        let _ = writeln!(
            out,
            "{what}: {} totalling {:.3} ms (max {:.3} ms, p99 {:.3} ms)",
            h.count,
            ms(h.sum),
            ms(h.max),
            ms(h.quantile(0.99)),
        );
    }
    let _ = writeln!(
        out,
        "mark phases (background, wall): {} totalling {:.3} ms (max {:.3} ms, p99 {:.3} ms); \
         mark start max {:.3} ms",
        s.mark_times.count,
        ms(s.mark_times.sum),
        ms(s.mark_times.max),
        ms(s.mark_times.quantile(0.99)),
        ms(s.mark_start_times.max),
    );
    let _ = writeln!(out, "GC CPU fraction: {:.2} %", s.gc_cpu_fraction * 100.0);
    let _ = writeln!(
        out,
        "heap in use: {:.2} MiB, live after last mark: {:.2} MiB, goal: {}, obtained: {:.2} MiB",
        mib(s.heap_in_use_bytes),
        mib(s.live_after_last_mark),
        if s.heap_goal == usize::MAX {
            "none".to_owned()
        } else {
            format!("{:.2} MiB", mib(s.heap_goal))
        },
        mib(s.heap_obtained_bytes),
    );
    let _ = writeln!(
        out,
        "objects: {} in use, {} allocated, {} freed",
        s.objects_in_use, s.total_allocs, s.total_frees
    );
    if let (Some(thread), Some(process)) = (thread_cpu_time(), process_cpu_time()) {
        let _ = writeln!(
            out,
            "CPU time: interpreter thread {:.3} s, whole process {:.2} s",
            thread.as_secs_f64(),
            process.as_secs_f64()
        );
    }
    let max_live = mib(s.max_live_after_mark);
    match peak_rss() {
        Some(rss) => {
            let _ = writeln!(
                out,
                "peak RSS: {:.2} MiB; largest live heap of any cycle: {max_live:.2} MiB \
                 (RSS = 2 x live + {:.2} MiB)",
                mib(rss),
                mib(rss) - 2.0 * max_live
            );
        }
        None => {
            let _ = writeln!(
                out,
                "peak RSS: unavailable; largest live heap of any cycle: {max_live:.2} MiB"
            );
        }
    }
}
