//! `gc` (rust-gc): a thread-local, stop-the-world mark-sweep collector with rooting by
//! reference counts; `#[derive(Trace, Finalize)]`, `GcCell` for mutation, default collection
//! heuristics (a collection runs on allocation once the heap passes its growing threshold).

// gc_derive 0.5.0 emits its impls inside a `const _: () = { … }` block, which rustc now flags.
#![allow(non_local_definitions)]

use std::hint::black_box;

use gc::{Finalize, Gc, GcCell, Trace};

use super::{Peer, Unsupported};
use crate::workloads::binary_trees::{self, TreeHeap};
use crate::workloads::churn;
use crate::workloads::gcbench::{self, GcBenchHeap};

/// The `gc` peer.
pub struct GcPeer;

#[derive(Trace, Finalize)]
struct Node {
    left: Option<Gc<Node>>,
    right: Option<Gc<Node>>,
}

fn make(d: u32) -> Gc<Node> {
    if d == 0 {
        Gc::new(Node {
            left: None,
            right: None,
        })
    } else {
        Gc::new(Node {
            left: Some(make(d - 1)),
            right: Some(make(d - 1)),
        })
    }
}

fn check(n: &Node) -> u64 {
    1 + n.left.as_deref().map_or(0, check) + n.right.as_deref().map_or(0, check)
}

#[derive(Default)]
struct Trees {
    long_lived: Option<Gc<Node>>,
}

impl TreeHeap for Trees {
    fn make_check_drop(&mut self, d: u32) -> u64 {
        check(&make(d))
    }
    fn make_long_lived(&mut self, d: u32) {
        self.long_lived = Some(make(d));
    }
    fn check_long_lived(&mut self) -> u64 {
        self.long_lived.as_deref().map_or(0, check)
    }
}

#[derive(Trace, Finalize, Default)]
struct GNode {
    left: GcCell<Option<Gc<GNode>>>,
    right: GcCell<Option<Gc<GNode>>>,
    i: i32,
    j: i32,
}

fn populate(d: u32, node: &GNode) -> u64 {
    if d == 0 {
        return 0;
    }
    let l = Gc::new(GNode::default());
    let r = Gc::new(GNode::default());
    *node.left.borrow_mut() = Some(l.clone());
    *node.right.borrow_mut() = Some(r.clone());
    2 + populate(d - 1, &l) + populate(d - 1, &r)
}

fn make_tree(d: u32, count: &mut u64) -> Gc<GNode> {
    *count += 1;
    if d == 0 {
        Gc::new(GNode::default())
    } else {
        Gc::new(GNode {
            left: GcCell::new(Some(make_tree(d - 1, count))),
            right: GcCell::new(Some(make_tree(d - 1, count))),
            i: 0,
            j: 0,
        })
    }
}

fn gcount(n: &GNode) -> u64 {
    black_box((n.i, n.j));
    1 + n.left.borrow().as_deref().map_or(0, gcount) + n.right.borrow().as_deref().map_or(0, gcount)
}

#[derive(Default)]
struct GcBench {
    long_lived: Option<Gc<GNode>>,
    array: Option<Gc<Vec<f64>>>,
}

impl GcBenchHeap for GcBench {
    fn make_tree_drop(&mut self, d: u32) -> u64 {
        let mut n = 0;
        black_box(make_tree(d, &mut n));
        n
    }
    fn populate_drop(&mut self, d: u32) -> u64 {
        let root = Gc::new(GNode::default());
        let n = 1 + populate(d, &root);
        black_box(root);
        n
    }
    fn make_long_lived(&mut self, d: u32) -> u64 {
        let root = Gc::new(GNode::default());
        let n = 1 + populate(d, &root);
        self.long_lived = Some(root);
        n
    }
    fn keep_array(&mut self, array: Vec<f64>) {
        self.array = Some(Gc::new(array));
    }
    fn probe(&mut self, index: usize) -> (u64, f64) {
        let count = self.long_lived.as_deref().map_or(0, gcount);
        (count, self.array.as_ref().map_or(f64::NAN, |a| a[index]))
    }
}

impl Peer for GcPeer {
    fn name(&self) -> &'static str {
        "gc"
    }
    fn crate_name(&self) -> Option<&'static str> {
        Some("gc")
    }
    fn description(&self) -> &'static str {
        "rust-gc: thread-local stop-the-world mark-sweep, GcCell, default thresholds"
    }
    fn binary_trees(&self, p: &binary_trees::Params) -> u64 {
        binary_trees::run(p, &mut Trees::default())
    }
    fn gcbench(&self, p: &gcbench::Params) -> u64 {
        gcbench::run(p, &mut GcBench::default())
    }
    fn churn(&self, p: &churn::Params) -> u64 {
        churn::run_range(0..p.allocations, p.window, Gc::new, |g| churn::value(g))
    }
    fn churn_threads(&self, _: &churn::Params, _: usize) -> Result<u64, Unsupported> {
        Err(Unsupported("thread-local heap"))
    }
}
