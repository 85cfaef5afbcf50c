//! The pacer: when to start a cycle and how much marking allocating mutators must do.
//!
//! Everything here is a pure function of counters (so it is unit-tested directly), after Go's
//! 1.18+ pacer (golang/proposal 44167, `mgcpacer.go`):
//!
//! * **Heap goal** = `marked × (1 + gogc/100) + black`, at least `min_heap_goal × gogc/100`;
//!   with `gogc` off there is no ratio goal. `marked` is what the last mark traced, `black`
//!   what the mutators allocated during it: those objects survive the sweep whether reachable
//!   or not, so they are in the heap the next cycle starts from, but the runway the goal
//!   leaves (`gogc` % of the heap) is a share of the traced heap only. Go counts black
//!   allocation as marked, so a long mark's allocation is doubled into the next goal (on
//!   binary-trees the cycle that happened to overlap one large tree's build set the peak of
//!   the run, docs/PERFORMANCE.md). With the runway from traced bytes, a cycle's mark work
//!   per byte allocated is `100/gogc` of a byte whatever the last mark's timing.
//! * A soft memory limit gives a second goal, `limit − overhead − headroom` (headroom
//!   `max(3 %, 1 MiB)`), floored at the heap the sweep keeps (`marked + black`); the effective
//!   goal is the smaller of the two.
//! * **Trigger** = goal − runway, where the runway is how much the mutators allocate while the
//!   collector does one cycle's worth of marking: `cons_mark × expected_scan_work`, with
//!   `cons_mark` = bytes allocated during marking per byte scanned, the maximum of the last
//!   [`HISTORY`] cycles (Go 1.20+ uses the same max-of-recent rule). The trigger is clamped
//!   between 70 % and 95 % of the way from the live heap to the goal. A mutator whose
//!   allocation slow path finds the heap at the trigger asks for a cycle, and the coordinator
//!   tests the trigger again before starting one (as Go's `gcStart` does): a slow path during
//!   a cycle still sees the count that reached the old trigger, and the cycle's end resets
//!   both, so without the second test every such cycle was followed at once by another.
//! * **Assists**: while marking, a mutator that allocates `b` bytes owes `b × assist_ratio` bytes
//!   of scan work, `assist_ratio = remaining expected scan work / remaining runway to the
//!   goal`. Past the goal the runway is extended by 10 % of the goal (Go's rule) so the ratio
//!   stays finite.

/// How many recent cycles' allocation/mark rates the trigger considers.
pub const HISTORY: usize = 4;

/// The settings the goal depends on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GoalInputs {
    /// Bytes the last mark found reachable (traced; not the ones allocated white while mark
    /// start waited, which are either marked or garbage).
    pub marked: usize,
    /// Bytes allocated black during the last mark: they survive its sweep whether reachable
    /// or not.
    pub black: usize,
    /// GOGC in percent, or `None` for off.
    pub gogc: Option<u32>,
    /// Soft memory limit, bytes.
    pub memory_limit: Option<usize>,
    /// Memory the process holds for this heap that is not heap objects (metadata, free but
    /// unreleased pages), counted against the limit.
    pub overhead: usize,
    /// Floor of the ratio goal before scaling by `gogc/100`.
    pub min_heap_goal: usize,
}

/// The heap goal for the next cycle, or `None` when neither a ratio nor a limit applies
/// (collections then only happen on request).
pub fn heap_goal(i: GoalInputs) -> Option<usize> {
    let ratio_goal = i.gogc.map(|g| {
        let g = g as u128;
        let grown = i.marked as u128 * (100 + g) / 100 + i.black as u128;
        let floor = i.min_heap_goal as u128 * g / 100;
        grown.max(floor).min(usize::MAX as u128) as usize
    });
    let limit_goal = i.memory_limit.map(|limit| {
        let headroom = (limit / 100 * 3).max(1 << 20);
        limit
            .saturating_sub(i.overhead)
            .saturating_sub(headroom)
            .max(i.marked.saturating_add(i.black))
    });
    match (ratio_goal, limit_goal) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// What one cycle measured, for the trigger of the next.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CycleMeasure {
    /// Bytes the mutators allocated between mark start and mark termination.
    pub allocated_during_mark: usize,
    /// Bytes of objects scanned (traced) during the cycle.
    pub scan_work: usize,
}

