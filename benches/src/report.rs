//! `bench-report` support: the one-line result protocol between the parent and its child
//! processes, peak RSS, the machine description, crate versions, checksum verification, and the
//! Markdown section written into `docs/PERFORMANCE.md` between [`BEGIN_MARKER`] and
//! [`END_MARKER`].

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::stats::{LatencySummary, median};
use crate::workloads::{Size, Workload, churn};

/// Start of the generated section in `docs/PERFORMANCE.md`.
pub const BEGIN_MARKER: &str = "<!-- bench-report:begin -->";
/// End of the generated section in `docs/PERFORMANCE.md`.
pub const END_MARKER: &str = "<!-- bench-report:end -->";

/// The workspace lock file, read at compile time for the peer crate versions.
const CARGO_LOCK: &str = include_str!("../../Cargo.lock");

/// The `rustc -V` that compiled this crate (set by `build.rs`).
pub const RUSTC_VERSION: &str = env!("BENCH_RUSTC_VERSION");

/// One measured run, as reported by a child process.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    /// Wall time of the workload itself (not process start-up), ns.
    pub wall_ns: u64,
    /// The workload checksum.
    pub checksum: u64,
    /// The child's peak resident set (`VmHWM`), KiB.
    pub peak_rss_kib: u64,
    /// For the latency workload: the gap statistics.
    pub latency: Option<LatencySummary>,
}

/// A line printed by `bench-report --run …`.
#[derive(Clone, Debug, PartialEq)]
pub enum ChildLine {
    /// The run completed.
    Ok {
        /// Which workload.
        workload: Workload,
        /// Which peer.
        peer: String,
        /// The result.
        record: RunRecord,
    },
    /// The peer cannot run the workload.
    Unsupported {
        /// Which workload.
        workload: Workload,
        /// Which peer.
        peer: String,
        /// Why (shown as `n/a: <reason>`).
        reason: String,
    },
}

const OK_TAG: &str = "bench-result";
const NA_TAG: &str = "bench-unsupported";

impl ChildLine {
    /// The single line (no newline) the child prints.
    pub fn format(&self) -> String {
        match self {
            ChildLine::Ok {
                workload,
                peer,
                record,
            } => {
                let mut s = format!(
                    "{OK_TAG} workload={workload} peer={peer} wall_ns={} checksum={} peak_rss_kib={}",
                    record.wall_ns, record.checksum, record.peak_rss_kib
                );
                if let Some(l) = &record.latency {
                    let _ = write!(
                        s,
                        " lat_iterations={} lat_p50_ns={} lat_p99_ns={} lat_p999_ns={} lat_max_ns={} \
                         lat_mmu_1ms={} lat_mmu_10ms={} lat_threshold_ns={} lat_pauses={} \
                         lat_paused_ns={} lat_total_ns={}",
                        l.iterations,
                        l.p50_ns,
                        l.p99_ns,
                        l.p999_ns,
                        l.max_ns,
                        l.mmu_1ms,
                        l.mmu_10ms,
                        l.threshold_ns,
                        l.pauses,
                        l.paused_ns,
                        l.total_ns
                    );
                }
                s
            }
            ChildLine::Unsupported {
                workload,
                peer,
                reason,
            } => format!("{NA_TAG} workload={workload} peer={peer} reason={reason}"),
        }
    }

