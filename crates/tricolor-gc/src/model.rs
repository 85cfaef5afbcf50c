//! Driving a heap's collection cycle step by step, without background threads.
//!
//! For the loom models in `loom-tests` and for deterministic tests: the steps are the ones the
//! collector thread runs (`Collector::run_cycle` calls exactly these), so a model that drives
//! them checks the production code. Not a stable API.

use core::ptr::NonNull;
use std::sync::Arc;

use crate::collector::{Collector, CycleRun, StartError};
use crate::config::Config;
use crate::header::Header;
use crate::sync::Ordering;

/// A heap with no background threads: nothing collects unless the caller drives it.
pub fn collector(config: Config) -> Result<Arc<Collector>, StartError> {
    Collector::new_unstarted(config)
}

/// A cycle in progress.
pub struct Cycle(CycleRun);

impl core::fmt::Debug for Cycle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Cycle").field("number", &self.0.k).finish()
    }
}

/// Sweep termination, the two-step mark-start handshake (waits for every mutator's
/// acknowledgement at its poll points) and the root scan.
pub fn begin(c: &Collector) -> Cycle {
    Cycle(c.cycle_begin(true, false))
}

/// Drains grey objects until none is visible.
pub fn drain(c: &Collector, cycle: &mut Cycle) {
    c.cycle_drain(&mut cycle.0);
}

/// One termination attempt (a termination round); `true` when marking is complete.
pub fn try_terminate(c: &Collector, cycle: &mut Cycle) -> bool {
    c.cycle_try_terminate(&mut cycle.0)
}

/// A termination round published by [`start_round`], not yet finished.
pub struct Round(crate::collector::Round);

impl core::fmt::Debug for Round {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Round").finish_non_exhaustive()
    }
}

/// The first half of [`try_terminate`]: ephemeron propagation (`None` if it found work) and
/// the publication of a termination round, which mutators may then acknowledge.
pub fn start_round(c: &Collector, cycle: &mut Cycle) -> Option<Round> {
    c.cycle_start_round(&mut cycle.0).map(Round)
}

/// The second half of [`try_terminate`]: waits for every acknowledgement of `round`; `true`
/// when marking is complete.
pub fn finish_round(c: &Collector, round: Round) -> bool {
    c.cycle_finish_round(round.0)
}

/// Drains and tries to terminate until marking is complete.
pub fn mark(c: &Collector, cycle: &mut Cycle) {
    loop {
        drain(c, cycle);
        if try_terminate(c, cycle) {
            return;
        }
    }
}

/// Reference processing and the start of sweeping (publishes the end of marking).
pub fn end(c: &Collector, cycle: Cycle) {
    c.cycle_end(cycle.0);
}

/// Waits until every mutator has acknowledged the end of marking (acting for those outside
/// scopes), then finishes sweeping.
pub fn finish_sweep(c: &Collector) {
    let phase = c.phase.load(Ordering::Acquire);
    while !c.try_collect_acks(phase) {
        crate::sync::spin_loop();
    }
    c.alloc.finish_sweep();
}

/// Whether `obj` is marked in the current (or last) cycle.
///
/// # Safety
///
/// `obj` must be an object of `c`'s heap that has not been swept.
pub unsafe fn is_marked(c: &Collector, obj: NonNull<Header>) -> bool {
    c.alloc.is_marked(obj.cast(), c.cycle_marks().0)
}
