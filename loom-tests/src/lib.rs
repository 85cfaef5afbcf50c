//! Loom model checks of tricolor's concurrency protocols, on the production code.
//!
//! The models live in `tests/` and compile only under `--cfg tricolor_loom` (see this crate's
//! README). This library holds what they share: a small heap configuration that keeps loom's
//! state small, and helpers to drive a collection cycle.
#![cfg_attr(not(tricolor_loom), allow(dead_code))]

use tricolor::{Config, Gc, GcCell, Mutation, Trace};

/// A configuration for models: small arenas (loom tracks every page-table entry), one mark
/// worker (the model's coordinator thread), no scavenging.
pub fn model_config() -> Config {
    let mut c = Config::default();
    c.arena_bytes = 256 << 10;
    c.max_heap_bytes = 4 << 20;
    c.mark_workers = 1;
    c.scavenge = false;
    c.forced_cycle_interval = None;
    c
}

/// A node with two pointer slots, the graph shape of the slot-barrier and handshake models.
#[derive(Trace)]
pub struct Node<'gc> {
    /// Set at allocation.
    pub first: GcCell<Option<Gc<'gc, Node<'gc>>>>,
    /// Empty at allocation.
    pub second: GcCell<Option<Gc<'gc, Node<'gc>>>>,
}

/// A new [`Node`] whose first slot holds `first`.
pub fn node<'gc>(mc: &Mutation<'gc>, first: Option<Gc<'gc, Node<'gc>>>) -> Gc<'gc, Node<'gc>> {
    Gc::new(
        mc,
        Node {
            first: GcCell::new(first),
            second: GcCell::new(None),
        },
    )
}

/// Runs `f` under loom with settings suited to models that build a real heap (their setup alone
/// takes thousands of scheduling points). `LOOM_MAX_PREEMPTIONS` bounds the preemptions as usual.
/// Prints the number of executions explored and the time taken (shown with `--nocapture`).
#[cfg(tricolor_loom)]
pub fn check(f: impl Fn() + Sync + Send + 'static) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let mut b = loom::model::Builder::new();
    b.max_branches = 1_000_000;
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(2);
    }
    // Reports on drop, so a failing model (a negative control) reports too.
    struct Report {
        runs: Arc<AtomicUsize>,
        t: std::time::Instant,
        bound: Option<usize>,
    }
    impl Drop for Report {
        fn drop(&mut self) {
            eprintln!(
                "loom: {} after {} executions in {:.1?} (preemption bound {:?})",
                if std::thread::panicking() {
                    "failed"
                } else {
                    "passed"
                },
                self.runs.load(Ordering::Relaxed),
                self.t.elapsed(),
                self.bound
            );
        }
    }
    // A std atomic, outside the model: it only counts executions.
    let report = Report {
        runs: Arc::new(AtomicUsize::new(0)),
        t: std::time::Instant::now(),
        bound: b.preemption_bound,
    };
    let counter = report.runs.clone();
    b.check(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        f();
    });
}