    /// Parses a line printed by a child; `None` for any other line.
    pub fn parse(line: &str) -> Option<ChildLine> {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix(NA_TAG) {
            let (fields, reason) = rest.split_once(" reason=")?;
            let kv = key_values(fields);
            return Some(ChildLine::Unsupported {
                workload: Workload::parse(kv.get("workload")?)?,
                peer: kv.get("peer")?.to_string(),
                reason: reason.to_string(),
            });
        }
        let rest = line.strip_prefix(OK_TAG)?;
        let kv = key_values(rest);
        let num = |k: &str| kv.get(k).and_then(|v| v.parse::<u64>().ok());
        let float = |k: &str| kv.get(k).and_then(|v| v.parse::<f64>().ok());
        let latency = if kv.contains_key("lat_iterations") {
            Some(LatencySummary {
                iterations: num("lat_iterations")?,
                p50_ns: num("lat_p50_ns")?,
                p99_ns: num("lat_p99_ns")?,
                p999_ns: num("lat_p999_ns")?,
                max_ns: num("lat_max_ns")?,
                mmu_1ms: float("lat_mmu_1ms")?,
                mmu_10ms: float("lat_mmu_10ms")?,
                threshold_ns: num("lat_threshold_ns")?,
                pauses: num("lat_pauses")?,
                paused_ns: num("lat_paused_ns")?,
                total_ns: num("lat_total_ns")?,
            })
        } else {
            None
        };
        Some(ChildLine::Ok {
            workload: Workload::parse(kv.get("workload")?)?,
            peer: kv.get("peer")?.to_string(),
            record: RunRecord {
                wall_ns: num("wall_ns")?,
                checksum: num("checksum")?,
                peak_rss_kib: num("peak_rss_kib")?,
                latency,
            },
        })
    }
}

fn key_values(s: &str) -> HashMap<&str, &str> {
    s.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .collect()
}

/// This process's peak resident set size (`VmHWM` in `/proc/self/status`), KiB.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The versions of crate `name` in the workspace's `Cargo.lock` (usually one).
pub fn locked_versions(lock: &str, name: &str) -> Vec<String> {
    let wanted = format!("name = \"{name}\"");
    let mut out = Vec::new();
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l.trim() == wanted
            && let Some(v) = lines
                .next()
                .and_then(|v| v.trim().strip_prefix("version = "))
        {
            out.push(v.trim_matches('"').to_string());
        }
    }
    out
}

/// The version of `name` this binary was built with (from the workspace `Cargo.lock`).
pub fn crate_version(name: &str) -> String {
    let v = locked_versions(CARGO_LOCK, name);
    if v.is_empty() {
        "?".to_string()
    } else {
        v.join(", ")
    }
}

/// The machine the numbers were taken on.
#[derive(Clone, Debug, Default)]
pub struct Machine {
    /// CPU model name.
    pub cpu: String,
    /// Logical CPUs.
    pub cores: usize,
    /// Total RAM, KiB.
    pub ram_kib: u64,
    /// Kernel release.
    pub kernel: String,
    /// The compiler.
    pub rustc: String,
}

impl Machine {
    /// Reads `/proc` for this machine.
    pub fn detect() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|v| v.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown".to_string());
        let cores = cpuinfo
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count()
            .max(std::thread::available_parallelism().map_or(0, |n| n.get()));
        let ram_kib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
            .unwrap_or(0);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".to_string());
        Machine {
            cpu,
            cores,
            ram_kib,
            kernel,
            rustc: RUSTC_VERSION.to_string(),
        }
    }
}

/// What is known about one (workload, peer) pair.
#[derive(Clone, Debug)]
pub enum Cell {
    /// Completed runs (at least one), and an optional note (e.g. why it ran fewer times).
    Runs(Vec<RunRecord>, Option<String>),
    /// The peer cannot run the workload.
    Unsupported(String),
}

impl Cell {
    fn runs(&self) -> &[RunRecord] {
        match self {
            Cell::Runs(r, _) => r,
            Cell::Unsupported(_) => &[],
        }
    }

    fn median_of(&self, f: impl Fn(&RunRecord) -> u64) -> Option<u64> {
        median(&self.runs().iter().map(f).collect::<Vec<_>>())
    }

    fn median_wall(&self) -> Option<u64> {
        self.median_of(|r| r.wall_ns)
    }

    fn median_rss(&self) -> Option<u64> {
        self.median_of(|r| r.peak_rss_kib)
    }
}

