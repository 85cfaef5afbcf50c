//! The collector: shared heap state, the collection cycle, and the background threads.
//!
//! One [`Collector`] per heap, shared (`Arc`) by its mutators, roots and background threads.
//! Its background thread (the *coordinator*, which is also mark worker 0, the background
//! sweeper and scavenger, and keeps the span-struct pools stocked: `Collector::upkeep`) runs
//! cycles:
//!
//! 1. **Sweep termination.** Wait until every mutator has acknowledged the end of the previous
//!    cycle's marking (acting for those outside scopes), finish sweeping, drop stale grey
//!    entries.
//! 2. **Mark start.** Choose the cycle's mark parity and header epoch, publish `MARK`, and wait
//!    until every mutator has acknowledged (design rule 1: tracing starts only then). Mutators
//!    switch their barriers on and allocate black from their acknowledgement on.
//! 3. **Roots.** Shade every entry of the root table. (Mutator stacks need no scan: a stack is
//!    empty at scope boundaries, see `mutator`.)
//! 4. **Concurrent mark.** The coordinator and the extra workers drain the grey queue while the
//!    mutators run; allocating mutators assist.
//! 5. **Mark termination** (design rule 3, Go's mark-done loop). When no grey work is visible,
//!    run ephemeron propagation, then a *termination round*: a handshake in which each mutator
//!    publishes its local grey objects and reports whether it shaded anything since its last
//!    acknowledgement and whether its stack is still grey. If any report is non-empty, or work
//!    appeared elsewhere (root drops, weak-reference resurrections), marking resumes.
//!    Otherwise marking is complete; this is declared under the weak-reference lock so that no
//!    resurrection can slip past it.
//! 6. **Reference processing.** Clear weak slots and ephemerons whose targets are unmarked;
//!    queue the cleanups of dead objects.
//! 7. **Sweep.** Advance the allocator's sweep generation and publish `OFF` (not waited for).
//!    Sweeping is then concurrent (this thread) and lazy (allocating mutators sweep the spans
//!    they are about to use); drop glue of dead objects runs there.
//!
//! No step stops the world: each wait is for mutators to reach their next poll point, and the
//! only thing a mutator ever waits for is a flag flip (a claim, a `LOCKED` status).

use core::ptr::NonNull;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tricolor_alloc::{AllocConfig, AllocError, Allocator, MarkParity};

use crate::cleanup::Cleanups;
use crate::config::Config;
use crate::faults::{Fault, fault};
use crate::header::{Epoch, Header};
use crate::mark::{Grey, GreyQueue, MarkContext};
use crate::mutator::{
    IN_SCOPE, LOCKED, MutatorShared, REPORT_GREY_STACK, REPORT_PRODUCED, status, status_seq,
};
use crate::pacer::{self, CycleMeasure, GoalInputs, Pacer};
use crate::roots::RootTable;
use crate::stats::{CycleSummary, Stats, Wait};
use crate::sync::backoff;
use crate::sync::stat::{StatU64, StatUsize};
use crate::sync::{
    AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Condvar, Mutex, Ordering, RwLock, fence, thread,
};
use crate::weak::WeakRegistry;

/// Phase kind: no marking (barriers off, sweeping may be under way).
pub(crate) const PHASE_OFF: u64 = 0;
/// Phase kind: marking (barriers on, allocate black, objects turn black).
pub(crate) const PHASE_MARK: u64 = 1;
/// Phase kind: the first step of mark start — barriers on, but nothing turns black yet.
pub(crate) const PHASE_PREP: u64 = 2;

/// The kind of a phase word.
#[inline]
pub(crate) fn phase_kind(p: u64) -> u64 {
    p & 3
}

/// The sequence number of a phase word.
#[inline]
pub(crate) fn phase_seq(p: u64) -> u64 {
    p >> 2
}

#[inline]
fn phase_word(seq: u64, kind: u64) -> u64 {
    seq << 2 | kind
}

/// Scan work a background marker (the coordinator, a mark worker) does between publishing its
/// counters: the grain at which its work becomes credit for assists and the assist ratio is
/// recomputed.
const BACKGROUND_DRAIN: usize = 64 << 10;

/// How often the coordinator does its upkeep ([`Collector::upkeep`]) while it marks (checked
/// between drain grains), and between cycles while the upkeep finds work.
const UPKEEP_TICK: Duration = Duration::from_millis(1);

/// Requests and progress, protected by `Collector::control`.
#[derive(Default)]
struct Control {
    /// A cycle has been asked for by a caller, stress mode or the memory limit.
    requested: bool,
    /// A mutator saw the heap past the pacer's trigger. Unlike `requested`, this is tested
    /// again before a cycle starts: a request made while a cycle was running compared the old
    /// counters with the old trigger, and that cycle's end reset both.
    paced: bool,
    /// The request came from an explicit collection call.
    forced: bool,
    shutdown: bool,
    /// Cycles started.
    started: u64,
    /// Cycles whose sweep has finished.
    completed: u64,
}

/// Per-cycle counters, reset at mark start.
#[derive(Default)]
struct CycleCounters {
    marked: StatUsize,
    scanned: StatUsize,
    /// Bytes allocated since the counters were reset (before mark start).
    allocated: StatUsize,
    /// The part of `allocated` allocated black (after the allocating mutator acknowledged
    /// step 2 of mark start): survives the cycle whether reachable or not.
    allocated_black: StatUsize,
    /// Background scan credit (Go's `bgScanCredit`): scan work the coordinator and the mark
    /// workers did that no mutator's assist debt has used yet. A mutator owing an assist pays
    /// its debt from it first and traces what it does not cover (`Scope::assist_slice`).
    credit: StatUsize,
}

/// A cycle in progress: what the coordinator carries from step to step.
pub(crate) struct CycleRun {
    pub(crate) k: u64,
    parity: MarkParity,
    /// The coordinator's mark context (it is mark worker 0).
    pub(crate) cx: MarkContext,
    rounds: u32,
    forced: bool,
    periodic: bool,
    expected_scan: usize,
    t0: Instant,
    t_started: Instant,
    heap_start: usize,
    paced_heap_start: usize,
    trigger: usize,
    /// When the coordinator last did its upkeep during this cycle.
    upkept_at: Instant,
}

