//! Model 10: a termination round is not clean if a drain of the shared queue took work during it.
//!
//! Heap: root R with a slot R.slot = L, where L is a vector of four slots traced in two parts
//! (`TRACE_CHUNK` is 2 under loom): L[2] = B, the rest empty, and B.child → D. Three threads,
//! each step ordered by messages (the model explores the interleavings inside the steps; the
//! coordinator runs a termination round in its two halves, `model::start_round` and
//! `model::finish_round`, to tell the mutators when a round is out):
//!
//! 1. The coordinator starts a cycle (both mutators are outside scopes: it acts for them).
//! 2. M1 enters a scope (its stack is black), takes L from R.slot and clears the slot: the
//!    deletion half shades L into M1's buffer, and L is now held by M1's stack only.
//! 3. The coordinator drains (R) and runs round *j*; M1 acknowledges it, publishing L (a dirty
//!    report), and M2 acknowledges it.
//! 4. M1 assists for one part: it takes L from the shared queue, scans part 0 (empty slots:
//!    nothing new is shaded) and keeps part 1 on its local stack.
//! 5. The coordinator drains (nothing: the queue is empty and nobody is active) and runs round
//!    *k*. M1 acknowledges it, publishing part 1 of L with a *clean* report: a part is not work
//!    shaded since the previous acknowledgement.
//! 6. M1 loads B from L[2] and clears the slot: the deletion half records B in M1's barrier
//!    buffer, which it marks and publishes only at its next acknowledgement.
//! 7. M2 assists: it takes part 1 of L from the shared queue and scans it (L[2] is empty now),
//!    then acknowledges round *k*, clean.
//!
//! Every acknowledgement of round *k* is clean and the queue is empty when it completes, but
//! marking is not done: B (which M1 holds) is still only in M1's buffer, white, and so is D, which
//! only B's trace reaches. The round must count as unclean because M2's drain took work during it
//! (`Collector::end_shared_drain`); M1's next acknowledgement then publishes B. Asserted when
//! marking returns: R, L, B and D are marked. Negative control: `IgnoreDrainProgress` (a drain does
//! not record the work it took) → "terminated early: B unmarked", in the first execution. This is
//! the race the latency harness hit in about one run in sixteen at 1 GiB before the progress count
//! existed.
#![cfg(tricolor_loom)]

use core::ptr::NonNull;

use loom::sync::mpsc::{Receiver, Sender, channel};
use loom::thread;
use tricolor::{Gc, GcCell, Heap, Mutation, Root, Rootable, Trace};
use tricolor_gc::faults::{Fault, inject};
use tricolor_gc::{Header, model};

#[derive(Trace)]
struct Node<'gc> {
    child: Option<Gc<'gc, Node<'gc>>>,
}

type Slot<'gc> = GcCell<Option<Gc<'gc, Node<'gc>>>>;
type Big<'gc> = Vec<Slot<'gc>>;

#[derive(Trace)]
struct Top<'gc> {
    slot: GcCell<Option<Gc<'gc, Big<'gc>>>>,
}

