//! Mutators: registration, mutation scopes, handshakes, allocation and the write barriers.
//!
//! Data structures:
//! * `MutatorShared` — one per registered thread, in the collector's registry:
//!   - `status` (atomic): the sequence number of the last phase change this mutator has
//!     acknowledged, an `IN_SCOPE` bit and a `LOCKED` bit;
//!   - `report` (atomic): what the mutator found when it acknowledged (it produced grey work;
//!     its stack was still grey);
//!   - `local` (`MutatorLocal`, non-atomic): its thread cache, local grey stack, phase view,
//!     open-borrow count. **Protected by `status`**: the owning thread touches it only while
//!     `IN_SCOPE` is set (it set the bit itself), anyone else only while `LOCKED` is set (they
//!     set it by CAS from "out of scope, unlocked").
//! * The collector's `phase` word: `seq << 2 | kind`, kind `OFF` or `MARK`. Every phase change
//!   and every termination round bumps `seq`.
//!
//! Handshakes (ragged, nobody is stopped):
//! 1. The coordinator publishes a new phase word, then waits until every registered mutator's
//!    `status` carries that `seq`.
//! 2. A mutator inside a scope acknowledges at its next poll point (scope entry and exit, the
//!    allocation slow path, a container borrow ending, an explicit `safepoint`): it applies the
//!    transition to its own local state (`MutatorLocal::apply_phase`) and stores the new `seq`
//!    (`Release`, pairing with the coordinator's `Acquire` load).
//! 3. For a mutator outside any scope the coordinator CASes `status` to `LOCKED`, applies the
//!    same transition on the mutator's behalf, and stores the new `seq` unlocked. A mutator
//!    entering a scope meanwhile spins on `LOCKED` for that short, bounded work.
//! 4. The coordinator waits for every acknowledgement of a mark start and of a termination
//!    round, but not of the end of marking (`OFF`); the next cycle waits for those first. So a
//!    mutator is never more than one phase change behind.
//!
//! The transitions (`apply_phase`):
//! * `OFF → MARK` (mark start): barriers on, allocate black, the stack counts as grey if the
//!   mutator is inside a scope (it may hold pointers loaded before marking began). Deferred while
//!   the mutator has a container borrow open (design rule 6): that object never passed the
//!   object barrier, and workers do not start until every mutator has acknowledged (rule 1).
//! * `MARK → MARK` (a termination round): publish the local grey stack; report whether anything
//!   was shaded since the previous acknowledgement and whether the stack is still grey.
//! * `MARK → OFF`: barriers off, stop allocating black, drop the local grey stack (marking is
//!   complete: anything in it is already marked), release the thread cache's spans so they are
//!   swept.
//!
//! Scope boundaries: leaving a scope is the only point where the stack becomes black (empty) —
//! no borrow can be alive then, because borrows are tied to the scope's lifetime. Entering a
//! scope starts with an empty, black stack.

use core::marker::PhantomData;
use core::ptr::NonNull;
use std::sync::Arc;
use std::time::Instant;

use tricolor_alloc::{AllocError, ThreadCache};

use crate::collector::{Collector, PHASE_MARK, PHASE_OFF, PHASE_PREP, phase_kind, phase_seq};
use crate::faults::{Fault, fault};
use crate::header::{Claim, Header, TypeDesc};
use crate::mark::{FLUSH_BATCH, MarkContext};
use crate::stats::Wait;
use crate::sync::{AtomicU8, AtomicU64, Ordering, UnsafeCell, spin_loop};

/// `status` bit: the owning thread is inside a scope.
pub(crate) const IN_SCOPE: u64 = 1;
/// `status` bit: another thread is acting on the mutator's behalf.
pub(crate) const LOCKED: u64 = 2;
const SEQ_SHIFT: u32 = 2;
/// The `seq` of a deregistered mutator: it counts as having acknowledged everything.
pub(crate) const DEAD_SEQ: u64 = u64::MAX >> SEQ_SHIFT;

/// The most scan work (bytes) one mark assist does (p99 about 20–30 µs of CPU time on the
/// latency harness's cache-missing 1 GiB heap). A mutator that still owes work after a slice
/// pays the next one at its next word of slots, not only at its next span refill.
pub const ASSIST_SLICE: usize = 4 << 10;
/// The most assist debt (bytes of scan work) a mutator carries between slow paths.
pub const ASSIST_MAX_DEBT: usize = 1 << 20;

/// `report` bit: the mutator shaded something since its previous acknowledgement.
pub(crate) const REPORT_PRODUCED: u8 = 1;
/// `report` bit: the mutator has not passed a scope boundary since marking began.
pub(crate) const REPORT_GREY_STACK: u8 = 2;

/// Packs a status word.
#[inline]
pub(crate) fn status(seq: u64, bits: u64) -> u64 {
    seq << SEQ_SHIFT | bits
}

/// The acknowledged `seq` of a status word.
#[inline]
pub(crate) fn status_seq(s: u64) -> u64 {
    s >> SEQ_SHIFT
}

/// A mutator's entry in the registry (see the module docs).
pub(crate) struct MutatorShared {
    pub(crate) status: AtomicU64,
    pub(crate) report: AtomicU8,
    local: UnsafeCell<MutatorLocal>,
}

// SAFETY: `local` is only accessed by the thread that holds the mutator through the `status`
// protocol (IN_SCOPE by the owner, LOCKED by anyone else); everything else is atomic.
unsafe impl Sync for MutatorShared {}
// SAFETY: as above; `MutatorLocal` itself is `Send` (its cache and mark context are).
unsafe impl Send for MutatorShared {}

/// The state only the mutator (or whoever holds it LOCKED) touches.
pub(crate) struct MutatorLocal {
    /// The `seq` this mutator has acknowledged.
    pub(crate) acked: u64,
    /// Barriers on: this mutator has acknowledged a mark start (step 1) and not yet its end.
    pub(crate) marking: bool,
    /// Objects may turn black: the mutator has acknowledged step 2 of mark start (allocate
    /// black, claim objects in the object barrier).
    pub(crate) blacken: bool,
    /// The mutator acknowledged mark start inside a scope and has not left it since.
    pub(crate) stack_grey: bool,
    /// Container borrows currently open (mark start acknowledgement waits for zero).
    pub(crate) open_borrows: u32,
    pub(crate) mark: MarkContext,
    pub(crate) cache: ThreadCache,
    /// Scan work (bytes) owed for allocation while marking, not yet paid by assists.
    pub(crate) assist_debt: usize,
    /// Bytes allocated since the collector last took them into account.
    pub(crate) allocated: usize,
    /// The cycle this mutator marks for (valid while `marking`).
    pub(crate) cycle: u64,
    /// Stress mode: every allocation takes the slow path.
    pub(crate) stress: bool,
}

