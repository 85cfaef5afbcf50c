//! Weak references and ephemerons at the engine level.
//!
//! A **weak slot** is a small heap object holding one atomic pointer to its *target*; the slot
//! itself is an ordinary object (kept alive by whoever points to it), but its trace function
//! reports nothing, so it does not keep the target alive. An **ephemeron** is a heap object
//! holding a *key* and a *value*: the value is kept alive only while the key is (propagated by
//! the collector, not by a trace function). Every slot and ephemeron is registered in a
//! sharded `WeakRegistry`.
//!
//! Protocol:
//! * After marking completes, before any sweeping, the collector clears every live slot whose
//!   target is unmarked and every live ephemeron whose key is unmarked
//!   (`WeakRegistry::process`); dead slots and ephemerons leave the registry. A mutator that
//!   has acknowledged the end of marking therefore only ever loads live targets.
//! * An **upgrade** during marking must not hand out an object the collector is about to find
//!   unreachable. If the target is already marked, it is live. Otherwise the upgrade takes the
//!   weak lock for reading: if marking of this cycle has already been declared complete, the
//!   unmarked target is dead (the upgrade fails); if not, the upgrade shades it (a
//!   *resurrection*) and bumps a counter that makes the collector's next termination attempt
//!   fail. Declaring termination happens under the write lock with the counter unchanged
//!   since the round began, so no resurrection slips between a round and the declaration.
//! * Ephemeron propagation: while looking for termination, the collector shades the value of
//!   every live ephemeron whose key is marked (`WeakRegistry::propagate_ephemerons`),
//!   repeating until nothing new is shaded.

use core::ptr::NonNull;

use tricolor_alloc::{AllocError, Allocator, MarkParity};

use crate::header::{GcBox, Header, TypeDesc};
use crate::mark::{Grey, MarkContext};
use crate::mutator::Scope;
use crate::sync::{AtomicPtr, AtomicUsize, Mutex, Ordering};

const SHARDS: usize = 8;

/// The payload of a weak slot object.
pub struct WeakCell {
    target: AtomicPtr<Header>,
}

/// The payload of an ephemeron object.
pub struct EphemeronCell {
    key: AtomicPtr<Header>,
    value: AtomicPtr<Header>,
}

static WEAK_DESC: TypeDesc = TypeDesc {
    size: core::mem::size_of::<GcBox<WeakCell>>(),
    align: core::mem::align_of::<GcBox<WeakCell>>(),
    class: tricolor_alloc::size_class::class_for(
        core::mem::size_of::<GcBox<WeakCell>>(),
        core::mem::align_of::<GcBox<WeakCell>>(),
    ),
    trace: None,
    drop: None,
    needs_claim: false,
    name: || "tricolor::WeakSlot",
};

static EPHEMERON_DESC: TypeDesc = TypeDesc {
    size: core::mem::size_of::<GcBox<EphemeronCell>>(),
    align: core::mem::align_of::<GcBox<EphemeronCell>>(),
    class: tricolor_alloc::size_class::class_for(
        core::mem::size_of::<GcBox<EphemeronCell>>(),
        core::mem::align_of::<GcBox<EphemeronCell>>(),
    ),
    trace: None,
    drop: None,
    needs_claim: false,
    name: || "tricolor::Ephemeron",
};

#[repr(align(128))]
struct Padded<T>(T);

/// All weak slots and ephemerons of a heap.
pub(crate) struct WeakRegistry {
    slots: Box<[Padded<Mutex<Vec<Grey>>>]>,
    ephemerons: Box<[Padded<Mutex<Vec<Grey>>>]>,
    next: AtomicUsize,
}

/// # Safety
///
/// `slot` must be the header of a live weak slot object.
unsafe fn weak_cell<'a>(slot: NonNull<Header>) -> &'a WeakCell {
    // SAFETY: the caller guarantees `slot` heads a live `GcBox<WeakCell>`.
    unsafe { &slot.cast::<GcBox<WeakCell>>().as_ref().value }
}

/// # Safety
///
/// `eph` must be the header of a live ephemeron object.
unsafe fn eph_cell<'a>(eph: NonNull<Header>) -> &'a EphemeronCell {
    // SAFETY: the caller guarantees `eph` heads a live `GcBox<EphemeronCell>`.
    unsafe { &eph.cast::<GcBox<EphemeronCell>>().as_ref().value }
}