/// The collected results of a `bench-report` run.
#[derive(Clone, Debug)]
pub struct Report {
    /// The size everything ran at.
    pub size: Size,
    /// Runs per (workload, peer) requested.
    pub repeat: usize,
    /// Runs per (workload, peer) whose first run took less than `fast`.
    pub fast_repeat: usize,
    /// The first-run wall time under which a (workload, peer) counts as fast.
    pub fast: Duration,
    /// The workloads, in order.
    pub workloads: Vec<Workload>,
    /// The peers, in column order.
    pub peers: Vec<&'static str>,
    /// The peer ratios are relative to.
    pub reference: String,
    /// The command that reproduces this report.
    pub command: String,
    /// Results per (workload, peer).
    pub cells: HashMap<(Workload, &'static str), Cell>,
}

impl Report {
    /// Checks that, for each workload, every run of every peer produced the same checksum and
    /// that it equals the closed-form answer. Returns one message per disagreement.
    pub fn checksum_errors(&self) -> Vec<String> {
        let mut errors = Vec::new();
        for &w in &self.workloads {
            let expected = w.expected_checksum(self.size);
            let mut seen: Option<(u64, &str)> = None;
            for &p in &self.peers {
                for r in self.cells.get(&(w, p)).map_or(&[][..], Cell::runs) {
                    if let Some(e) = expected
                        && r.checksum != e
                    {
                        errors.push(format!(
                            "{w}: {p} returned checksum {} but the closed form is {e}",
                            r.checksum
                        ));
                    }
                    match seen {
                        None => seen = Some((r.checksum, p)),
                        Some((c, q)) if c != r.checksum => errors.push(format!(
                            "{w}: {p} returned checksum {} but {q} returned {c}",
                            r.checksum
                        )),
                        _ => {}
                    }
                }
            }
        }
        errors
    }