impl MutatorLocal {
    /// Applies the phase change `phase` (module docs, "The transitions"). `in_scope`: whether
    /// the mutator is inside a scope (its stack may hold pointers). Returns the report bits.
    pub(crate) fn apply_phase(&mut self, c: &Collector, phase: u64, in_scope: bool) -> u8 {
        if !in_scope {
            // Acknowledging outside a scope (on the mutator's behalf, or at its exit): that is a
            // boundary.
            self.boundary(c);
        }
        let mut report = 0;
        match (phase_kind(phase), self.marking, self.blacken) {
            (PHASE_PREP, false, _) => {
                // Mark start, step 1: barriers on. Grey even at a boundary: until the snapshot
                // completes, this mutator may load pointers that not-yet-acknowledged mutators
                // delete without a barrier.
                let (parity, epoch) = c.cycle_marks();
                self.marking = true;
                self.blacken = false;
                self.cycle = c.cycle_no();
                self.stack_grey = true;
                self.mark.rearm(parity, epoch);
                if fault(Fault::SingleStepMarkStart) {
                    self.blacken = true;
                    self.cache.set_allocate_black(Some(parity));
                }
            }
            (PHASE_MARK, true, false) => {
                // Mark start, step 2: objects may turn black.
                self.blacken = true;
                self.cache.set_allocate_black(Some(self.mark.parity()));
            }
            (PHASE_MARK, false, _) => {
                // Only a mutator registering during marking sees this (the coordinator waits
                // for every acknowledgement of step 1 before publishing step 2): both steps.
                let (parity, epoch) = c.cycle_marks();
                self.marking = true;
                self.blacken = true;
                self.cycle = c.cycle_no();
                self.stack_grey = true;
                self.mark.rearm(parity, epoch);
                self.cache.set_allocate_black(Some(parity));
            }
            (PHASE_MARK, true, true) => {
                // A termination round.
                self.publish_marking(c);
                if self.mark.produced {
                    report |= REPORT_PRODUCED;
                }
                self.mark.produced = false;
                if self.stack_grey {
                    report |= REPORT_GREY_STACK;
                }
            }
            (PHASE_OFF, true, _) => {
                self.marking = false;
                self.blacken = false;
                self.stack_grey = false;
                self.publish_counters(c);
                // Anything still here was shaded after marking completed: it is marked already
                // (or was allocated after the end of marking and needs nothing), never scanned.
                // The same holds for the barrier pipeline, which must not set mark bits once
                // sweeping may have begun.
                self.mark.local.clear();
                self.mark.discard_pipeline();
                self.mark.produced = false;
                self.cache.set_allocate_black(None);
                self.cache.release_all();
            }
            (PHASE_OFF, false, _) => {}
            (kind, marking, blacken) => {
                unreachable!(
                    "phase {kind} acknowledged in state marking={marking} blacken={blacken}"
                )
            }
        }
        self.acked = phase_seq(phase);
        report
    }

    /// At a scope boundary (the stack is empty): the stack turns black if the current cycle's
    /// snapshot is complete.
    pub(crate) fn boundary(&mut self, c: &Collector) {
        if self.marking && c.snapshot_done.load(Ordering::Acquire) >= self.cycle {
            self.stack_grey = false;
        }
    }

    /// Shades what the barrier pipeline holds, then publishes the local grey stack and
    /// counters.
    fn publish_marking(&mut self, c: &Collector) {
        self.mark.complete_pipeline();
        if !self.mark.local.is_empty() {
            self.mark.flush(&c.grey);
            c.wake_workers();
        }
        self.publish_counters(c);
    }

    fn publish_counters(&mut self, c: &Collector) {
        c.add_mark_counters(self.mark.marked_bytes, self.mark.scanned_bytes);
        self.mark.marked_bytes = 0;
        self.mark.scanned_bytes = 0;
    }
}

impl MutatorShared {
    /// Runs `f` on the local state.
    ///
    /// # Safety
    ///
    /// The caller must hold the mutator (IN_SCOPE as its owner, or LOCKED), and must not call
    /// this again from inside `f`.
    #[inline]
    pub(crate) unsafe fn with_local<R>(&self, f: impl FnOnce(&mut MutatorLocal) -> R) -> R {
        // SAFETY: the caller holds the mutator exclusively (module docs), and calls are not
        // nested, so this is the only reference to the local state.
        self.local.with_mut(|p| f(unsafe { &mut *p }))
    }
}

std::thread_local! {
    /// The heaps this thread has a scope open in (innermost last), so that a blocking
    /// collection called from inside one can fail loudly instead of waiting for itself.
    static OPEN_SCOPES: core::cell::RefCell<Vec<usize>> = const { core::cell::RefCell::new(Vec::new()) };
}

/// Whether the calling thread has a scope of `c`'s heap open.
pub(crate) fn in_scope_of(c: &Collector) -> bool {
    let me = c as *const Collector as usize;
    OPEN_SCOPES.with(|s| s.borrow().contains(&me))
}

/// A registered mutator thread: it owns a thread cache and runs code in mutation scopes.
///
/// `Send` (it can move between threads between scopes) but not `Sync`. Dropping it
/// deregisters it and returns its cached memory.
pub struct Mutator {
    pub(crate) shared: Arc<MutatorShared>,
    pub(crate) collector: Arc<Collector>,
    _not_sync: PhantomData<core::cell::Cell<()>>,
}

impl core::fmt::Debug for Mutator {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Mutator").finish_non_exhaustive()
    }
}

