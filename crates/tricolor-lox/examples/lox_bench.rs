//! Benchmark runner: the Lox benchmark programs (`test/benchmark/*.lox` of
//! the suite) on `tricolor-lox`, and optionally on the book's `clox`, with
//! the wall time of each run and tricolor's collector statistics.
//!
//! ```text
//! cargo build --release -p tricolor-lox
//! cargo run --release -p tricolor-lox --example lox_bench -- \
//!     [--clox PATH] [--runs N] [--dir DIR] [--bin PATH] [PROGRAM...]
//! ```
//!
//! * `--clox PATH` — a clox binary to compare with (built from the book's
//!   sources, not part of this repository);
//! * `--runs N` — runs per program and interpreter (default 3); the runs of
//!   the two interpreters alternate, and the table shows medians;
//! * `--dir DIR` — the benchmark programs (default: `$LOX_SUITE_DIR/test/benchmark`,
//!   else `../shared/lox/test/benchmark` next to the repository, else the
//!   vendored copy in `crates/tricolor-lox/tests/suite`);
//! * `--bin PATH` — the tricolor-lox binary (default: `tricolor-lox` next to
//!   this example's own directory, i.e. `target/release/tricolor-lox`);
//! * `PROGRAM...` — names (without `.lox`) to run instead of all of them.
//!
//! `string_equality.lox` is skipped: it has more than 256 constants in one
//! chunk, a compile error in clox as in tricolor-lox. `zoo_batch.lox` runs for
//! a fixed 10 seconds; its score is the number of batches it completes (the
//! second number it prints), shown in the notes column.
//!
//! Every tricolor-lox run passes `--gc-stats`; the table shows, from the
//! last run: the CPU time of the interpreter thread and of the other threads
//! (the collector's; 10 ms resolution), collection cycles, the time the
//! interpreter thread spent in the collector's waits (phase changes, barrier
//! slow paths) and mark assists, the background marking time (wall time of
//! mark phases, on the collector's threads), the GC CPU fraction, the peak
//! RSS and the largest live heap a cycle found (from the per-cycle trace).

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Options {
    clox: Option<PathBuf>,
    runs: usize,
    dir: PathBuf,
    bin: PathBuf,
    programs: Vec<String>,
}

fn default_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        std::env::var_os("LOX_SUITE_DIR").map(|d| PathBuf::from(d).join("test/benchmark")),
        Some(manifest.join("../../../shared/lox/test/benchmark")),
        Some(manifest.join("tests/suite/test/benchmark")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|d| d.is_dir())
        .unwrap_or_else(|| manifest.join("tests/suite/test/benchmark"))
}

fn default_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the runner's own path");
    // target/release/examples/lox_bench -> target/release/tricolor-lox
    exe.parent()
        .and_then(Path::parent)
        .map(|d| d.join("tricolor-lox"))
        .unwrap_or_else(|| PathBuf::from("tricolor-lox"))
}

fn parse_args() -> Options {
    let mut options = Options {
        clox: None,
        runs: 3,
        dir: default_dir(),
        bin: default_bin(),
        programs: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| usage(&format!("{name} needs a value")))
        };
        match arg.as_str() {
            "--clox" => options.clox = Some(PathBuf::from(value("--clox"))),
            "--runs" => {
                options.runs = value("--runs")
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| usage("--runs needs a positive number"))
            }
            "--dir" => options.dir = PathBuf::from(value("--dir")),
            "--bin" => options.bin = PathBuf::from(value("--bin")),
            "-h" | "--help" => usage(""),
            flag if flag.starts_with("--") => usage(&format!("unknown option {flag}")),
            name => options
                .programs
                .push(name.trim_end_matches(".lox").to_owned()),
        }
    }
    options
}

fn usage(message: &str) -> ! {
    if !message.is_empty() {
        eprintln!("lox_bench: {message}");
    }
    eprintln!("usage: lox_bench [--clox PATH] [--runs N] [--dir DIR] [--bin PATH] [PROGRAM...]");
    std::process::exit(2);
}

/// One run's outcome.
struct Run {
    wall: Duration,
    stdout: String,
    stderr: String,
}