    fn cell(&self, w: Workload, p: &str) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|((cw, cp), _)| *cw == w && *cp == p)
            .map(|(_, c)| c)
    }

    fn ratio(&self, w: Workload, p: &str, f: impl Fn(&Cell) -> Option<u64>) -> String {
        match (
            self.cell(w, p).and_then(&f),
            self.cell(w, &self.reference).and_then(&f),
        ) {
            (Some(a), Some(b)) if b > 0 => format!("{:.2}×", a as f64 / b as f64),
            _ => "–".to_string(),
        }
    }

    fn na(&self, w: Workload, p: &str) -> Option<String> {
        match self.cell(w, p) {
            Some(Cell::Unsupported(reason)) => Some(format!("n/a: {reason}")),
            None => Some("not run".to_string()),
            Some(Cell::Runs(..)) => None,
        }
    }

    fn runs_note(&self, c: &Cell) -> String {
        match c {
            Cell::Runs(r, note) => {
                let walls: Vec<u64> = r.iter().map(|r| r.wall_ns).collect();
                let spread = match (walls.iter().min(), walls.iter().max(), median(&walls)) {
                    (Some(&lo), Some(&hi), Some(m)) if r.len() > 1 && m > 0 => {
                        format!(", spread ±{:.0}%", (hi - lo) as f64 / m as f64 * 50.0)
                    }
                    _ => String::new(),
                };
                match note {
                    Some(n) => format!("{}{spread}; {n}", r.len()),
                    None => format!("{}{spread}", r.len()),
                }
            }
            Cell::Unsupported(_) => String::new(),
        }
    }

    fn time_table(&self, out: &mut String, w: Workload) {
        let per_alloc = w == Workload::Churn;
        let _ = writeln!(out, "### {w} ({})\n", w.describe(self.size));
        let _ = writeln!(
            out,
            "| peer | median time | time vs {r} |{} peak RSS | RSS vs {r} | runs |",
            if per_alloc { " ns/alloc |" } else { "" },
            r = self.reference
        );
        let _ = writeln!(
            out,
            "|---|---:|---:|{}---:|---:|---|",
            if per_alloc { "---:|" } else { "" }
        );
        for &p in &self.peers {
            if let Some(na) = self.na(w, p) {
                let _ = writeln!(
                    out,
                    "| {p} | {na} | |{} | | |",
                    if per_alloc { " |" } else { "" }
                );
                continue;
            }
            let Some(c) = self.cell(w, p) else { continue };
            let wall = c.median_wall().unwrap_or(0);
            let ns_alloc = if per_alloc {
                let n = churn::Params::for_size(self.size).allocations.max(1);
                format!(" {:.1} |", wall as f64 / n as f64)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "| {p} | {} | {} |{ns_alloc} {} | {} | {} |",
                fmt_ns(wall),
                self.ratio(w, p, Cell::median_wall),
                fmt_kib(c.median_rss().unwrap_or(0)),
                self.ratio(w, p, Cell::median_rss),
                self.runs_note(c)
            );
        }
        out.push('\n');
    }

    fn churn_mt_table(&self, out: &mut String) {
        let n = churn::Params::for_size(self.size).allocations as f64;
        let _ = writeln!(
            out,
            "### churn-mt ({}; one heap shared by the threads, each thread its own window)\n",
            churn::Params::for_size(self.size)
        );
        let _ = writeln!(
            out,
            "| peer | 1 thread | 1 thread M allocs/s | 2 threads | 2 threads M allocs/s | \
             speed-up | 2 threads vs {} | peak RSS (2 threads) | runs (1 / 2 threads) |",
            self.reference
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---|");
        for &p in &self.peers {
            let (w1, w2) = (Workload::ChurnMt1, Workload::ChurnMt2);
            if let Some(na) = self.na(w2, p) {
                let _ = writeln!(out, "| {p} | {na} | | | | | | | |");
                continue;
            }
            let c1 = self.cell(w1, p);
            let c2 = self.cell(w2, p);
            let t1 = c1.and_then(Cell::median_wall);
            let t2 = c2.and_then(Cell::median_wall);
            let rate =
                |t: Option<u64>| t.map_or("–".into(), |t| format!("{:.1}", n / t as f64 * 1e3));
            let speedup = match (t1, t2) {
                (Some(a), Some(b)) if b > 0 => format!("{:.2}×", a as f64 / b as f64),
                _ => "–".into(),
            };
            let _ = writeln!(
                out,
                "| {p} | {} | {} | {} | {} | {speedup} | {} | {} | {} / {} |",
                t1.map_or("–".into(), fmt_ns),
                rate(t1),
                t2.map_or("–".into(), fmt_ns),
                rate(t2),
                self.ratio(w2, p, Cell::median_wall),
                c2.and_then(Cell::median_rss).map_or("–".into(), fmt_kib),
                c1.map_or(String::new(), |c| self.runs_note(c)),
                c2.map_or(String::new(), |c| self.runs_note(c)),
            );
        }
        out.push('\n');
    }

    fn latency_table(&self, out: &mut String) {
        let w = Workload::Latency;
        let _ = writeln!(out, "### latency ({})\n", w.describe(self.size));
        let _ = writeln!(
            out,
            "Gaps between consecutive mutator iterations. A gap counts as a pause when it exceeds \
             {}× the calibrated median gap (\"threshold\"); MMU(w) is the worst fraction of any \
             window of length w outside pauses (definitions: `benches/src/stats.rs`). Each figure \
             is the median over runs.\n",
            crate::stats::DEFAULT_PAUSE_FACTOR
        );
        let _ = writeln!(
            out,
            "| peer | p50 | p99 | p99.9 | max | MMU 1 ms | MMU 10 ms | threshold | pauses | \
             iterations | peak RSS | runs |"
        );
        let _ = writeln!(
            out,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
        );
        for &p in &self.peers {
            if let Some(na) = self.na(w, p) {
                let _ = writeln!(out, "| {p} | {na} | | | | | | | | | | |");
                continue;
            }
            let Some(c) = self.cell(w, p) else { continue };
            let lat: Vec<&LatencySummary> =
                c.runs().iter().filter_map(|r| r.latency.as_ref()).collect();
            let med = |f: &dyn Fn(&LatencySummary) -> u64| {
                median(&lat.iter().map(|l| f(l)).collect::<Vec<_>>()).unwrap_or(0)
            };
            let medf = |f: &dyn Fn(&LatencySummary) -> f64| {
                let mut v: Vec<f64> = lat.iter().map(|l| f(l)).collect();
                v.sort_by(f64::total_cmp);
                v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
            };
            let _ = writeln!(
                out,
                "| {p} | {} | {} | {} | {} | {:.3} | {:.3} | {} | {} | {} | {} | {} |",
                fmt_ns(med(&|l| l.p50_ns)),
                fmt_ns(med(&|l| l.p99_ns)),
                fmt_ns(med(&|l| l.p999_ns)),
                fmt_ns(med(&|l| l.max_ns)),
                medf(&|l| l.mmu_1ms),
                medf(&|l| l.mmu_10ms),
                fmt_ns(med(&|l| l.threshold_ns)),
                med(&|l| l.pauses),
                med(&|l| l.iterations),
                fmt_kib(c.median_rss().unwrap_or(0)),
                self.runs_note(c)
            );
        }
        out.push('\n');
    }

    /// The Markdown section (without the markers).
    pub fn to_markdown(&self, machine: &Machine, date: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "## Results\n");
        let _ = writeln!(
            out,
            "Generated on {date} by `bench-report` at size `{}`; every (workload, peer) ran {} \
             time(s){}, each in a fresh process, interleaved across peers; tables show medians. \
             Ratios are relative to `{}` (lower is better). All peers ran in the same session on \
             the same machine, which other processes share, so compare ratios rather than \
             absolute numbers. Checksums agreed across peers and with the closed forms.\n",
            self.size,
            self.repeat,
            if self.fast_repeat > self.repeat {
                format!(
                    ", or {} times if its first run took less than {} s",
                    self.fast_repeat,
                    self.fast.as_secs_f64()
                )
            } else {
                String::new()
            },
            self.reference
        );
        let _ = writeln!(out, "Reproduce with:\n\n```sh\n{}\n```\n", self.command);
        let _ = writeln!(out, "### Machine\n");
        let _ = writeln!(out, "| | |\n|---|---|");
        let _ = writeln!(out, "| CPU | {} |", machine.cpu);
        let _ = writeln!(out, "| logical cores | {} |", machine.cores);
        let _ = writeln!(out, "| RAM | {} |", fmt_kib(machine.ram_kib));
        let _ = writeln!(out, "| kernel | Linux {} |", machine.kernel);
        let _ = writeln!(out, "| compiler | {} |", machine.rustc);
        let _ = writeln!(out, "| profile | {} |\n", build_profile());
        let _ = writeln!(out, "### Peers\n");
        let _ = writeln!(out, "| peer | crate | version | what |\n|---|---|---|---|");
        for &p in &self.peers {
            if let Some(peer) = crate::peers::by_name(p) {
                let (krate, version) = match peer.crate_name() {
                    Some(k) => (k.to_string(), crate_version(k)),
                    None => ("std".to_string(), RUSTC_VERSION.to_string()),
                };
                let _ = writeln!(
                    out,
                    "| {p} | {krate} | {version} | {} |",
                    peer.description()
                );
            }
        }
        out.push('\n');
        let mut groups_done = Vec::new();
        for &w in &self.workloads {
            if groups_done.contains(&w.group()) {
                continue;
            }
            groups_done.push(w.group());
            match w {
                Workload::ChurnMt1 | Workload::ChurnMt2 => self.churn_mt_table(&mut out),
                Workload::Latency => self.latency_table(&mut out),
                _ => self.time_table(&mut out, w),
            }
        }
        out
    }
}

