//! A doubly linked list of `Gc` nodes: every pair of neighbours is a two-node cycle, and the
//! list is kept across mutation scopes in a `Root`.
//!
//! It shows that the collector frees what the program can no longer reach, cycles or not: a
//! node removed from the list still points *into* the list (its `prev`/`next` are left as they
//! were), but nothing points to it, so the next collection frees it. A `Weak` reference, a
//! cleanup per node, and `Heap::stats().objects_in_use` each confirm it.
//!
//! ```text
//! cargo run -p tricolor --example doubly_linked_list
//! ```

use std::iter::successors;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tricolor::{Gc, GcCell, Heap, Mutation, Root, Rootable, Trace, Weak};

/// A list node. Both links are barriered single-pointer cells.
#[derive(Trace)]
struct Node<'gc> {
    value: i64,
    prev: GcCell<Option<Gc<'gc, Node<'gc>>>>,
    next: GcCell<Option<Gc<'gc, Node<'gc>>>>,
}

type NodeRef<'gc> = Gc<'gc, Node<'gc>>;

/// The list header. `len` is plain data (an atomic, so the list stays `Sync`).
#[derive(Trace)]
struct List<'gc> {
    head: GcCell<Option<NodeRef<'gc>>>,
    tail: GcCell<Option<NodeRef<'gc>>>,
    len: AtomicUsize,
}

impl<'gc> List<'gc> {
    fn new() -> Self {
        List {
            head: GcCell::new(None),
            tail: GcCell::new(None),
            len: AtomicUsize::new(0),
        }
    }

    fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    fn push_back(&self, mc: &Mutation<'gc>, value: i64) -> NodeRef<'gc> {
        let old_tail = self.tail.get();
        let node = Gc::new(
            mc,
            Node {
                value,
                prev: GcCell::new(old_tail),
                next: GcCell::new(None),
            },
        );
        match old_tail {
            Some(t) => t.next.set(mc, Some(node)),
            None => self.head.set(mc, Some(node)),
        }
        self.tail.set(mc, Some(node));
        self.len.fetch_add(1, Ordering::Relaxed);
        node
    }

    fn push_front(&self, mc: &Mutation<'gc>, value: i64) -> NodeRef<'gc> {
        let old_head = self.head.get();
        let node = Gc::new(
            mc,
            Node {
                value,
                prev: GcCell::new(None),
                next: GcCell::new(old_head),
            },
        );
        match old_head {
            Some(h) => h.prev.set(mc, Some(node)),
            None => self.tail.set(mc, Some(node)),
        }
        self.head.set(mc, Some(node));
        self.len.fetch_add(1, Ordering::Relaxed);
        node
    }

    /// Unlinks `node` from the list. The node's own links are left alone: it keeps pointing
    /// into the list, which does not keep it alive.
    fn unlink(&self, mc: &Mutation<'gc>, node: NodeRef<'gc>) {
        let (prev, next) = (node.prev.get(), node.next.get());
        match prev {
            Some(p) => p.next.set(mc, next),
            None => self.head.set(mc, next),
        }
        match next {
            Some(n) => n.prev.set(mc, prev),
            None => self.tail.set(mc, prev),
        }
        self.len.fetch_sub(1, Ordering::Relaxed);
    }

    fn pop_front(&self, mc: &Mutation<'gc>) -> Option<i64> {
        let head = self.head.get()?;
        self.unlink(mc, head);
        Some(head.value)
    }

    fn pop_back(&self, mc: &Mutation<'gc>) -> Option<i64> {
        let tail = self.tail.get()?;
        self.unlink(mc, tail);
        Some(tail.value)
    }

    fn iter(&self) -> impl Iterator<Item = NodeRef<'gc>> {
        successors(self.head.get(), |n| n.next.get())
    }

    fn iter_rev(&self) -> impl Iterator<Item = NodeRef<'gc>> {
        successors(self.tail.get(), |n| n.prev.get())
    }

    fn find(&self, value: i64) -> Option<NodeRef<'gc>> {
        self.iter().find(|n| n.value == value)
    }

    fn values(&self) -> Vec<i64> {
        self.iter().map(|n| n.value).collect()
    }

    /// Checks the list's invariants: the links agree in both directions and `len` is right.
    fn check(&self) {
        let forward: Vec<NodeRef<'gc>> = self.iter().collect();
        let mut backward: Vec<NodeRef<'gc>> = self.iter_rev().collect();
        backward.reverse();
        assert_eq!(forward.len(), self.len(), "length");
        assert_eq!(backward.len(), self.len(), "length backwards");
        for (i, (f, b)) in forward.iter().zip(&backward).enumerate() {
            assert!(Gc::ptr_eq(*f, *b), "node {i} differs between directions");
            if let Some(next) = f.next.get() {
                assert!(
                    Gc::ptr_eq(next.prev.get().unwrap(), *f),
                    "next.prev != self"
                );
            }
        }
    }
}

