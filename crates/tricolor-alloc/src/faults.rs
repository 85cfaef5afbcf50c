//! Fault injection for the loom negative controls.
//!
//! Each model in `loom-tests` has a negative control: the same model with one protected step
//! removed, which must fail, proving the model can see the bug the step guards against. The
//! steps are removed at run time by [`Fault`] switches checked with [`fault`]; outside
//! `--cfg tricolor_loom` [`fault`] is a constant `false`, so production builds contain no trace
//! of them.

/// A protected step that a negative control removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
#[non_exhaustive]
pub enum Fault {
    /// No fault.
    None = 0,
    /// The slot barrier does not shade the old target (deletion half).
    NoDeletionBarrier,
    /// Grey-stack stores do not shade what they store (insertion half: slot barrier,
    /// initialising stores, end of container borrows).
    NoInsertionBarrier,
    /// The object barrier neither traces nor claims the object.
    NoObjectBarrier,
    /// Mark workers trace objects with lock cells without claiming them.
    WorkerNoClaim,
    /// Mark termination is declared without a termination round.
    NoTerminationRound,
    /// Termination ignores mutators whose stacks are still grey.
    IgnoreGreyStacks,
    /// Termination ignores weak-reference resurrections during the round.
    IgnoreResurrections,
    /// Tracing starts without waiting for every mutator to acknowledge mark start.
    NoMarkStartWait,
    /// Mark assists trace before tracing has started (before every mutator has acknowledged
    /// mark start).
    EarlyAssist,
    /// Stacks may turn black before every mutator has its barriers on.
    NoSnapshotWait,
    /// Mark start is one step: objects turn black while some mutators lack barriers.
    SingleStepMarkStart,
    /// Mark start is acknowledged while a container borrow is open.
    NoBorrowDeferral,
    /// Dropping a root during marking does not shade its target.
    RootDropNoShade,
    /// Upgrading a weak reference during marking does not shade the target.
    WeakUpgradeNoShade,
    /// A span that needs sweeping for a new sweep generation is listed as swept without being
    /// claimed and swept for it (a span a cache releases while `start_sweep` advances the
    /// generation).
    SweepWithoutClaim,
    /// A mutator's "is this object already black?" check is a `Relaxed` load (design rule 2).
    RelaxedBlackCheck,
    /// The coordinator acts for a mutator outside any scope without taking its `LOCKED` bit.
    HandshakeWithoutLock,
    /// A drain of the shared grey queue (a mark worker's or an assist) that took grey work does
    /// not record it as progress, so a termination round during it can count as clean.
    IgnoreDrainProgress,
}

// Thread-local: loom runs all the threads of a model as coroutines on the test's own OS
// thread, so a model sees the fault its test injected and tests running in parallel do not
// see each other's.
#[cfg(tricolor_loom)]
std::thread_local! {
    static ACTIVE: core::cell::Cell<u32> = const { core::cell::Cell::new(0) };
}

/// Whether the step guarded by `f` is removed.
#[inline(always)]
pub fn fault(f: Fault) -> bool {
    #[cfg(tricolor_loom)]
    {
        f != Fault::None && ACTIVE.with(|a| a.get()) == f as u32
    }
    #[cfg(not(tricolor_loom))]
    {
        let _ = f;
        false
    }
}

/// Removes the step `f`, for models run on this thread, until the returned guard is dropped.
#[cfg(tricolor_loom)]
pub fn inject(f: Fault) -> FaultGuard {
    ACTIVE.with(|a| a.set(f as u32));
    FaultGuard(())
}

/// Restores normal behaviour when dropped.
#[cfg(tricolor_loom)]
#[derive(Debug)]
pub struct FaultGuard(());

#[cfg(tricolor_loom)]
impl Drop for FaultGuard {
    fn drop(&mut self) {
        ACTIVE.with(|a| a.set(0));
    }
}
