//! Model 8: a grey-stack mutator stores the only pointer it holds.
//!
//! Heap: root R with a container R.list (empty), a slot R.held = X and a slot R.holder = None. A
//! mutator enters a scope *before* the cycle starts (its stack stays grey for the whole cycle)
//! and unlinks X from R.held while no cycle runs (no barrier: X is now held by its stack only,
//! and is not in the snapshot). Then, while the coordinator starts the cycle, marks and tries to
//! terminate, it polls three times (either step of mark start, or a termination round, may be
//! pending) and stores X
//!
//! * `Container`: into R.list, through `borrow_mut` (the object barrier traces R.list *before*
//!   the push; the insertion half at the end of the borrow must shade X), or
//! * `Alloc`: into a freshly allocated `Holder { child: X }` stored in R.holder (an allocation
//!   after the mutator's mark-start acknowledgement is black and never scanned: the initialising
//!   store must shade X).
//!
//! Asserted after the cycle: every object reachable from R is marked. Negative control:
//! `NoInsertionBarrier` loses X.
#![cfg(tricolor_loom)]

use loom::thread;
use tricolor::{Gc, GcCell, Heap, RefLock, Root, Rootable, Trace};
use tricolor_gc::faults::{Fault, inject};
use tricolor_gc::model;

#[derive(Trace)]
struct Holder<'gc> {
    child: Gc<'gc, u32>,
}

#[derive(Trace)]
struct Top<'gc> {
    list: Gc<'gc, RefLock<Vec<Gc<'gc, u32>>>>,
    held: GcCell<Option<Gc<'gc, u32>>>,
    holder: GcCell<Option<Gc<'gc, Holder<'gc>>>>,
}

#[derive(Clone, Copy, Debug)]
enum Store {
    Container,
    Alloc,
}

fn grey_stack_model(store: Store) {
    loom_tests::check(move || {
        let heap = Heap::__manual(loom_tests::model_config()).unwrap();
        let mut m = heap.mutator();
        let root = m.enter(|mc| {
            let x = Gc::new(mc, 1u32);
            // Puts a span of the holder's size class in the mutator's cache, so that the
            // allocation in the model takes the fast path.
            let _ = Gc::new(mc, Holder { child: x });
            let r = Top {
                list: Gc::new(mc, RefLock::new(Vec::new())),
                held: GcCell::new(Some(x)),
                holder: GcCell::new(None),
            };
            Root::<Rootable![Top<'_>]>::new(mc, Gc::new(mc, r))
        });
        let c = heap.__collector().clone();
        let coordinator = m.enter(|mc| {
            let r = root.get(mc);
            // No cycle yet: no barrier. X is held by this (grey) stack only.
            let x = r.held.take(mc).unwrap();
            let coordinator = thread::spawn(move || {
                let mut cycle = model::begin(&c);
                model::mark(&c, &mut cycle);
            });
            // The yields only pace the model: the coordinator may take a step without a
            // preemption.
            for _ in 0..3 {
                mc.safepoint();
                thread::yield_now();
            }
            match store {
                Store::Container => r.list.borrow_mut(mc).push(x),
                Store::Alloc => r.holder.set(mc, Some(Gc::new(mc, Holder { child: x }))),
            }
            coordinator
        });
        coordinator.join().unwrap();
        m.enter(|mc| {
            let r = root.get(mc);
            let mut objs = vec![("R", Gc::__header(r)), ("R.list", Gc::__header(r.list))];
            if let Some(x) = r.list.borrow().first() {
                objs.push(("X", Gc::__header(*x)));
            }
            if let Some(h) = r.holder.get() {
                objs.push(("Holder", Gc::__header(h)));
                objs.push(("X", Gc::__header(h.child)));
            }
            assert!(
                r.list.borrow().len() + usize::from(r.holder.get().is_some()) == 1,
                "{store:?}: X is stored once"
            );
            for (name, obj) in objs {
                // SAFETY: the objects are reachable, so not swept (and no sweep has started).
                let marked = unsafe { model::is_marked(heap.__collector(), obj) };
                assert!(marked, "{store:?}: lost {name}");
            }
        });
    });
}

#[test]
fn grey_stack_store_into_container() {
    grey_stack_model(Store::Container);
}

#[test]
fn grey_stack_store_into_new_object() {
    grey_stack_model(Store::Alloc);
}

#[test]
#[should_panic(expected = "Container: lost X")]
fn negative_control_container_without_insertion_barrier() {
    let _f = inject(Fault::NoInsertionBarrier);
    grey_stack_model(Store::Container);
}

#[test]
#[should_panic(expected = "Alloc: lost X")]
fn negative_control_new_object_without_insertion_barrier() {
    let _f = inject(Fault::NoInsertionBarrier);
    grey_stack_model(Store::Alloc);
}
