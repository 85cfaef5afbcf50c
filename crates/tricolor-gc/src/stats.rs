//! Statistics: a `MemStats`-like snapshot, per-cycle summaries and the gctrace line.
//!
//! Counters are atomics and histograms are lock-free ([`crate::histogram`]), so reading a
//! [`MemStats`] while mutators run costs a few hundred loads and a short lock per registry; the
//! numbers are each exact but not taken at one instant. Allocator numbers follow its rules
//! (`tricolor_alloc::AllocStats`): in-use counts include the unused rest of spans held by thread
//! caches, and are exact once caches are released (after every cycle's end).

use std::time::{Duration, Instant};

use crate::collector::Collector;
use crate::histogram::{Histogram, HistogramSnapshot};
use crate::sync::Mutex;
use crate::sync::stat::{Ordering, StatU64 as AtomicU64};

/// What one collection cycle did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CycleSummary {
    /// Cycle number (1 for the first).
    pub number: u64,
    /// Started by an explicit collection request.
    pub forced: bool,
    /// Started because no cycle had run for the forced-cycle interval.
    pub periodic: bool,
    /// When the cycle started, since the heap was created.
    pub at: Duration,
    /// Sweep termination plus the mark-start handshake (wall time).
    pub mark_start: Duration,
    /// Concurrent marking and termination (wall time).
    pub mark: Duration,
    /// Termination rounds it took.
    pub termination_rounds: u32,
    /// The whole cycle up to the start of sweeping (wall time).
    pub total: Duration,
    /// Heap in use when the cycle started, bytes.
    pub heap_start: usize,
    /// The heap as the pacer counts it when the cycle started: the bytes found live by the
    /// previous cycle plus those allocated since (unswept garbage is not in it), bytes.
    pub paced_heap_start: usize,
    /// The pacer's trigger when the cycle started, bytes (`usize::MAX`: none). A cycle started
    /// by the pacer (not forced, not periodic, not by stress mode or the memory limit) starts
    /// only once `paced_heap_start` has reached it.
    pub trigger: usize,
    /// Heap in use when marking ended, bytes.
    pub heap_end: usize,
    /// Bytes found live: marked, plus allocated (black) during marking.
    pub live: usize,
    /// The heap goal for the next cycle, bytes (0: none).
    pub goal: usize,
    /// Mark workers (including the coordinator).
    pub workers: usize,
}

impl CycleSummary {
    /// One line in the spirit of Go's `gctrace=1`:
    /// `gc N @Ts F%: a+b ms clock, R rounds, S->E->L MB, G MB goal, W workers`.
    pub fn gctrace_line(&self, gc_cpu_fraction: f64) -> String {
        let mb = |b: usize| b as f64 / (1 << 20) as f64;
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        format!(
            "gc {} @{:.3}s {:.0}%: {:.3}+{:.3} ms clock, {} rounds, {:.1}->{:.1}->{:.1} MB, {:.1} MB goal, {} W{}",
            self.number,
            self.at.as_secs_f64(),
            gc_cpu_fraction * 100.0,
            ms(self.mark_start),
            ms(self.mark),
            self.termination_rounds,
            mb(self.heap_start),
            mb(self.heap_end),
            mb(self.live),
            mb(self.goal),
            self.workers,
            if self.forced {
                " (forced)"
            } else if self.periodic {
                " (periodic)"
            } else {
                ""
            },
        )
    }
}

/// What made a mutator wait for the collector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Acknowledging a phase change (its work: flushing, releasing cached spans, ...).
    Ack,
    /// Waiting at scope entry while the collector acted on the mutator's behalf.
    Locked,
    /// The object barrier: tracing a container, or waiting for another tracer to finish.
    Barrier,
    /// Giving the CPU to the collector's thread (`Collector::yield_to_collector`).
    Yield,
}

/// The collector's own counters.
pub(crate) struct Stats {
    ack_waits: Histogram,
    locked_waits: Histogram,
    barrier_waits: Histogram,
    yields: Histogram,
    /// Every wait the collector caused a mutator (acknowledgement work, LOCKED spins, claim
    /// waits, assists, yields to the collector's thread), in nanoseconds.
    waits: Histogram,
    /// Mark assists, in nanoseconds.
    assists: Histogram,
    /// Mark assists, thread CPU time in nanoseconds.
    assists_on_cpu: Histogram,
    mark_start: Histogram,
    mark: Histogram,
    cycle: Histogram,
    cycles: AtomicU64,
    forced: AtomicU64,
    rounds: AtomicU64,
    gc_busy_ns: AtomicU64,
    allocated: AtomicU64,
    max_live: AtomicU64,
    last: Mutex<Option<CycleSummary>>,
}

