//! Model 4: phase handshakes with a mutator inside a scope and one outside any scope.
//!
//! **Mark start** (`mark_start_inside_and_outside_scopes`, three threads). Heap: root R with
//! R.first → A and R.second = None, and an unreachable object G (its drop glue counts frees) in a
//! span of M2's thread cache.
//!
//! * M2 (the main thread) enters a scope *before* the cycle starts and, with no poll point since,
//!   unlinks A from R.first — without a barrier, since it cannot have acknowledged mark start.
//!   Then it leaves the scope and stays outside: the coordinator acknowledges the later phase
//!   changes on its behalf.
//! * M1 (spawned) enters a scope — possibly acknowledging mark start there, before M2 has — and,
//!   if it still finds A in R.first, polls and stores A into R.second.
//! * The coordinator starts the cycle and marks to termination. After joining, the main thread
//!   ends the cycle alone (`end`, `finish_sweep`: the end of marking is acknowledged for both
//!   mutators, outside scopes, releasing their caches; the sweep frees G).
//!
//! Asserted: every object reachable from R is marked (A, if M1 stored it); G was freed exactly
//! once; afterwards both mutators see the phase as not marking. Negative control:
//! `NoSnapshotWait` — M1's stack turns black at its acknowledgement although M2 has not
//! acknowledged yet; M1 loads A, M2 unlinks it without a barrier, and M1 stores it into R after R
//! was scanned, without the insertion half: A is lost.
//!
//! **Two-step mark start** (`two_step_mark_start`, three threads). Heap: R.first → A,
//! R.second = None. M2 (the main thread) is again in a scope from before the cycle, with no poll
//! point: if it finds an object H in R.second, it moves A into H.first and unlinks it from
//! R.first, without barriers. M1 enters a scope (or is acknowledged for while outside one) and
//! stores a new object H into R.second. The coordinator starts the cycle and marks. Asserted:
//! every object reachable from R is marked. Negative control: `SingleStepMarkStart` — M1's
//! acknowledgement of mark start also lets it allocate black, while M2 still writes without
//! barriers: H is black (never scanned) when M2 stores A into it, and A is lost. (With two steps
//! H is allocated white and traced only after M2 has acknowledged too.)
//!
//! **End of marking** (`end_of_marking_then_*`, two threads). A mutator stays outside scopes
//! while the coordinator runs a whole cycle (`begin`, `mark`, `end`, `finish_sweep`); once the end
//! of marking is published it either enters a scope or deregisters, racing with the coordinator
//! acknowledging the end of marking on its behalf (under its `LOCKED` bit: releasing its thread
//! cache, whose span holds a dead object G). Asserted: a scope entered after the end of marking
//! was published sees the phase as not marking; G is freed exactly once (by whichever thread
//! released the cache); loom checks that the coordinator and the mutator never touch the
//! mutator's local state at once. Negative control: `HandshakeWithoutLock` — the coordinator acts
//! without taking `LOCKED`, and loom reports the race on the local state.
#![cfg(tricolor_loom)]

use std::cell::Cell;

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;
use tricolor::{Gc, Heap, Root, Rootable, Trace, Tracer};
use tricolor_gc::faults::{Fault, inject};
use tricolor_gc::model;

use loom_tests::{Node, node};

std::thread_local! {
    /// Objects of type `Garbage` dropped (loom runs a model's threads on the test's thread).
    static FREED: Cell<usize> = const { Cell::new(0) };
}

/// An object whose drop glue counts.
struct Garbage;

impl Drop for Garbage {
    fn drop(&mut self) {
        FREED.with(|f| f.set(f.get() + 1));
    }
}

// SAFETY: holds no GC pointers.
unsafe impl<'gc> Trace<'gc> for Garbage {
    const NEEDS_TRACE: bool = false;
    const NEEDS_CLAIM: bool = false;
    fn trace(&self, _: &mut Tracer) {}
}