/// A termination round published by [`Collector::cycle_start_round`]: its phase and the
/// counters read before it was published.
pub(crate) struct Round {
    k: u64,
    phase: u64,
    work0: u64,
    progress0: u64,
    res0: u64,
}

/// The shared state of one heap (see the module docs).
pub struct Collector {
    pub(crate) alloc: Arc<Allocator>,
    pub(crate) config: Config,
    /// `seq << 2 | kind`; bumped by every phase change and termination round.
    pub(crate) phase: AtomicU64,
    /// The number of the cycle marking now, or of the last one.
    cycle_no: AtomicU64,
    cycle_parity: AtomicU8,
    cycle_epoch: AtomicUsize,
    /// True from mark start until marking is declared complete: threads that are not marking
    /// mutators (root drops) shade while it is set.
    pub(crate) marking: AtomicBool,
    /// The number of the last cycle whose mark-start handshake completed (every mutator has
    /// its barriers on: the snapshot is taken). Until then every marking mutator's stack counts
    /// as grey, whatever boundaries it passes: a mutator that has not acknowledged yet may still
    /// delete, without a barrier, the last heap reference to an object another mutator loaded.
    pub(crate) snapshot_done: AtomicU64,
    /// The number of the last cycle whose marking is complete.
    pub(crate) mark_done: AtomicU64,
    pub(crate) registry: Mutex<Vec<Arc<MutatorShared>>>,
    pub(crate) grey: GreyQueue,
    pub(crate) roots: RootTable,
    pub(crate) weaks: WeakRegistry,
    pub(crate) cleanups: Cleanups,
    /// Read-held by weak upgrades that may resurrect an object; write-held while marking is
    /// declared complete.
    pub(crate) weak_lock: RwLock<()>,
    /// Bumped by every resurrection (weak upgrade of an unmarked object).
    pub(crate) resurrections: AtomicU64,
    /// Bumped whenever an object is shaded outside any mark context (a root dropped by any
    /// thread while marking).
    pub(crate) outside_work: AtomicU64,
    counters: CycleCounters,
    assist_ratio_bits: StatU64,
    trigger: StatUsize,
    goal: StatUsize,
    live_after_mark: StatUsize,
    /// The heap as the pacer sees it (Go's `heapLive` after its reset at mark termination):
    /// the bytes that survived the last mark plus the bytes handed to mutators since. Unswept
    /// garbage is not in it, so the end of a cycle cannot trigger the next one by itself.
    pacing_live: StatUsize,
    cycle_requested: AtomicBool,
    /// `Control::paced` is set (the same role for the pacer's requests).
    paced_requested: AtomicBool,
    pub(crate) stats: Stats,
    control: Mutex<Control>,
    control_cv: Condvar,
    ack_lock: Mutex<()>,
    ack_cv: Condvar,
    coordinator_waiting: AtomicBool,
    workers: WorkerSync,
    pacer: Mutex<Pacer>,
    started_at: Instant,
}

/// Wakes and counts the extra mark workers.
struct WorkerSync {
    lock: Mutex<()>,
    cv: Condvar,
    /// Cycle number the workers should mark for (0: none).
    cycle: AtomicU64,
    /// Threads draining the shared grey queue right now: mark workers, and mutators in a mark
    /// assist (see [`Collector::begin_shared_drain`]).
    active: AtomicUsize,
    /// Bumped by every drain of the shared queue that took up grey work, before it stops
    /// counting as active: a termination round is clean only if this did not move during it.
    progress: AtomicU64,
    sleeping: AtomicUsize,
}

/// Error starting a heap.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is invalid.
    Config(crate::config::ConfigError),
    /// The allocator could not reserve the heap's address space.
    Alloc(AllocError),
    /// A background thread could not be spawned.
    Thread(std::io::Error),
}

impl core::fmt::Display for StartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StartError::Config(e) => write!(f, "tricolor: {e}"),
            StartError::Alloc(e) => write!(f, "tricolor: cannot create the heap: {e}"),
            StartError::Thread(e) => write!(f, "tricolor: cannot start the collector thread: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// The background threads of a heap; dropping this stops and joins them.
pub struct Threads {
    collector: Arc<Collector>,
    handles: Vec<thread::JoinHandle<()>>,
}

impl core::fmt::Debug for Threads {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Threads")
            .field("count", &self.handles.len())
            .finish()
    }
}

impl Drop for Threads {
    fn drop(&mut self) {
        {
            let mut ctl = self.collector.control.lock().unwrap();
            ctl.shutdown = true;
        }
        self.collector.control_cv.notify_all();
        self.collector.wake_workers_all();
        let me = thread::current().id();
        for h in self.handles.drain(..) {
            // A heap dropped from its own collector thread (drop glue of an object that owned
            // the last handle) cannot join itself: that thread exits on its own.
            if h.thread().id() != me {
                let _ = h.join();
            }
        }
    }
}

impl core::fmt::Debug for Collector {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Collector")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Runs a background thread's body; a panic there is a bug in the collector (or a trace function
/// that broke its contract), after which the heap's invariants cannot be trusted and every
/// mutator would wait forever: report it and abort, like Go's `fatal error`.
fn fatal_on_panic(what: &str, f: impl FnOnce()) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err() {
        report(format_args!(
            "tricolor: fatal error: the {what} thread panicked (see above); aborting"
        ));
        std::process::abort();
    }
}

/// Writes one line to stderr, ignoring failure: the collector must never panic because stderr
/// is closed (`eprintln!` would).
pub(crate) fn report(line: core::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Runs the drop glue of a dead object; the allocator calls this for every object it frees.
fn free_object(obj: NonNull<u8>) {
    let header = obj.cast::<Header>();
    // SAFETY: the allocator only frees slots that were allocated, and every allocated slot
    // holds an object whose header was written at allocation.
    let desc = unsafe { header.as_ref() }.desc();
    if let Some(drop) = desc.drop {
        // SAFETY: the object is dead (unmarked at the end of marking), so nothing will access
        // it again; its value was initialised right after allocation.
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe { drop(header) }));
        if r.is_err() {
            report(format_args!(
                "tricolor: drop glue of a `{}` panicked while it was being swept; continuing",
                (desc.name)()
            ));
        }
    }
}

