//! A cyclic graph shared by several threads, mutated concurrently while collections run.
//!
//! The graph lives in one heap. Each worker thread registers its own `Mutator`, gets the graph
//! from a clone of one `Root`, and in short mutation scopes adds and removes nodes and edges and
//! walks the graph, checking every node it visits. Edges are `GcMutex<Vec<Gc<Node>>>`, so
//! several threads can change one node's edges; a collector thread keeps asking for cycles,
//! which mark concurrently with the workers.
//!
//! At the end the example checks the graph's invariants and that the heap holds exactly the
//! reachable objects, and prints the collector's statistics.
//!
//! ```text
//! cargo run -p tricolor --example shared_graph            # 4 threads, 20000 scopes each
//! cargo run -p tricolor --example shared_graph -- 8 50000 # threads, scopes per thread
//! ```

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tricolor::{Gc, GcMutex, Heap, Mutation, Root, Rootable, Trace};

/// A graph node. `check` is derived from `id`: a freed-and-reused node would fail the check.
#[derive(Trace)]
struct Node<'gc> {
    id: u64,
    check: u64,
    /// Outgoing edges; any thread may change them (under the lock, through the barrier).
    edges: GcMutex<Vec<Gc<'gc, Node<'gc>>>>,
}

/// The graph: an index of its nodes. Nodes removed from the index stay alive as long as an
/// edge still reaches them.
#[derive(Trace)]
struct Graph<'gc> {
    nodes: GcMutex<Vec<Gc<'gc, Node<'gc>>>>,
    next_id: AtomicU64,
}

type NodeRef<'gc> = Gc<'gc, Node<'gc>>;

const INITIAL_NODES: usize = 200;
const MIN_NODES: usize = 100;
const MAX_NODES: usize = 400;
const MAX_EDGES: usize = 8;

fn checksum(id: u64) -> u64 {
    id.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(23) ^ 0x5EED
}

fn verify(n: NodeRef<'_>) {
    assert_eq!(n.check, checksum(n.id), "node {} is corrupted", n.id);
}

/// A small xorshift generator, one per thread.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

impl<'gc> Graph<'gc> {
    fn new_node(&self, mc: &Mutation<'gc>) -> NodeRef<'gc> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        Gc::new(
            mc,
            Node {
                id,
                check: checksum(id),
                edges: GcMutex::new(Vec::new()),
            },
        )
    }

    /// A random node of the index. `with` locks for reading only: no barrier needed.
    fn pick(&self, rng: &mut Rng) -> Option<NodeRef<'gc>> {
        self.nodes
            .with(|v| (!v.is_empty()).then(|| v[rng.below(v.len())]))
    }
}

/// What one worker did.
#[derive(Default, Debug)]
struct Counts {
    scopes: u64,
    nodes_added: u64,
    nodes_removed: u64,
    edges_added: u64,
    edges_removed: u64,
    nodes_walked: u64,
}

/// One random operation on the graph. Locks are held one at a time and only for the
/// operation (a thread that holds a container lock delays the start of a collection).
fn operate<'gc>(mc: &Mutation<'gc>, graph: Gc<'gc, Graph<'gc>>, rng: &mut Rng, c: &mut Counts) {
    match rng.below(10) {
        // Add a node, and an edge to it from an existing node.
        0 => {
            let from = graph.pick(rng);
            let node = graph.new_node(mc);
            {
                let mut nodes = graph.nodes.lock_in(mc, graph);
                if nodes.len() >= MAX_NODES {
                    return; // the new node is garbage
                }
                nodes.push(node);
            }
            c.nodes_added += 1;
            if let Some(from) = from {
                add_edge(mc, from, node);
                c.edges_added += 1;
            }
        }
        // Remove a node from the index.
        1 => {
            let removed = {
                let mut nodes = graph.nodes.lock_in(mc, graph);
                if nodes.len() <= MIN_NODES {
                    return;
                }
                let i = rng.below(nodes.len());
                nodes.swap_remove(i)
            };
            c.nodes_removed += 1;
            // Its own edges go (so that detached nodes do not pile up), but edges from other
            // nodes may still reach it, and keep it alive.
            c.edges_removed += removed.edges.with(|e| e.len()) as u64;
            removed.edges.lock_in(mc, removed).clear();
        }
        // Add an edge between two existing nodes (cycles are welcome).
        2..=4 => {
            if let (Some(a), Some(b)) = (graph.pick(rng), graph.pick(rng)) {
                add_edge(mc, a, b);
                c.edges_added += 1;
            }
        }
        // Remove an edge.
        5 => {
            if let Some(a) = graph.pick(rng) {
                let mut edges = a.edges.lock_in(mc, a);
                if !edges.is_empty() {
                    let i = rng.below(edges.len());
                    edges.remove(i);
                    c.edges_removed += 1;
                }
            }
        }
        // Walk a few edges, checking every node on the way; make some garbage.
        _ => {
            let Some(mut at) = graph.pick(rng) else {
                return;
            };
            for _ in 0..rng.below(16) {
                verify(at);
                c.nodes_walked += 1;
                let next = at
                    .edges
                    .with(|e| (!e.is_empty()).then(|| e[rng.below(e.len())]));
                match next {
                    Some(n) => at = n,
                    None => break,
                }
            }
            // Short-lived objects (garbage after this scope) keep the pacer busy.
            let scratch: Vec<Gc<'gc, [u64; 4]>> =
                (0..4).map(|i| Gc::new(mc, [at.id, i, 0, 0])).collect();
            assert!(scratch.iter().all(|s| s[0] == at.id));
        }
    }
}