impl Collector {
    /// Registers the calling thread as a mutator.
    pub fn mutator(self: &Arc<Self>) -> Mutator {
        let cache = ThreadCache::new(self.alloc.clone());
        let mut local = MutatorLocal {
            acked: 0,
            marking: false,
            blacken: false,
            stack_grey: false,
            open_borrows: 0,
            mark: MarkContext::new(&self.alloc, 0, 0),
            cache,
            assist_debt: 0,
            allocated: 0,
            cycle: 0,
            stress: self.config.stress,
        };
        let shared = {
            let mut registry = self.registry.lock().unwrap();
            let phase = self.phase.load(Ordering::Acquire);
            // Registration is serialised with phase changes by the registry lock, so the new
            // mutator starts in the current phase, acknowledged.
            local.apply_phase(self, phase, false);
            let shared = Arc::new(MutatorShared {
                status: AtomicU64::new(status(phase_seq(phase), 0)),
                report: AtomicU8::new(0),
                local: UnsafeCell::new(local),
            });
            registry.push(shared.clone());
            shared
        };
        Mutator {
            shared,
            collector: self.clone(),
            _not_sync: PhantomData,
        }
    }
}

impl Mutator {
    /// The collector this mutator belongs to.
    pub fn collector(&self) -> &Arc<Collector> {
        &self.collector
    }

    /// Enters a mutation scope. The scope ends (a scope boundary) when the returned guard is
    /// dropped, also during unwinding.
    pub fn enter(&mut self) -> Scope<'_> {
        self.collector
            .run_cleanups(crate::cleanup::CLEANUPS_PER_SCOPE);
        let shared = &*self.shared;
        let mut current = shared.status.load(Ordering::Relaxed);
        loop {
            if current & LOCKED != 0 {
                // The coordinator is applying a phase change for us: bounded, short work.
                let t = Instant::now();
                while shared.status.load(Ordering::Acquire) & LOCKED != 0 {
                    spin_loop();
                }
                current = shared.status.load(Ordering::Relaxed);
                self.collector.stats.record_wait(Wait::Locked, t.elapsed());
                continue;
            }
            debug_assert_eq!(current & IN_SCOPE, 0, "nested scope");
            // Acquire: pairs with the coordinator's Release store after acting for us, so we
            // see the local state it left.
            match shared.status.compare_exchange_weak(
                current,
                current | IN_SCOPE,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        let me = Arc::as_ptr(&self.collector) as usize;
        OPEN_SCOPES.with(|s| s.borrow_mut().push(me));
        let scope = Scope {
            mutator: self,
            _not_send: PhantomData,
        };
        let c = scope.collector();
        scope.with_local(|l| l.boundary(c));
        // A phase change pending at entry is acknowledged as at a boundary (empty stack).
        scope.poll_as(false);
        scope
    }

    /// Runs up to `max` pending cleanups on this thread (outside any scope).
    pub fn run_cleanups(&mut self, max: usize) -> usize {
        self.collector.run_cleanups(max)
    }
}

impl Drop for Mutator {
    fn drop(&mut self) {
        let shared = &*self.shared;
        // Take our own lock, so no coordinator acts for us while we leave.
        let mut current = shared.status.load(Ordering::Relaxed);
        loop {
            if current & LOCKED != 0 {
                spin_loop();
                current = shared.status.load(Ordering::Relaxed);
                continue;
            }
            match shared.status.compare_exchange_weak(
                current,
                current | LOCKED,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        // SAFETY: we hold the mutator LOCKED.
        unsafe {
            shared.with_local(|l| {
                l.publish_counters(&self.collector);
                self.collector
                    .add_allocated(core::mem::take(&mut l.allocated));
                // Empty while marking: every scope exit published the grey work (and
                // completed the barrier pipeline); after marking, `apply_phase` emptied both.
                debug_assert!(l.mark.is_idle());
                l.mark.local.clear();
                l.cache.set_allocate_black(None);
                l.cache.release_all();
            })
        };
        {
            let mut registry = self.collector.registry.lock().unwrap();
            registry.retain(|m| !Arc::ptr_eq(m, &self.shared));
        }
        // Counts as acknowledged for any handshake that still holds it in a snapshot.
        shared.status.store(status(DEAD_SEQ, 0), Ordering::Release);
        let _ = self.collector.notify_ack();
    }
}

/// An open mutation scope of one mutator. All in-scope operations (allocation, barriers, roots)
/// go through it. Not `Send`/`Sync`: it belongs to the thread that entered it.
pub struct Scope<'m> {
    mutator: &'m mut Mutator,
    _not_send: PhantomData<*mut ()>,
}

impl core::fmt::Debug for Scope<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Scope").finish_non_exhaustive()
    }
}

impl Drop for Scope<'_> {
    fn drop(&mut self) {
        // The scope boundary: no borrow is alive (they are tied to the scope), so from here on
        // the stack holds no GC pointers.
        let c = self.collector();
        self.with_local(|l| {
            debug_assert_eq!(l.open_borrows, 0, "borrow alive at scope exit");
            if l.marking {
                l.boundary(c);
                l.publish_marking(c);
            }
            c.add_allocated(core::mem::take(&mut l.allocated));
        });
        self.poll_as(false);
        let shared = &*self.mutator.shared;
        let acked = self.with_local(|l| l.acked);
        // Release: pairs with the coordinator's Acquire CAS before it acts for us. No wake-up
        // here: an acknowledgement made just above already woke the coordinator, and a phase
        // published after it finds us outside the scope at its next look (within its wait
        // tick) — that delays only the collector, never a mutator.
        shared.status.store(status(acked, 0), Ordering::Release);
        let me = Arc::as_ptr(c) as usize;
        OPEN_SCOPES.with(|s| {
            let mut s = s.borrow_mut();
            if let Some(i) = s.iter().rposition(|&x| x == me) {
                s.remove(i);
            }
        });
    }
}

impl<'m> Scope<'m> {
    /// The collector.
    #[inline]
    pub fn collector(&self) -> &Arc<Collector> {
        &self.mutator.collector
    }

    #[inline(always)]
    fn with_local<R>(&self, f: impl FnOnce(&mut MutatorLocal) -> R) -> R {
        // SAFETY: a `Scope` exists only while its mutator is IN_SCOPE (set in `enter`, cleared
        // in `drop`), on this thread; scope methods never call each other from inside `f`.
        unsafe { self.mutator.shared.with_local(f) }
    }

    /// Whether barriers are on for this mutator (it has acknowledged a mark start).
    #[inline]
    pub fn is_marking(&self) -> bool {
        self.with_local(|l| l.marking)
    }

    /// A poll point: acknowledges a pending phase change, if any. Not a scope boundary.
    #[inline]
    pub fn safepoint(&self) {
        self.poll();
        if self.collector().config.stress {
            self.collector().request_cycle(false);
        }
    }