impl Collector {
    /// Creates a heap with `config` and starts its background threads.
    pub fn start(config: Config) -> Result<(Arc<Collector>, Threads), StartError> {
        let c = Collector::new_unstarted(config)?;
        let mut handles = Vec::new();
        let spawn = |name: String, f: Box<dyn FnOnce() + Send>| {
            thread::Builder::new()
                .name(name)
                .spawn(f)
                .map_err(StartError::Thread)
        };
        let cc = c.clone();
        handles.push(spawn(
            "tricolor-gc".into(),
            Box::new(move || fatal_on_panic("collector", || cc.coordinator_main())),
        )?);
        for i in 1..c.config.mark_workers {
            let cw = c.clone();
            handles.push(spawn(
                format!("tricolor-mark-{i}"),
                Box::new(move || fatal_on_panic("mark worker", || cw.worker_main())),
            )?);
        }
        let threads = Threads {
            collector: c.clone(),
            handles,
        };
        Ok((c, threads))
    }

    /// Creates a heap without its background threads: nothing collects unless the caller
    /// drives the cycle (see [`crate::model`]).
    pub(crate) fn new_unstarted(config: Config) -> Result<Arc<Collector>, StartError> {
        config.validate().map_err(StartError::Config)?;
        let alloc = Allocator::new(AllocConfig {
            max_heap_bytes: config.max_heap_bytes,
            min_reservation_bytes: config.max_heap_bytes.min(1 << 30),
            arena_bytes: config.arena_bytes,
            free_hook: Some(free_object),
            huge_pages: config.huge_pages,
        })
        .map_err(StartError::Alloc)?;
        let pacer = Pacer::default();
        let goal = pacer::heap_goal(GoalInputs {
            marked: 0,
            black: 0,
            gogc: config.gogc,
            memory_limit: config.memory_limit,
            overhead: 0,
            min_heap_goal: config.min_heap_goal,
        });
        let c = Arc::new(Collector {
            alloc: Arc::new(alloc),
            phase: AtomicU64::new(phase_word(1, PHASE_OFF)),
            cycle_no: AtomicU64::new(0),
            cycle_parity: AtomicU8::new(0),
            cycle_epoch: AtomicUsize::new(0),
            marking: AtomicBool::new(false),
            snapshot_done: AtomicU64::new(0),
            mark_done: AtomicU64::new(0),
            registry: Mutex::new(Vec::new()),
            grey: GreyQueue::new(),
            roots: RootTable::new(),
            weaks: WeakRegistry::new(),
            cleanups: Cleanups::new(),
            weak_lock: RwLock::new(()),
            resurrections: AtomicU64::new(0),
            outside_work: AtomicU64::new(0),
            counters: CycleCounters::default(),
            assist_ratio_bits: StatU64::new(0f64.to_bits()),
            trigger: StatUsize::new(goal.map_or(usize::MAX, |g| pacer.trigger(g, 0))),
            goal: StatUsize::new(goal.unwrap_or(usize::MAX)),
            live_after_mark: StatUsize::new(0),
            pacing_live: StatUsize::new(0),
            cycle_requested: AtomicBool::new(false),
            paced_requested: AtomicBool::new(false),
            stats: Stats::new(),
            control: Mutex::new(Control::default()),
            control_cv: Condvar::new(),
            ack_lock: Mutex::new(()),
            ack_cv: Condvar::new(),
            coordinator_waiting: AtomicBool::new(false),
            workers: WorkerSync {
                lock: Mutex::new(()),
                cv: Condvar::new(),
                cycle: AtomicU64::new(0),
                active: AtomicUsize::new(0),
                progress: AtomicU64::new(0),
                sleeping: AtomicUsize::new(0),
            },
            pacer: Mutex::new(pacer),
            started_at: Instant::now(),
            config,
        });
        Ok(c)
    }

    /// The configuration the heap runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The allocator under this heap.
    pub fn allocator(&self) -> &Arc<Allocator> {
        &self.alloc
    }

    pub(crate) fn live_after_mark(&self) -> usize {
        self.live_after_mark.load(Ordering::Relaxed)
    }

    pub(crate) fn heap_goal(&self) -> usize {
        self.goal.load(Ordering::Relaxed)
    }

    pub(crate) fn next_trigger(&self) -> usize {
        self.trigger.load(Ordering::Relaxed)
    }

    pub(crate) fn started_at(&self) -> Instant {
        self.started_at
    }

    /// The mark parity and header epoch of the current (or last) cycle.
    #[inline]
    pub(crate) fn cycle_marks(&self) -> (MarkParity, Epoch) {
        (
            self.cycle_parity.load(Ordering::Relaxed),
            self.cycle_epoch.load(Ordering::Relaxed),
        )
    }

    /// The number of the current (or last) cycle.
    pub(crate) fn cycle_no(&self) -> u64 {
        self.cycle_no.load(Ordering::Acquire)
    }

    /// Whether tracing has started in cycle `k`: every mutator has acknowledged step 2 of its
    /// mark start, so none is still mutating a container it has not claimed (rule 1). Only
    /// then may a mutator's assist trace objects. Acquire: pairs with the store after the wait
    /// for those acknowledgements in `cycle_start`, so the assist sees the writes a mutator
    /// made before it acknowledged.
    pub(crate) fn tracing_started(&self, k: u64) -> bool {
        self.workers.cycle.load(Ordering::Acquire) == k
    }

    /// [`Collector::add_mark_counters`] for the work of a background marker (the coordinator
    /// or a mark worker), whose scan work also becomes credit for the mutators' assists.
    fn add_background_mark_counters(&self, marked: usize, scanned: usize) {
        self.add_mark_counters(marked, scanned);
        if scanned != 0 {
            self.counters.credit.fetch_add(scanned, Ordering::Relaxed);
        }
    }