/// The pacer's memory across cycles.
#[derive(Clone, Debug, PartialEq)]
pub struct Pacer {
    cons_mark: [f64; HISTORY],
    next: usize,
    /// Scan work of the last cycle: the expected scan work of the next.
    pub last_scan_work: usize,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer {
            // Before any measurement assume mutators allocate about as fast as marking scans.
            cons_mark: [1.0; HISTORY],
            next: 0,
            last_scan_work: 0,
        }
    }
}

impl Pacer {
    /// Records what a finished cycle measured.
    pub fn end_cycle(&mut self, m: CycleMeasure) {
        if m.scan_work > 0 {
            let ratio = m.allocated_during_mark as f64 / m.scan_work as f64;
            self.cons_mark[self.next] = ratio.clamp(0.0, 64.0);
            self.next = (self.next + 1) % HISTORY;
        }
        self.last_scan_work = m.scan_work;
    }

    /// The allocation rate per byte scanned used for the next trigger (max of recent cycles).
    pub fn cons_mark(&self) -> f64 {
        self.cons_mark.iter().copied().fold(0.0, f64::max)
    }

    /// The heap size at which the next cycle should start, given its goal and the live heap.
    pub fn trigger(&self, goal: usize, marked: usize) -> usize {
        let growth = goal.saturating_sub(marked);
        let min_trigger = marked + growth / 100 * 70;
        let max_trigger = marked + growth / 100 * 95;
        let runway = (self.cons_mark() * self.last_scan_work as f64) as usize;
        goal.saturating_sub(runway)
            .clamp(min_trigger, max_trigger.max(min_trigger))
    }
}