    #[inline]
    fn poll(&self) {
        let phase = self.collector().phase.load(Ordering::Relaxed);
        if phase_seq(phase) != self.with_local(|l| l.acked) {
            self.poll_as(true);
        }
    }

    /// Acknowledges a pending phase change (slow path of `poll`); `in_scope` false at the exit
    /// boundary.
    #[cold]
    #[inline(never)]
    fn poll_as(&self, in_scope: bool) {
        let c = self.collector();
        // Acquire: pairs with the coordinator's Release publication of the phase word, so the
        // cycle parameters written before it are visible.
        let phase = c.phase.load(Ordering::Acquire);
        if phase_seq(phase) == self.with_local(|l| l.acked) {
            // Nothing pending: the common case at scope entry and exit. No clock read.
            return;
        }
        let c = c.clone();
        let t = Instant::now();
        let report = self.with_local(|l| {
            if phase_seq(phase) == l.acked {
                return None;
            }
            let starting = match phase_kind(phase) {
                PHASE_PREP => !l.marking,
                PHASE_MARK => !l.blacken,
                _ => false,
            };
            if starting && l.open_borrows > 0 && !fault(Fault::NoBorrowDeferral) {
                // Rule 6: defer each step of mark start until no container borrow is open (a
                // borrow opened before it never passed the barrier of that step).
                return None;
            }
            Some(l.apply_phase(&c, phase, in_scope))
        });
        if let Some(report) = report {
            let shared = &*self.mutator.shared;
            shared.report.store(report, Ordering::Relaxed);
            // Release: pairs with the coordinator's Acquire load of `status`, publishing the
            // report and everything apply_phase did (flushed grey objects, released spans).
            shared
                .status
                .store(status(phase_seq(phase), IN_SCOPE), Ordering::Release);
            c.stats.record_wait(Wait::Ack, t.elapsed());
            if c.notify_ack() {
                // The coordinator was waiting for this acknowledgement and is runnable now;
                // when every CPU is busy it would otherwise get one only at the scheduler's
                // next tick (milliseconds of mark start, with the heap growing).
                c.yield_to_collector();
            }
        }
    }

    /// Allocates an object of type `desc` and writes its header. The caller must initialise
    /// the value and then call [`Scope::init_done`] before the next operation on this scope.
    #[inline(always)]
    pub fn alloc(&self, desc: &'static TypeDesc) -> Result<NonNull<Header>, AllocError> {
        let fast = self.with_local(|l| {
            let p = if desc.class != 0 && !l.stress {
                l.cache.alloc_fast(desc.class)
            } else {
                None
            };
            if p.is_some() {
                note_object(&mut l.cache, desc);
            }
            p.map(|p| (p, l.blacken.then_some(l.mark.epoch())))
        });
        let (ptr, black) = match fast {
            Some(hit) => hit,
            None => self.alloc_slow(desc)?,
        };
        let obj = ptr.cast::<Header>();
        // SAFETY: the allocator handed us `desc.size` bytes at `ptr`, suitably aligned for
        // `GcBox` (the class was chosen for `desc.align`), and nobody else can see them yet.
        unsafe { obj.as_ptr().write(Header::new(desc, black)) };
        Ok(obj)
    }

    #[cold]
    #[inline(never)]
    fn alloc_slow(
        &self,
        desc: &'static TypeDesc,
    ) -> Result<(NonNull<u8>, Option<crate::header::Epoch>), AllocError> {
        let c = self.collector();
        self.poll();
        if c.config.stress {
            c.request_cycle(false);
        }
        if let Some(limit) = c.config.memory_limit
            && c.alloc.heap_live_bytes().saturating_add(desc.size) > limit
        {
            c.request_cycle(false);
        }
        let (ptr, black, bytes) = self.with_local(|l| {
            let r = if desc.class != 0 {
                let r = l.cache.alloc_slow(desc.class);
                if r.is_ok() {
                    note_object(&mut l.cache, desc);
                }
                r
            } else {
                l.cache.alloc_large(desc.size, desc.align)
            };
            r.map(|p| {
                let bytes = l.cache.take_refilled_bytes();
                l.allocated += bytes;
                (p, l.blacken.then_some(l.mark.epoch()), bytes)
            })
        })?;
        if black.is_some() {
            c.add_allocated_black(bytes);
            // Tracing has started (step 2): pay for the allocation with mark work.
            self.assist(bytes);
        }
        c.after_alloc_slow(self.with_local(|l| core::mem::take(&mut l.allocated)));
        Ok((ptr, black))
    }

    /// Mark assist: a mutator allocating while marking pays for it with scan work, in
    /// proportion to what it allocated (the pacer's assist ratio), in slices of at most
    /// [`ASSIST_SLICE`] bytes of scan work per allocation slow path, so that one assist stays
    /// short; unpaid work carries over (up to [`ASSIST_MAX_DEBT`]). While debt is left, the
    /// thread cache also takes the slow path at its next word of slots (every 64 slots,
    /// [`ThreadCache::pause_at_next_word`](tricolor_alloc::ThreadCache::pause_at_next_word)),
    /// not only at the next span refill, so that short slices still pay what is owed. It never
    /// waits: if there is no grey work to take, the debt is forgiven.
    ///
    /// An assist traces only once the cycle's tracing has started (every mutator has
    /// acknowledged step 2, [`Collector::tracing_started`]): this mutator may pass step 2 while
    /// another is still in step 1 with a container borrow open, mutating an object nobody has
    /// claimed; tracing that object then would read it mid-mutation. Until then the debt waits.
    fn assist(&self, bytes: usize) {
        self.assist_slice(bytes, ASSIST_SLICE, true);
    }