type R = Root<Rootable![Top<'_>]>;

/// Object headers handed to the coordinator, which checks them when marking returns.
#[derive(Clone, Copy)]
struct Objs([(&'static str, NonNull<Header>); 4]);
// SAFETY: only addresses; the coordinator reads mark bits through them, never the objects.
unsafe impl Send for Objs {}

/// The steps of the scenario (module docs), sent by the thread that completes each.
#[derive(Debug, PartialEq)]
enum Step {
    /// Mark start is complete.
    Begun,
    /// M1 took L out of R.slot.
    Moved,
    /// A termination round is out: acknowledge it.
    Round,
    /// M1 assisted (part 1 of L is on its local stack).
    Assisted,
    /// M1 replaced L[2].
    Replaced,
    /// Marking is complete (checked).
    Done,
}

fn expect(rx: &Receiver<Step>, step: Step) {
    assert_eq!(rx.recv().unwrap(), step);
}

fn send(tx: &Sender<Step>, step: Step) {
    tx.send(step).unwrap();
}

/// Acknowledges every further round until marking is done (blocking between rounds: a spinning
/// poll loop would multiply the model's executions).
fn ack_rounds_until_done(mc: &Mutation<'_>, rx: &Receiver<Step>) {
    loop {
        match rx.recv().unwrap() {
            Step::Round => mc.safepoint(),
            Step::Done => return,
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn setup(m: &mut tricolor::Mutator) -> (R, Objs) {
    m.enter(|mc| {
        let d = Gc::new(mc, Node { child: None });
        let b = Gc::new(mc, Node { child: Some(d) });
        let slots: Big<'_> = (0..4).map(|i| GcCell::new((i == 2).then_some(b))).collect();
        let l = Gc::new(mc, slots);
        let r = Gc::new(
            mc,
            Top {
                slot: GcCell::new(Some(l)),
            },
        );
        let objs = Objs([
            ("R", Gc::__header(r)),
            ("L", Gc::__header(l)),
            ("B", Gc::__header(b)),
            ("D", Gc::__header(d)),
        ]);
        (Root::new(mc, r), objs)
    })
}

fn drain_progress_model() {
    loom_tests::check(|| {
        let heap = Heap::__manual(loom_tests::model_config()).unwrap();
        let mut m1 = heap.mutator();
        let mut m2 = heap.mutator();
        let (root, objs) = setup(&mut m1);
        let c = heap.__collector().clone();
        let (to_c, from_m1) = channel();
        let (to_m1, m1_rx) = channel();
        let (to_m2, m2_rx) = channel();
        let (m1_to_m2, m2_from_m1) = channel();

        let coordinator = thread::spawn(move || {
            let round_out = || {
                send(&to_m1, Step::Round);
                send(&to_m2, Step::Round);
            };
            let mut cycle = model::begin(&c);
            send(&to_m1, Step::Begun);
            send(&to_m2, Step::Begun);
            expect(&from_m1, Step::Moved);
            model::drain(&c, &mut cycle);
            // Round j: M1 publishes L with a dirty report.
            let round = model::start_round(&c, &mut cycle).unwrap();
            round_out();
            assert!(!model::finish_round(&c, round), "round j is dirty");
            expect(&from_m1, Step::Assisted);
            // Round k (M1 acknowledges it before it replaces L[2], M2 after its assist) and on:
            // `model::mark`, with the mutators told of each round.
            loop {
                model::drain(&c, &mut cycle);
                if let Some(round) = model::start_round(&c, &mut cycle) {
                    round_out();
                    if model::finish_round(&c, round) {
                        break;
                    }
                }
            }
            for (name, obj) in objs.0 {
                // SAFETY: reachable (from R or M1's stack): not swept, and no sweep has
                // started.
                let marked = unsafe { model::is_marked(&c, obj) };
                assert!(marked, "terminated early: {name} unmarked");
            }
            send(&to_m1, Step::Done);
            send(&to_m2, Step::Done);
        });

        let mutator2 = thread::spawn(move || {
            expect(&m2_rx, Step::Begun);
            m2.enter(|mc| {
                expect(&m2_rx, Step::Round);
                mc.safepoint();
                expect(&m2_rx, Step::Round);
                expect(&m2_from_m1, Step::Replaced);
                // Takes part 1 of L (published by M1's acknowledgement of round k), then
                // acknowledges round k.
                mc.__assist(1 << 10);
                mc.safepoint();
                ack_rounds_until_done(mc, &m2_rx);
            });
            m2
        });

        expect(&m1_rx, Step::Begun);
        m1.enter(|mc| {
            let r = root.get(mc);
            let l = r.slot.get().unwrap();
            r.slot.set(mc, None);
            send(&to_c, Step::Moved);
            expect(&m1_rx, Step::Round);
            mc.safepoint();
            // One part of L: any budget stops after the first object or part scanned.
            mc.__assist(1);
            send(&to_c, Step::Assisted);
            expect(&m1_rx, Step::Round);
            mc.safepoint();
            let b = l[2].get().unwrap();
            l[2].set(mc, None);
            send(&m1_to_m2, Step::Replaced);
            ack_rounds_until_done(mc, &m1_rx);
            // B is still in use: the coordinator checked that it and its child are marked.
            assert!(b.child.is_some());
        });
        coordinator.join().unwrap();
        let _m2 = mutator2.join().unwrap();
    });
}

#[test]
fn termination_counts_drains_during_the_round() {
    drain_progress_model();
}

#[test]
#[should_panic(expected = "terminated early: B unmarked")]
fn negative_control_ignore_drain_progress() {
    let _f = inject(Fault::IgnoreDrainProgress);
    drain_progress_model();
}
