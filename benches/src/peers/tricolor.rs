//! `tricolor`: this project's concurrent tricolor mark-sweep collector, used the way its docs and
//! examples show, with the default configuration (`Heap::new()`: GOGC 100, one mark worker on
//! this machine, background sweeping).
//!
//! * Every workload runs on a fresh [`Heap`]; each thread registers its own [`Mutator`] and does
//!   its work in mutation scopes (`m.enter(|mc| …)`), returning from the scope at the natural
//!   unit of work so that collection cycles can complete: one tree (binary-trees, GCBench), one
//!   batch of [`BATCH`] allocations (churn), one iteration (latency).
//! * Long-lived objects are held through [`Root`]s; everything else is reachable from them.
//! * binary-trees: `Option<(Gc, Gc)>` children, immutable (built bottom-up).
//! * GCBench: `GcCell<Option<Gc<_>>>` children (the slot barrier) for the top-down `Populate`.
//! * churn: the window is one rooted GC object, a `Vec<GcCell<Option<Gc<[u64; 4]>>>>` ring
//!   buffer, read with `GcCell::get` and written with `GcCell::set` (see `churn_range` for why
//!   not a `RefLock`).
//! * latency: the list heads are a `Vec<GcCell<_>>` in one rooted object, so replacing a head is
//!   a slot-barriered store and tracing the 1 M-entry array never blocks the mutator.

use std::hint::black_box;
use std::ops::Range;

use tricolor::{
    Gc, GcCell, Heap, HistogramSnapshot, Mutation, Mutator, Root, Rootable, Static, Trace,
};

use super::{LatencyOutcome, Peer, Unsupported};
use crate::stats::{GapRecorder, Histogram};
use crate::workloads::binary_trees::{self, TreeHeap};
use crate::workloads::churn::{self, Payload};
use crate::workloads::gcbench::{self, GcBenchHeap};
use crate::workloads::latency;

/// The `tricolor` peer.
pub struct TricolorPeer;

/// Churn allocations per mutation scope (and per mutable borrow of the window).
pub const BATCH: u64 = 1024;

/// Lists of the latency live set built per scope.
const BUILD_LISTS_PER_SCOPE: usize = 1024;

// ---------------------------------------------------------------------------------------------
// binary-trees

#[derive(Trace)]
struct Node<'gc> {
    children: Option<(Gc<'gc, Node<'gc>>, Gc<'gc, Node<'gc>>)>,
}

fn make<'gc>(mc: &Mutation<'gc>, d: u32) -> Gc<'gc, Node<'gc>> {
    let children = (d > 0).then(|| (make(mc, d - 1), make(mc, d - 1)));
    Gc::new(mc, Node { children })
}

fn check(n: &Node<'_>) -> u64 {
    match n.children {
        Some((l, r)) => 1 + check(&l) + check(&r),
        None => 1,
    }
}

/// A root of a binary-trees tree.
type TreeRoot = Root<Rootable![Node<'_>]>;

struct Trees {
    // Field order is drop order: the root and the mutator before the heap handle.
    long_lived: Option<TreeRoot>,
    m: Mutator,
    _heap: Heap,
}

impl Trees {
    fn new() -> Self {
        let heap = Heap::new();
        Trees {
            long_lived: None,
            m: heap.mutator(),
            _heap: heap,
        }
    }
}

impl TreeHeap for Trees {
    fn make_check_drop(&mut self, d: u32) -> u64 {
        self.m.enter(|mc| check(&make(mc, d)))
    }
    fn make_long_lived(&mut self, d: u32) {
        self.long_lived = Some(self.m.enter(|mc| Root::new(mc, make(mc, d))));
    }
    fn check_long_lived(&mut self) -> u64 {
        let root = self.long_lived.as_ref();
        self.m.enter(|mc| root.map_or(0, |r| check(&r.get(mc))))
    }
}

// ---------------------------------------------------------------------------------------------
// GCBench

#[derive(Trace)]
struct GNode<'gc> {
    left: GcCell<Option<Gc<'gc, GNode<'gc>>>>,
    right: GcCell<Option<Gc<'gc, GNode<'gc>>>>,
    i: i32,
    j: i32,
}