    /// [`Self::assist`] with slices of at most `slice` bytes of scan work; with `credit`
    /// false, background credit pays nothing (the mutator traces all of its debt).
    fn assist_slice(&self, bytes: usize, slice: usize, credit: bool) {
        let c = self.collector();
        let work = self.with_local(|l| {
            let owed = (bytes as f64 * c.assist_ratio()) as usize;
            l.assist_debt = (l.assist_debt + owed).min(ASSIST_MAX_DEBT);
            if l.assist_debt < slice / 4
                || !(c.tracing_started(l.cycle) || fault(Fault::EarlyAssist))
            {
                l.cache.pause_at_next_word(false);
                return 0;
            }
            // Work the background markers did pays for the debt first (Go's background
            // credit): a mutator traces only while the markers are behind the pace the assist
            // ratio sets. What it then allocates during a long mark is black; the next goal
            // counts it once, not as live heap to double (`pacer::heap_goal`).
            if credit {
                l.assist_debt -= c.take_credit(l.assist_debt);
            }
            if l.assist_debt < slice / 4 {
                l.cache.pause_at_next_word(false);
                return 0;
            }
            l.assist_debt.min(slice)
        });
        if work == 0 {
            return;
        }
        // The slot barrier's pending shades are completed first, untimed: they are the
        // barrier's own work (a few edges), and most allocation slow paths while marking find
        // nothing else. Only an assist that has grey objects to scan reads the thread's CPU
        // clock, a system call (0.2–1 µs on the development VM, depending on the host) that
        // would otherwise cost more than the assist itself.
        let idle = self.with_local(|l| {
            if !(c.grey.is_empty() && l.mark.local.is_empty()) {
                return false;
            }
            // Completing the pipeline may turn objects grey.
            l.mark.complete_pipeline();
            let idle = c.grey.is_empty() && l.mark.local.is_empty();
            if idle {
                l.assist_debt = 0;
                l.cache.pause_at_next_word(false);
            }
            idle
        });
        if idle {
            return;
        }
        let t = Instant::now();
        let cpu = crate::stats::thread_cpu_time();
        self.with_local(|l| {
            // A drain of the shared queue like a mark worker's, as far as termination is
            // concerned: counted active while it holds grey objects it took, and recorded as
            // progress if it took any (`Collector::end_shared_drain`).
            let taken = c.begin_shared_drain(&l.mark);
            let done = l.mark.drain(&c.grey, work);
            l.assist_debt = l.assist_debt.saturating_sub(done.max(work));
            // Debt left over is paid at the next word of slots rather than at the next span
            // refill: more, shorter assists.
            l.cache.pause_at_next_word(l.assist_debt >= slice / 4);
            if l.mark.local.len() >= FLUSH_BATCH {
                l.publish_marking(c);
            }
            c.end_shared_drain(&l.mark, taken);
        });
        let on_cpu = cpu
            .zip(crate::stats::thread_cpu_time())
            .map(|(a, b)| b.saturating_sub(a));
        c.stats.record_assist(t.elapsed(), on_cpu);
    }

    /// Runs one mark assist slice of `work` bytes of scan work now (it stops after the first
    /// object or part that reaches `work`), as if the mutator had allocated enough to owe it;
    /// background credit pays none of it, so the models decide what a mutator traces (for the
    /// loom models; not a stable API).
    #[doc(hidden)]
    pub fn __assist(&self, work: usize) {
        let work = work.clamp(1, ASSIST_MAX_DEBT);
        self.with_local(|l| l.assist_debt = work);
        if self.with_local(|l| l.blacken) {
            self.assist_slice(0, work, false);
        }
    }

    /// Completes an allocation after the value is written: a mutator whose stack is still grey
    /// shades the new object's children (an initialising store is a store from the stack: the
    /// insertion half of the barrier).
    ///
    /// # Safety
    ///
    /// `obj` must come from [`Scope::alloc`] on this scope with its value fully initialised.
    #[inline(always)]
    pub unsafe fn init_done(&self, obj: NonNull<Header>) {
        self.with_local(|l| {
            if l.stack_grey && !fault(Fault::NoInsertionBarrier) {
                // SAFETY: the caller guarantees `obj` is initialised; it is ours alone.
                unsafe { l.mark.trace_children(obj) };
                if l.mark.local.len() >= FLUSH_BATCH {
                    l.publish_marking(self.collector());
                }
            }
        })
    }

    /// The slot barrier, called before a single GC-pointer cell is overwritten: while marking,
    /// shade the old target (deletion half) and, if the stack is still grey, the new one
    /// (insertion half). When no cycle is marking this is one load and a predictable branch.
    #[inline]
    pub fn slot_barrier(&self, old: Option<NonNull<Header>>, new: Option<NonNull<Header>>) {
        if self.with_local(|l| l.marking) {
            self.slot_barrier_slow(old, new);
        }
    }

    #[cold]
    #[inline(never)]
    fn slot_barrier_slow(&self, old: Option<NonNull<Header>>, new: Option<NonNull<Header>>) {
        self.with_local(|l| {
            if let Some(o) = old
                && !fault(Fault::NoDeletionBarrier)
            {
                // SAFETY: `old` was stored in a reachable cell, so it is a live object, and
                // stays so until this cycle's sweep, which waits for this mutator to complete
                // its pipeline (`publish_marking` at every termination round).
                unsafe { l.mark.shade_deferred(o) };
            }
            if l.stack_grey
                && let Some(n) = new
                && !fault(Fault::NoInsertionBarrier)
            {
                // SAFETY: `new` is a pointer the mutator holds in this scope: live (as above).
                unsafe { l.mark.shade_deferred(n) };
            }
            if l.mark.local.len() >= FLUSH_BATCH {
                l.publish_marking(self.collector());
            }
        })
    }

    /// The object barrier, called before a container cell of `obj` is mutably borrowed. While
    /// marking, the first such borrow in a cycle traces the object (shades its current
    /// children: the deletion half) and blackens it, claiming it so that no mark worker traces
    /// it at the same time; a borrow that finds it `Tracing` waits for the tracer to finish.
    /// Must be paired with [`Scope::write_end`].
    ///
    /// # Safety
    ///
    /// `obj` must be a live object of this heap.
    #[inline]
    pub unsafe fn write_begin(&self, obj: NonNull<Header>) {
        let slow = self.with_local(|l| {
            l.open_borrows += 1;
            // SAFETY: the caller guarantees `obj` is live.
            l.marking
                && (!l.blacken
                    || unsafe { obj.as_ref() }.claim_state(l.mark.epoch()) != Claim::Black)
        });
        if slow {
            // SAFETY: forwarded from the caller.
            unsafe { self.write_begin_slow(obj) };
        }
    }

