//! `Box`: manual (ownership-based) memory on the global allocator, the lower bound a collector is
//! judged against. GCBench's `Populate` mutates through `&mut` (no cell needed).

use std::hint::black_box;

use super::{LatencyOutcome, Peer, Unsupported};
use crate::stats::GapRecorder;
use crate::workloads::binary_trees::{self, TreeHeap};
use crate::workloads::gcbench::{self, GcBenchHeap};
use crate::workloads::{churn, latency};

/// The `Box` peer.
pub struct BoxPeer;

struct Node {
    left: Option<Box<Node>>,
    right: Option<Box<Node>>,
}

fn make(d: u32) -> Box<Node> {
    if d == 0 {
        Box::new(Node {
            left: None,
            right: None,
        })
    } else {
        Box::new(Node {
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
    long_lived: Option<Box<Node>>,
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
    left: Option<Box<GNode>>,
    right: Option<Box<GNode>>,
    i: i32,
    j: i32,
}

fn populate(d: u32, node: &mut GNode) -> u64 {
    if d == 0 {
        return 0;
    }
    node.left = Some(Box::default());
    node.right = Some(Box::default());
    let mut n = 2;
    if let Some(l) = node.left.as_deref_mut() {
        n += populate(d - 1, l);
    }
    if let Some(r) = node.right.as_deref_mut() {
        n += populate(d - 1, r);
    }
    n
}

fn make_tree(d: u32, count: &mut u64) -> Box<GNode> {
    *count += 1;
    if d == 0 {
        Box::default()
    } else {
        Box::new(GNode {
            left: Some(make_tree(d - 1, count)),
            right: Some(make_tree(d - 1, count)),
            i: 0,
            j: 0,
        })
    }
}

fn gcount(n: &GNode) -> u64 {
    black_box((n.i, n.j));
    1 + n.left.as_deref().map_or(0, gcount) + n.right.as_deref().map_or(0, gcount)
}

#[derive(Default)]
struct GcBench {
    long_lived: Option<Box<GNode>>,
    array: Option<Box<[f64]>>,
}

impl GcBenchHeap for GcBench {
    fn make_tree_drop(&mut self, d: u32) -> u64 {
        let mut n = 0;
        black_box(make_tree(d, &mut n));
        n
    }
    fn populate_drop(&mut self, d: u32) -> u64 {
        let mut root = Box::<GNode>::default();
        let n = 1 + populate(d, &mut root);
        black_box(root);
        n
    }
    fn make_long_lived(&mut self, d: u32) -> u64 {
        let mut root = Box::<GNode>::default();
        let n = 1 + populate(d, &mut root);
        self.long_lived = Some(root);
        n
    }
    fn keep_array(&mut self, array: Vec<f64>) {
        self.array = Some(array.into_boxed_slice());
    }
    fn probe(&mut self, index: usize) -> (u64, f64) {
        let count = self.long_lived.as_deref().map_or(0, gcount);
        (count, self.array.as_ref().map_or(f64::NAN, |a| a[index]))
    }
}

struct LNode {
    next: Option<Box<LNode>>,
    val: u64,
    pad: [u64; 2],
}

impl Peer for BoxPeer {
    fn name(&self) -> &'static str {
        "box"
    }
    fn crate_name(&self) -> Option<&'static str> {
        None
    }
    fn description(&self) -> &'static str {
        "std Box on the system allocator (manual memory, the lower bound)"
    }
    fn binary_trees(&self, p: &binary_trees::Params) -> u64 {
        binary_trees::run(p, &mut Trees::default())
    }
    fn gcbench(&self, p: &gcbench::Params) -> u64 {
        gcbench::run(p, &mut GcBench::default())
    }
    fn churn(&self, p: &churn::Params) -> u64 {
        churn::run_range(0..p.allocations, p.window, Box::new, |b| churn::value(b))
    }
    fn churn_threads(&self, p: &churn::Params, threads: usize) -> Result<u64, Unsupported> {
        Ok(churn::run_threads(p, threads, |r| {
            churn::run_range(r, p.window, Box::new, |b| churn::value(b))
        }))
    }
    fn latency(
        &self,
        p: &latency::Params,
        rec: &mut GapRecorder,
    ) -> Result<LatencyOutcome, Unsupported> {
        let lists = p.lists();
        let mut heads: Vec<Option<Box<LNode>>> = Vec::with_capacity(lists);
        for i in 0..lists {
            let mut head = None;
            for j in (0..p.list_len).rev() {
                head = Some(Box::new(LNode {
                    next: head,
                    val: p.value(i, j),
                    pad: [0; 2],
                }));
            }
            heads.push(head);
        }
        let mut rng = latency::Rng::default();
        loop {
            let mut garbage: Option<Box<LNode>> = None;
            for x in 0..p.garbage_per_iter {
                garbage = Some(Box::new(LNode {
                    next: garbage,
                    val: x as u64,
                    pad: [0; 2],
                }));
            }
            let mut sum = 0u64;
            let mut cur = garbage.as_deref();
            while let Some(n) = cur {
                sum = sum.wrapping_add(n.val);
                cur = n.next.as_deref();
            }
            black_box(sum);
            drop(garbage);

            let i = rng.below(lists);
            if let Some(old) = heads[i].take() {
                let LNode { next, val, pad } = *old;
                heads[i] = Some(Box::new(LNode { next, val, pad }));
            }
            if rec.tick() {
                break;
            }
        }
        let mut checksum = 0u64;
        for head in &heads {
            let mut cur = head.as_deref();
            while let Some(n) = cur {
                checksum = checksum.wrapping_add(n.val);
                cur = n.next.as_deref();
            }
        }
        Ok(LatencyOutcome {
            checksum,
            engine_waits: None,
            engine_waits_by_cause: Vec::new(),
        })
    }
}
