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

#[cfg(not(tricolor_loom))]
pub use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU8, AtomicU16, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
};
#[cfg(not(tricolor_loom))]
pub use std::sync::{Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
#[cfg(not(tricolor_loom))]
pub use std::thread;

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