/// The mark-start handshake (see the module docs, first model).
fn mark_start_model() {
    loom_tests::check(|| {
        FREED.with(|f| f.set(0));
        let heap = Heap::__manual(loom_tests::model_config()).unwrap();
        let mut m2 = heap.mutator();
        let mut m1 = heap.mutator();
        let root = m2.enter(|mc| {
            let _ = Gc::new(mc, Garbage);
            let a = node(mc, None);
            Root::<Rootable![Node<'_>]>::new(mc, node(mc, Some(a)))
        });
        let root1 = root.clone();
        let (coordinator, mutator1) = m2.enter(|mc| {
            let c = heap.__collector().clone();
            let coordinator = thread::spawn(move || {
                let mut cycle = model::begin(&c);
                model::mark(&c, &mut cycle);
                cycle
            });
            let mutator1 = thread::spawn(move || {
                m1.enter(|mc| {
                    let r = root1.get(mc);
                    if let Some(a) = r.first.get() {
                        mc.safepoint();
                        r.second.set(mc, Some(a));
                    }
                });
                m1
            });
            // No poll point since the scope began: no barrier, whatever the collector does.
            root.get(mc).first.set(mc, None);
            (coordinator, mutator1)
        });
        let cycle = coordinator.join().unwrap();
        let mut m1 = mutator1.join().unwrap();
        // The rest of the cycle, on this thread alone: the end of marking (acknowledged for
        // both mutators, which are outside scopes, releasing their caches) and the sweep.
        let c = heap.__collector();
        model::end(c, cycle);
        model::finish_sweep(c);
        assert_eq!(FREED.with(Cell::get), 1, "garbage not freed");
        m1.enter(|mc| assert!(!mc.is_marking(), "M1 still marking"));
        m2.enter(|mc| {
            assert!(!mc.is_marking(), "M2 still marking");
            let r = root.get(mc);
            let mut objs = vec![("R", Gc::__header(r))];
            if let Some(a) = r.second.get() {
                objs.push(("A", Gc::__header(a)));
            }
            for (name, obj) in objs {
                // SAFETY: reachable from R, so not freed (and nothing allocated since the sweep).
                let marked = unsafe { model::is_marked(heap.__collector(), obj) };
                assert!(marked, "lost {name}");
            }
        });
    });
}

/// The two-step mark start (see the module docs, second model).
fn two_step_model() {
    loom_tests::check(|| {
        let heap = Heap::__manual(loom_tests::model_config()).unwrap();
        let mut m2 = heap.mutator();
        let mut m1 = heap.mutator();
        // Puts a span of the node class in M1's cache: its allocation takes the fast path.
        m1.enter(|mc| {
            let _ = node(mc, None);
        });
        let root = m2.enter(|mc| {
            let a = node(mc, None);
            Root::<Rootable![Node<'_>]>::new(mc, node(mc, Some(a)))
        });
        let root1 = root.clone();
        let (coordinator, mutator1) = m2.enter(|mc| {
            let c = heap.__collector().clone();
            let coordinator = thread::spawn(move || {
                let mut cycle = model::begin(&c);
                model::mark(&c, &mut cycle);
            });
            let mutator1 = thread::spawn(move || {
                m1.enter(|mc| root1.get(mc).second.set(mc, Some(node(mc, None))));
                m1
            });
            // No poll point since the scope began: no barriers, whatever the collector does.
            let r = root.get(mc);
            if let Some(h) = r.second.get() {
                h.first.set(mc, r.first.get());
                r.first.set(mc, None);
            }
            (coordinator, mutator1)
        });
        coordinator.join().unwrap();
        let _m1 = mutator1.join().unwrap();
        m2.enter(|mc| {
            let r = root.get(mc);
            let mut objs = vec![("R", Gc::__header(r))];
            if let Some(a) = r.first.get() {
                objs.push(("A", Gc::__header(a)));
            }
            if let Some(h) = r.second.get() {
                objs.push(("H", Gc::__header(h)));
                if let Some(a) = h.first.get() {
                    objs.push(("A", Gc::__header(a)));
                }
            }
            for (name, obj) in objs {
                // SAFETY: reachable from R, so not swept (and no sweep has started).
                let marked = unsafe { model::is_marked(heap.__collector(), obj) };
                assert!(marked, "lost {name}");
            }
        });
    });
}

/// What the mutator of the end-of-marking model does once the end of marking is published.
#[derive(Clone, Copy, Debug)]
enum Then {
    /// Enters a scope (and checks its view of the phase there).
    Enter,
    /// Deregisters (drops its `Mutator`), releasing its cache itself.
    Leave,
}

/// The end-of-marking handshake (see the module docs, third model).
fn end_of_marking_model(then: Then) {
    loom_tests::check(move || {
        FREED.with(|f| f.set(0));
        let heap = Heap::__manual(loom_tests::model_config()).unwrap();
        let mut m = heap.mutator();
        let root = m.enter(|mc| {
            let _ = Gc::new(mc, Garbage);
            Root::<Rootable![Node<'_>]>::new(mc, node(mc, None))
        });
        let c = heap.__collector().clone();
        let off = loom::sync::Arc::new(AtomicBool::new(false));
        let off2 = off.clone();
        let coordinator = thread::spawn(move || {
            let mut cycle = model::begin(&c);
            model::mark(&c, &mut cycle);
            model::end(&c, cycle);
            off2.store(true, Ordering::Release);
            model::finish_sweep(&c);
        });
        // Until the end of marking is published, the coordinator acknowledges everything on
        // this mutator's behalf; from then on, entering a scope or deregistering races with it
        // (acting for the mutator under its `LOCKED` bit, releasing its cache).
        while !off.load(Ordering::Acquire) {
            thread::yield_now();
        }
        match then {
            Then::Enter => {
                let marking = m.enter(|mc| mc.is_marking());
                assert!(
                    !marking,
                    "a scope entered after the end of marking sees marking"
                );
            }
            Then::Leave => drop(m),
        }
        coordinator.join().unwrap();
        let freed = FREED.with(Cell::get);
        assert_eq!(freed, 1, "{then:?}: garbage freed {freed} times");
        heap.mutator().enter(|mc| {
            assert!(!mc.is_marking(), "still marking after the cycle");
            let r = root.get(mc);
            // SAFETY: reachable from the root, so not freed.
            let marked = unsafe { model::is_marked(heap.__collector(), Gc::__header(r)) };
            assert!(marked, "lost R");
        });
    });
}

#[test]
fn mark_start_inside_and_outside_scopes() {
    mark_start_model();
}

#[test]
#[should_panic(expected = "lost A")]
fn negative_control_without_snapshot_wait() {
    let _f = inject(Fault::NoSnapshotWait);
    mark_start_model();
}

#[test]
fn two_step_mark_start() {
    two_step_model();
}

#[test]
#[should_panic(expected = "lost A")]
fn negative_control_single_step_mark_start() {
    let _f = inject(Fault::SingleStepMarkStart);
    two_step_model();
}

#[test]
fn end_of_marking_then_scope_entry() {
    end_of_marking_model(Then::Enter);
}

#[test]
fn end_of_marking_then_deregistration() {
    end_of_marking_model(Then::Leave);
}

#[test]
#[should_panic(expected = "Causality violation: Concurrent write accesses to `UnsafeCell`")]
fn negative_control_handshake_without_lock() {
    let _f = inject(Fault::HandshakeWithoutLock);
    // Deregistration rather than scope entry: loom leaves the mutator's local state marked as
    // accessed after reporting the race, and the scope's drop glue would touch it again while
    // unwinding (a double panic aborts the test binary).
    end_of_marking_model(Then::Leave);
}