fn add_edge<'gc>(mc: &Mutation<'gc>, from: NodeRef<'gc>, to: NodeRef<'gc>) {
    // The mutex is a field of `from`: `lock_in` runs `from`'s object barrier.
    let mut edges = from.edges.lock_in(mc, from);
    if edges.len() == MAX_EDGES {
        edges.remove(0);
    }
    edges.push(to);
}

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>().ok());
    let threads = args.next().flatten().unwrap_or(4);
    let scopes = args.next().flatten().unwrap_or(20_000) as u64;

    let heap = Heap::new();
    let mut main_mutator = heap.mutator();

    // Build the initial graph: a ring (one big cycle) plus random chords.
    let root: Root<Rootable![Graph<'_>]> = main_mutator.enter(|mc| {
        let graph = Gc::new(
            mc,
            Graph {
                nodes: GcMutex::new(Vec::new()),
                next_id: AtomicU64::new(0),
            },
        );
        let nodes: Vec<NodeRef<'_>> = (0..INITIAL_NODES).map(|_| graph.new_node(mc)).collect();
        let mut rng = Rng(0xC0FFEE);
        for (i, &n) in nodes.iter().enumerate() {
            add_edge(mc, n, nodes[(i + 1) % nodes.len()]);
            add_edge(mc, n, nodes[rng.below(nodes.len())]);
        }
        *graph.nodes.lock_in(mc, graph) = nodes;
        Root::new(mc, graph)
    });

    // A thread that keeps collections going (each waits for every worker to pass a scope
    // boundary; the workers never wait for it).
    let stop = Arc::new(AtomicBool::new(false));
    let requester = {
        let (heap, stop) = (heap.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut explicit = 0u64;
            while !stop.load(Ordering::Relaxed) {
                heap.collect();
                explicit += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            explicit
        })
    };

    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            // `Root<Graph>` is `Send`: `Graph` is `Sync` (its cells are `GcMutex`es).
            let (heap, root) = (heap.clone(), root.clone());
            std::thread::spawn(move || {
                let mut m = heap.mutator();
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((t as u64 + 1) * 0x1234_5678));
                let mut counts = Counts::default();
                for _ in 0..scopes {
                    // A short scope: a burst of operations, then a scope boundary.
                    m.enter(|mc| {
                        let graph = root.get(mc);
                        for _ in 0..1 + rng.below(8) {
                            operate(mc, graph, &mut rng, &mut counts);
                        }
                    });
                    counts.scopes += 1;
                }
                counts
            })
        })
        .collect();
    let counts: Vec<Counts> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let explicit = requester.join().unwrap();

    // Every worker has finished: one more collection, then check the graph and the heap.
    heap.collect();
    let (indexed, reachable, edges) = main_mutator.enter(|mc| {
        let graph = root.get(mc);
        let index: Vec<NodeRef<'_>> = graph.nodes.with(|v| v.clone());
        let ids: HashSet<u64> = index.iter().map(|n| n.id).collect();
        assert_eq!(ids.len(), index.len(), "a node is indexed twice");
        // Everything reachable from the index, through edges.
        let mut seen = HashSet::new();
        let mut stack = index.clone();
        let mut edges = 0;
        while let Some(n) = stack.pop() {
            if !seen.insert(Gc::as_ptr(n) as usize) {
                continue;
            }
            verify(n);
            n.edges.with(|e| {
                assert!(e.len() <= MAX_EDGES);
                edges += e.len();
                stack.extend(e.iter().copied());
            });
        }
        (index.len(), seen.len(), edges)
    });
    let added: u64 = counts.iter().map(|c| c.nodes_added).sum();
    let removed: u64 = counts.iter().map(|c| c.nodes_removed).sum();
    assert_eq!(
        indexed as u64,
        INITIAL_NODES as u64 + added - removed,
        "index size"
    );
    let stats = heap.stats();
    // Exactly the reachable nodes and the graph header are in use: every unreachable node
    // (and all the scratch garbage) was freed, and no reachable one was.
    assert_eq!(
        stats.objects_in_use,
        reachable as u64 + 1,
        "objects in use vs reachable"
    );

    let total = |f: fn(&Counts) -> u64| counts.iter().map(f).sum::<u64>();
    println!(
        "{threads} threads x {scopes} scopes in {:.2} s: +{added}/-{removed} nodes, \
         +{}/-{} edges, {} nodes walked and verified",
        elapsed.as_secs_f64(),
        total(|c| c.edges_added),
        total(|c| c.edges_removed),
        total(|c| c.nodes_walked),
    );
    println!(
        "graph: {indexed} indexed nodes, {reachable} reachable (the rest only through edges), \
         {edges} edges; heap holds exactly those plus the header"
    );

    let ms = |ns: u64| ns as f64 / 1e6;
    let mib = |b: usize| b as f64 / f64::from(1 << 20);
    println!(
        "collector: {} cycles ({} explicit collect calls), {} termination rounds, \
         GC CPU {:.1} %",
        stats.cycles,
        explicit,
        stats.termination_rounds,
        stats.gc_cpu_fraction * 100.0
    );
    println!(
        "  mark phase: mean {:.3} ms, max {:.3} ms",
        stats.mark_times.mean() / 1e6,
        ms(stats.mark_times.max)
    );
    println!(
        "  collector-caused mutator waits: {} (p99 {:.3} ms, max {:.3} ms), of which mark \
         assists: {} (max {:.3} ms)",
        stats.mutator_waits.count,
        ms(stats.mutator_waits.quantile(0.99)),
        ms(stats.mutator_waits.max),
        stats.assists.count,
        ms(stats.assists.max),
    );
    println!(
        "  heap: {:.2} MiB in use, {:.2} MiB live after the last mark, {} objects allocated, \
         {} freed",
        mib(stats.heap_in_use_bytes),
        mib(stats.live_after_last_mark),
        stats.total_allocs,
        stats.total_frees,
    );
    assert!(stats.cycles > 0);
}