/// The CPU time the calling thread has used (`CLOCK_THREAD_CPUTIME_ID`), where the platform has
/// a per-thread CPU clock. The difference of two readings around a wait is the part of the wait
/// the thread was running, without the time the OS had it descheduled.
pub(crate) fn thread_cpu_time() -> Option<Duration> {
    #[cfg(unix)]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable `timespec`; the call writes nothing else.
        let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        if r == 0 {
            return Some(Duration::new(
                u64::try_from(ts.tv_sec).ok()?,
                u32::try_from(ts.tv_nsec).ok()?,
            ));
        }
    }
    None
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Stats {
    pub(crate) fn new() -> Stats {
        Stats {
            ack_waits: Histogram::new(),
            locked_waits: Histogram::new(),
            barrier_waits: Histogram::new(),
            yields: Histogram::new(),
            waits: Histogram::new(),
            assists: Histogram::new(),
            assists_on_cpu: Histogram::new(),
            mark_start: Histogram::new(),
            mark: Histogram::new(),
            cycle: Histogram::new(),
            cycles: AtomicU64::new(0),
            forced: AtomicU64::new(0),
            rounds: AtomicU64::new(0),
            gc_busy_ns: AtomicU64::new(0),
            allocated: AtomicU64::new(0),
            max_live: AtomicU64::new(0),
            last: Mutex::new(None),
        }
    }

    pub(crate) fn record_wait(&self, kind: Wait, d: Duration) {
        self.waits.record(nanos(d));
        match kind {
            Wait::Ack => &self.ack_waits,
            Wait::Locked => &self.locked_waits,
            Wait::Barrier => &self.barrier_waits,
            Wait::Yield => &self.yields,
        }
        .record(nanos(d));
    }

    /// Records an assist that took `d` of wall time and `on_cpu` of the thread's CPU time.
    pub(crate) fn record_assist(&self, d: Duration, on_cpu: Option<Duration>) {
        self.assists.record(nanos(d));
        if let Some(c) = on_cpu {
            self.assists_on_cpu.record(nanos(c));
        }
        self.waits.record(nanos(d));
        self.gc_busy_ns.fetch_add(nanos(d), Ordering::Relaxed);
    }

    pub(crate) fn add_allocated(&self, bytes: usize) {
        self.allocated.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn end_cycle(&self, s: &CycleSummary) {
        self.mark_start.record(nanos(s.mark_start));
        self.mark.record(nanos(s.mark));
        self.cycle.record(nanos(s.total));
        self.cycles.fetch_add(1, Ordering::Relaxed);
        if s.forced {
            self.forced.fetch_add(1, Ordering::Relaxed);
        }
        self.rounds
            .fetch_add(u64::from(s.termination_rounds), Ordering::Relaxed);
        // The coordinator is busy for the whole cycle (it marks as worker 0).
        self.gc_busy_ns
            .fetch_add(nanos(s.total) * s.workers as u64, Ordering::Relaxed);
        self.max_live.fetch_max(s.live as u64, Ordering::Relaxed);
        *self.last.lock().unwrap() = Some(s.clone());
    }

    /// GC CPU time over all CPU time available since `start`.
    pub(crate) fn gc_cpu_fraction(&self, start: Instant) -> f64 {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let avail = start.elapsed().as_secs_f64() * cores;
        if avail <= 0.0 {
            0.0
        } else {
            (self.gc_busy_ns.load(Ordering::Relaxed) as f64 / 1e9 / avail).min(1.0)
        }
    }
}

/// Per size class figures of a [`MemStats`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClassStats {
    /// Slot size of the class in bytes (0 for large objects).
    pub object_size: usize,
    /// Objects in use.
    pub objects_in_use: u64,
    /// Cumulative allocations.
    pub allocs: u64,
    /// Cumulative frees.
    pub frees: u64,
}

