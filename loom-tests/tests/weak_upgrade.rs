//! Model 7: weak upgrades against marking, termination and weak-slot clearing.
//!
//! Heap: root R with a weak reference R.weak → X and a slot R.strong = None; X.child → Y. X is
//! only weakly reachable, so it is not in the snapshot. A mutator (its stack may be black)
//! upgrades R.weak and, if that succeeds, polls and stores X into R.strong, while the coordinator
//! runs a whole cycle (marking, termination, weak processing, the start of sweeping).
//!
//! Asserted after the cycle: if the upgrade succeeded (X is in R.strong), X and Y are marked and
//! R.weak still upgrades to X (the slot was not cleared while the upgraded pointer was in use);
//! if it failed, R.weak is cleared (an upgrade after marking completed, of an unmarked target,
//! fails).
//!
//! Negative controls: `WeakUpgradeNoShade` (an upgrade during marking hands out X unshaded: the
//! mutator stores it into R after R was scanned) loses X; `IgnoreResurrections` (termination
//! declared although an upgrade shaded X after the last termination round: X is marked but
//! never scanned) loses Y.
#![cfg(tricolor_loom)]

use loom::thread;
use tricolor::{Gc, GcCell, Heap, Root, Rootable, Trace, Weak};
use tricolor_gc::faults::{Fault, inject};
use tricolor_gc::model;

#[derive(Trace)]
struct Obj<'gc> {
    child: Gc<'gc, u32>,
}

#[derive(Trace)]
struct Top<'gc> {
    weak: Weak<'gc, Obj<'gc>>,
    strong: GcCell<Option<Gc<'gc, Obj<'gc>>>>,
}

fn weak_upgrade_model() {
    loom_tests::check(|| {
        let heap = Heap::__manual(loom_tests::model_config()).unwrap();
        let mut m = heap.mutator();
        let root = m.enter(|mc| {
            let y = Gc::new(mc, 1u32);
            let x = Gc::new(mc, Obj { child: y });
            let r = Top {
                weak: Gc::downgrade(x, mc),
                strong: GcCell::new(None),
            };
            Root::<Rootable![Top<'_>]>::new(mc, Gc::new(mc, r))
        });
        let c = heap.__collector().clone();
        let coordinator = thread::spawn(move || {
            let mut cycle = model::begin(&c);
            model::mark(&c, &mut cycle);
            model::end(&c, cycle);
        });
        m.enter(|mc| {
            let r = root.get(mc);
            // The yields only pace the model: the coordinator may take a step without a
            // preemption.
            mc.safepoint();
            thread::yield_now();
            if let Some(x) = r.weak.upgrade(mc) {
                mc.safepoint();
                thread::yield_now();
                r.strong.set(mc, Some(x));
            }
        });
        coordinator.join().unwrap();
        m.enter(|mc| {
            let r = root.get(mc);
            let upgraded = r.weak.upgrade(mc);
            match r.strong.get() {
                Some(x) => {
                    for (name, obj) in [("X", Gc::__header(x)), ("Y", Gc::__header(x.child))] {
                        // SAFETY: reachable from R: not swept (the model does not sweep).
                        let marked = unsafe { model::is_marked(heap.__collector(), obj) };
                        assert!(marked, "lost {name}");
                    }
                    assert!(
                        upgraded.is_some_and(|u| Gc::ptr_eq(u, x)),
                        "weak reference cleared while its upgraded target is in use"
                    );
                }
                None => assert!(upgraded.is_none(), "failed upgrade of a live target"),
            }
        });
    });
}

#[test]
fn weak_upgrade_during_marking() {
    weak_upgrade_model();
}

#[test]
#[should_panic(expected = "lost X")]
fn negative_control_upgrade_without_shade() {
    let _f = inject(Fault::WeakUpgradeNoShade);
    weak_upgrade_model();
}

#[test]
#[should_panic(expected = "lost Y")]
fn negative_control_ignoring_resurrections() {
    let _f = inject(Fault::IgnoreResurrections);
    weak_upgrade_model();
}
