//! Loom model checks of tricolor's concurrency protocols, on the production code.
//!
//! The models live in `tests/` and compile only under `--cfg tricolor_loom` (see this crate's
//! README). This library holds what they share: a small heap configuration that keeps loom's
//! state small, and helpers to drive a collection cycle.
#![cfg_attr(not(tricolor_loom), allow(dead_code))]

use tricolor::Config;

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

/// Runs `f` under loom with settings suited to models that build a real heap (their setup alone
/// takes thousands of scheduling points). `LOOM_MAX_PREEMPTIONS` bounds the preemptions as usual.
#[cfg(tricolor_loom)]
pub fn check(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.max_branches = 1_000_000;
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(2);
    }
    b.check(f);
}