fn run(program: &Path, interpreter: &Path, args: &[&str]) -> Run {
    let start = Instant::now();
    let output = Command::new(interpreter)
        .args(args)
        .arg(program)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", interpreter.display()));
    let wall = start.elapsed();
    if !output.status.success() {
        eprintln!(
            "lox_bench: {} {} failed ({}):\n{}",
            interpreter.display(),
            program.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        std::process::exit(1);
    }
    Run {
        wall,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn median(runs: &[Run]) -> Duration {
    let mut walls: Vec<Duration> = runs.iter().map(|r| r.wall).collect();
    walls.sort();
    walls[walls.len() / 2]
}

/// The number after `key` on the line starting with `line_start`.
fn stat(stderr: &str, line_start: &str, key: &str) -> Option<f64> {
    let line = stderr.lines().find(|l| l.starts_with(line_start))?;
    let rest = &line[line.find(key)? + key.len()..];
    let number: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    number.parse().ok()
}

/// The largest live heap any cycle marked, in MiB: the last of the
/// `start->end->live MB` figures of the per-cycle trace lines.
fn max_live(stderr: &str) -> Option<f64> {
    stderr
        .lines()
        .filter(|l| l.starts_with("gc "))
        .filter_map(|l| {
            let field = l.split(", ").find(|f| f.contains("->"))?;
            field
                .trim_end_matches(" MB")
                .rsplit("->")
                .next()?
                .parse::<f64>()
                .ok()
        })
        .reduce(f64::max)
}

/// zoo_batch's score: the second number it prints.
fn batches(stdout: &str) -> Option<u64> {
    stdout.lines().nth(1)?.trim().parse().ok()
}

fn main() {
    let options = parse_args();
    if !options.bin.is_file() {
        usage(&format!(
            "{} does not exist: build it with `cargo build --release -p tricolor-lox` or pass --bin",
            options.bin.display()
        ));
    }
    let mut programs: Vec<PathBuf> = std::fs::read_dir(&options.dir)
        .unwrap_or_else(|e| usage(&format!("cannot read {}: {e}", options.dir.display())))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "lox"))
        .collect();
    programs.sort();
    let name = |p: &Path| p.file_stem().unwrap().to_string_lossy().into_owned();
    if !options.programs.is_empty() {
        programs.retain(|p| options.programs.contains(&name(p)));
    }

    eprintln!(
        "tricolor-lox: {}\nclox: {}\nprograms: {}\nruns per program and interpreter: {}",
        options.bin.display(),
        options
            .clox
            .as_deref()
            .map_or("(not compared)".into(), |p| p.display().to_string()),
        options.dir.display(),
        options.runs
    );

    println!(
        "| program | clox (s) | tricolor-lox (s) | ratio | interpreter CPU (s) | other threads CPU (s) \
         | GC cycles | waits + assists (ms) | background mark (ms) | GC CPU | peak RSS (MiB) \
         | max live heap (MiB) | notes |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for program in &programs {
        let name = name(program);
        if name == "string_equality" {
            println!(
                "| {name} | – | – | – | – | – | – | – | – | – | – | – | skipped: more than 256 \
                 constants in one chunk (a compile error in clox too) |"
            );
            continue;
        }
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for i in 0..options.runs {
            eprintln!("{name}: run {}/{}", i + 1, options.runs);
            ours.push(run(program, &options.bin, &["--gc-stats"]));
            if let Some(clox) = &options.clox {
                theirs.push(run(program, clox, &[]));
            }
        }
        let ours_median = median(&ours);
        let last = ours.last().expect("at least one run");
        let s = &last.stderr;
        let waits = stat(s, "mutator waits:", "totalling").unwrap_or(f64::NAN);
        let assists = stat(s, "mark assists:", "totalling").unwrap_or(f64::NAN);
        let mark = stat(s, "mark phases", "totalling").unwrap_or(f64::NAN);
        let cycles = stat(s, "cycles:", "cycles:").unwrap_or(f64::NAN);
        let cpu = stat(s, "GC CPU fraction:", "fraction:").unwrap_or(f64::NAN);
        let rss = stat(s, "peak RSS:", "RSS:").unwrap_or(f64::NAN);
        let live = max_live(s)
            .or_else(|| stat(s, "heap in use:", "live after last mark:"))
            .unwrap_or(f64::NAN);
        let thread_cpu = stat(s, "CPU time:", "interpreter thread").unwrap_or(f64::NAN);
        let process_cpu = stat(s, "CPU time:", "whole process").unwrap_or(f64::NAN);
        let (clox_cell, ratio_cell) = if theirs.is_empty() {
            ("–".to_owned(), "–".to_owned())
        } else {
            let clox_median = median(&theirs);
            (
                format!("{:.3}", clox_median.as_secs_f64()),
                format!(
                    "{:.2}",
                    ours_median.as_secs_f64() / clox_median.as_secs_f64()
                ),
            )
        };
        let notes = if name == "zoo_batch" {
            let ours: Vec<String> = ours
                .iter()
                .filter_map(|r| batches(&r.stdout))
                .map(|b| b.to_string())
                .collect();
            let theirs: Vec<String> = theirs
                .iter()
                .filter_map(|r| batches(&r.stdout))
                .map(|b| b.to_string())
                .collect();
            format!(
                "fixed 10 s; batches: tricolor-lox {}, clox {}",
                ours.join("/"),
                if theirs.is_empty() {
                    "–".to_owned()
                } else {
                    theirs.join("/")
                }
            )
        } else {
            String::new()
        };
        println!(
            "| {name} | {clox_cell} | {:.3} | {ratio_cell} | {thread_cpu:.2} | {:.2} | {cycles:.0} \
             | {:.1} | {mark:.1} | {cpu:.1} % | {rss:.1} | {live:.2} | {notes} |",
            ours_median.as_secs_f64(),
            (process_cpu - thread_cpu).max(0.0),
            waits + assists,
        );
    }
}
