//! `gc-arena`: a single-threaded, incremental mark-sweep arena (the collector of Ruffle and
//! piccolo). Used the way its docs describe: all `Gc` pointers live under the arena root, work
//! happens in short `mutate` / `mutate_root` callbacks (one tree, or one batch of
//! [`BATCH`] churn allocations), and between callbacks the loop pays the allocation debt with
//! `collect_debt` whenever it exceeds [`COLLECTOR_GRANULARITY`] (piccolo's pattern), with the
//! default pacing. `Lock` cells with `Gc::write` + `unlock!` give GCBench its write barriers.

use std::hint::black_box;

use gc_arena::arena::Root;
use gc_arena::barrier::unlock;
use gc_arena::{Arena, Collect, Gc, Lock, Mutation, Rootable};

use super::{Peer, Unsupported};
use crate::workloads::binary_trees::{self, TreeHeap};
use crate::workloads::churn::{self, Payload};
use crate::workloads::gcbench::{self, GcBenchHeap};

/// The `gc-arena` peer.
pub struct GcArenaPeer;

/// Collect once the allocation debt exceeds this many units (as piccolo does).
pub const COLLECTOR_GRANULARITY: f64 = 1024.0;

/// Churn allocations per `mutate_root` callback.
pub const BATCH: u64 = 1024;

/// Pays the arena's allocation debt if it is above the granularity.
fn pay<R>(arena: &mut Arena<R>)
where
    R: for<'a> Rootable<'a>,
    for<'a> Root<'a, R>: Collect<'a>,
{
    if arena.metrics().allocation_debt() > COLLECTOR_GRANULARITY {
        arena.collect_debt();
    }
}

#[derive(Collect)]
#[collect(no_drop)]
struct Node<'gc> {
    left: Option<Gc<'gc, Node<'gc>>>,
    right: Option<Gc<'gc, Node<'gc>>>,
}

fn make<'gc>(mc: &Mutation<'gc>, d: u32) -> Gc<'gc, Node<'gc>> {
    if d == 0 {
        Gc::new(
            mc,
            Node {
                left: None,
                right: None,
            },
        )
    } else {
        let left = Some(make(mc, d - 1));
        let right = Some(make(mc, d - 1));
        Gc::new(mc, Node { left, right })
    }
}

fn check(n: Gc<'_, Node<'_>>) -> u64 {
    1 + n.left.map_or(0, check) + n.right.map_or(0, check)
}

#[derive(Collect, Default)]
#[collect(no_drop)]
struct TreeRoot<'gc> {
    long_lived: Option<Gc<'gc, Node<'gc>>>,
}

struct Trees {
    arena: Arena<Rootable![TreeRoot<'_>]>,
}

impl TreeHeap for Trees {
    fn make_check_drop(&mut self, d: u32) -> u64 {
        let c = self.arena.mutate(|mc, _| check(make(mc, d)));
        pay(&mut self.arena);
        c
    }
    fn make_long_lived(&mut self, d: u32) {
        self.arena
            .mutate_root(|mc, root| root.long_lived = Some(make(mc, d)));
        pay(&mut self.arena);
    }
    fn check_long_lived(&mut self) -> u64 {
        self.arena
            .mutate(|_, root| root.long_lived.map_or(0, check))
    }
}

#[derive(Collect)]
#[collect(no_drop)]
struct GNode<'gc> {
    left: Lock<Option<Gc<'gc, GNode<'gc>>>>,
    right: Lock<Option<Gc<'gc, GNode<'gc>>>>,
    i: i32,
    j: i32,
}

fn new_node<'gc>(mc: &Mutation<'gc>) -> Gc<'gc, GNode<'gc>> {
    Gc::new(
        mc,
        GNode {
            left: Lock::new(None),
            right: Lock::new(None),
            i: 0,
            j: 0,
        },
    )
}

fn populate<'gc>(mc: &Mutation<'gc>, d: u32, node: Gc<'gc, GNode<'gc>>) -> u64 {
    if d == 0 {
        return 0;
    }
    let l = new_node(mc);
    let r = new_node(mc);
    let w = Gc::write(mc, node);
    unlock!(w, GNode, left).set(Some(l));
    unlock!(w, GNode, right).set(Some(r));
    2 + populate(mc, d - 1, l) + populate(mc, d - 1, r)
}

