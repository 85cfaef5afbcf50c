//! `stall-probe`: how long the machine itself takes, on the CPU, for a fixed amount of random
//! memory access, with no collector involved. It fills an array of `--mib` MiB with a random
//! permutation-like chain of indices and, for `--seconds`, follows the chain in batches of
//! `--batch` dependent loads and stores (about what a mark assist does for that many small
//! objects), timing each batch with the thread's CPU clock. Prints the histogram of batch
//! times, so that a collector's worst on-CPU assist can be compared with the platform's own
//! worst batch of the same size.
//!
//! ```text
//! stall-probe [--mib 1024] [--seconds 10] [--batch 256] [--huge-pages]
//! ```
//!
//! `--huge-pages` advises the kernel to back the array with transparent huge pages
//! (`MADV_HUGEPAGE`, as `tricolor::Config::huge_pages` does for the heap) before touching it.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use benches::report::fmt_ns;
use benches::stats::Histogram;

const USAGE: &str = "usage: stall-probe [--mib N] [--seconds S] [--batch K] [--huge-pages]";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stall-probe: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable `timespec`; the call writes nothing else.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(r, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(ts.tv_nsec).unwrap_or(0)
}

fn arg<T: std::str::FromStr>(v: Option<&String>, name: &str) -> Result<T, String> {
    v.ok_or_else(|| format!("{name} needs a value"))?
        .parse()
        .map_err(|_| format!("bad value for {name}"))
}

fn run() -> Result<(), String> {
    let (mut mib, mut seconds, mut batch, mut huge) = (1024usize, 10.0f64, 256usize, false);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--mib" => mib = arg(it.next(), a)?,
            "--seconds" => seconds = arg(it.next(), a)?,
            "--batch" => batch = arg(it.next(), a)?,
            "--huge-pages" => huge = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if mib == 0 || batch == 0 || !seconds.is_finite() || seconds <= 0.0 {
        return Err("--mib, --batch and --seconds must be positive".into());
    }
    let n = mib * (1 << 20) / 8;
    let mut chain: Vec<u64> = Vec::with_capacity(n);
    if huge {
        advise_huge_pages(chain.as_mut_ptr().cast(), n * 8)?;
    }
    // xorshift64: a chain of pseudo-random indices, every page touched.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    chain.extend((0..n).map(|_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n as u64
    }));
    let mut hist = Histogram::new();
    let mut idx = 1usize;
    let t0 = Instant::now();
    let limit = Duration::from_secs_f64(seconds);
    while t0.elapsed() < limit {
        let c0 = thread_cpu_ns();
        for _ in 0..batch {
            let next = chain[idx] as usize;
            chain[idx] = chain[idx].wrapping_add(n as u64) % n as u64;
            idx = next ^ 1;
            if idx >= n {
                idx = 0;
            }
        }
        hist.record(thread_cpu_ns().saturating_sub(c0));
    }
    println!(
        "stall-probe: {mib} MiB{}, batches of {batch} dependent random loads and stores, \
         {seconds} s (end index {idx})",
        if huge { " (huge pages advised)" } else { "" }
    );
    println!(
        "batches {}  p50 {}  p99 {}  p99.9 {}  max {} (thread CPU time)",
        hist.count(),
        fmt_ns(hist.quantile(0.5)),
        fmt_ns(hist.quantile(0.99)),
        fmt_ns(hist.quantile(0.999)),
        fmt_ns(hist.max())
    );
    for (lo, _, c) in hist.buckets() {
        println!("  >= {:>10}  {c:>10}", fmt_ns(lo));
    }
    Ok(())
}

/// `madvise(MADV_HUGEPAGE)` over the whole pages inside `[start, start + len)`.
fn advise_huge_pages(start: *mut u8, len: usize) -> Result<(), String> {
    const PAGE: usize = 4096;
    let lo = start.addr().next_multiple_of(PAGE);
    let hi = (start.addr() + len) & !(PAGE - 1);
    if hi <= lo {
        return Ok(());
    }
    // SAFETY: `[lo, hi)` lies inside the allocation `start` points to (its whole pages), which
    // this function does not otherwise touch; MADV_HUGEPAGE is advice that never changes the
    // contents of the range.
    let r = unsafe { libc::madvise(start.with_addr(lo).cast(), hi - lo, libc::MADV_HUGEPAGE) };
    if r == 0 {
        Ok(())
    } else {
        Err(format!(
            "madvise(MADV_HUGEPAGE): {}",
            std::io::Error::last_os_error()
        ))
    }
}