fn new_node<'gc>(mc: &Mutation<'gc>) -> Gc<'gc, GNode<'gc>> {
    Gc::new(
        mc,
        GNode {
            left: GcCell::new(None),
            right: GcCell::new(None),
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
    node.left.set(mc, Some(l));
    node.right.set(mc, Some(r));
    2 + populate(mc, d - 1, l) + populate(mc, d - 1, r)
}

fn make_tree<'gc>(mc: &Mutation<'gc>, d: u32, count: &mut u64) -> Gc<'gc, GNode<'gc>> {
    *count += 1;
    if d == 0 {
        new_node(mc)
    } else {
        let left = GcCell::new(Some(make_tree(mc, d - 1, count)));
        let right = GcCell::new(Some(make_tree(mc, d - 1, count)));
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

/// A root of a GCBench tree.
type GNodeRoot = Root<Rootable![GNode<'_>]>;

struct GcBench {
    long_lived: Option<GNodeRoot>,
    array: Option<Root<Static<Vec<f64>>>>,
    m: Mutator,
    _heap: Heap,
}

impl GcBench {
    fn new() -> Self {
        let heap = Heap::new();
        GcBench {
            long_lived: None,
            array: None,
            m: heap.mutator(),
            _heap: heap,
        }
    }
}

impl GcBenchHeap for GcBench {
    fn make_tree_drop(&mut self, d: u32) -> u64 {
        self.m.enter(|mc| {
            let mut n = 0;
            black_box(make_tree(mc, d, &mut n));
            n
        })
    }
    fn populate_drop(&mut self, d: u32) -> u64 {
        self.m.enter(|mc| {
            let root = new_node(mc);
            let n = 1 + populate(mc, d, root);
            black_box(root);
            n
        })
    }
    fn make_long_lived(&mut self, d: u32) -> u64 {
        let (root, n) = self.m.enter(|mc| {
            let node = new_node(mc);
            let n = 1 + populate(mc, d, node);
            (Root::new(mc, node), n)
        });
        self.long_lived = Some(root);
        n
    }
    fn keep_array(&mut self, array: Vec<f64>) {
        self.array = Some(self.m.enter(|mc| Root::new(mc, Gc::new(mc, array))));
    }
    fn probe(&mut self, index: usize) -> (u64, f64) {
        let (ll, arr) = (self.long_lived.as_ref(), self.array.as_ref());
        self.m.enter(|mc| {
            (
                ll.map_or(0, |r| gcount(r.get(mc))),
                arr.map_or(f64::NAN, |a| a.get(mc)[index]),
            )
        })
    }
}

// ---------------------------------------------------------------------------------------------
// churn

/// The churn window: a ring buffer of `window` slots in one GC object, all `None` at first.
type Ring<'gc> = Vec<GcCell<Option<Gc<'gc, Payload>>>>;

/// One thread's share of churn on `heap`, with its own mutator and its own rooted window, one
/// scope per [`BATCH`] allocations.
///
/// Each eviction reads the slot (`GcCell::get`) and stores the new object (`GcCell::set`: a
/// plain store, or, while a cycle is marking, an atomic swap plus the slot barrier, which shades
/// the evicted object); the mark worker traces the window concurrently. (`GcCell::replace`
/// does the same in one call but is always a swap, because it must return the exact old value
/// when threads race on one cell; only this thread writes its window.) The alternative, a `RefLock<Vec<Option<Gc<_>>>>` borrowed once per batch, was
/// 1.3–1.8× slower here: its object barrier makes the *mutator* trace all 100,000 slots at the
/// first borrow of every cycle (and again at the end of that borrow while its stack is still
/// grey, and at every borrow during mark-start step 1).
fn churn_range(heap: &Heap, range: Range<u64>, window: usize) -> u64 {
    let mut m = heap.mutator();
    let ring: Root<Rootable![Ring<'_>]> = m.enter(|mc| {
        let v: Ring<'_> = (0..window).map(|_| GcCell::new(None)).collect();
        Root::new(mc, Gc::new(mc, v))
    });
    let mut next = 0usize;
    let mut sum = 0u64;
    let mut k = range.start;
    while k < range.end {
        let end = (k + BATCH).min(range.end);
        let s = m.enter(|mc| {
            let ring = ring.get(mc);
            let mut s = 0u64;
            for i in k..end {
                let h = Gc::new(mc, churn::payload(i));
                let slot = &ring[next];
                let old = slot.get();
                slot.set(mc, Some(h));
                next += 1;
                if next == window {
                    next = 0;
                }
                if let Some(old) = old {
                    s = s.wrapping_add(churn::value(&old));
                }
            }
            s
        });
        sum = sum.wrapping_add(s);
        k = end;
    }
    let rest = m.enter(|mc| {
        ring.get(mc)
            .iter()
            .filter_map(|c| c.get())
            .fold(0u64, |a, h| a.wrapping_add(churn::value(&h)))
    });
    sum.wrapping_add(rest)
}

// ---------------------------------------------------------------------------------------------
// latency

#[derive(Trace)]
struct LNode<'gc> {
    next: Option<Gc<'gc, LNode<'gc>>>,
    val: u64,
    pad: [u64; 2],
}

/// The heads of the live lists.
type Heads<'gc> = Vec<GcCell<Option<Gc<'gc, LNode<'gc>>>>>;

/// The engine's histogram of the waits recorded between `before` and `after`, as a harness
/// [`Histogram`]. Each engine bucket is recorded at its upper bound (capped at the exact maximum),
/// so quantiles never understate a wait; the engine's buckets are coarser (≤ 25 % wide) than the
/// harness's.
fn waits_between(before: &HistogramSnapshot, after: &HistogramSnapshot) -> Histogram {
    let mut h = Histogram::new();
    let mut earlier = before.buckets().peekable();
    for (lo, hi, count) in after.buckets() {
        while earlier.peek().is_some_and(|&(l, _, _)| l < lo) {
            earlier.next();
        }
        let old = match earlier.peek() {
            Some(&(l, _, c)) if l == lo => c,
            _ => 0,
        };
        let v = hi.min(after.max);
        for _ in 0..count.saturating_sub(old) {
            h.record(v);
        }
    }
    h
}

fn latency_run(p: &latency::Params, rec: &mut GapRecorder) -> LatencyOutcome {
    let heap = Heap::new();
    let mut m = heap.mutator();
    let lists = p.lists();
    let heads: Root<Rootable![Heads<'_>]> = m.enter(|mc| {
        let v: Heads<'_> = (0..lists).map(|_| GcCell::new(None)).collect();
        Root::new(mc, Gc::new(mc, v))
    });
    let mut i0 = 0;
    while i0 < lists {
        let i1 = (i0 + BUILD_LISTS_PER_SCOPE).min(lists);
        m.enter(|mc| {
            let heads = heads.get(mc);
            for i in i0..i1 {
                let mut head = None;
                for j in (0..p.list_len).rev() {
                    head = Some(Gc::new(
                        mc,
                        LNode {
                            next: head,
                            val: p.value(i, j),
                            pad: [0; 2],
                        },
                    ));
                }
                heads[i].set(mc, head);
            }
        });
        i0 = i1;
    }

    let mut before = None;
    let mut rng = latency::Rng::default();
    loop {
        m.enter(|mc| {
            let mut garbage: Option<Gc<'_, LNode<'_>>> = None;
            for x in 0..p.garbage_per_iter {
                garbage = Some(Gc::new(
                    mc,
                    LNode {
                        next: garbage,
                        val: x as u64,
                        pad: [0; 2],
                    },
                ));
            }
            let mut sum = 0u64;
            let mut cur = garbage;
            while let Some(n) = cur {
                sum = sum.wrapping_add(n.val);
                cur = n.next;
            }
            black_box(sum);

            let i = rng.below(lists);
            let heads = heads.get(mc);
            let slot = &heads[i];
            if let Some(old) = slot.get() {
                let fresh = Gc::new(
                    mc,
                    LNode {
                        next: old.next,
                        val: old.val,
                        pad: old.pad,
                    },
                );
                slot.set(mc, Some(fresh));
            }
        });
        if rec.tick() {
            break;
        }
        if before.is_none() && rec.warmed_up() {
            // During calibration, where one slow iteration does not matter.
            before = Some(heap.stats());
        }
    }
    let before = before.expect("the recorder warms up before it finishes");
    let after = heap.stats();
    let waits = waits_between(&before.mutator_waits, &after.mutator_waits);
    let engine_waits_by_cause = vec![
        (
            "acknowledgements",
            waits_between(&before.ack_waits, &after.ack_waits),
        ),
        (
            "waits on a claimed object",
            waits_between(&before.locked_waits, &after.locked_waits),
        ),
        (
            "object barriers",
            waits_between(&before.barrier_waits, &after.barrier_waits),
        ),
        (
            "yields to the collector's thread",
            waits_between(&before.collector_yields, &after.collector_yields),
        ),
        (
            "mark assists",
            waits_between(&before.assists, &after.assists),
        ),
        (
            "mark assists, on-CPU time",
            waits_between(&before.assists_on_cpu, &after.assists_on_cpu),
        ),
    ];

    let checksum = m.enter(|mc| {
        let mut checksum = 0u64;
        for head in heads.get(mc).iter() {
            let mut cur = head.get();
            while let Some(n) = cur {
                checksum = checksum.wrapping_add(n.val);
                cur = n.next;
            }
        }
        checksum
    });
    LatencyOutcome {
        checksum,
        engine_waits: Some(waits),
        engine_waits_by_cause,
    }
}

impl Peer for TricolorPeer {
    fn name(&self) -> &'static str {
        "tricolor"
    }
    fn crate_name(&self) -> Option<&'static str> {
        Some("tricolor")
    }
    fn description(&self) -> &'static str {
        "tricolor: concurrent tricolor mark-sweep, default config, scope per tree / 1024-alloc batch / iteration"
    }
    fn binary_trees(&self, p: &binary_trees::Params) -> u64 {
        binary_trees::run(p, &mut Trees::new())
    }
    fn gcbench(&self, p: &gcbench::Params) -> u64 {
        gcbench::run(p, &mut GcBench::new())
    }
    fn churn(&self, p: &churn::Params) -> u64 {
        churn_range(&Heap::new(), 0..p.allocations, p.window)
    }
    fn churn_threads(&self, p: &churn::Params, threads: usize) -> Result<u64, Unsupported> {
        let heap = Heap::new();
        Ok(churn::run_threads(p, threads, |r| {
            churn_range(&heap, r, p.window)
        }))
    }
    fn latency(
        &self,
        p: &latency::Params,
        rec: &mut GapRecorder,
    ) -> Result<LatencyOutcome, Unsupported> {
        Ok(latency_run(p, rec))
    }
}