    /// Takes up to `want` bytes of background scan credit; returns how much it took.
    pub(crate) fn take_credit(&self, want: usize) -> usize {
        // Relaxed: the credit is pacing arithmetic, ordered with nothing else.
        self.counters
            .credit
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |have| {
                (have > 0 && want > 0).then(|| have - have.min(want))
            })
            .map_or(0, |have| have.min(want))
    }

    pub(crate) fn add_mark_counters(&self, marked: usize, scanned: usize) {
        if marked != 0 {
            self.counters.marked.fetch_add(marked, Ordering::Relaxed);
        }
        if scanned != 0 {
            self.counters.scanned.fetch_add(scanned, Ordering::Relaxed);
        }
    }

    pub(crate) fn add_allocated(&self, bytes: usize) {
        if bytes != 0 {
            self.counters.allocated.fetch_add(bytes, Ordering::Relaxed);
            self.pacing_live.fetch_add(bytes, Ordering::Relaxed);
            self.stats.add_allocated(bytes);
        }
    }

    /// Records that `bytes` of a mutator's allocation (counted by [`Collector::add_allocated`]
    /// when the mutator publishes it) were allocated black in the current cycle.
    pub(crate) fn add_allocated_black(&self, bytes: usize) {
        if bytes != 0 {
            self.counters
                .allocated_black
                .fetch_add(bytes, Ordering::Relaxed);
        }
    }

    pub(crate) fn assist_ratio(&self) -> f64 {
        f64::from_bits(self.assist_ratio_bits.load(Ordering::Relaxed))
    }

    /// Called by mutators after each allocation slow path: starts a cycle at the trigger, and
    /// past the heap goal, until the cycle's marking begins, gives the CPU to the coordinator.
    ///
    /// Past the goal with no marking under way, the cycle the trigger asked for has not
    /// started in the runway the pacer left it. With as many busy mutators as CPUs, the usual
    /// reason is that the coordinator is runnable but has no CPU: the scheduler runs a woken
    /// thread at its next tick, not at once (4 ms with `HZ=250`), and meanwhile the mutators
    /// allocate without bound (churn on two threads and two vCPUs started cycles at 2–3× the
    /// goal). Go's allocating goroutine starts the cycle itself; here a mutator yields its CPU
    /// at each slow path until marking has begun. Not during marking: a yield moves the
    /// yielding thread's scheduling deadline back (EEVDF), and repeated yields while the
    /// collector's threads were busy marking left a mutator off the CPU for the rest of the
    /// mark (assists of 14–35 ms wall time in three of seven latency-harness runs); there,
    /// assists pay for allocation instead.
    pub(crate) fn after_alloc_slow(&self, bytes: usize) {
        self.add_allocated(bytes);
        if self.trigger_reached() && !self.paced_requested.load(Ordering::Relaxed) {
            self.paced_requested.store(true, Ordering::Relaxed);
            self.control.lock().unwrap().paced = true;
            self.control_cv.notify_all();
        }
        if self.past_goal() && !self.marking.load(Ordering::Relaxed) {
            self.yield_to_collector();
        }
    }

    /// Whether the heap, as the pacer counts it, has reached the heap goal.
    fn past_goal(&self) -> bool {
        self.pacing_live.load(Ordering::Relaxed) >= self.goal.load(Ordering::Relaxed)
    }

    /// Offers the calling mutator's CPU to another runnable thread — the collector's, if it
    /// is waiting for one — and records the time as a wait caused by the collector. Costs a
    /// system call when nothing else is runnable on this CPU.
    pub(crate) fn yield_to_collector(&self) {
        let t = Instant::now();
        crate::sync::yield_now();
        self.stats.record_wait(Wait::Yield, t.elapsed());
    }

    /// Whether the heap, as the pacer counts it, has reached the trigger.
    fn trigger_reached(&self) -> bool {
        self.pacing_live.load(Ordering::Relaxed) >= self.trigger.load(Ordering::Relaxed)
    }

    /// Asks the coordinator for a cycle (non-blocking). `forced` marks it as explicit.
    pub fn request_cycle(&self, forced: bool) {
        if !forced && self.cycle_requested.load(Ordering::Relaxed) {
            return;
        }
        self.cycle_requested.store(true, Ordering::Relaxed);
        let mut ctl = self.control.lock().unwrap();
        ctl.requested = true;
        ctl.forced |= forced;
        drop(ctl);
        self.control_cv.notify_all();
    }

    /// Runs a full collection and waits until it has finished sweeping: every object that was
    /// unreachable when this was called has been freed (and its drop glue run) when it returns.
    ///
    /// Must not be called from inside a mutation scope of this heap (the cycle waits for every
    /// mutator to pass a scope boundary). Other mutators' long scopes delay it.
    ///
    /// # Panics
    ///
    /// If the calling thread is inside a mutation scope of this heap (the collection would wait
    /// for that scope to end, forever).
    pub fn collect(&self) {
        assert!(
            !crate::mutator::in_scope_of(self),
            "tricolor: Heap::collect called inside a mutation scope of the same heap; it would \
             wait forever for that scope to end. Call it between scopes, or use \
             request_collection"
        );
        let mut ctl = self.control.lock().unwrap();
        // A cycle already running may have taken its snapshot before our objects died: wait
        // for the next one to complete.
        let target = ctl.started + 1;
        ctl.requested = true;
        ctl.forced = true;
        self.cycle_requested.store(true, Ordering::Relaxed);
        self.control_cv.notify_all();
        while ctl.completed < target && !ctl.shutdown {
            ctl = self.control_cv.wait(ctl).unwrap();
        }
    }

    /// Runs up to `max` pending cleanups on the calling thread; returns how many ran.
    pub fn run_cleanups(&self, max: usize) -> usize {
        self.cleanups.run(max)
    }

    /// Wakes the coordinator if it waits for acknowledgements; returns whether it did.
    pub(crate) fn notify_ack(&self) -> bool {
        // SeqCst fence: pairs with the one in `wait_acks`.
        fence(Ordering::SeqCst);
        if self.coordinator_waiting.load(Ordering::SeqCst) {
            let _g = self.ack_lock.lock().unwrap();
            self.ack_cv.notify_all();
            return true;
        }
        false
    }

    pub(crate) fn wake_workers(&self) {
        if self.workers.sleeping.load(Ordering::Relaxed) > 0 {
            self.wake_workers_all();
        }
    }

    fn wake_workers_all(&self) {
        let _g = self.workers.lock.lock().unwrap();
        self.workers.cv.notify_all();
    }

    /// Shades `obj` from a thread with no mark context (root drops), if marking.
    ///
    /// # Safety
    ///
    /// `obj` must be a live object of this heap.
    pub(crate) unsafe fn shade_outside(&self, obj: NonNull<Header>) {
        if !self.marking.load(Ordering::Acquire) {
            return;
        }
        let (parity, _) = self.cycle_marks();
        if let Some(size) = self.alloc.mark(obj.cast(), parity) {
            self.counters.marked.fetch_add(size, Ordering::Relaxed);
            // SAFETY: the caller guarantees `obj` is live; its header is initialised.
            if unsafe { obj.as_ref() }.desc().trace.is_some() {
                self.grey.push_all(&mut vec![Grey::new(obj)]);
                self.wake_workers();
            }
        }
        self.outside_work.fetch_add(1, Ordering::SeqCst);
    }

    /// Publishes a new phase word of `kind` and returns it. Serialised with registration by
    /// the registry lock.
    fn publish_phase(&self, kind: u64) -> u64 {
        let _registry = self.registry.lock().unwrap();
        let old = self.phase.load(Ordering::Relaxed);
        let new = phase_word(phase_seq(old) + 1, kind);
        // Release: pairs with the Acquire load in a mutator's acknowledgement, publishing the
        // cycle parameters stored before this.
        self.phase.store(new, Ordering::Release);
        new
    }

    /// One pass over the registry: acts for idle mutators, returns the OR of the reports of
    /// those that have acknowledged `phase` and whether all have.
    fn collect_acks(&self, phase: u64) -> (bool, u8) {
        let seq = phase_seq(phase);
        let snapshot: Vec<Arc<MutatorShared>> = self.registry.lock().unwrap().clone();
        let mut all = true;
        let mut report = 0;
        for m in &snapshot {
            let s = m.status.load(Ordering::Acquire);
            if status_seq(s) >= seq {
                if status_seq(s) == seq {
                    report |= m.report.load(Ordering::Relaxed);
                }
                continue;
            }
            if fault(Fault::HandshakeWithoutLock) && s & (IN_SCOPE | LOCKED) == 0 {
                // loom negative control: act for the mutator without taking its LOCKED bit.
                // SAFETY: none; the fault breaks the protocol on purpose (the model must see
                // the race on the mutator's local state).
                let r = unsafe { m.with_local(|l| l.apply_phase(self, phase, false)) };
                m.report.store(r, Ordering::Relaxed);
                m.status.store(status(seq, 0), Ordering::Release);
                report |= r;
                continue;
            }
            if s & (IN_SCOPE | LOCKED) == 0
                && m.status
                    .compare_exchange(s, s | LOCKED, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                // SAFETY: we hold the mutator LOCKED.
                let r = unsafe { m.with_local(|l| l.apply_phase(self, phase, false)) };
                m.report.store(r, Ordering::Relaxed);
                // Release: pairs with the Acquire CAS of the mutator's next scope entry.
                m.status.store(status(seq, 0), Ordering::Release);
                report |= r;
                continue;
            }
            all = false;
        }
        (all, report)
    }

    /// Sets the current cycle number to `k` and whether its tracing has started, as
    /// `cycle_begin` does (unit tests of the mutator side, with no coordinator).
    #[cfg(all(test, not(tricolor_loom)))]
    pub(crate) fn set_cycle_for_test(&self, k: u64, tracing: bool) {
        self.cycle_no.store(k, Ordering::Release);
        self.workers
            .cycle
            .store(if tracing { k } else { 0 }, Ordering::SeqCst);
    }

    /// Adds background scan credit, as a mark worker's drain does (unit tests of assists).
    #[cfg(all(test, not(tricolor_loom)))]
    pub(crate) fn add_credit_for_test(&self, bytes: usize) {
        self.add_background_mark_counters(0, bytes);
    }

    /// The heap as the pacer counts it (unit tests of pacing).
    #[cfg(all(test, not(tricolor_loom)))]
    pub(crate) fn pacing_count_for_test(&self) -> usize {
        self.pacing_live.load(Ordering::Relaxed)
    }

    /// Publishes a phase word (unit tests of the handshake state machine).
    #[cfg(test)]
    pub(crate) fn publish_phase_for_test(&self, kind: u64) -> u64 {
        self.publish_phase(kind)
    }

    /// One pass of acting for idle mutators; whether every mutator has acknowledged `phase`.
    pub(crate) fn try_collect_acks(&self, phase: u64) -> bool {
        self.collect_acks(phase).0
    }

    /// Waits until every mutator has acknowledged `phase`; returns the OR of their reports.
    fn wait_acks(&self, phase: u64) -> u8 {
        loop {
            let (all, report) = self.collect_acks(phase);
            if all {
                return report;
            }
            if cfg!(tricolor_loom) {
                // Under the model checker: let the mutators run.
                crate::sync::spin_loop();
                continue;
            }
            self.coordinator_waiting.store(true, Ordering::SeqCst);
            // SeqCst fence: pairs with the one in `notify_ack` (a mutator stores its
            // acknowledgement, fences, then reads `coordinator_waiting`), so either we see the
            // acknowledgement below or the mutator sees the flag and notifies.
            fence(Ordering::SeqCst);
            let g = self.ack_lock.lock().unwrap();
            let (all, report) = self.collect_acks(phase);
            if all {
                self.coordinator_waiting.store(false, Ordering::SeqCst);
                return report;
            }
            let _ = self
                .ack_cv
                .wait_timeout(g, Duration::from_millis(1))
                .unwrap();
            self.coordinator_waiting.store(false, Ordering::SeqCst);
        }
    }

    fn coordinator_main(self: Arc<Self>) {
        let mut last_cycle_end = Instant::now();
        let mut last_scavenge = Instant::now();
        let mut kept_spans_released = false;
        loop {
            let sweeping = self.background_sweep();
            let mut ctl = self.control.lock().unwrap();
            if ctl.shutdown {
                break;
            }
            let periodic = self
                .config
                .forced_cycle_interval
                .is_some_and(|d| last_cycle_end.elapsed() >= d);
            // A paced request is tested again (Go's `gcStart` re-tests its trigger too): one
            // made while the last cycle ran compared that cycle's counters with its trigger, and
            // would otherwise start the next cycle the moment the last one ended, on a heap
            // below the new trigger. A mutator past the new trigger asks again at its next
            // allocation slow path.
            let paced_due = ctl.paced && self.trigger_reached();
            if ctl.paced && !paced_due {
                ctl.paced = false;
                self.paced_requested.store(false, Ordering::Relaxed);
            }
            if ctl.requested || paced_due || periodic {
                let forced = ctl.forced;
                ctl.requested = false;
                ctl.paced = false;
                ctl.forced = false;
                ctl.started += 1;
                drop(ctl);
                self.cycle_requested.store(false, Ordering::Relaxed);
                self.paced_requested.store(false, Ordering::Relaxed);
                self.run_cycle(forced, periodic && !forced);
                last_cycle_end = Instant::now();
                kept_spans_released = false;
                continue;
            }
            if sweeping {
                continue;
            }
            drop(ctl);
            if !kept_spans_released && last_cycle_end.elapsed() >= Duration::from_millis(100) {
                // No cycle for a while: the empty spans the last sweep kept for their classes
                // were not needed soon after all. Give them back to the page heap (and so to
                // the scavenger).
                self.alloc.release_empty_spans();
                kept_spans_released = true;
            }
            if self.config.scavenge && last_scavenge.elapsed() >= Duration::from_millis(100) {
                // Go's retention rule: the pages the heap keeps backed (those of in-use spans
                // plus free ones) may reach the goal plus 10 %. Free pages within that stay
                // backed, since the next cycle's allocation reuses them; releasing them would
                // only have them faulted back in.
                let goal = self.goal.load(Ordering::Relaxed);
                let retain = if goal == usize::MAX {
                    64 << 20
                } else {
                    let spans = self.alloc.stats().span_bytes;
                    (goal + goal / 10).saturating_sub(spans)
                };
                self.alloc.scavenge(retain);
                last_scavenge = Instant::now();
            }
            // While the mutators keep the upkeep busy (the heap grows), look again soon.
            let wait = if self.upkeep() {
                UPKEEP_TICK * 5
            } else {
                Duration::from_millis(50)
            };
            let ctl = self.control.lock().unwrap();
            if !ctl.requested && !ctl.paced && !ctl.shutdown {
                let _ = self.control_cv.wait_timeout(ctl, wait).unwrap();
            }
        }
    }

    /// Work the coordinator does ahead of the mutators so that their allocation slow paths
    /// need not: span structs for the spans they will take next
    /// ([`Allocator::restock_spare_spans`]). Returns whether there was any.
    fn upkeep(&self) -> bool {
        if cfg!(tricolor_loom) {
            return false;
        }
        self.alloc.restock_spare_spans() > 0
    }

    /// Background sweeping between cycles: sweeps a few spans and acts for idle mutators that
    /// still owe the end-of-marking acknowledgement. When everything is swept and acknowledged,
    /// marks the last cycle complete. Returns whether work remains.
    fn background_sweep(&self) -> bool {
        let (done_cycles, started) = {
            let ctl = self.control.lock().unwrap();
            (ctl.completed, ctl.started)
        };
        if done_cycles >= started {
            return false;
        }
        let phase = self.phase.load(Ordering::Acquire);
        let (acked, _) = self.collect_acks(phase);
        let mut swept = 0;
        while swept < 64 {
            if self.alloc.sweep_one().is_none() {
                break;
            }
            swept += 1;
        }
        if acked && self.alloc.sweep_done() {
            self.complete_cycle();
            return false;
        }
        if swept == 0 {
            // Waiting for mutators to acknowledge: do not spin.
            backoff(Duration::from_micros(100));
        }
        true
    }

    fn complete_cycle(&self) {
        let mut ctl = self.control.lock().unwrap();
        if ctl.completed < ctl.started {
            ctl.completed = ctl.started;
        }
        drop(ctl);
        self.control_cv.notify_all();
    }

    fn run_cycle(&self, forced: bool, periodic: bool) {
        let mut run = self.cycle_begin(forced, periodic);
        loop {
            self.cycle_drain(&mut run);
            if self.cycle_try_terminate(&mut run) {
                break;
            }
        }
        self.cycle_end(run);
    }

    /// Steps 1–3: sweep termination, the two-step mark start, and the root scan into the
    /// coordinator's mark context.
    pub(crate) fn cycle_begin(&self, forced: bool, periodic: bool) -> CycleRun {
        let t0 = Instant::now();
        let heap_start = self.alloc.heap_live_bytes();
        // Both only change at a cycle's end, on this thread, or grow (`pacing_live`) until then.
        let paced_heap_start = self.pacing_live.load(Ordering::Relaxed);
        let trigger = self.trigger.load(Ordering::Relaxed);

        // 1. Sweep termination.
        let prev = self.phase.load(Ordering::Acquire);
        self.wait_acks(prev);
        self.alloc.complete_sweep();
        self.complete_cycle_before_start();
        self.grey.clear();

        // 2. Mark start.
        let k = self.cycle_no.load(Ordering::Relaxed) + 1;
        let parity = self.alloc.mark_parity();
        let epoch = (k & 1) as Epoch;
        self.cycle_parity.store(parity, Ordering::Relaxed);
        self.cycle_epoch.store(epoch, Ordering::Relaxed);
        self.cycle_no.store(k, Ordering::Release);
        self.counters.marked.store(0, Ordering::Relaxed);
        self.counters.scanned.store(0, Ordering::Relaxed);
        self.counters.allocated.store(0, Ordering::Relaxed);
        self.counters.allocated_black.store(0, Ordering::Relaxed);
        self.counters.credit.store(0, Ordering::Relaxed);
        let expected_scan = self.pacer.lock().unwrap().last_scan_work;
        self.update_assist_ratio(expected_scan);
        self.marking.store(true, Ordering::SeqCst);
        // Step 1: every mutator turns its barriers on. Until all have, some still write without
        // barriers, so nothing may turn black (a black object written by such a mutator would
        // hide what it stores) and every marking stack counts as grey.
        let prep = self.publish_phase(PHASE_PREP);
        if fault(Fault::NoSnapshotWait) {
            self.snapshot_done.store(k, Ordering::Release);
        }
        self.wait_acks(prep);
        // The snapshot is taken. Release: pairs with the Acquire load at a scope boundary.
        self.snapshot_done.store(k, Ordering::Release);
        // Step 2: objects may turn black (allocate black, object-barrier claims). Tracing
        // starts only once every mutator has acknowledged (rule 1): a mutator still in step 1
        // mutates containers without claiming them.
        let mark_phase = self.publish_phase(PHASE_MARK);
        if !fault(Fault::NoMarkStartWait) {
            self.wait_acks(mark_phase);
        }
        let t_started = Instant::now();

        // 3. Roots.
        let mut cx = MarkContext::new(&self.alloc, parity, epoch);
        self.roots.scan(&mut cx);
        self.workers.cycle.store(k, Ordering::SeqCst);
        self.wake_workers_all();
        CycleRun {
            k,
            parity,
            cx,
            rounds: 0,
            forced,
            periodic,
            expected_scan,
            t0,
            t_started,
            heap_start,
            paced_heap_start,
            trigger,
            upkept_at: t_started,
        }
    }

    /// Step 4: drains grey objects until none is visible and the extra workers are idle.
    pub(crate) fn cycle_drain(&self, run: &mut CycleRun) {
        loop {
            run.cx.drain(&self.grey, BACKGROUND_DRAIN);
            self.add_background_mark_counters(
                core::mem::take(&mut run.cx.marked_bytes),
                core::mem::take(&mut run.cx.scanned_bytes),
            );
            self.update_assist_ratio(run.expected_scan);
            if run.upkept_at.elapsed() >= UPKEEP_TICK {
                // Mutators allocate throughout the mark.
                self.upkeep();
                run.upkept_at = Instant::now();
            }
            if !(run.cx.local.is_empty() && self.grey.is_empty()) {
                continue;
            }
            if self.workers.active.load(Ordering::SeqCst) > 0 {
                // A worker or an assisting mutator holds grey objects it took: let it run (on
                // two vCPUs a spinning coordinator can be what keeps it from running).
                crate::sync::thread::yield_now();
                continue;
            }
            return;
        }
    }

    /// Starts a drain of the shared grey queue by a thread other than the coordinator (a mark
    /// worker, or a mutator's assist): counts it active, so that termination never finds the
    /// queue empty and everyone idle while this thread holds grey objects it took. Returns
    /// what [`Collector::end_shared_drain`] needs.
    pub(crate) fn begin_shared_drain(&self, cx: &MarkContext) -> u64 {
        self.workers.active.fetch_add(1, Ordering::SeqCst);
        cx.taken
    }

    /// Ends a drain begun by [`Collector::begin_shared_drain`]. If it took up any grey work,
    /// marking progressed, which the termination round in progress (if any) must see: that
    /// round's acknowledgements may predate the work (a mutator acknowledged, then deleted a
    /// reference from an object this drain went on to scan, shading the deleted object into its
    /// barrier buffer, which it publishes only at its next acknowledgement), so the round must
    /// not count as clean. The bump precedes the decrement of the active count (both `SeqCst`,
    /// and the coordinator reads them in the opposite order).
    pub(crate) fn end_shared_drain(&self, cx: &MarkContext, taken_before: u64) {
        if cx.taken != taken_before && !fault(Fault::IgnoreDrainProgress) {
            self.workers.progress.fetch_add(1, Ordering::SeqCst);
        }
        self.workers.active.fetch_sub(1, Ordering::SeqCst);
    }

    /// Step 5: one attempt at mark termination (ephemeron propagation, a termination round,
    /// the declaration). Returns whether marking is complete; if not, drain and try again.
    pub(crate) fn cycle_try_terminate(&self, run: &mut CycleRun) -> bool {
        match self.cycle_start_round(run) {
            Some(round) => self.cycle_finish_round(round),
            None => false,
        }
    }

    /// The first half of [`Collector::cycle_try_terminate`]: ephemeron propagation (`None` if
    /// it found work), then the counters the round compares against and the round's phase.
    pub(crate) fn cycle_start_round(&self, run: &mut CycleRun) -> Option<Round> {
        if self.weaks.propagate_ephemerons(&mut run.cx) {
            return None;
        }
        run.rounds += 1;
        let work0 = self.outside_work.load(Ordering::SeqCst);
        let progress0 = self.workers.progress.load(Ordering::SeqCst);
        let res0 = self.resurrections.load(Ordering::SeqCst);
        let phase = self.publish_phase(PHASE_MARK);
        Some(Round {
            k: run.k,
            phase,
            work0,
            progress0,
            res0,
        })
    }

    /// The second half of [`Collector::cycle_try_terminate`]: waits for the round's
    /// acknowledgements and declares marking complete if the round was clean.
    pub(crate) fn cycle_finish_round(&self, round: Round) -> bool {
        let Round {
            k,
            phase,
            work0,
            progress0,
            res0,
        } = round;
        let report = if fault(Fault::NoTerminationRound) {
            0
        } else {
            self.wait_acks(phase)
        };
        let report = if fault(Fault::IgnoreGreyStacks) {
            report & !REPORT_GREY_STACK
        } else {
            report
        };
        if report & REPORT_GREY_STACK != 0 && report & REPORT_PRODUCED == 0 {
            // Only waiting for mutators to reach a scope boundary: do not spin.
            backoff(Duration::from_micros(50));
        }
        // A drain of the shared queue that consumed grey work during the round (work present
        // at its start, or published at an acknowledgement) makes it unclean: a mutator may
        // hold a shade it made after its acknowledgement (see `end_shared_drain`). Active
        // first, then progress: a drain bumps progress before it stops being active.
        if report != 0
            || !self.grey.is_empty()
            || self.workers.active.load(Ordering::SeqCst) > 0
            || self.workers.progress.load(Ordering::SeqCst) != progress0
            || self.outside_work.load(Ordering::SeqCst) != work0
        {
            return false;
        }
        let _w = self.weak_lock.write().unwrap();
        if self.resurrections.load(Ordering::SeqCst) != res0 && !fault(Fault::IgnoreResurrections) {
            return false;
        }
        self.mark_done.store(k, Ordering::SeqCst);
        self.marking.store(false, Ordering::SeqCst);
        true
    }

    /// Steps 6–7 and pacing: reference processing, the start of sweeping, the next goal.
    pub(crate) fn cycle_end(&self, run: CycleRun) {
        // No root drop can still be shading with a stale view of `marking` after this.
        self.roots.barrier();
        self.workers.cycle.store(0, Ordering::SeqCst);
        let t_marked = Instant::now();

        // 6. Reference processing.
        self.weaks.process(&self.alloc, run.parity);
        self.cleanups.process(&self.alloc, run.parity);

        // 7. Sweep.
        let marked = self.counters.marked.load(Ordering::Relaxed);
        let scanned = self.counters.scanned.load(Ordering::Relaxed);
        let allocated = self.counters.allocated.load(Ordering::Relaxed);
        let allocated_black = self.counters.allocated_black.load(Ordering::Relaxed);
        let heap_end = self.alloc.heap_live_bytes();
        self.alloc.start_sweep();
        self.publish_phase(PHASE_OFF);
        let t_end = Instant::now();

        // Pacing for the next cycle. What survived: the marked bytes plus the objects allocated
        // black during marking, which this cycle cannot free either; the goal's runway is a
        // share of the marked bytes alone (`pacer::heap_goal`). Not the objects allocated
        // white while mark start waited for acknowledgements: those that are reachable were
        // marked (and counted) like any other, the rest are garbage this cycle frees. Counting
        // them would let a slow mark start (a descheduled mutator) inflate the next goal.
        let live = marked + allocated_black;
        self.live_after_mark.store(live, Ordering::Relaxed);
        self.pacing_live.store(live, Ordering::Relaxed);
        let goal = {
            let mut pacer = self.pacer.lock().unwrap();
            pacer.end_cycle(CycleMeasure {
                allocated_during_mark: allocated,
                scan_work: scanned,
            });
            let st = self.alloc.stats();
            let overhead = st.obtained_bytes.saturating_sub(st.in_use_bytes);
            let goal = pacer::heap_goal(GoalInputs {
                marked,
                black: allocated_black,
                gogc: self.config.gogc,
                memory_limit: self.config.memory_limit,
                overhead,
                min_heap_goal: self.config.min_heap_goal,
            });
            self.trigger.store(
                goal.map_or(usize::MAX, |g| pacer.trigger(g, live)),
                Ordering::Relaxed,
            );
            goal
        };
        self.goal
            .store(goal.unwrap_or(usize::MAX), Ordering::Relaxed);

        let summary = CycleSummary {
            number: run.k,
            forced: run.forced,
            periodic: run.periodic,
            at: run.t0.duration_since(self.started_at),
            mark_start: run.t_started - run.t0,
            mark: t_marked - run.t_started,
            termination_rounds: run.rounds,
            total: t_end - run.t0,
            heap_start: run.heap_start,
            paced_heap_start: run.paced_heap_start,
            trigger: run.trigger,
            heap_end,
            live,
            goal: goal.unwrap_or(0),
            workers: self.config.mark_workers,
        };
        self.stats.end_cycle(&summary);
        if self.config.gctrace {
            report(format_args!(
                "{}",
                summary.gctrace_line(self.stats.gc_cpu_fraction(self.started_at))
            ));
        }
    }

    /// Before a new cycle starts, the previous one (if any) is complete: its sweep is done.
    fn complete_cycle_before_start(&self) {
        let mut ctl = self.control.lock().unwrap();
        // `started` was already bumped for the cycle that is starting now.
        if ctl.completed + 1 < ctl.started {
            ctl.completed = ctl.started - 1;
        }
        drop(ctl);
        self.control_cv.notify_all();
    }

    fn update_assist_ratio(&self, expected_scan: usize) {
        let ratio = pacer::assist_ratio(
            expected_scan,
            self.counters.scanned.load(Ordering::Relaxed),
            self.goal.load(Ordering::Relaxed),
            self.pacing_live.load(Ordering::Relaxed),
        );
        self.assist_ratio_bits
            .store(ratio.to_bits(), Ordering::Relaxed);
    }

    /// One drain of the shared queue by a mark worker marking with `ctx`; the bytes scanned.
    pub(crate) fn worker_drain(&self, ctx: &mut MarkContext) -> usize {
        // Counted active before looking for work, so the coordinator never sees "idle" while a
        // worker holds grey objects.
        let taken = self.begin_shared_drain(ctx);
        let n = ctx.drain(&self.grey, BACKGROUND_DRAIN);
        ctx.flush(&self.grey);
        self.add_background_mark_counters(
            core::mem::take(&mut ctx.marked_bytes),
            core::mem::take(&mut ctx.scanned_bytes),
        );
        self.end_shared_drain(ctx, taken);
        n
    }

    fn worker_main(self: Arc<Self>) {
        let w = &self.workers;
        let mut cx: Option<(u64, MarkContext)> = None;
        loop {
            if self.control.lock().unwrap().shutdown {
                return;
            }
            let k = w.cycle.load(Ordering::SeqCst);
            if k == 0 {
                cx = None;
                let g = w.lock.lock().unwrap();
                w.sleeping.fetch_add(1, Ordering::SeqCst);
                let _ = w.cv.wait_timeout(g, Duration::from_millis(5)).unwrap();
                w.sleeping.fetch_sub(1, Ordering::SeqCst);
                continue;
            }
            let ctx = match &mut cx {
                Some((ck, c)) if *ck == k => c,
                _ => {
                    let (parity, epoch) = self.cycle_marks();
                    &mut cx
                        .insert((k, MarkContext::new(&self.alloc, parity, epoch)))
                        .1
                }
            };
            let n = self.worker_drain(ctx);
            if n == 0 {
                let g = w.lock.lock().unwrap();
                w.sleeping.fetch_add(1, Ordering::SeqCst);
                let _ = w.cv.wait_timeout(g, Duration::from_millis(1)).unwrap();
                w.sleeping.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        // Teardown: no mutator, root or thread is left. Every object dies now: run pending and
        // registered cleanups, then the drop glue of every object still allocated.
        self.cleanups.process_all_dead();
        while self.cleanups.run(usize::MAX) > 0 {}
        self.alloc.finish_sweep();
        self.alloc.for_each_allocated(free_object);
    }
}