/// A snapshot of a heap's memory and collector statistics (cheap to take while mutators run).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MemStats {
    /// Address space reserved for the heap.
    pub heap_reserved_bytes: usize,
    /// Memory obtained from the OS (arenas activated).
    pub heap_obtained_bytes: usize,
    /// Bytes in spans holding objects (including unused slots of spans held by thread caches).
    pub heap_in_use_bytes: usize,
    /// Free pages still mapped.
    pub heap_idle_bytes: usize,
    /// Free pages returned to the OS.
    pub heap_released_bytes: usize,
    /// The pacer's measure of the heap (what the trigger compares against).
    pub heap_live_bytes: usize,
    /// Bytes the last cycle found live: marked, plus allocated (black) while it marked.
    pub live_after_last_mark: usize,
    /// The largest `live_after_last_mark` of any cycle so far: the peak live heap as the
    /// collector saw it (compare with the process's peak resident memory).
    pub max_live_after_mark: usize,
    /// Heap goal of the next cycle (`usize::MAX`: none).
    pub heap_goal: usize,
    /// Heap size at which the next cycle starts (`usize::MAX`: none).
    pub next_trigger: usize,
    /// Objects in use.
    pub objects_in_use: u64,
    /// Cumulative object allocations (exact once thread caches are released).
    pub total_allocs: u64,
    /// Cumulative objects freed by sweeping.
    pub total_frees: u64,
    /// Cumulative bytes handed to mutators (span-granular).
    pub total_alloc_bytes: u64,
    /// Per size class; index 0 is large objects.
    pub by_class: Vec<ClassStats>,
    /// Completed mark phases.
    pub cycles: u64,
    /// Cycles started by an explicit request.
    pub forced_cycles: u64,
    /// Termination rounds over all cycles.
    pub termination_rounds: u64,
    /// Fraction of the available CPU time spent collecting since the heap started.
    pub gc_cpu_fraction: f64,
    /// Every wait the collector caused a mutator, in nanoseconds.
    pub mutator_waits: HistogramSnapshot,
    /// Mark assists, in nanoseconds.
    pub assists: HistogramSnapshot,
    /// Mark assists, thread CPU time in nanoseconds: the part of each assist the thread was
    /// running (wall time minus time the OS had it descheduled). Empty on platforms without a
    /// per-thread CPU clock.
    pub assists_on_cpu: HistogramSnapshot,
    /// Phase-change acknowledgements (the work a mutator does at a poll point), nanoseconds.
    pub ack_waits: HistogramSnapshot,
    /// Waits at scope entry while the collector acted on the mutator's behalf, nanoseconds.
    pub locked_waits: HistogramSnapshot,
    /// Object-barrier slow paths (tracing a container, waiting for a tracer), nanoseconds.
    pub barrier_waits: HistogramSnapshot,
    /// Times a mutator gave its CPU to the collector's thread, nanoseconds: at allocation slow
    /// paths past the heap goal before the cycle's marking began, and after acknowledging a
    /// phase change the collector was waiting for — when the collector's thread may be runnable
    /// but without a CPU (more busy threads than CPUs).
    pub collector_yields: HistogramSnapshot,
    /// Mark-start phase (sweep termination and handshake) durations, nanoseconds.
    pub mark_start_times: HistogramSnapshot,
    /// Marking (concurrent mark and termination) durations, nanoseconds.
    pub mark_times: HistogramSnapshot,
    /// Whole-cycle durations up to sweep start, nanoseconds.
    pub cycle_times: HistogramSnapshot,
    /// Live roots.
    pub roots: usize,
    /// Registered mutators.
    pub mutators: usize,
    /// Registered weak slots and ephemerons.
    pub weak_refs: usize,
    /// Cleanups registered and not yet run.
    pub pending_cleanups: usize,
    /// The last cycle.
    pub last_cycle: Option<CycleSummary>,
}

impl Collector {
    /// A statistics snapshot.
    pub fn stats(&self) -> MemStats {
        let a = self.alloc.stats();
        let s = &self.stats;
        let (weak, eph) = self.weaks.len();
        let (registered, ready) = self.cleanups.counts();
        MemStats {
            heap_reserved_bytes: a.reserved_bytes,
            heap_obtained_bytes: a.obtained_bytes,
            heap_in_use_bytes: a.in_use_bytes,
            heap_idle_bytes: a.idle_bytes,
            heap_released_bytes: a.released_bytes,
            heap_live_bytes: self.alloc.heap_live_bytes(),
            live_after_last_mark: self.live_after_mark(),
            max_live_after_mark: usize::try_from(s.max_live.load(Ordering::Relaxed))
                .unwrap_or(usize::MAX),
            heap_goal: self.heap_goal(),
            next_trigger: self.next_trigger(),
            objects_in_use: a.objects_in_use,
            total_allocs: a.total_allocs,
            total_frees: a.total_frees,
            total_alloc_bytes: s.allocated.load(Ordering::Relaxed),
            by_class: a
                .classes
                .iter()
                .map(|c| ClassStats {
                    object_size: c.object_size,
                    objects_in_use: c.objects_in_use,
                    allocs: c.allocs,
                    frees: c.frees,
                })
                .collect(),
            cycles: s.cycles.load(Ordering::Relaxed),
            forced_cycles: s.forced.load(Ordering::Relaxed),
            termination_rounds: s.rounds.load(Ordering::Relaxed),
            gc_cpu_fraction: s.gc_cpu_fraction(self.started_at()),
            mutator_waits: s.waits.snapshot(),
            assists: s.assists.snapshot(),
            assists_on_cpu: s.assists_on_cpu.snapshot(),
            ack_waits: s.ack_waits.snapshot(),
            locked_waits: s.locked_waits.snapshot(),
            barrier_waits: s.barrier_waits.snapshot(),
            collector_yields: s.yields.snapshot(),
            mark_start_times: s.mark_start.snapshot(),
            mark_times: s.mark.snapshot(),
            cycle_times: s.cycle.snapshot(),
            roots: self.roots.len(),
            mutators: self.registry.lock().unwrap().len(),
            weak_refs: weak + eph,
            pending_cleanups: registered + ready,
            last_cycle: s.last.lock().unwrap().clone(),
        }
    }
}