/// `release` or `debug` (numbers from a debug build are meaningless).
pub fn build_profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug (numbers not meaningful)"
    } else {
        "release"
    }
}

/// Formats nanoseconds with three significant figures and a unit.
pub fn fmt_ns(ns: u64) -> String {
    let (v, unit) = match ns {
        0..1_000 => return format!("{ns} ns"),
        1_000..1_000_000 => (ns as f64 / 1e3, "µs"),
        1_000_000..1_000_000_000 => (ns as f64 / 1e6, "ms"),
        _ => (ns as f64 / 1e9, "s"),
    };
    if v >= 100.0 {
        format!("{v:.0} {unit}")
    } else if v >= 10.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.2} {unit}")
    }
}

/// Formats KiB as MiB (or GiB).
pub fn fmt_kib(kib: u64) -> String {
    if kib >= 10 << 20 {
        format!("{:.1} GiB", kib as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.0} MiB", kib as f64 / 1024.0)
    }
}

/// Today's UTC date as `YYYY-MM-DD`.
pub fn today_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    civil_date((secs / 86_400) as i64)
}

/// The proleptic Gregorian date of `days` since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The intro of a new `docs/PERFORMANCE.md`.
pub const DEFAULT_INTRO: &str = "# Performance\n\n\
tricolor measured against other ways of managing memory in Rust: the manual baselines `Box` and \
`Rc`, and the garbage collectors `gc`, `gc-arena` and `dumpster`. Every workload is implemented \
once per peer with the same algorithm and parameters (see `benches/src/workloads/`), and every \
claim is a ratio between peers measured in the same run on the same machine. The section below \
is generated by `bench-report` (see `benches/README.md`); edit outside the markers only.\n";