    /// # Safety
    ///
    /// `obj` must be a live object of this heap.
    #[cold]
    #[inline(never)]
    unsafe fn write_begin_slow(&self, obj: NonNull<Header>) {
        if fault(Fault::NoObjectBarrier) {
            return;
        }
        let t = Instant::now();
        // SAFETY: the caller guarantees `obj` is live.
        let header = unsafe { obj.as_ref() };
        let (epoch, blacken) = self.with_local(|l| (l.mark.epoch(), l.blacken));
        if !blacken {
            // Mark start, step 1: no mark worker runs yet and nothing may turn black; shade the
            // current children (the deletion half) and leave the object as it is.
            self.with_local(|l| {
                // SAFETY: no tracer runs before step 2, and mutators that mutate this object
                // concurrently are excluded by its lock cell.
                unsafe { l.mark.trace_children(obj) };
            });
            self.collector()
                .stats
                .record_wait(Wait::Barrier, t.elapsed());
            return;
        }
        loop {
            match header.try_claim(epoch) {
                Ok(()) => {
                    self.with_local(|l| {
                        // SAFETY: we hold the claim: nobody else traces or mutates `obj`.
                        unsafe { l.mark.trace_children(obj) };
                    });
                    header.finish_trace(epoch);
                    break;
                }
                Err(Claim::Black) => break,
                Err(_) => {
                    // Another thread is tracing it: wait until it publishes Black (bounded by
                    // one object's trace; tracers never wait for us).
                    while header.claim_state(epoch) == Claim::Tracing {
                        spin_loop();
                    }
                }
            }
        }
        self.collector()
            .stats
            .record_wait(Wait::Barrier, t.elapsed());
    }

    /// Ends a container borrow begun with [`Scope::write_begin`]: a mutator whose stack is still
    /// grey shades the object's children again (it may have stored a pointer only its stack
    /// held: the insertion half). A deferred mark start is acknowledged once no borrow is open.
    ///
    /// # Safety
    ///
    /// `obj` must be the object of a matching `write_begin`, whose borrow has just ended (the
    /// caller still has exclusive access to the container).
    #[inline]
    pub unsafe fn write_end(&self, obj: NonNull<Header>) {
        let after = self.with_local(|l| {
            l.open_borrows -= 1;
            if l.stack_grey && !fault(Fault::NoInsertionBarrier) {
                // SAFETY: the object is black and its container was just borrowed exclusively
                // by us; no worker traces a black object.
                unsafe { l.mark.trace_children(obj) };
                if l.mark.local.len() >= FLUSH_BATCH {
                    l.publish_marking(self.collector());
                }
            }
            l.open_borrows == 0
        });
        if after {
            self.poll();
        }
    }

    /// Shades `obj` if this mutator is marking (used when a root is created, and for reads that
    /// resurrect an object, such as weak upgrades).
    ///
    /// # Safety
    ///
    /// `obj` must be a live object of this heap.
    #[inline]
    pub unsafe fn shade(&self, obj: NonNull<Header>) {
        self.with_local(|l| {
            if l.marking {
                // SAFETY: forwarded from the caller.
                unsafe { l.mark.shade(obj) };
            }
        })
    }

    /// Whether `obj` is marked in the cycle this mutator is marking for.
    ///
    /// # Safety
    ///
    /// `obj` must be an object of this heap whose memory has not been reused.
    pub(crate) unsafe fn is_marked(&self, obj: NonNull<Header>) -> bool {
        self.with_local(|l| l.mark.is_marked(obj))
    }

    /// The cycle this mutator is marking for, if it is marking.
    pub(crate) fn marking_cycle(&self) -> Option<u64> {
        self.with_local(|l| l.marking.then_some(l.cycle))
    }

    /// Shades `obj` into the local stack (the caller knows this mutator is marking).
    ///
    /// # Safety
    ///
    /// `obj` must be a live object of this heap.
    pub(crate) unsafe fn shade_local(&self, obj: NonNull<Header>) {
        self.with_local(|l| {
            // SAFETY: forwarded from the caller.
            unsafe { l.mark.shade(obj) };
        })
    }

    /// Shades `obj` if this mutator's stack is grey (a store of a pointer the stack holds,
    /// into a place whose trace function does not report it).
    ///
    /// # Safety
    ///
    /// `obj` must be a live object of this heap.
    pub(crate) unsafe fn shade_if_grey_stack(&self, obj: NonNull<Header>) {
        self.with_local(|l| {
            if l.stack_grey {
                // SAFETY: forwarded from the caller.
                unsafe { l.mark.shade(obj) };
            }
        })
    }
}

/// Tells the thread cache what the object just allocated from `desc.class` will need: the free
/// hook when it dies (it has drop glue) and a scan when it is marked (it has a trace function).
/// Called before the object's header is written, so that whoever learns of the object learns of
/// the flags too (see `ThreadCache::note_needs_scan`).
#[inline(always)]
fn note_object(cache: &mut ThreadCache, desc: &TypeDesc) {
    if desc.drop.is_some() {
        cache.note_needs_free_hook(desc.class);
    }
    if desc.trace.is_some() {
        cache.note_needs_scan(desc.class);
    }
}

#[cfg(all(test, not(tricolor_loom)))]
mod tests {
    use super::*;
    use crate::collector::{PHASE_MARK, PHASE_OFF, PHASE_PREP};

    fn collector() -> Arc<Collector> {
        crate::model::collector(crate::Config {
            arena_bytes: 1 << 20,
            max_heap_bytes: 16 << 20,
            ..crate::Config::default()
        })
        .unwrap()
    }

    fn local<R>(m: &Mutator, f: impl FnOnce(&mut MutatorLocal) -> R) -> R {
        // SAFETY: the test holds the mutator outside any scope and no collector thread runs.
        unsafe { m.shared.with_local(f) }
    }

    fn word(seq: u64, kind: u64) -> u64 {
        seq << 2 | kind
    }

