//! `bench-report`: runs every (workload, peer) at one size, each run in a fresh child process of
//! this binary, checks that the checksums agree, prints Markdown tables and (with `--write`)
//! puts them into `docs/PERFORMANCE.md` between the bench-report markers.
//!
//! ```text
//! bench-report [--size tiny|ci|report] [--repeat K] [--fast-repeat K] [--fast-secs S]
//!              [--only WORKLOAD[,…]] [--peers A,B,…] [--reference PEER] [--slow-secs S]
//!              [--write] [--out PATH]
//! bench-report --run WORKLOAD PEER SIZE      (child mode: one run, one result line)
//! ```
//!
//! `--only` takes workload names or groups (`binary-trees`, `gcbench`, `churn`, `churn-mt`,
//! `churn-mt1`, `churn-mt2`, `latency`). Each (workload, peer) runs `--repeat` times (default
//! 3), or `--fast-repeat` times (default 9) if its first run took less than `--fast-secs`
//! (default 3): the second core and the host make single runs vary by ±20 %, and a median of
//! nine one-second runs costs less than one run of the slow peers. A (workload, peer) whose
//! first run takes longer than `--slow-secs` (default 300) is not repeated, and the table says
//! so. Runs are interleaved across peers: round *k* runs every peer that still needs a *k*-th
//! run.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use benches::peers::{self, Outcome};
use benches::report::{self, Cell, ChildLine, Machine, Report, RunRecord};
use benches::workloads::{Size, Workload};

const USAGE: &str = "usage: bench-report [--size tiny|ci|report] [--repeat K] [--fast-repeat K] \
[--fast-secs S] [--only WORKLOAD[,...]] [--peers A,B,...] [--reference PEER] [--slow-secs S] [--write] \
[--out PATH]\n       \
bench-report --run WORKLOAD PEER SIZE";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--run") {
        return child(&args[1..]);
    }
    match Options::parse(&args) {
        Ok(opts) => parent(&opts, &args),
        Err(e) => {
            eprintln!("bench-report: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Child mode: run one workload once and print one result line.
fn child(args: &[String]) -> ExitCode {
    let [w, p, s] = args else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let (Some(workload), Some(peer), Some(size)) =
        (Workload::parse(w), peers::by_name(p), Size::parse(s))
    else {
        eprintln!("bench-report --run: unknown workload, peer or size: {w} {p} {s}");
        return ExitCode::from(2);
    };
    let start = Instant::now();
    let result = peers::run(peer, workload, size);
    let wall_ns = start.elapsed().as_nanos() as u64;
    let line = match result {
        Ok(Outcome { checksum, latency }) => ChildLine::Ok {
            workload,
            peer: peer.name().to_string(),
            record: RunRecord {
                wall_ns,
                checksum,
                peak_rss_kib: report::peak_rss_kib().unwrap_or(0),
                latency: latency.map(|(record, _)| record.summary()),
            },
        },
        Err(u) => ChildLine::Unsupported {
            workload,
            peer: peer.name().to_string(),
            reason: u.0.to_string(),
        },
    };
    println!("{}", line.format());
    ExitCode::SUCCESS
}

struct Options {
    size: Size,
    repeat: usize,
    fast_repeat: usize,
    fast: Duration,
    workloads: Vec<Workload>,
    peers: Vec<&'static str>,
    reference: String,
    slow: Duration,
    write: bool,
    out: PathBuf,
}

impl Options {
    /// How many runs a (workload, peer) gets, given its first run: `fast_repeat` (if larger)
    /// for a fast one, `repeat` otherwise.
    fn runs_wanted(&self, first: &RunRecord) -> usize {
        if Duration::from_nanos(first.wall_ns) < self.fast {
            self.repeat.max(self.fast_repeat)
        } else {
            self.repeat
        }
    }

    fn parse(args: &[String]) -> Result<Options, String> {
        let mut size = Size::Tiny;
        let mut repeat = 3;
        let mut fast_repeat = 9;
        let mut fast = Duration::from_secs(3);
        let mut only: Option<Vec<String>> = None;
        let mut peer_names: Option<Vec<String>> = None;
        let mut reference = None;
        let mut slow = Duration::from_secs(300);
        let mut write = false;
        let mut out = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/PERFORMANCE.md"
        ));
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || it.next().cloned().ok_or(format!("{a} needs a value"));
            match a.as_str() {
                "--size" => {
                    let v = value()?;
                    size = Size::parse(&v).ok_or(format!("unknown size {v}"))?;
                }
                "--repeat" => repeat = positive(a, &value()?)?,
                "--fast-repeat" => fast_repeat = positive(a, &value()?)?,
                "--fast-secs" => fast = seconds(a, &value()?)?,
                "--only" => {
                    only.get_or_insert_with(Vec::new)
                        .extend(value()?.split(',').map(str::to_string));
                }
                "--peers" => peer_names = Some(value()?.split(',').map(str::to_string).collect()),
                "--reference" => reference = Some(value()?),
                "--slow-secs" => slow = seconds(a, &value()?)?,
                "--write" => write = true,
                "--out" => out = PathBuf::from(value()?),
                "-h" | "--help" => return Err("help".to_string()),
                other => return Err(format!("unknown argument {other}")),
            }
        }
        let workloads: Vec<Workload> = match &only {
            None => Workload::ALL.to_vec(),
            Some(filters) => {
                for f in filters {
                    if !Workload::ALL.iter().any(|w| w.matches(f)) {
                        return Err(format!("unknown workload {f}"));
                    }
                }
                Workload::ALL
                    .into_iter()
                    .filter(|w| filters.iter().any(|f| w.matches(f)))
                    .collect()
            }
        };
        let peers: Vec<&'static str> = match &peer_names {
            None => peers::ALL.iter().map(|p| p.name()).collect(),
            Some(names) => names
                .iter()
                .map(|n| {
                    peers::by_name(n)
                        .map(|p| p.name())
                        .ok_or(format!("unknown peer {n}"))
                })
                .collect::<Result<_, _>>()?,
        };
        let reference = match reference {
            Some(r) if peers.contains(&r.as_str()) => r,
            Some(r) => return Err(format!("reference {r} is not among the peers")),
            None => ["tricolor", "box"]
                .into_iter()
                .find(|r| peers.contains(r))
                .unwrap_or(peers[0])
                .to_string(),
        };
        Ok(Options {
            size,
            repeat,
            fast_repeat,
            fast,
            workloads,
            peers,
            reference,
            slow,
            write,
            out,
        })
    }
}

