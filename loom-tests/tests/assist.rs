//! Model 9: mark assists trace nothing before tracing has started.
//!
//! Heap: root R with a container R.list = [B] (a `GcMutex`, shared by two mutators) and a slot
//! R.slot = R.list. Three threads: the coordinator starts a cycle and marks; mutator M2 locks
//! R.list and writes it (reverses it), with poll points before the lock and inside it; mutator
//! M1 clears R.slot (while marking, the deletion half shades R.list into M1's buffers) and then
//! runs a mark assist.
//!
//! M2 may lock R.list in step 1 of mark start: the object barrier then shades the children but
//! claims nothing, and M2 defers its acknowledgement of step 2 until the lock is released. M1
//! may meanwhile pass step 2. An assist that traced then would claim R.list (unclaimed) and
//! read it while M2 writes it. The container carries a loom probe (as in `object_barrier.rs`),
//! so such a trace is reported. Asserted: R, R.list and B are marked when marking returns, and
//! no trace of R.list overlaps its write. Negative control: `EarlyAssist` (assists do not wait
//! for tracing to start) → the race. The stress test found this bug (a crash in about one run in
//! eight) before this model existed.
#![cfg(tricolor_loom)]

use core::ptr::NonNull;

use loom::thread;
use loom_tests::{Tracked, check_race};
use tricolor::{Gc, GcCell, GcMutex, Heap, Root, Rootable, Trace};
use tricolor_gc::Header;
use tricolor_gc::faults::{Fault, inject};
use tricolor_gc::model;

type List<'gc> = GcMutex<Tracked<Vec<Gc<'gc, u32>>>>;

#[derive(Trace)]
struct Top<'gc> {
    list: Gc<'gc, List<'gc>>,
    slot: GcCell<Option<Gc<'gc, List<'gc>>>>,
}

type R = Root<Rootable![Top<'_>]>;

/// Object headers handed to the coordinator, which checks them when marking returns.
#[derive(Clone, Copy)]
struct Objs([(&'static str, NonNull<Header>); 3]);
// SAFETY: only addresses; the coordinator reads mark bits through them, never the objects.
unsafe impl Send for Objs {}

fn assist_model() {
    loom_tests::check(|| {
        let heap = Heap::__manual(loom_tests::model_config()).unwrap();
        let mut m1 = heap.mutator();
        let mut m2 = heap.mutator();
        let (root, objs): (R, Objs) = m1.enter(|mc| {
            let b = Gc::new(mc, 1u32);
            let list = Gc::new(mc, GcMutex::new(Tracked::new(vec![b])));
            let r = Gc::new(
                mc,
                Top {
                    list,
                    slot: GcCell::new(Some(list)),
                },
            );
            let objs = Objs([
                ("R", Gc::__header(r)),
                ("R.list", Gc::__header(list)),
                ("B", Gc::__header(b)),
            ]);
            (Root::new(mc, r), objs)
        });
        let root2 = root.clone();
        let c = heap.__collector().clone();
        let coordinator = thread::spawn(move || {
            let mut cycle = model::begin(&c);
            model::mark(&c, &mut cycle);
            check_race();
            for (name, obj) in objs.0 {
                // SAFETY: reachable from R: not swept, and no sweep has started.
                let marked = unsafe { model::is_marked(&c, obj) };
                assert!(marked, "lost {name}");
            }
        });
        let mutator2 = thread::spawn(move || {
            m2.enter(|mc| {
                let r = root2.get(mc);
                mc.safepoint();
                let mut list = r.list.lock(mc);
                mc.safepoint();
                list.write().reverse();
                drop(list);
                check_race();
            });
            m2
        });
        m1.enter(|mc| {
            let r = root.get(mc);
            mc.safepoint();
            mc.safepoint();
            r.slot.set(mc, None);
            mc.__assist(64 << 10);
            check_race();
        });
        coordinator.join().unwrap();
        let _m2 = mutator2.join().unwrap();
    });
}

#[test]
fn assists_wait_for_tracing_to_start() {
    assist_model();
}

#[test]
#[should_panic(expected = "Causality violation")]
fn negative_control_early_assist() {
    let _f = inject(Fault::EarlyAssist);
    assist_model();
}