    #[test]
    fn a_cycle_of_transitions_and_reports() {
        let c = collector();
        let m = c.mutator();
        let (k0, marks) = (c.cycle_no(), c.cycle_marks());
        assert_eq!((k0, marks.0), (0, 0));
        local(&m, |l| {
            assert!(!l.marking && !l.blacken);
            // Step 1 of mark start, acknowledged inside a scope.
            assert_eq!(l.apply_phase(&c, word(2, PHASE_PREP), true), 0);
            assert!(l.marking && !l.blacken && l.stack_grey);
            assert_eq!(
                l.cache.allocate_black(),
                None,
                "nothing turns black in step 1"
            );
            // Step 2.
            assert_eq!(l.apply_phase(&c, word(3, PHASE_MARK), true), 0);
            assert!(l.blacken);
            assert!(l.cache.allocate_black().is_some());
            // A termination round: the stack is still grey.
            assert_eq!(
                l.apply_phase(&c, word(4, PHASE_MARK), true),
                REPORT_GREY_STACK
            );
            // Shading work since the last acknowledgement is reported once.
            l.mark.produced = true;
            assert_eq!(
                l.apply_phase(&c, word(5, PHASE_MARK), true),
                REPORT_PRODUCED | REPORT_GREY_STACK
            );
            assert!(!l.mark.produced);
            // End of marking.
            assert_eq!(l.apply_phase(&c, word(6, PHASE_OFF), true), 0);
            assert!(!l.marking && !l.blacken && !l.stack_grey);
            assert_eq!(l.cache.allocate_black(), None);
            assert_eq!(l.acked, 6);
        });
    }

    #[test]
    fn a_boundary_blackens_the_stack_only_after_the_snapshot() {
        let c = collector();
        let m = c.mutator();
        local(&m, |l| {
            l.apply_phase(&c, word(2, PHASE_PREP), false);
            // Cycles are numbered from 1 (no coordinator ran one here).
            l.cycle = 1;
            assert!(l.stack_grey, "grey even at a boundary before the snapshot");
            l.boundary(&c);
            assert!(l.stack_grey);
        });
        c.snapshot_done.store(l_cycle(&m), Ordering::Release);
        local(&m, |l| {
            l.boundary(&c);
            assert!(
                !l.stack_grey,
                "a boundary after the snapshot blackens the stack"
            );
            // A round acknowledged outside a scope is a boundary too.
            l.stack_grey = true;
            l.apply_phase(&c, word(3, PHASE_MARK), false);
            assert!(!l.stack_grey);
        });

        fn l_cycle(m: &Mutator) -> u64 {
            local(m, |l| l.cycle)
        }
    }

    /// Needs a claim (it stands for an object with a lock cell); has nothing to trace.
    static LOCKED_NODE: TypeDesc = TypeDesc {
        needs_claim: true,
        name: || "locked node",
        ..crate::mark::tests::GREY_LEAF
    };

    #[test]
    fn assists_wait_until_every_mutator_has_passed_mark_start() {
        let c = collector();
        let mut m1 = c.mutator();
        let mut m2 = c.mutator();
        c.set_cycle_for_test(1, false);
        c.publish_phase_for_test(PHASE_PREP);
        let s1 = m1.enter();
        let s2 = m2.enter();
        // m2 is in step 1 with a container borrow open (it may be mutating `obj`, unclaimed):
        // its acknowledgement of step 2 waits for the borrow's end. m1 passes step 2.
        let obj = s2.alloc(&LOCKED_NODE).unwrap();
        s2.with_local(|l| l.open_borrows += 1);
        c.publish_phase_for_test(PHASE_MARK);
        s1.safepoint();
        s2.safepoint();
        assert!(s1.with_local(|l| l.blacken) && !s2.with_local(|l| l.blacken));
        c.grey.push_all(&mut vec![crate::mark::Grey::new(obj)]);
        let epoch = s1.with_local(|l| l.mark.epoch());
        // SAFETY: `obj` is a live object of this heap (nothing sweeps here).
        let claim = || unsafe { obj.as_ref() }.claim_state(epoch);

        s1.with_local(|l| l.assist_debt = ASSIST_SLICE);
        s1.assist(0);
        assert_eq!(
            claim(),
            Claim::Unclaimed,
            "an assist traced before tracing started"
        );
        assert!(!c.grey.is_empty());
        assert_eq!(
            s1.with_local(|l| l.assist_debt),
            ASSIST_SLICE,
            "the debt waits"
        );

        // m2's borrow ends and it acknowledges step 2; the coordinator starts tracing.
        s2.with_local(|l| l.open_borrows -= 1);
        s2.safepoint();
        c.set_cycle_for_test(1, true);
        s1.assist(0);
        assert_eq!(
            claim(),
            Claim::Black,
            "the assist traces once tracing has started"
        );
        assert!(c.grey.is_empty());
        drop((s1, s2));
        let off = c.publish_phase_for_test(PHASE_OFF);
        assert!(c.try_collect_acks(off));
    }

    /// A leaf of its own size class (48 B), so that a test's first allocation of it caches a
    /// fresh span.
    static WORD_LEAF: TypeDesc = TypeDesc {
        size: 48,
        class: tricolor_alloc::size_class::size_to_class(48),
        name: || "word leaf",
        ..crate::mark::tests::LEAF
    };

