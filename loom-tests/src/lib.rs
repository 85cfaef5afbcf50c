//! Loom model checks of tricolor's concurrency protocols, on the production code.
//!
//! The models live in `tests/` and compile only under `--cfg tricolor_loom` (see this crate's
//! README). This library holds what they share: a small heap configuration that keeps loom's
//! state small, helpers to drive a collection cycle, and a container probe (`Tracked`).
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
/// Prints the test's name, the number of executions explored and the time taken (shown with
/// `--nocapture`, which `.ci/run` passes).
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
            let line = format!(
                "loom: {} {} after {} executions in {:.1?} (preemption bound {:?})\n",
                std::thread::current().name().unwrap_or("model"),
                if std::thread::panicking() {
                    "failed"
                } else {
                    "passed"
                },
                self.runs.load(Ordering::Relaxed),
                self.t.elapsed(),
                self.bound
            );
            // One write, so that the line is not interleaved with another test's output.
            let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
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

/// A value with a loom-visible *probe*, for the contents of a container (`RefLock`, `GcMutex`).
/// Those cells keep their contents in a `core::cell::UnsafeCell`, which loom cannot see: the
/// probe, a loom `UnsafeCell<()>`, is read by the trace function and written by [`write`], so
/// loom reports any trace and mutation of the container that are not ordered by happens-before
/// ("Causality violation").
///
/// The probe is skipped while the thread is panicking (loom leaves a probe whose access it
/// rejected marked as being accessed, and the drop glue of the scope, which ends the borrow and
/// traces the container again, would panic a second time, aborting the test binary) and once a
/// race has been recorded (see [`check_race`]).
///
/// [`write`]: Tracked::write
#[cfg(tricolor_loom)]
pub struct Tracked<T> {
    /// `None` for a model run without the probe (a negative control whose unclaimed mutation
    /// the probe would report before the failure the control expects).
    probe: Option<loom::cell::UnsafeCell<()>>,
    /// The value. Reading it directly is not an access loom sees.
    pub value: T,
}

#[cfg(tricolor_loom)]
impl<T> Tracked<T> {
    /// `value` with a probe.
    pub fn new(value: T) -> Tracked<T> {
        Tracked::with_probe(value, true)
    }

    /// `value`, with a probe if `probe`.
    pub fn with_probe(value: T, probe: bool) -> Tracked<T> {
        Tracked {
            probe: probe.then(|| loom::cell::UnsafeCell::new(())),
            value,
        }
    }

    /// The value, for mutation: a write access loom sees.
    pub fn write(&mut self) -> &mut T {
        if let Some(p) = self.live_probe() {
            p.with_mut(|_| ());
        }
        &mut self.value
    }

    /// The probe, if there is one and it is to be accessed (not while panicking, not after a
    /// recorded race).
    fn live_probe(&self) -> Option<&loom::cell::UnsafeCell<()>> {
        self.probe
            .as_ref()
            .filter(|_| !std::thread::panicking() && !RACE.get())
    }
}

// SAFETY: traces the value (every GC pointer it holds); the probe access is not a heap access.
// `Tracked` is not a lock cell itself: the constants are the value's.
#[cfg(tricolor_loom)]
unsafe impl<'gc, T: Trace<'gc>> Trace<'gc> for Tracked<T> {
    const NEEDS_TRACE: bool = T::NEEDS_TRACE;
    const NEEDS_CLAIM: bool = T::NEEDS_CLAIM;
    fn trace(&self, tracer: &mut tricolor::Tracer) {
        if let Some(p) = self.live_probe() {
            let read = std::panic::AssertUnwindSafe(|| p.with(|_| ()));
            if std::panic::catch_unwind(read).is_err() {
                RACE.set(true);
            }
        }
        self.value.trace(tracer);
    }
}

#[cfg(tricolor_loom)]
std::thread_local! {
    /// A race loom reported inside a trace function. Loom reports by panicking, and a panic
    /// must not leave a trace function (the engine aborts the process), so the trace records it
    /// and the model re-raises it when control is back in its own code ([`check_race`]). Loom
    /// runs every thread of a model on the test's OS thread, so they all see it.
    static RACE: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

/// Re-raises a race a [`Tracked`] trace function recorded. A model using [`Tracked`] calls it in
/// each thread once that thread's traces and mutations of the container are done (the
/// coordinator after `model::mark`, a mutator at the end of its scope), before its own checks.
#[cfg(tricolor_loom)]
pub fn check_race() {
    if RACE.take() {
        panic!("Causality violation reported while tracing (re-raised)");
    }
}