fn make_tree<'gc>(mc: &Mutation<'gc>, d: u32, count: &mut u64) -> Gc<'gc, GNode<'gc>> {
    *count += 1;
    if d == 0 {
        new_node(mc)
    } else {
        let left = Lock::new(Some(make_tree(mc, d - 1, count)));
        let right = Lock::new(Some(make_tree(mc, d - 1, count)));
        Gc::new(
            mc,
            GNode {
                left,
                right,
                i: 0,
                j: 0,
            },
        )
    }
}

fn gcount(n: Gc<'_, GNode<'_>>) -> u64 {
    black_box((n.i, n.j));
    1 + n.left.get().map_or(0, gcount) + n.right.get().map_or(0, gcount)
}

#[derive(Collect, Default)]
#[collect(no_drop)]
struct BenchRoot<'gc> {
    long_lived: Option<Gc<'gc, GNode<'gc>>>,
    array: Option<Gc<'gc, Vec<f64>>>,
}

struct GcBench {
    arena: Arena<Rootable![BenchRoot<'_>]>,
}

impl GcBenchHeap for GcBench {
    fn make_tree_drop(&mut self, d: u32) -> u64 {
        let n = self.arena.mutate(|mc, _| {
            let mut n = 0;
            black_box(make_tree(mc, d, &mut n));
            n
        });
        pay(&mut self.arena);
        n
    }
    fn populate_drop(&mut self, d: u32) -> u64 {
        let n = self.arena.mutate(|mc, _| {
            let root = new_node(mc);
            let n = 1 + populate(mc, d, root);
            black_box(root);
            n
        });
        pay(&mut self.arena);
        n
    }
    fn make_long_lived(&mut self, d: u32) -> u64 {
        let n = self.arena.mutate_root(|mc, root| {
            let node = new_node(mc);
            root.long_lived = Some(node);
            1 + populate(mc, d, node)
        });
        pay(&mut self.arena);
        n
    }
    fn keep_array(&mut self, array: Vec<f64>) {
        self.arena
            .mutate_root(|mc, root| root.array = Some(Gc::new(mc, array)));
        pay(&mut self.arena);
    }
    fn probe(&mut self, index: usize) -> (u64, f64) {
        self.arena.mutate(|_, root| {
            (
                root.long_lived.map_or(0, gcount),
                root.array.map_or(f64::NAN, |a| a[index]),
            )
        })
    }
}

#[derive(Collect)]
#[collect(no_drop)]
struct ChurnRoot<'gc> {
    window: Vec<Gc<'gc, Payload>>,
}

fn churn_range(range: std::ops::Range<u64>, window: usize) -> u64 {
    let mut arena = Arena::<Rootable![ChurnRoot<'_>]>::new(|_| ChurnRoot {
        window: Vec::with_capacity(window),
    });
    let mut next = 0usize;
    let mut sum = 0u64;
    let mut k = range.start;
    while k < range.end {
        let end = (k + BATCH).min(range.end);
        let s = arena.mutate_root(|mc, root| {
            let mut s = 0u64;
            for i in k..end {
                let h = Gc::new(mc, churn::payload(i));
                if root.window.len() < window {
                    root.window.push(h);
                } else {
                    let old = std::mem::replace(&mut root.window[next], h);
                    next += 1;
                    if next == window {
                        next = 0;
                    }
                    s = s.wrapping_add(churn::value(&old));
                }
            }
            s
        });
        sum = sum.wrapping_add(s);
        k = end;
        pay(&mut arena);
    }
    let rest = arena.mutate(|_, root| {
        root.window
            .iter()
            .fold(0u64, |a, h| a.wrapping_add(churn::value(h)))
    });
    sum.wrapping_add(rest)
}

impl Peer for GcArenaPeer {
    fn name(&self) -> &'static str {
        "gc-arena"
    }
    fn crate_name(&self) -> Option<&'static str> {
        Some("gc-arena")
    }
    fn description(&self) -> &'static str {
        "gc-arena: single-threaded incremental arena, Lock + Gc::write, collect_debt in the loop"
    }
    fn binary_trees(&self, p: &binary_trees::Params) -> u64 {
        binary_trees::run(
            p,
            &mut Trees {
                arena: Arena::new(|_| TreeRoot::default()),
            },
        )
    }
    fn gcbench(&self, p: &gcbench::Params) -> u64 {
        gcbench::run(
            p,
            &mut GcBench {
                arena: Arena::new(|_| BenchRoot::default()),
            },
        )
    }
    fn churn(&self, p: &churn::Params) -> u64 {
        churn_range(0..p.allocations, p.window)
    }
    fn churn_threads(&self, _: &churn::Params, _: usize) -> Result<u64, Unsupported> {
        Err(Unsupported("single-threaded arena"))
    }
}