type ListRoot = Root<Rootable![List<'_>]>;
type WeakNode<'gc> = Weak<'gc, Node<'gc>>;

fn main() {
    let heap = Heap::new();
    let mut m = heap.mutator();

    // Values of the nodes whose cleanup has run, i.e. which the collector has freed.
    let freed: Arc<Mutex<Vec<i64>>> = Arc::default();

    // Scope 1: create the list and root it. The `Root` outlives the scope.
    let list: ListRoot = m.enter(|mc| Root::new(mc, Gc::new(mc, List::new())));

    // Scope 2: fill it from both ends. Each node gets a cleanup that records its value once
    // the node has been freed.
    m.enter(|mc| {
        let list = list.get(mc);
        for v in 1..=5 {
            let node = list.push_back(mc, v);
            let freed = freed.clone();
            Gc::add_cleanup(node, mc, move || freed.lock().unwrap().push(v));
        }
        for v in [0, -1] {
            let node = list.push_front(mc, v);
            let freed = freed.clone();
            Gc::add_cleanup(node, mc, move || freed.lock().unwrap().push(v));
        }
        list.check();
        println!("list:              {:?}", list.values());
        let rev: Vec<i64> = list.iter_rev().map(|n| n.value).collect();
        println!("backwards:         {rev:?}");
        assert_eq!(list.values(), [-1, 0, 1, 2, 3, 4, 5]);
        assert_eq!(rev, [5, 4, 3, 2, 1, 0, -1]);
    });

    // Collections run while the list is rooted: nothing in it may die.
    heap.collect();
    heap.collect();

    // Scope 3: keep a weak reference to the middle node (in the heap, rooted), then measure.
    let weak_middle: Root<Rootable![WeakNode<'_>]> = m.enter(|mc| {
        let list = list.get(mc);
        list.check();
        assert_eq!(list.len(), 7, "the rooted list survived two collections");
        let middle = list.find(3).expect("3 is in the list");
        Root::new(mc, Gc::new(mc, Gc::downgrade(middle, mc)))
    });
    heap.collect();
    let before = heap.stats().objects_in_use;

    // Scope 4: remove from the middle and from both ends.
    m.enter(|mc| {
        let list = list.get(mc);
        let middle = list.find(3).unwrap();
        list.unlink(mc, middle);
        assert_eq!(list.pop_front(mc), Some(-1));
        assert_eq!(list.pop_back(mc), Some(5));
        list.check();
        println!("after removing 3, -1 and 5: {:?}", list.values());
        // Still reachable from this scope's stack: the weak reference upgrades.
        assert!(weak_middle.get(mc).upgrade(mc).is_some());
        // The removed node still points into the list.
        assert_eq!(middle.next.get().unwrap().value, 4);
    });

    // Outside any scope: collect. The three removed nodes are unreachable (even though each
    // still points at live neighbours) and are freed.
    heap.collect();
    heap.run_cleanups(usize::MAX);
    let after = heap.stats().objects_in_use;
    let mut gone = freed.lock().unwrap().clone();
    gone.sort_unstable();
    println!(
        "collected: objects in use {before} -> {after}; cleanups ran for {gone:?}; \
         weak reference to 3 is cleared"
    );
    assert_eq!(
        before - after,
        3,
        "exactly the three removed nodes were freed"
    );
    assert_eq!(gone, [-1, 3, 5]);
    m.enter(|mc| {
        assert!(weak_middle.get(mc).upgrade(mc).is_none());
        list.get(mc).check();
    });

    // A longer run: a thousand nodes, then drop every odd one, a slice per scope.
    m.enter(|mc| {
        let list = list.get(mc);
        for v in 100..1100 {
            list.push_back(mc, v);
        }
    });
    heap.collect();
    let before = heap.stats().objects_in_use;
    for chunk in 0..10 {
        m.enter(|mc| {
            let list = list.get(mc);
            let victims: Vec<NodeRef<'_>> = list
                .iter()
                .filter(|n| n.value >= 100 + chunk * 100 && n.value < 200 + chunk * 100)
                .filter(|n| n.value % 2 == 1)
                .collect();
            for n in victims {
                list.unlink(mc, n);
            }
        });
    }
    heap.collect();
    let after = heap.stats().objects_in_use;
    m.enter(|mc| {
        let list = list.get(mc);
        list.check();
        assert_eq!(list.len(), 4 + 500);
        assert!(list.iter().skip(4).all(|n| n.value % 2 == 0));
    });
    println!("pushed 1000 nodes and unlinked the 500 odd ones: objects in use {before} -> {after}");
    assert_eq!(before - after, 500);

    // Finally drop the root: the whole list (cycles everywhere) becomes garbage.
    let len = m.enter(|mc| list.get(mc).len());
    drop(list);
    heap.collect();
    heap.run_cleanups(usize::MAX);
    let end = heap.stats().objects_in_use;
    println!(
        "dropped the root: objects in use {after} -> {end} ({len} nodes and the header freed)"
    );
    assert_eq!(after - end, len as u64 + 1);
    let mut gone = freed.lock().unwrap().clone();
    gone.sort_unstable();
    assert_eq!(
        gone,
        [-1, 0, 1, 2, 3, 4, 5],
        "every cleanup ran exactly once"
    );

    let s = heap.stats();
    println!(
        "{} collections, {} objects allocated, {} freed",
        s.cycles, s.total_allocs, s.total_frees
    );
}
