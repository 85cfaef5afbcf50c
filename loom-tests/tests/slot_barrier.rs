//! Model 1: the slot barrier against a mark worker.
//!
//! Heap: root R with two slots; R.first → A, A.link → B. A mutator whose stack is black (its
//! second scope starts after the snapshot) moves B: loads it from A, unlinks it, stores it into
//! R.second. Meanwhile the coordinator runs a whole cycle. Every object reachable from R at the
//! end (R, A, B) must be marked: B is reachable only through the mutator's stack between the
//! unlink and the store, and only the deletion half of the slot barrier (shade the old target)
//! protects it.
#![cfg(tricolor_loom)]

use loom::thread;
use tricolor::{Gc, Heap, Root, Rootable};
use tricolor_gc::faults::{Fault, inject};
use tricolor_gc::model;

use loom_tests::{Node, node};

fn slot_barrier_model() {
    loom_tests::check(|| {
        let heap = Heap::__manual(loom_tests::model_config()).unwrap();
        let mut m = heap.mutator();
        let root = m.enter(|mc| {
            let b = node(mc, None);
            let a = node(mc, Some(b));
            Root::<Rootable![Node<'_>]>::new(mc, node(mc, Some(a)))
        });
        let c = heap.__collector().clone();
        let coordinator = thread::spawn(move || {
            let mut cycle = model::begin(&c);
            model::mark(&c, &mut cycle);
            model::end(&c, cycle);
        });
        let r2 = root.clone();
        m.enter(|_| {});
        m.enter(|mc| {
            let r = r2.get(mc);
            let a = r.first.get().unwrap();
            let b = a.first.get().unwrap();
            a.first.set(mc, None);
            r.second.set(mc, Some(b));
        });
        coordinator.join().unwrap();
        m.enter(|mc| {
            let r = root.get(mc);
            let a = r.first.get().unwrap();
            let b = r.second.get().unwrap();
            for (name, obj) in [
                ("R", Gc::__header(r)),
                ("A", Gc::__header(a)),
                ("B", Gc::__header(b)),
            ] {
                // SAFETY: the objects are reachable, so not swept.
                let marked = unsafe { model::is_marked(heap.__collector(), obj) };
                assert!(marked, "lost {name}");
            }
        });
    });
}

#[test]
fn slot_barrier_keeps_moved_objects() {
    slot_barrier_model();
}

#[test]
#[should_panic(expected = "lost B")]
fn negative_control_without_deletion_barrier() {
    let _f = inject(Fault::NoDeletionBarrier);
    slot_barrier_model();
}