/// Scan work (bytes) a mutator owes per byte it allocates while marking.
///
/// `expected` is the scan work the cycle is expected to need, `done` what has been done so far,
/// `goal` the heap goal and `heap_live` the current heap size.
pub fn assist_ratio(expected: usize, done: usize, goal: usize, heap_live: usize) -> f64 {
    let remaining_work = expected.saturating_sub(done).max(64 << 10) as f64;
    let mut runway = goal.saturating_sub(heap_live);
    if runway < goal / 10 {
        // Past (or nearly at) the goal: extend the runway by 10 % of the goal, as Go does, so
        // that assists grow steep but finite.
        runway = goal / 10;
    }
    remaining_work / runway.max(1 << 16) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    fn inputs(marked: usize) -> GoalInputs {
        GoalInputs {
            marked,
            black: 0,
            gogc: Some(100),
            memory_limit: None,
            overhead: 0,
            min_heap_goal: 4 * MIB,
        }
    }

    #[test]
    fn goal_doubles_the_live_heap_at_gogc_100() {
        assert_eq!(heap_goal(inputs(100 * MIB)), Some(200 * MIB));
        let mut i = inputs(100 * MIB);
        i.gogc = Some(50);
        assert_eq!(heap_goal(i), Some(150 * MIB));
        i.gogc = Some(0);
        assert_eq!(heap_goal(i), Some(100 * MIB));
    }

    #[test]
    fn black_allocation_is_in_the_goal_once_and_earns_no_runway() {
        let mut i = inputs(100 * MIB);
        i.black = 60 * MIB;
        // The heap after the sweep (160 MiB) plus a runway of gogc % of the traced 100 MiB.
        assert_eq!(heap_goal(i), Some(260 * MIB));
        i.gogc = Some(50);
        assert_eq!(heap_goal(i), Some(210 * MIB));
        // A memory limit below the surviving heap is floored at it.
        i.memory_limit = Some(100 * MIB);
        assert_eq!(heap_goal(i), Some(160 * MIB));
    }

    #[test]
    fn goal_has_a_floor_scaled_by_gogc() {
        assert_eq!(heap_goal(inputs(0)), Some(4 * MIB));
        let mut i = inputs(MIB);
        i.gogc = Some(200);
        assert_eq!(heap_goal(i), Some(8 * MIB));
    }

    #[test]
    fn memory_limit_lowers_the_goal_but_not_below_live() {
        let mut i = inputs(100 * MIB);
        i.memory_limit = Some(160 * MIB);
        i.overhead = 10 * MIB;
        // 160 - 10 - max(3% of 160 MiB, 1 MiB)
        let headroom = (160 * MIB / 100 * 3).max(MIB);
        assert_eq!(heap_goal(i), Some(150 * MIB - headroom));
        i.memory_limit = Some(50 * MIB);
        assert_eq!(heap_goal(i), Some(100 * MIB));
        // A generous limit leaves the ratio goal alone.
        i.memory_limit = Some(1 << 40);
        assert_eq!(heap_goal(i), Some(200 * MIB));
    }

    #[test]
    fn gogc_off_uses_only_the_limit() {
        let mut i = inputs(100 * MIB);
        i.gogc = None;
        assert_eq!(heap_goal(i), None);
        i.memory_limit = Some(1 << 30);
        let headroom = ((1usize << 30) / 100 * 3).max(MIB);
        assert_eq!(heap_goal(i), Some((1 << 30) - headroom));
    }

    #[test]
    fn trigger_leaves_runway_for_marking_and_is_clamped() {
        let mut p = Pacer::default();
        // Mutators allocate 0.1 byte per byte scanned; 100 MiB to scan → 10 MiB runway.
        p.end_cycle(CycleMeasure {
            allocated_during_mark: 10 * MIB,
            scan_work: 100 * MIB,
        });
        for _ in 1..HISTORY {
            p.end_cycle(CycleMeasure {
                allocated_during_mark: 10 * MIB,
                scan_work: 100 * MIB,
            });
        }
        assert!((p.cons_mark() - 0.1).abs() < 1e-9);
        let t = p.trigger(200 * MIB, 100 * MIB);
        assert_eq!(t, 190 * MIB);
        // A very fast allocator wants a huge runway: clamped at 70 % of the growth.
        p.end_cycle(CycleMeasure {
            allocated_during_mark: 500 * MIB,
            scan_work: 100 * MIB,
        });
        assert_eq!(
            p.trigger(200 * MIB, 100 * MIB),
            100 * MIB + 100 * MIB / 100 * 70
        );
        // A negligible runway: clamped at 95 %.
        let mut q = Pacer::default();
        for _ in 0..HISTORY {
            q.end_cycle(CycleMeasure {
                allocated_during_mark: 0,
                scan_work: 100 * MIB,
            });
        }
        assert_eq!(
            q.trigger(200 * MIB, 100 * MIB),
            100 * MIB + 100 * MIB / 100 * 95
        );
    }

    #[test]
    fn cons_mark_is_the_max_of_recent_cycles() {
        let mut p = Pacer::default();
        let seq = [0.5, 2.0, 0.25, 0.25, 0.25, 0.25];
        for r in seq {
            p.end_cycle(CycleMeasure {
                allocated_during_mark: (r * 1000.0) as usize,
                scan_work: 1000,
            });
        }
        // The 2.0 has aged out after HISTORY newer measurements.
        assert_eq!(p.cons_mark(), 0.25);
    }

    #[test]
    fn assist_ratio_grows_as_the_goal_nears() {
        let early = assist_ratio(100 * MIB, 0, 200 * MIB, 150 * MIB);
        let late = assist_ratio(100 * MIB, 0, 200 * MIB, 195 * MIB);
        let past = assist_ratio(100 * MIB, 0, 200 * MIB, 300 * MIB);
        assert!(early < late, "{early} {late}");
        assert!(past.is_finite() && past >= late);
        // All work done: only the minimum remains.
        assert!(assist_ratio(100 * MIB, 100 * MIB, 200 * MIB, 150 * MIB) < early);
    }
}