/// Replaces the generated section of `existing` (the text between the markers, markers kept)
/// with `section`, keeping everything outside the markers. Without markers, the section is
/// appended; without a file (`None`), a new one is made from [`DEFAULT_INTRO`].
pub fn splice(existing: Option<&str>, section: &str) -> String {
    let block = format!("{BEGIN_MARKER}\n{}\n{END_MARKER}", section.trim_end());
    let text = existing.unwrap_or(DEFAULT_INTRO);
    match (text.find(BEGIN_MARKER), text.find(END_MARKER)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{block}{}", &text[..b], &text[e + END_MARKER.len()..])
        }
        _ => {
            let mut s = text.trim_end().to_string();
            s.push_str("\n\n");
            s.push_str(&block);
            s.push('\n');
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_lines_round_trip() {
        let ok = ChildLine::Ok {
            workload: Workload::Latency,
            peer: "box".into(),
            record: RunRecord {
                wall_ns: 12,
                checksum: u64::MAX,
                peak_rss_kib: 3,
                latency: Some(LatencySummary {
                    iterations: 1,
                    p50_ns: 2,
                    p99_ns: 3,
                    p999_ns: 4,
                    max_ns: 5,
                    mmu_1ms: 0.25,
                    mmu_10ms: 0.875,
                    threshold_ns: 6,
                    pauses: 7,
                    paused_ns: 8,
                    total_ns: 9,
                }),
            },
        };
        assert_eq!(ChildLine::parse(&ok.format()), Some(ok));
        let plain = ChildLine::Ok {
            workload: Workload::ChurnMt2,
            peer: "gc-arena".into(),
            record: RunRecord {
                wall_ns: 1,
                checksum: 2,
                peak_rss_kib: 3,
                latency: None,
            },
        };
        assert_eq!(ChildLine::parse(&plain.format()), Some(plain));
        let na = ChildLine::Unsupported {
            workload: Workload::ChurnMt1,
            peer: "gc".into(),
            reason: "thread-local heap (see x)".into(),
        };
        assert_eq!(ChildLine::parse(&na.format()), Some(na));
        assert_eq!(ChildLine::parse("warning: something"), None);
        assert_eq!(ChildLine::parse("bench-result workload=nope peer=x"), None);
    }

    #[test]
    fn splice_keeps_text_outside_the_markers() {
        let new = splice(None, "TABLE 1");
        assert!(new.starts_with("# Performance"));
        assert!(new.contains(&format!("{BEGIN_MARKER}\nTABLE 1\n{END_MARKER}")));
        let edited = format!("Intro\n\n{BEGIN_MARKER}\nold\n{END_MARKER}\n\nOutro\n");
        let again = splice(Some(&edited), "TABLE 2\n");
        assert_eq!(
            again,
            format!("Intro\n\n{BEGIN_MARKER}\nTABLE 2\n{END_MARKER}\n\nOutro\n")
        );
        let no_markers = splice(Some("Hello\n"), "T");
        assert_eq!(
            no_markers,
            format!("Hello\n\n{BEGIN_MARKER}\nT\n{END_MARKER}\n")
        );
    }

    #[test]
    fn lock_versions_and_dates() {
        let lock = "[[package]]\nname = \"gc\"\nversion = \"0.5.1\"\n\n[[package]]\nname = \"gc-arena\"\nversion = \"0.7.0\"\n";
        assert_eq!(locked_versions(lock, "gc"), vec!["0.5.1"]);
        assert_eq!(locked_versions(lock, "gc-arena"), vec!["0.7.0"]);
        assert!(locked_versions(lock, "dumpster").is_empty());
        // The real lock file has the peers.
        assert_ne!(crate_version("gc-arena"), "?");
        assert_ne!(crate_version("dumpster"), "?");
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(19_723), "2024-01-01");
        assert_eq!(civil_date(11_016), "2000-02-29");
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_ns(999), "999 ns");
        assert_eq!(fmt_ns(1_234), "1.23 µs");
        assert_eq!(fmt_ns(12_345_678), "12.3 ms");
        assert_eq!(fmt_ns(123_456_789_000), "123 s");
        assert_eq!(fmt_kib(2048), "2 MiB");
        assert_eq!(fmt_kib(24 << 20), "24.0 GiB");
    }

    fn record(wall_ns: u64, checksum: u64) -> RunRecord {
        RunRecord {
            wall_ns,
            checksum,
            peak_rss_kib: 1024,
            latency: None,
        }
    }

    #[test]
    fn checksum_disagreement_is_reported() {
        let size = Size::Tiny;
        let good = Workload::Churn.expected_checksum(size).unwrap_or(0);
        let mut cells = HashMap::new();
        cells.insert(
            (Workload::Churn, "box"),
            Cell::Runs(vec![record(10, good), record(12, good)], None),
        );
        cells.insert(
            (Workload::Churn, "rc"),
            Cell::Runs(vec![record(20, good)], None),
        );
        cells.insert((Workload::Churn, "gc"), Cell::Unsupported("x".into()));
        let mut report = Report {
            size,
            repeat: 2,
            fast_repeat: 2,
            fast: Duration::from_secs(3),
            workloads: vec![Workload::Churn],
            peers: vec!["box", "rc", "gc"],
            reference: "box".into(),
            command: "cmd".into(),
            cells,
        };
        assert!(report.checksum_errors().is_empty());
        let md = report.to_markdown(&Machine::default(), "2024-01-01");
        // Median of 10 and 12 is 11 ns; rc is 20 / 11 = 1.82× box.
        assert!(md.contains("| box | 11 ns | 1.00× |"), "{md}");
        assert!(md.contains("| rc | 20 ns | 1.82× |"), "{md}");
        assert!(md.contains("| gc | n/a: x |"), "{md}");
        report.cells.insert(
            (Workload::Churn, "rc"),
            Cell::Runs(vec![record(20, good + 1)], None),
        );
        let errors = report.checksum_errors();
        assert_eq!(errors.len(), 2, "{errors:?}"); // wrong vs closed form, and vs box
    }
}
