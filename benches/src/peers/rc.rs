//! `Rc`: reference counting without cycle collection, on the system allocator; single-threaded
//! handles (each churn thread owns its own `Rc`s; the allocator is process-wide). GCBench's
//! `Populate` mutates through `RefCell`.

use std::cell::RefCell;
use std::hint::black_box;
use std::rc::Rc;

use super::{Peer, Unsupported};
use crate::workloads::binary_trees::{self, TreeHeap};
use crate::workloads::churn;
use crate::workloads::gcbench::{self, GcBenchHeap};

/// The `Rc` peer.
pub struct RcPeer;

struct Node {
    left: Option<Rc<Node>>,
    right: Option<Rc<Node>>,
}

fn make(d: u32) -> Rc<Node> {
    if d == 0 {
        Rc::new(Node {
            left: None,
            right: None,
        })
    } else {
        Rc::new(Node {
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
    long_lived: Option<Rc<Node>>,
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

#[derive(Default)]
struct GNode {
    left: RefCell<Option<Rc<GNode>>>,
    right: RefCell<Option<Rc<GNode>>>,
    i: i32,
    j: i32,
}

fn populate(d: u32, node: &GNode) -> u64 {
    if d == 0 {
        return 0;
    }
    let l = Rc::new(GNode::default());
    let r = Rc::new(GNode::default());
    *node.left.borrow_mut() = Some(Rc::clone(&l));
    *node.right.borrow_mut() = Some(Rc::clone(&r));
    2 + populate(d - 1, &l) + populate(d - 1, &r)
}

fn make_tree(d: u32, count: &mut u64) -> Rc<GNode> {
    *count += 1;
    if d == 0 {
        Rc::default()
    } else {
        Rc::new(GNode {
            left: RefCell::new(Some(make_tree(d - 1, count))),
            right: RefCell::new(Some(make_tree(d - 1, count))),
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
    long_lived: Option<Rc<GNode>>,
    array: Option<Rc<Vec<f64>>>,
}

impl GcBenchHeap for GcBench {
    fn make_tree_drop(&mut self, d: u32) -> u64 {
        let mut n = 0;
        black_box(make_tree(d, &mut n));
        n
    }
    fn populate_drop(&mut self, d: u32) -> u64 {
        let root = Rc::new(GNode::default());
        let n = 1 + populate(d, &root);
        black_box(root);
        n
    }
    fn make_long_lived(&mut self, d: u32) -> u64 {
        let root = Rc::new(GNode::default());
        let n = 1 + populate(d, &root);
        self.long_lived = Some(root);
        n
    }
    fn keep_array(&mut self, array: Vec<f64>) {
        self.array = Some(Rc::new(array));
    }
    fn probe(&mut self, index: usize) -> (u64, f64) {
        let count = self.long_lived.as_deref().map_or(0, gcount);
        (count, self.array.as_ref().map_or(f64::NAN, |a| a[index]))
    }
}

impl Peer for RcPeer {
    fn name(&self) -> &'static str {
        "rc"
    }
    fn crate_name(&self) -> Option<&'static str> {
        None
    }
    fn description(&self) -> &'static str {
        "std Rc (reference counting, no cycle collection; RefCell for mutation)"
    }
    fn binary_trees(&self, p: &binary_trees::Params) -> u64 {
        binary_trees::run(p, &mut Trees::default())
    }
    fn gcbench(&self, p: &gcbench::Params) -> u64 {
        gcbench::run(p, &mut GcBench::default())
    }
    fn churn(&self, p: &churn::Params) -> u64 {
        churn::run_range(0..p.allocations, p.window, Rc::new, |b| churn::value(b))
    }
    fn churn_threads(&self, p: &churn::Params, threads: usize) -> Result<u64, Unsupported> {
        Ok(churn::run_threads(p, threads, |r| {
            churn::run_range(r, p.window, Rc::new, |b| churn::value(b))
        }))
    }
}