fn shards() -> Box<[Padded<Mutex<Vec<Grey>>>]> {
    (0..SHARDS)
        .map(|_| Padded(Mutex::new(Vec::new())))
        .collect()
}

impl WeakRegistry {
    pub(crate) fn new() -> WeakRegistry {
        WeakRegistry {
            slots: shards(),
            ephemerons: shards(),
            next: AtomicUsize::new(0),
        }
    }

    fn register(&self, list: &[Padded<Mutex<Vec<Grey>>>], obj: NonNull<Header>) {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % SHARDS;
        list[i].0.lock().unwrap().push(Grey::new(obj));
    }

    /// Clears slots and ephemerons whose targets (keys) are unmarked and forgets dead ones.
    /// Called once per cycle after marking completed and before sweeping starts.
    pub(crate) fn process(&self, alloc: &Allocator, parity: MarkParity) {
        let marked = |p: NonNull<Header>| alloc.is_marked(p.cast(), parity);
        for shard in self.slots.iter() {
            // Entries registered while we work go to the emptied list and are kept as they are.
            let taken = core::mem::take(&mut *shard.0.lock().unwrap());
            let kept: Vec<Grey> = taken
                .into_iter()
                .filter(|g| {
                    if !marked(g.0) {
                        return false;
                    }
                    // SAFETY: the slot is marked, hence live.
                    let cell = unsafe { weak_cell(g.0) };
                    let t = cell.target.load(Ordering::Acquire);
                    if let Some(t) = NonNull::new(t)
                        && !marked(t)
                    {
                        cell.target.store(core::ptr::null_mut(), Ordering::Release);
                    }
                    true
                })
                .collect();
            shard.0.lock().unwrap().extend(kept);
        }
        for shard in self.ephemerons.iter() {
            let taken = core::mem::take(&mut *shard.0.lock().unwrap());
            let kept: Vec<Grey> = taken
                .into_iter()
                .filter(|g| {
                    if !marked(g.0) {
                        return false;
                    }
                    // SAFETY: the ephemeron is marked, hence live.
                    let cell = unsafe { eph_cell(g.0) };
                    let k = cell.key.load(Ordering::Acquire);
                    if NonNull::new(k).is_some_and(|k| !marked(k)) {
                        cell.key.store(core::ptr::null_mut(), Ordering::Release);
                        cell.value.store(core::ptr::null_mut(), Ordering::Release);
                    }
                    true
                })
                .collect();
            shard.0.lock().unwrap().extend(kept);
        }
    }

    /// Shades the values of live ephemerons with marked keys. Returns whether it shaded
    /// anything new (marking must then continue before termination is tried).
    pub(crate) fn propagate_ephemerons(&self, cx: &mut MarkContext) -> bool {
        let before = cx.produced;
        cx.produced = false;
        for shard in self.ephemerons.iter() {
            let list = shard.0.lock().unwrap();
            for g in list.iter() {
                if !cx.is_marked(g.0) {
                    continue;
                }
                // SAFETY: the ephemeron is marked, hence live.
                let cell = unsafe { eph_cell(g.0) };
                let (k, v) = (
                    cell.key.load(Ordering::Acquire),
                    cell.value.load(Ordering::Acquire),
                );
                if let (Some(k), Some(v)) = (NonNull::new(k), NonNull::new(v))
                    && cx.is_marked(k)
                {
                    // SAFETY: the value of a live ephemeron with a live key is live.
                    unsafe { cx.shade(v) };
                }
            }
        }
        let produced = cx.produced;
        cx.produced |= before;
        produced
    }

    /// Number of registered slots and ephemerons.
    pub(crate) fn len(&self) -> (usize, usize) {
        let count = |l: &[Padded<Mutex<Vec<Grey>>>]| {
            l.iter().map(|s| s.0.lock().unwrap().len()).sum::<usize>()
        };
        (count(&self.slots), count(&self.ephemerons))
    }
}

