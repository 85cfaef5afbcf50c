//! Cleanups: functions that run after an object has died, in the spirit of Go's
//! `runtime.AddCleanup`.
//!
//! A cleanup is registered for an object with a `'static + Send` closure that must not reach the
//! object (it is `'static`, so it cannot hold a `Gc`; if it holds a root of the object, the object
//! never dies and the cleanup never runs, as in Go). The object is not resurrected: when marking
//! ends with the object unmarked, the closure moves to a ready queue and the object is swept as
//! usual. Ready cleanups run on a mutator thread — at scope entry (a few at a time) or through an
//! explicit call — never inside the collector. Cleanups of objects still alive when the heap is
//! torn down run at teardown.

use core::ptr::NonNull;
use std::collections::VecDeque;

use tricolor_alloc::{Allocator, MarkParity};

use crate::header::Header;
use crate::mark::Grey;
use crate::mutator::Scope;
use crate::sync::{AtomicU64, AtomicUsize, Mutex, Ordering};

/// How many ready cleanups a mutator runs when it enters a scope.
pub const CLEANUPS_PER_SCOPE: usize = 16;

/// A registered cleanup's identity, to cancel it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CleanupId(u64);

type CleanupFn = Box<dyn FnOnce() + Send>;

struct Registration {
    obj: Grey,
    id: u64,
    f: CleanupFn,
}

pub(crate) struct Cleanups {
    registered: Mutex<Vec<Registration>>,
    ready: Mutex<VecDeque<CleanupFn>>,
    ready_len: AtomicUsize,
    next_id: AtomicU64,
}

impl Cleanups {
    pub(crate) fn new() -> Cleanups {
        Cleanups {
            registered: Mutex::new(Vec::new()),
            ready: Mutex::new(VecDeque::new()),
            ready_len: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
        }
    }

    fn make_ready(&self, dead: Vec<CleanupFn>) {
        if dead.is_empty() {
            return;
        }
        let mut ready = self.ready.lock().unwrap();
        self.ready_len.fetch_add(dead.len(), Ordering::Release);
        ready.extend(dead);
    }

    /// Moves the cleanups of unmarked objects to the ready queue. Called once per cycle after
    /// marking completed and before sweeping.
    pub(crate) fn process(&self, alloc: &Allocator, parity: MarkParity) {
        // Registrations made while we work go to the emptied list and wait for the next cycle.
        let taken = core::mem::take(&mut *self.registered.lock().unwrap());
        if taken.is_empty() {
            return;
        }
        let (live, dead): (Vec<_>, Vec<_>) = taken
            .into_iter()
            .partition(|r| alloc.is_marked(r.obj.0.cast(), parity));
        self.registered.lock().unwrap().extend(live);
        self.make_ready(dead.into_iter().map(|r| r.f).collect());
    }

    /// Teardown: every registered object is dying.
    pub(crate) fn process_all_dead(&self) {
        let taken = core::mem::take(&mut *self.registered.lock().unwrap());
        self.make_ready(taken.into_iter().map(|r| r.f).collect());
    }

    /// Runs up to `max` ready cleanups on the calling thread; returns how many ran. A
    /// panicking cleanup propagates to the caller; the others stay queued.
    pub(crate) fn run(&self, max: usize) -> usize {
        let mut ran = 0;
        while ran < max && self.ready_len.load(Ordering::Acquire) > 0 {
            let f = {
                let mut ready = self.ready.lock().unwrap();
                let f = ready.pop_front();
                if f.is_some() {
                    self.ready_len.fetch_sub(1, Ordering::Release);
                }
                f
            };
            match f {
                Some(f) => {
                    f();
                    ran += 1;
                }
                None => break,
            }
        }
        ran
    }

    /// Cancels a registered cleanup; returns whether it was still registered.
    pub(crate) fn cancel(&self, id: CleanupId) -> bool {
        let mut reg = self.registered.lock().unwrap();
        match reg.iter().position(|r| r.id == id.0) {
            Some(i) => {
                drop(reg.swap_remove(i));
                true
            }
            None => false,
        }
    }

    /// Registered (not yet ready) and ready counts.
    pub(crate) fn counts(&self) -> (usize, usize) {
        (
            self.registered.lock().unwrap().len(),
            self.ready_len.load(Ordering::Acquire),
        )
    }
}

impl Scope<'_> {
    /// Registers `f` to run after `obj` dies.
    ///
    /// # Safety
    ///
    /// `obj` must be a live object of this heap.
    pub unsafe fn add_cleanup(
        &self,
        obj: NonNull<Header>,
        f: impl FnOnce() + Send + 'static,
    ) -> CleanupId {
        let c = self.collector();
        let id = c.cleanups.next_id.fetch_add(1, Ordering::Relaxed);
        c.cleanups.registered.lock().unwrap().push(Registration {
            obj: Grey::new(obj),
            id,
            f: Box::new(f),
        });
        CleanupId(id)
    }
}

impl crate::collector::Collector {
    /// Cancels a cleanup that has not been queued yet; returns whether it was cancelled.
    pub fn cancel_cleanup(&self, id: CleanupId) -> bool {
        self.cleanups.cancel(id)
    }
}