/// The value of `flag`, a positive integer.
fn positive(flag: &str, v: &str) -> Result<usize, String> {
    v.parse()
        .ok()
        .filter(|&k| k > 0)
        .ok_or(format!("{flag} needs a positive integer"))
}

/// The value of `flag`, a whole number of seconds.
fn seconds(flag: &str, v: &str) -> Result<Duration, String> {
    v.parse()
        .map(Duration::from_secs)
        .map_err(|_| format!("{flag} needs an integer"))
}

/// Runs one child and parses its line.
fn spawn(w: Workload, p: &str, size: Size) -> Result<ChildLine, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let output = Command::new(exe)
        .args(["--run", w.name(), p, size.name()])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("spawning {w} {p}: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!("{w} on {p} failed: {}\n{stdout}", output.status));
    }
    stdout
        .lines()
        .find_map(ChildLine::parse)
        .ok_or(format!("{w} on {p}: no result line in\n{stdout}"))
}

fn parent(opts: &Options, args: &[String]) -> ExitCode {
    let mut cells: HashMap<(Workload, &'static str), Cell> = HashMap::new();
    let mut failures = Vec::new();
    let rounds = opts.repeat.max(opts.fast_repeat);
    let mut done = 0;
    for &w in &opts.workloads {
        eprintln!("== {w}: {} ==", w.describe(opts.size));
        for rep in 0..rounds {
            for &p in &opts.peers {
                match cells.get(&(w, p)) {
                    Some(Cell::Unsupported(_)) => continue,
                    Some(Cell::Runs(_, Some(_))) => continue, // too slow to repeat
                    Some(Cell::Runs(runs, None)) if runs.len() >= opts.runs_wanted(&runs[0]) => {
                        continue;
                    }
                    _ => {}
                }
                done += 1;
                match spawn(w, p, opts.size) {
                    Ok(ChildLine::Ok { record, .. }) => {
                        let expected = w.expected_checksum(opts.size);
                        eprintln!(
                            "[{done}] {w} {p} run {}: {} checksum {}{} rss {}",
                            rep + 1,
                            report::fmt_ns(record.wall_ns),
                            record.checksum,
                            match expected {
                                Some(e) if e == record.checksum => " (ok)",
                                Some(_) => " (WRONG)",
                                None => "",
                            },
                            report::fmt_kib(record.peak_rss_kib)
                        );
                        // Too slow to repeat: noted only where it would have run again.
                        let slow = rep == 0
                            && opts.runs_wanted(&record) > 1
                            && Duration::from_nanos(record.wall_ns) > opts.slow;
                        let entry = cells.entry((w, p)).or_insert(Cell::Runs(Vec::new(), None));
                        if let Cell::Runs(runs, note) = entry {
                            runs.push(record);
                            if slow {
                                *note =
                                    Some(format!("ran once (> {} s per run)", opts.slow.as_secs()));
                            }
                        }
                    }
                    Ok(ChildLine::Unsupported { reason, .. }) => {
                        eprintln!("[{done}] {w} {p}: n/a: {reason}");
                        cells.insert((w, p), Cell::Unsupported(reason));
                    }
                    Err(e) => {
                        eprintln!("[{done}] ERROR {e}");
                        failures.push(e);
                    }
                }
            }
        }
    }
    let mut command = String::from("cargo run --release -p benches --bin bench-report --");
    for a in args {
        command.push(' ');
        command.push_str(a);
    }
    let report = Report {
        size: opts.size,
        repeat: opts.repeat,
        fast_repeat: opts.fast_repeat,
        fast: opts.fast,
        workloads: opts.workloads.clone(),
        peers: opts.peers.clone(),
        reference: opts.reference.clone(),
        command,
        cells,
    };
    failures.extend(report.checksum_errors());
    let section = report.to_markdown(&Machine::detect(), &report::today_utc());
    println!("{section}");
    if !failures.is_empty() {
        eprintln!("\nbench-report: FAILED ({} problem(s)):", failures.len());
        for f in &failures {
            eprintln!("  {f}");
        }
        eprintln!("nothing written");
        return ExitCode::FAILURE;
    }
    eprintln!("all checksums agree");
    if opts.write {
        let existing = std::fs::read_to_string(&opts.out).ok();
        let text = report::splice(existing.as_deref(), &section);
        if let Err(e) = std::fs::write(&opts.out, text) {
            eprintln!("bench-report: writing {}: {e}", opts.out.display());
            return ExitCode::FAILURE;
        }
        eprintln!("wrote {}", opts.out.display());
    }
    ExitCode::SUCCESS
}
