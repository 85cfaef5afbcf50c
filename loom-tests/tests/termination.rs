//! Model 3: mark termination is never declared early.
//!
//! Heap: root R with a container R.list = [B] and a slot R.slot = None; B.child → D. When
//! `model::mark` returns, every object the mutator can still reach (R, R.list, B, D) must be
//! marked: the coordinator asserts it right there ("terminated early: … unmarked").
//!
//! **Grey stack** (`termination_waits_for_grey_stacks`). A mutator enters a scope *before* the
//! cycle starts (its stack stays grey for the whole cycle), unlinks B from R.list while no cycle
//! runs (no barrier: B is now held by its stack only), then, while the coordinator starts the
//! cycle and marks:
//! 1. polls twice (either step of mark start may be pending) and mutates R.list through the
//!    object barrier — possibly between the two steps of mark start (barriers on, no claim);
//! 2. polls three times more (termination rounds may be pending: it acknowledges them with a
//!    grey stack);
//! 3. stores B into R.slot (the insertion half shades B into its local grey buffer; D is only
//!    reached when that buffer is flushed and B scanned).
//!
//! Termination must wait for the mutator's scope boundary (design rules 3 and 5: a poll inside a
//! scope is not a boundary) and tracing for every acknowledgement of mark start (rule 1). The
//! container carries a loom probe (as in `object_barrier.rs`), so a worker tracing R.list while
//! the mutator mutates it is reported. Negative controls: `NoTerminationRound` and
//! `IgnoreGreyStacks` declare termination while B is on the grey stack; `NoMarkStartWait` lets
//! the coordinator trace R.list while the mutator, between the two steps of mark start, mutates
//! it without a claim (a loom causality violation).
//!
//! **Buffered work** (`termination_waits_for_buffered_work`). A mutator whose stack may be black
//! (its scope may start after the snapshot) moves B from R.list to R.slot, polling twice between
//! the two. The object barrier leaves B in the mutator's local grey buffer — or the mutator holds
//! R.list's claim while the coordinator finds no grey work — and the slot store adds nothing:
//! only the termination round (the mutator acknowledges outside any barrier, publishing its
//! buffer and reporting that it produced work) gets D marked. Negative control:
//! `NoTerminationRound` ("terminated early: D unmarked").
#![cfg(tricolor_loom)]

use core::ptr::NonNull;

use loom::thread;
use loom_tests::{Tracked, check_race};
use tricolor::{Gc, GcCell, Heap, RefLock, Root, Rootable, Trace};
use tricolor_gc::Header;
use tricolor_gc::faults::{Fault, inject};
use tricolor_gc::model;

#[derive(Trace)]
struct Node<'gc> {
    child: Option<Gc<'gc, Node<'gc>>>,
}

type List<'gc> = RefLock<Tracked<Vec<Gc<'gc, Node<'gc>>>>>;

#[derive(Trace)]
struct Top<'gc> {
    list: Gc<'gc, List<'gc>>,
    slot: GcCell<Option<Gc<'gc, Node<'gc>>>>,
}

/// Object headers handed to the coordinator, which checks them when marking returns.
#[derive(Clone, Copy)]
struct Objs([(&'static str, NonNull<Header>); 4]);
// SAFETY: only addresses; the coordinator reads mark bits through them, never the objects.
unsafe impl Send for Objs {}

type R = Root<Rootable![Top<'_>]>;

/// Builds R, R.list = [B], B.child = D.
fn setup(m: &mut tricolor::Mutator) -> (R, Objs) {
    m.enter(|mc| {
        let d = Gc::new(mc, Node { child: None });
        let b = Gc::new(mc, Node { child: Some(d) });
        let list = Gc::new(mc, RefLock::new(Tracked::new(vec![b])));
        let r = Gc::new(
            mc,
            Top {
                list,
                slot: GcCell::new(None),
            },
        );
        let objs = Objs([
            ("R", Gc::__header(r)),
            ("R.list", Gc::__header(list)),
            ("B", Gc::__header(b)),
            ("D", Gc::__header(d)),
        ]);
        (Root::new(mc, r), objs)
    })
}

/// The coordinator: mark start, marking, and the check when marking returns.
fn coordinate(c: &tricolor_gc::Collector, objs: Objs) {
    let mut cycle = model::begin(c);
    model::mark(c, &mut cycle);
    check_race();
    for (name, obj) in objs.0 {
        // SAFETY: the objects are reachable (from R or the mutator's stack): not swept, and no
        // sweep has started.
        let marked = unsafe { model::is_marked(c, obj) };
        assert!(marked, "terminated early: {name} unmarked");
    }
}

/// The grey-stack scenario (see the module docs).
fn termination_model() {
    loom_tests::check(|| {
        let heap = Heap::__manual(loom_tests::model_config()).unwrap();
        let mut m = heap.mutator();
        let (root, objs) = setup(&mut m);
        let c = heap.__collector().clone();
        let coordinator = m.enter(|mc| {
            let r = root.get(mc);
            // No cycle yet: no barrier. B is held by this (grey) stack only.
            let b = r.list.borrow_mut(mc).write().pop().unwrap();
            let coordinator = thread::spawn(move || coordinate(&c, objs));
            // The yields only pace the model: the coordinator may take a step without a
            // preemption.
            for _ in 0..2 {
                mc.safepoint();
                thread::yield_now();
            }
            r.list.borrow_mut(mc).write().reverse();
            for _ in 0..3 {
                mc.safepoint();
                thread::yield_now();
            }
            r.slot.set(mc, Some(b));
            check_race();
            coordinator
        });
        coordinator.join().unwrap();
    });
}

/// The buffered-work scenario (see the module docs).
fn buffered_work_model() {
    loom_tests::check(|| {
        let heap = Heap::__manual(loom_tests::model_config()).unwrap();
        let mut m = heap.mutator();
        let (root, objs) = setup(&mut m);
        let c = heap.__collector().clone();
        let coordinator = thread::spawn(move || coordinate(&c, objs));
        m.enter(|mc| {
            let r = root.get(mc);
            let b = r.list.borrow_mut(mc).write().pop().unwrap();
            for _ in 0..2 {
                mc.safepoint();
                thread::yield_now();
            }
            r.slot.set(mc, Some(b));
            check_race();
        });
        coordinator.join().unwrap();
    });
}

#[test]
fn termination_waits_for_grey_stacks() {
    termination_model();
}

#[test]
#[should_panic(expected = "terminated early")]
fn negative_control_grey_stack_without_termination_round() {
    let _f = inject(Fault::NoTerminationRound);
    termination_model();
}

#[test]
fn termination_waits_for_buffered_work() {
    buffered_work_model();
}

#[test]
#[should_panic(expected = "terminated early: D unmarked")]
fn negative_control_buffered_work_without_termination_round() {
    let _f = inject(Fault::NoTerminationRound);
    buffered_work_model();
}

#[test]
#[should_panic(expected = "terminated early")]
fn negative_control_ignoring_grey_stacks() {
    let _f = inject(Fault::IgnoreGreyStacks);
    termination_model();
}

#[test]
#[should_panic(expected = "Causality violation: Concurrent read and write accesses")]
fn negative_control_without_mark_start_wait() {
    let _f = inject(Fault::NoMarkStartWait);
    termination_model();
}
