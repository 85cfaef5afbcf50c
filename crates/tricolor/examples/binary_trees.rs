//! The binary-trees benchmark on tricolor, printing the collector's statistics at the end.
//!
//! ```text
//! cargo run --release -p tricolor --example binary_trees -- 18
//! ```

use std::time::Instant;

use tricolor::{Gc, Heap, Mutation, Root, Rootable, Trace};

#[derive(Trace)]
struct Tree<'gc> {
    children: Option<(Gc<'gc, Tree<'gc>>, Gc<'gc, Tree<'gc>>)>,
}

fn build<'gc>(mc: &Mutation<'gc>, depth: u32) -> Gc<'gc, Tree<'gc>> {
    let children = (depth > 0).then(|| (build(mc, depth - 1), build(mc, depth - 1)));
    Gc::new(mc, Tree { children })
}

fn check(t: &Tree<'_>) -> u64 {
    match t.children {
        Some((l, r)) => 1 + check(&l) + check(&r),
        None => 1,
    }
}

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("usage: binary_trees [depth]"))
        .unwrap_or(16);
    let start = Instant::now();
    let heap = Heap::new();
    let mut m = heap.mutator();

    let stretch = m.enter(|mc| check(&build(mc, n + 1)));
    println!("stretch tree of depth {}\t check: {stretch}", n + 1);

    let long_lived = m.enter(|mc| Root::<Rootable![Tree<'_>]>::new(mc, build(mc, n)));
    let mut depth = 4;
    while depth <= n {
        let iterations = 1u64 << (n - depth + 4);
        let mut total = 0;
        for _ in 0..iterations {
            // One scope per tree: between scopes this thread holds no GC pointers, so a
            // collection cycle can complete.
            total += m.enter(|mc| check(&build(mc, depth)));
        }
        println!("{iterations}\t trees of depth {depth}\t check: {total}");
        depth += 2;
    }
    let ll = m.enter(|mc| check(&long_lived.get(mc)));
    println!("long lived tree of depth {n}\t check: {ll}");
    let elapsed = start.elapsed();

    let s = heap.stats();
    let ms = |ns: u64| ns as f64 / 1e6;
    let mib = |b: usize| b as f64 / (1 << 20) as f64;
    eprintln!();
    eprintln!("tricolor statistics after {:.2} s:", elapsed.as_secs_f64());
    eprintln!(
        "  cycles: {} ({} forced), termination rounds: {}",
        s.cycles, s.forced_cycles, s.termination_rounds
    );
    eprintln!(
        "  heap: {:.1} MiB in use, {:.1} MiB obtained from the OS, {:.1} MiB released; \
         live after last mark {:.1} MiB, next goal {:.1} MiB",
        mib(s.heap_in_use_bytes),
        mib(s.heap_obtained_bytes),
        mib(s.heap_released_bytes),
        mib(s.live_after_last_mark),
        mib(s.heap_goal),
    );
    eprintln!(
        "  objects: {} allocated, {} freed, {} in use",
        s.total_allocs, s.total_frees, s.objects_in_use
    );
    eprintln!(
        "  collector-caused mutator waits: {} (max {:.3} ms, p99 {:.3} ms); assists: {}",
        s.mutator_waits.count,
        ms(s.mutator_waits.max),
        ms(s.mutator_waits.quantile(0.99)),
        s.assists.count,
    );
    for (what, h) in [
        ("acknowledgements", &s.ack_waits),
        ("entry while acted for", &s.locked_waits),
        ("object barrier", &s.barrier_waits),
        ("assists", &s.assists),
    ] {
        eprintln!(
            "    {what}: {} (max {:.3} ms, p99 {:.3} ms)",
            h.count,
            ms(h.max),
            ms(h.quantile(0.99))
        );
    }
    eprintln!(
        "  mark phase: mean {:.2} ms, max {:.2} ms; GC CPU fraction {:.1} %",
        s.mark_times.mean() / 1e6,
        ms(s.mark_times.max),
        s.gc_cpu_fraction * 100.0
    );
}
