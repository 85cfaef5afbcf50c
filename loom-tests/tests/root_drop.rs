//! Model 6: a root dropped during marking, from another thread outside any scope.
//!
//! Heap: a permanent root R (R.slot = None) and an object A whose only path is a second root RA,
//! shared by two threads (in a loom `Arc`). Threads: the coordinator runs a cycle (mark start,
//! marking, termination); a mutator (the main thread) loads A through RA inside a scope, drops
//! its reference to RA, polls, and stores A into R.slot; a third thread, outside any scope and
//! not a mutator, drops the other reference. Whichever drop is last deletes the root — possibly
//! after marking started but before the root scan, while the mutator's stack is black (it may
//! enter its scope after the snapshot): then only the shade of the root drop keeps A, which the
//! mutator still holds and stores into R after R was scanned.
//!
//! Asserted after the cycle: R and A (reachable from R.slot) are marked. Negative control:
//! `RootDropNoShade` loses A.
//!
//! Why a loom `Arc` around the `Root`: a root drop reads `Collector::marking` with `Acquire`
//! and, at mark start, relies on the happens-before edge that handing the root from its last
//! user to its dropper carries (the dropper then sees at least what the mutator that loaded A
//! saw). Two clones of the `Root` itself would share a `std::sync::Arc`, which loom cannot see:
//! the model would let the dropper read a stale `marking == false` and report a lost A that the
//! real reference count rules out.
#![cfg(tricolor_loom)]

use loom::thread;
use tricolor::{Gc, GcCell, Heap, Root, Rootable, Trace};
use tricolor_gc::faults::{Fault, inject};
use tricolor_gc::model;

#[derive(Trace)]
struct Top<'gc> {
    slot: GcCell<Option<Gc<'gc, u32>>>,
}

fn root_drop_model() {
    loom_tests::check(|| {
        let heap = Heap::__manual(loom_tests::model_config()).unwrap();
        let mut m = heap.mutator();
        let (root, ra) = m.enter(|mc| {
            let r = Gc::new(
                mc,
                Top {
                    slot: GcCell::new(None),
                },
            );
            let a = Gc::new(mc, 7u32);
            (
                Root::<Rootable![Top<'_>]>::new(mc, r),
                Root::<Rootable![u32]>::new(mc, a),
            )
        });
        let c = heap.__collector().clone();
        let coordinator = thread::spawn(move || {
            let mut cycle = model::begin(&c);
            model::mark(&c, &mut cycle);
        });
        // Shared through a loom `Arc` (see the module docs).
        let ra = loom::sync::Arc::new(ra);
        let ra2 = ra.clone();
        let dropper = thread::spawn(move || drop(ra2));
        m.enter(|mc| {
            let r = root.get(mc);
            let a = ra.get(mc);
            drop(ra);
            // A poll point: the second step of mark start may be pending.
            mc.safepoint();
            r.slot.set(mc, Some(a));
        });
        coordinator.join().unwrap();
        dropper.join().unwrap();
        m.enter(|mc| {
            let r = root.get(mc);
            let a = r.slot.get().unwrap();
            for (name, obj) in [("R", Gc::__header(r)), ("A", Gc::__header(a))] {
                // SAFETY: the objects are reachable, so not swept (and no sweep has started).
                let marked = unsafe { model::is_marked(heap.__collector(), obj) };
                assert!(marked, "lost {name}");
            }
        });
    });
}

#[test]
fn root_dropped_during_marking_keeps_target() {
    root_drop_model();
}

#[test]
#[should_panic(expected = "lost A")]
fn negative_control_root_drop_without_shade() {
    let _f = inject(Fault::RootDropNoShade);
    root_drop_model();
}