    /// Enters a scope of `m` in cycle 1 with tracing started (both steps of mark start
    /// acknowledged) and grey work for several assist slices in the shared queue: 2,048
    /// objects of 16 B of scan work each.
    fn tracing_scope_with_grey_work<'m>(c: &Collector, m: &'m mut Mutator) -> Scope<'m> {
        c.set_cycle_for_test(1, false);
        c.publish_phase_for_test(PHASE_PREP);
        let s = m.enter();
        c.publish_phase_for_test(PHASE_MARK);
        s.safepoint();
        c.set_cycle_for_test(1, true);
        assert!(s.with_local(|l| l.blacken));
        let mut grey: Vec<_> = (0..2048)
            .map(|_| crate::mark::Grey::new(s.alloc(&crate::mark::tests::GREY_LEAF).unwrap()))
            .collect();
        c.grey.push_all(&mut grey);
        s
    }

    #[test]
    fn assist_debt_left_after_a_slice_is_paid_at_the_next_word_of_slots() {
        let c = collector();
        let mut m = c.mutator();
        let s = tracing_scope_with_grey_work(&c, &mut m);
        // The first object of a 48 B class caches a fresh span (170 slots, three words).
        let first = s.alloc(&WORD_LEAF).unwrap();
        let debt = || s.with_local(|l| l.assist_debt);
        s.with_local(|l| l.assist_debt = 3 * ASSIST_SLICE);
        s.assist(0);
        assert_eq!(debt(), 2 * ASSIST_SLICE, "one slice paid");
        // The rest of the first word: fast-path allocations, no assist.
        let mut last = first;
        for _ in 1..64 {
            last = s.alloc(&WORD_LEAF).unwrap();
        }
        assert_eq!(debt(), 2 * ASSIST_SLICE, "no assist inside the word");
        // The next word: the slow path runs and pays a slice, with no span refill (the new
        // object is the next slot of the same span).
        let next = s.alloc(&WORD_LEAF).unwrap();
        assert_eq!(debt(), ASSIST_SLICE, "a slice paid at the word boundary");
        assert_eq!(
            next.as_ptr() as usize,
            last.as_ptr() as usize + 48,
            "no refill"
        );
        drop(s);
        let off = c.publish_phase_for_test(PHASE_OFF);
        assert!(c.try_collect_acks(off));
    }

    #[test]
    fn background_credit_pays_an_assist_and_the_mutator_traces_what_it_does_not_cover() {
        let c = collector();
        let mut m = c.mutator();
        let s = tracing_scope_with_grey_work(&c, &mut m);
        let debt = || s.with_local(|l| l.assist_debt);
        let scanned = || s.with_local(|l| l.mark.scanned_bytes);
        let before = scanned();
        // Credit for a slice and a half: a one-slice debt is paid from it, nothing traced.
        c.add_credit_for_test(ASSIST_SLICE + ASSIST_SLICE / 2);
        s.with_local(|l| l.assist_debt = ASSIST_SLICE);
        s.assist(0);
        assert_eq!(debt(), 0, "the debt is paid");
        assert_eq!(
            scanned(),
            before,
            "nothing traced while credit covers the debt"
        );
        // Half a slice of credit is left: the other half of the next debt is traced.
        s.with_local(|l| l.assist_debt = ASSIST_SLICE);
        s.assist(0);
        assert_eq!(c.take_credit(usize::MAX), 0, "the credit is used up");
        assert_eq!(debt(), 0);
        let traced = scanned() - before;
        assert!(
            (ASSIST_SLICE / 2..ASSIST_SLICE / 2 + 64).contains(&traced),
            "traced {traced} B for the half the credit did not pay"
        );
        // No credit: the whole debt is traced.
        let before = scanned();
        s.with_local(|l| l.assist_debt = ASSIST_SLICE);
        s.assist(0);
        assert_eq!(debt(), 0);
        let traced = scanned() - before;
        assert!(traced >= ASSIST_SLICE, "traced {traced} B");
        drop(s);
        let off = c.publish_phase_for_test(PHASE_OFF);
        assert!(c.try_collect_acks(off));
    }

    #[test]
    fn past_the_heap_goal_each_allocation_slow_path_yields_until_marking_begins() {
        // No coordinator runs here, so no cycle ever starts and the heap outgrows the goal.
        let c = crate::model::collector(crate::Config {
            arena_bytes: 1 << 20,
            max_heap_bytes: 16 << 20,
            min_heap_goal: 256 << 10,
            ..crate::Config::default()
        })
        .unwrap();
        let goal = c.heap_goal();
        assert!((256 << 10..1 << 20).contains(&goal), "goal {goal}");
        let mut m = c.mutator();
        let s = m.enter();
        let yields = || c.stats().collector_yields.count;
        let (mut refills, mut refills_past_goal) = (0, 0);
        while refills_past_goal < 4 {
            let before = c.pacing_count_for_test();
            let had = yields();
            s.alloc(&crate::mark::tests::LEAF).unwrap();
            let after = c.pacing_count_for_test();
            if after == before {
                assert_eq!(yields(), had, "a fast-path allocation yielded");
                continue;
            }
            refills += 1;
            if after >= goal {
                refills_past_goal += 1;
                assert_eq!(
                    yields(),
                    had + 1,
                    "refill {refills} at {after} B past the goal"
                );
            } else {
                assert_eq!(yields(), 0, "refill {refills} at {after} B below the goal");
            }
        }
        assert!(refills > 4, "the goal was reached at once");
        // While a cycle marks, assists pay for allocation instead: no yields.
        c.marking.store(true, Ordering::SeqCst);
        let had = yields();
        let before = c.pacing_count_for_test();
        while c.pacing_count_for_test() < before + (64 << 10) {
            s.alloc(&crate::mark::tests::LEAF).unwrap();
        }
        assert_eq!(yields(), had, "a mutator yielded while marking");
        c.marking.store(false, Ordering::SeqCst);
    }

    #[test]
    fn a_scope_exit_publishes_what_the_slot_barrier_shaded() {
        let c = collector();
        let mut m = c.mutator();
        c.set_cycle_for_test(1, true);
        c.publish_phase_for_test(PHASE_PREP);
        {
            let s = m.enter();
            let obj = s.alloc(&LOCKED_NODE).unwrap();
            c.publish_phase_for_test(PHASE_MARK);
            s.safepoint();
            // The deletion half shades `obj` (as if it was just overwritten in a cell): it is
            // marked, and grey in this mutator's buffers only.
            s.slot_barrier(Some(obj), None);
        }
        assert!(
            !c.grey.is_empty(),
            "the barrier's shade is still pending after the scope boundary"
        );
        drop(m);
    }

    #[test]
    fn scopes_acknowledge_at_entry_and_defer_mark_start_while_a_borrow_is_open() {
        let c = collector();
        let mut m = c.mutator();
        // The coordinator publishes step 1 while the mutator is outside any scope: the
        // mutator acknowledges when it enters (or the coordinator acts for it).
        let prep = c.publish_phase_for_test(PHASE_PREP);
        {
            let scope = m.enter();
            assert!(scope.is_marking(), "acknowledged at scope entry");
            assert_eq!(status_seq(m_status(&scope)), phase_seq(prep));
            // Step 2 while a container borrow is open (only the count matters for deferral):
            // deferred until it ends.
            scope.with_local(|l| l.open_borrows += 1);
            let mark = c.publish_phase_for_test(PHASE_MARK);
            scope.safepoint();
            assert!(
                !scope.with_local(|l| l.blacken),
                "deferred while a borrow is open"
            );
            scope.with_local(|l| l.open_borrows -= 1);
            scope.safepoint();
            assert!(scope.with_local(|l| l.blacken));
            assert_eq!(status_seq(m_status(&scope)), phase_seq(mark));
        }
        // Outside the scope: the coordinator acknowledges the end of marking on its behalf.
        let off = c.publish_phase_for_test(PHASE_OFF);
        assert!(c.try_collect_acks(off));
        assert!(!local(&m, |l| l.marking));

        fn m_status(s: &Scope<'_>) -> u64 {
            s.mutator.shared.status.load(Ordering::Acquire)
        }
    }
}
