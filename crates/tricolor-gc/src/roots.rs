//! The root table: persistent handles that keep objects alive across scopes and threads.
//!
//! The table is split into [`SHARDS`] independently locked slabs (cache-line padded) so that
//! roots can be created and dropped from many threads at once. Each [`RootEntry`] owns one
//! slot.
//!
//! Barrier rules (the snapshot invariant for roots):
//! * **creation** inside a scope shades the target if the creating mutator is marking;
//! * **drop** (from any thread, also outside scopes) shades the target if a cycle is marking —
//!   the drop could be the deletion of the only path to an object some black stack still
//!   holds. The check of `Collector::marking` and the shade happen under the shard lock; when
//!   marking ends the collector takes and releases every shard lock (`RootTable::barrier`),
//!   so no drop can shade with a stale view of the phase after that;
//! * **scan**: after every mutator has acknowledged mark start, the collector shades every slot,
//!   one shard at a time (a root created meanwhile was shaded at creation, one dropped
//!   meanwhile was shaded at its drop).

use core::ptr::NonNull;
use std::sync::Arc;

use crate::collector::Collector;
use crate::header::Header;
use crate::mark::{Grey, MarkContext};
use crate::mutator::Scope;
use crate::sync::{AtomicUsize, Mutex, Ordering};

/// Number of independently locked parts of the table.
pub const SHARDS: usize = 16;

#[repr(align(128))]
struct Padded<T>(T);

#[derive(Default)]
struct Shard {
    slots: Vec<Option<Grey>>,
    free: Vec<u32>,
    live: usize,
}

/// The table of roots of one heap.
pub(crate) struct RootTable {
    shards: Box<[Padded<Mutex<Shard>>]>,
    next: AtomicUsize,
}

impl RootTable {
    pub(crate) fn new() -> RootTable {
        RootTable {
            shards: (0..SHARDS)
                .map(|_| Padded(Mutex::new(Shard::default())))
                .collect(),
            next: AtomicUsize::new(0),
        }
    }

    fn insert(&self, obj: NonNull<Header>) -> (u32, u32) {
        let shard = self.next.fetch_add(1, Ordering::Relaxed) % SHARDS;
        let mut s = self.shards[shard].0.lock().unwrap();
        let index = match s.free.pop() {
            Some(i) => {
                s.slots[i as usize] = Some(Grey::new(obj));
                i
            }
            None => {
                s.slots.push(Some(Grey::new(obj)));
                u32::try_from(s.slots.len() - 1).expect("more than 2^32 roots in one shard")
            }
        };
        s.live += 1;
        (shard as u32, index)
    }

    /// Shades every root into `cx`.
    pub(crate) fn scan(&self, cx: &mut MarkContext) {
        for shard in self.shards.iter() {
            let s = shard.0.lock().unwrap();
            for g in s.slots.iter().flatten() {
                // SAFETY: a slot holds a root's target, which the root keeps alive.
                unsafe { cx.shade(g.0) };
            }
        }
    }

    /// Takes and releases every shard lock (see the module docs).
    pub(crate) fn barrier(&self) {
        for shard in self.shards.iter() {
            drop(shard.0.lock().unwrap());
        }
    }

    /// Number of live roots.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.0.lock().unwrap().live).sum()
    }
}

/// One root: keeps its object alive until dropped. `Send + Sync`; the public crate decides
/// when its typed wrapper may cross threads.
pub struct RootEntry {
    collector: Arc<Collector>,
    obj: NonNull<Header>,
    shard: u32,
    index: u32,
}

// SAFETY: a root entry is an address plus table coordinates; the object stays alive while the
// entry exists and is only accessed by the public crate under its own Send/Sync rules.
unsafe impl Send for RootEntry {}
// SAFETY: as above; `&RootEntry` only reads immutable fields.
unsafe impl Sync for RootEntry {}

impl core::fmt::Debug for RootEntry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RootEntry").field("obj", &self.obj).finish()
    }
}

impl RootEntry {
    /// Roots `obj`, shading it if this mutator is marking.
    ///
    /// # Safety
    ///
    /// `obj` must be a live object of the scope's heap.
    pub unsafe fn new(scope: &Scope<'_>, obj: NonNull<Header>) -> RootEntry {
        // SAFETY: forwarded from the caller.
        unsafe { scope.shade(obj) };
        let collector = scope.collector().clone();
        let (shard, index) = collector.roots.insert(obj);
        RootEntry {
            collector,
            obj,
            shard,
            index,
        }
    }

    /// The rooted object.
    #[inline]
    pub fn object(&self) -> NonNull<Header> {
        self.obj
    }

    /// The heap this root belongs to.
    pub fn collector(&self) -> &Arc<Collector> {
        &self.collector
    }
}

impl Drop for RootEntry {
    fn drop(&mut self) {
        let table = &self.collector.roots;
        let mut s = table.shards[self.shard as usize].0.lock().unwrap();
        s.slots[self.index as usize] = None;
        s.free.push(self.index);
        s.live -= 1;
        if !crate::faults::fault(crate::faults::Fault::RootDropNoShade) {
            // SAFETY: the object was alive until this moment (we rooted it) and cannot be freed
            // before the current cycle's sweep, which starts only after marking ended and the
            // barrier passed this lock.
            unsafe { self.collector.shade_outside(self.obj) };
        }
        drop(s);
    }
}
