//! The one place tricolor gets its atomics, locks, cells and threads.
//!
//! Normally these are the `std` types. Under `--cfg tricolor_loom` they are loom's, so that the
//! `loom-tests` crate model-checks the production code rather than a copy (the cfg is set for the
//! whole build through `RUSTFLAGS`, so every crate switches together). `tricolor-gc` re-exports
//! this module instead of keeping a second copy. Clippy's `disallowed_types` (see `clippy.toml`)
//! keeps direct uses of the std types out of the rest of the crate.
//!
//! Loom's types are not `const`-constructible and its `UnsafeCell` hands out raw pointers through
//! closures; the std side mirrors that API (`with`/`with_mut`) so callers are written once.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

// The std half uses type aliases and wrapper functions rather than `pub use`: clippy's
// `disallowed_types`/`disallowed_methods` see through re-exports (a `use crate::sync::Mutex`
// would be flagged as `std::sync::Mutex`) but not through aliases, so aliases keep the
// clippy.toml rule meaningful ("only through the shim") while callers spell nothing else.
#[cfg(not(tricolor_loom))]
pub use std::sync::atomic::Ordering;
#[cfg(not(tricolor_loom))]
mod std_types {
    /// `std::sync::atomic::AtomicBool`.
    pub type AtomicBool = std::sync::atomic::AtomicBool;
    /// `std::sync::atomic::AtomicPtr`.
    pub type AtomicPtr<T> = std::sync::atomic::AtomicPtr<T>;
    /// `std::sync::atomic::AtomicU8`.
    pub type AtomicU8 = std::sync::atomic::AtomicU8;
    /// `std::sync::atomic::AtomicU16`.
    pub type AtomicU16 = std::sync::atomic::AtomicU16;
    /// `std::sync::atomic::AtomicU32`.
    pub type AtomicU32 = std::sync::atomic::AtomicU32;
    /// `std::sync::atomic::AtomicU64`.
    pub type AtomicU64 = std::sync::atomic::AtomicU64;
    /// `std::sync::atomic::AtomicUsize`.
    pub type AtomicUsize = std::sync::atomic::AtomicUsize;
    /// `std::sync::Condvar`.
    pub type Condvar = std::sync::Condvar;
    /// `std::sync::Mutex`.
    pub type Mutex<T> = std::sync::Mutex<T>;
    /// `std::sync::MutexGuard`.
    pub type MutexGuard<'a, T> = std::sync::MutexGuard<'a, T>;
    /// `std::sync::RwLock`.
    pub type RwLock<T> = std::sync::RwLock<T>;
    /// `std::sync::RwLockReadGuard`.
    pub type RwLockReadGuard<'a, T> = std::sync::RwLockReadGuard<'a, T>;
    /// `std::sync::RwLockWriteGuard`.
    pub type RwLockWriteGuard<'a, T> = std::sync::RwLockWriteGuard<'a, T>;

    /// `std::sync::atomic::fence`.
    #[inline(always)]
    pub fn fence(order: std::sync::atomic::Ordering) {
        std::sync::atomic::fence(order)
    }
}
#[cfg(not(tricolor_loom))]
pub use std_types::*;

/// `std::thread` (loom's under the model checker), with `spawn` going through the shim.
#[cfg(not(tricolor_loom))]
pub mod thread {
    pub use std::thread::*;

    /// `std::thread::spawn`.
    pub fn spawn<F, T>(f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        std::thread::spawn(f)
    }
}

#[cfg(tricolor_loom)]
pub use loom::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU8, AtomicU16, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
};
#[cfg(tricolor_loom)]
pub use loom::sync::{Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
#[cfg(tricolor_loom)]
pub use loom::thread;

#[cfg(tricolor_loom)]
pub use loom::cell::UnsafeCell;

/// `std::cell::UnsafeCell` with loom's closure-based access API.
#[cfg(not(tricolor_loom))]
#[derive(Debug, Default)]
#[repr(transparent)]
pub struct UnsafeCell<T: ?Sized>(std::cell::UnsafeCell<T>);

#[cfg(not(tricolor_loom))]
impl<T> UnsafeCell<T> {
    /// Wraps `value`.
    #[inline]
    pub const fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }

    /// Unwraps the value.
    #[inline]
    pub fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

#[cfg(not(tricolor_loom))]
impl<T: ?Sized> UnsafeCell<T> {
    /// Runs `f` with a shared raw pointer to the contents.
    #[inline(always)]
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with a mutable raw pointer to the contents.
    #[inline(always)]
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Spin-loop hint that also yields to loom's scheduler under the model checker.
#[inline]
pub fn spin_loop() {
    #[cfg(not(tricolor_loom))]
    std::hint::spin_loop();
    #[cfg(tricolor_loom)]
    loom::thread::yield_now();
}

/// Offers the calling thread's CPU to another runnable thread (`sched_yield`). A scheduling
/// hint with no effect on memory, so under loom it does nothing: the model explores every
/// interleaving anyway, and a yield would only add switch points.
#[inline]
pub fn yield_now() {
    #[cfg(not(tricolor_loom))]
    std::thread::yield_now();
}

/// Asks the CPU to start loading the cache line holding `p` (a hint: it never faults, whatever
/// `p` is, and does nothing off x86-64 and under loom, where it would only add noise).
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(all(target_arch = "x86_64", not(tricolor_loom)))]
    // SAFETY: a prefetch is a hint that never dereferences `p` architecturally (no fault, no
    // side effect on memory); SSE is part of the x86-64 baseline.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>())
    };
    #[cfg(not(all(target_arch = "x86_64", not(tricolor_loom))))]
    let _ = p;
}

/// Waits a little before looking again: sleeps normally; under loom it yields to the model's
/// scheduler instead (a real sleep would only slow the model down, and a spin without a yield
/// would never let the awaited thread run).
pub fn backoff(d: std::time::Duration) {
    #[cfg(not(tricolor_loom))]
    std::thread::sleep(d);
    #[cfg(tricolor_loom)]
    {
        let _ = d;
        loom::thread::yield_now();
    }
}

/// Counters for statistics only. They are never part of a protocol, so they stay std atomics
/// even under loom (keeping them out of the model's state space).
#[allow(clippy::disallowed_types)]
pub mod stat {
    /// A statistics counter.
    pub type StatU64 = std::sync::atomic::AtomicU64;
    /// A statistics counter.
    pub type StatUsize = std::sync::atomic::AtomicUsize;
    pub use std::sync::atomic::Ordering;
}