impl Scope<'_> {
    /// Allocates a weak slot pointing at `target`.
    ///
    /// # Safety
    ///
    /// `target` must be a live object of this heap.
    pub unsafe fn new_weak(&self, target: NonNull<Header>) -> Result<NonNull<Header>, AllocError> {
        let slot = self.alloc(&WEAK_DESC)?;
        // SAFETY: `alloc` returned room for a `GcBox<WeakCell>` whose header it wrote.
        unsafe {
            (&raw mut (*slot.cast::<GcBox<WeakCell>>().as_ptr()).value).write(WeakCell {
                target: AtomicPtr::new(target.as_ptr()),
            });
            self.init_done(slot);
        }
        self.collector()
            .weaks
            .register(&self.collector().weaks.slots, slot);
        Ok(slot)
    }

    /// The target of a weak slot if it is still alive (see the module docs for the protocol).
    ///
    /// # Safety
    ///
    /// `slot` must be a live weak slot of this heap (from [`Scope::new_weak`]).
    pub unsafe fn upgrade_weak(&self, slot: NonNull<Header>) -> Option<NonNull<Header>> {
        // SAFETY: the caller guarantees the slot is live.
        let t = NonNull::new(unsafe { weak_cell(slot) }.target.load(Ordering::Acquire))?;
        // SAFETY: a non-null target was live when we loaded it (cleared before it is freed).
        unsafe { self.resurrect(t) }
    }

    /// Allocates an ephemeron: `value` stays alive while `key` does.
    ///
    /// # Safety
    ///
    /// `key` and `value` must be live objects of this heap.
    pub unsafe fn new_ephemeron(
        &self,
        key: NonNull<Header>,
        value: NonNull<Header>,
    ) -> Result<NonNull<Header>, AllocError> {
        let eph = self.alloc(&EPHEMERON_DESC)?;
        // SAFETY: `alloc` returned room for a `GcBox<EphemeronCell>` whose header it wrote.
        unsafe {
            (&raw mut (*eph.cast::<GcBox<EphemeronCell>>().as_ptr()).value).write(EphemeronCell {
                key: AtomicPtr::new(key.as_ptr()),
                value: AtomicPtr::new(value.as_ptr()),
            });
            self.init_done(eph);
            // The value arrives from the stack: a grey stack must shade it (insertion half;
            // the ephemeron's own trace reports nothing).
            self.shade_if_grey_stack(value);
        }
        self.collector()
            .weaks
            .register(&self.collector().weaks.ephemerons, eph);
        Ok(eph)
    }

    /// The key and value of an ephemeron if its key is still alive. While marking, the value is
    /// shaded too (the caller may store it anywhere).
    ///
    /// # Safety
    ///
    /// `eph` must be a live ephemeron of this heap.
    pub unsafe fn read_ephemeron(
        &self,
        eph: NonNull<Header>,
    ) -> Option<(NonNull<Header>, NonNull<Header>)> {
        // SAFETY: the caller guarantees the ephemeron is live.
        let cell = unsafe { eph_cell(eph) };
        let k = NonNull::new(cell.key.load(Ordering::Acquire))?;
        let v = NonNull::new(cell.value.load(Ordering::Acquire))?;
        // SAFETY: a non-null key was live when loaded (cleared before it is freed).
        let k = unsafe { self.resurrect(k) }?;
        // SAFETY: the key is alive, so the value is too.
        unsafe { self.shade(v) };
        Some((k, v))
    }

    /// Hands out `t`, a weakly reachable object, following the upgrade protocol.
    ///
    /// # Safety
    ///
    /// `t` must not have been freed.
    unsafe fn resurrect(&self, t: NonNull<Header>) -> Option<NonNull<Header>> {
        let Some(cycle) = self.marking_cycle() else {
            return Some(t);
        };
        if crate::faults::fault(crate::faults::Fault::WeakUpgradeNoShade) {
            return Some(t);
        }
        // SAFETY: `t` has not been freed.
        if unsafe { self.is_marked(t) } {
            return Some(t);
        }
        let c = self.collector();
        let _read = c.weak_lock.read().unwrap();
        if c.mark_done.load(Ordering::Acquire) >= cycle {
            // Marking is over: an unmarked target is dead.
            // SAFETY: as above.
            return unsafe { self.is_marked(t) }.then_some(t);
        }
        // SAFETY: still marking this cycle, so `t` cannot be freed before the sweep.
        unsafe { self.shade_local(t) };
        c.resurrections.fetch_add(1, Ordering::SeqCst);
        Some(t)
    }
}
