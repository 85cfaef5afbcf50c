//! Model 2: the object barrier's claim against a mark worker.
//!
//! Containers are `Gc<RefLock<Tracked<Vec<Gc<u32>>>>>`. The public `RefLock` keeps its
//! contents in a `core::cell::UnsafeCell`, which loom cannot see, so `Tracked`
//! (`loom_tests::Tracked`) adds a loom `UnsafeCell<()>` *probe*: the trace function reads it,
//! every mutation through a borrow writes it. Loom then reports any trace and mutation of the
//! same container that are not ordered by happens-before (the claim CAS, the `Release` store of
//! `Black` and the `Acquire` check of it), i.e. a worker tracing an object while a mutator
//! mutates it.
//!
//! * `object_barrier_move`: root P with a container P.a = [X] and a slot P.b = None. A mutator
//!   (its stack is black if it enters its scope after the snapshot) moves X from P.a to P.b
//!   while the coordinator starts a cycle and marks to termination. Between the pop and the
//!   store X is held by the mutator's stack only, and the slot store shades nothing new for a
//!   black stack: only the deletion half of the object barrier (P.a traced before its first
//!   mutation during marking) keeps X. Asserted: P, P.a and X are marked at the end, and no
//!   trace of P.a overlaps its mutation. Negative controls: `NoObjectBarrier` loses X (run
//!   without the probe, which would otherwise report the unclaimed mutation first);
//!   `WorkerNoClaim` and `RelaxedBlackCheck` (the mutator's "already black?" check without its
//!   `Acquire`, design rule 2) let the mutation race with the worker's trace.
//! * `borrow_deferral`: a container borrow opened before mark start, with poll points
//!   (`safepoint`) inside the borrow and mutation after them: the mutator must not acknowledge
//!   mark start while the borrow is open (design rule 6), or a worker traces the object while it
//!   is being written. Asserted: the container and its items are marked at the end, and no trace
//!   overlaps the mutation. Negative control: `NoBorrowDeferral` (the race).
#![cfg(tricolor_loom)]

use loom::thread;
use loom_tests::{Tracked, check_race};
use tricolor::{Gc, GcCell, Heap, RefLock, Root, Rootable, Trace};
use tricolor_gc::faults::{Fault, inject};
use tricolor_gc::model;

type List<'gc> = RefLock<Tracked<Vec<Gc<'gc, u32>>>>;

#[derive(Trace)]
struct Pair<'gc> {
    a: Gc<'gc, List<'gc>>,
    b: GcCell<Option<Gc<'gc, u32>>>,
}

fn list<'gc>(
    mc: &tricolor::Mutation<'gc>,
    items: Vec<Gc<'gc, u32>>,
    probe: bool,
) -> Gc<'gc, List<'gc>> {
    Gc::new(mc, RefLock::new(Tracked::with_probe(items, probe)))
}

fn assert_marked(heap: &Heap, objs: &[(&str, core::ptr::NonNull<tricolor_gc::Header>)]) {
    for (name, obj) in objs {
        // SAFETY: the objects are reachable, so not swept.
        let marked = unsafe { model::is_marked(heap.__collector(), *obj) };
        assert!(marked, "lost {name}");
    }
}

/// See the module docs. `probe`: whether containers carry the loom probe.
fn move_model(probe: bool) {
    loom_tests::check(move || {
        let heap = Heap::__manual(loom_tests::model_config()).unwrap();
        let mut m = heap.mutator();
        let root = m.enter(|mc| {
            let x = Gc::new(mc, 7u32);
            let a = list(mc, vec![x], probe);
            let b = GcCell::new(None);
            Root::<Rootable![Pair<'_>]>::new(mc, Gc::new(mc, Pair { a, b }))
        });
        let c = heap.__collector().clone();
        let coordinator = thread::spawn(move || {
            let mut cycle = model::begin(&c);
            model::mark(&c, &mut cycle);
            check_race();
        });
        m.enter(|mc| {
            let p = root.get(mc);
            let x = p.a.borrow_mut(mc).write().pop().unwrap();
            p.b.set(mc, Some(x));
            check_race();
        });
        coordinator.join().unwrap();
        m.enter(|mc| {
            let p = root.get(mc);
            let x = p.b.get().unwrap();
            assert_marked(
                &heap,
                &[
                    ("P", Gc::__header(p)),
                    ("P.a", Gc::__header(p.a)),
                    ("X", Gc::__header(x)),
                ],
            );
        });
    });
}

/// See the module docs.
fn deferral_model() {
    loom_tests::check(|| {
        let heap = Heap::__manual(loom_tests::model_config()).unwrap();
        let mut m = heap.mutator();
        let root = m.enter(|mc| {
            let x = Gc::new(mc, 1u32);
            let y = Gc::new(mc, 2u32);
            Root::<Rootable![List<'_>]>::new(mc, list(mc, vec![x, y], true))
        });
        let c = heap.__collector().clone();
        let coordinator = m.enter(|mc| {
            let l = root.get(mc);
            // Opened while no cycle runs: no barrier.
            let mut g = l.borrow_mut(mc);
            let coordinator = thread::spawn(move || {
                let mut cycle = model::begin(&c);
                model::mark(&c, &mut cycle);
                check_race();
            });
            // Poll points inside the borrow, where either step of mark start may be pending.
            // The yields only pace the model: they let the coordinator take a step without
            // spending a preemption.
            for _ in 0..3 {
                mc.safepoint();
                thread::yield_now();
            }
            g.write().reverse();
            drop(g);
            check_race();
            coordinator
        });
        coordinator.join().unwrap();
        m.enter(|mc| {
            let l = root.get(mc);
            let items = l.borrow().value.clone();
            assert_marked(
                &heap,
                &[
                    ("L", Gc::__header(l)),
                    ("Y", Gc::__header(items[0])),
                    ("X", Gc::__header(items[1])),
                ],
            );
        });
    });
}

#[test]
fn object_barrier_move() {
    move_model(true);
}

#[test]
#[should_panic(expected = "lost X")]
fn negative_control_without_object_barrier() {
    let _f = inject(Fault::NoObjectBarrier);
    move_model(false);
}

#[test]
#[should_panic(expected = "Causality violation: Concurrent read and write accesses")]
fn negative_control_worker_without_claim() {
    let _f = inject(Fault::WorkerNoClaim);
    move_model(true);
}

#[test]
#[should_panic(expected = "Causality violation: Concurrent read and write accesses")]
fn negative_control_relaxed_black_check() {
    let _f = inject(Fault::RelaxedBlackCheck);
    move_model(true);
}

#[test]
fn borrow_deferral() {
    deferral_model();
}

#[test]
#[should_panic(expected = "Causality violation: Concurrent read and write accesses")]
fn negative_control_without_borrow_deferral() {
    let _f = inject(Fault::NoBorrowDeferral);
    deferral_model();
}
