//! Randomised multi-threaded mutation of a shared object graph while collections run back to
//! back, checked against a shadow model after every pause.
//!
//! Mutator threads insert, unlink and replace children (`GcCell`), push into and remove from
//! containers (`GcMutex`), and verify every object they walk (a checksum derived from its id).
//! Periodically all mutators park outside their scopes; the test then runs one full collection
//! and checks, by walking the graph from the root, that (a) every reachable object is intact and
//! (b) the heap holds exactly the reachable objects — object count and bytes per size class —
//! so every dead object was reclaimed and no live one was.
//!
//! `TRICOLOR_STRESS_SECS` sets the run time (default: a few seconds; `just stress` runs longer).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use tricolor::{Config, Gc, GcCell, GcMutex, Heap, Mutation, Root, Rootable, Trace};

const SLOTS: usize = 64;

#[derive(Trace)]
struct Obj<'gc> {
    #[trace(static)]
    id: u64,
    #[trace(static)]
    check: u64,
    link: GcCell<Option<Gc<'gc, Obj<'gc>>>>,
    kids: GcMutex<Vec<Gc<'gc, Obj<'gc>>>>,
}

fn checksum(id: u64) -> u64 {
    id.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ 0xA5A5_5A5A_F00D_BEEF
}

type Globals<'gc> = GcMutex<Vec<Option<Gc<'gc, Obj<'gc>>>>>;

/// A small xorshift generator (tests need no external crates).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn coin(&mut self) -> bool {
        self.next() & 1 == 0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn verify(o: Gc<'_, Obj<'_>>) {
    assert_eq!(o.check, checksum(o.id), "object {} corrupted", o.id);
}

fn new_obj<'gc>(mc: &Mutation<'gc>, ids: &AtomicU64) -> Gc<'gc, Obj<'gc>> {
    let id = ids.fetch_add(1, Ordering::Relaxed);
    Gc::new(
        mc,
        Obj {
            id,
            check: checksum(id),
            link: GcCell::new(None),
            kids: GcMutex::new(Vec::new()),
        },
    )
}

/// Picks a reachable object by a short random walk from the globals.
fn walk<'gc>(
    _mc: &Mutation<'gc>,
    g: Gc<'gc, Globals<'gc>>,
    rng: &mut Rng,
) -> Option<Gc<'gc, Obj<'gc>>> {
    let mut cur = g.with(|v| v[rng.below(SLOTS)])?;
    verify(cur);
    for _ in 0..rng.below(6) {
        let next = if rng.coin() {
            cur.link.get()
        } else {
            cur.kids.with(|k| k.first().copied())
        };
        match next {
            Some(n) => {
                verify(n);
                cur = n;
            }
            None => break,
        }
    }
    Some(cur)
}

fn mutate<'gc>(mc: &Mutation<'gc>, g: Gc<'gc, Globals<'gc>>, rng: &mut Rng, ids: &AtomicU64) {
    match rng.below(11) {
        // A new object into a global slot (unlinking what was there).
        0 | 1 => {
            let o = new_obj(mc, ids);
            let slot = rng.below(SLOTS);
            g.lock(mc)[slot] = Some(o);
        }
        // Replace a link.
        2 | 3 | 10 => {
            if let (Some(a), Some(b)) = (walk(mc, g, rng), walk(mc, g, rng)) {
                a.link.set(mc, Some(b));
            }
        }
        // Unlink, or move a link: take the target out (now held only by this stack), make
        // garbage, and store it elsewhere — what the deletion half of the slot barrier is for.
        4 => {
            if let Some(a) = walk(mc, g, rng) {
                let taken = a.link.replace(mc, None);
                if rng.coin()
                    && let Some(t) = taken
                {
                    for _ in 0..rng.below(8) {
                        new_obj(mc, ids);
                    }
                    mc.safepoint();
                    verify(t);
                    if let Some(b) = walk(mc, g, rng) {
                        b.link.set(mc, Some(t));
                    }
                }
            }
        }
        // Push a child (new or existing).
        5 | 6 => {
            if let Some(a) = walk(mc, g, rng) {
                let child = if rng.coin() {
                    new_obj(mc, ids)
                } else {
                    match walk(mc, g, rng) {
                        Some(c) => c,
                        None => return,
                    }
                };
                let mut kids = a.kids.lock_in(mc, a);
                kids.push(child);
                if kids.len() > 8 {
                    kids.remove(0);
                }
            }
        }
        // Remove a child, moving it to a global slot first half the time (a pointer held
        // only on the stack in between).
        7 => {
            if let Some(a) = walk(mc, g, rng) {
                let taken = {
                    let mut kids = a.kids.lock_in(mc, a);
                    if kids.is_empty() {
                        None
                    } else {
                        let i = rng.below(kids.len());
                        Some(kids.remove(i))
                    }
                };
                for _ in 0..4 {
                    Gc::new(mc, [0u64; 8]); // garbage between unlink and re-link
                }
                if let Some(t) = taken
                    && rng.coin()
                {
                    verify(t);
                    g.lock(mc)[rng.below(SLOTS)] = Some(t);
                }
            }
        }
        // Garbage.
        _ => {
            for _ in 0..rng.below(16) {
                new_obj(mc, ids);
            }
        }
    }
}

/// Walks everything reachable from the globals; returns each object's address and allocation
/// size.
fn reachable<'gc>(_mc: &Mutation<'gc>, g: Gc<'gc, Globals<'gc>>) -> HashMap<usize, usize> {
    let mut seen = HashMap::new();
    let mut stack: Vec<Gc<'gc, Obj<'gc>>> = g.with(|v| v.iter().flatten().copied().collect());
    while let Some(o) = stack.pop() {
        if seen
            .insert(Gc::as_ptr(o) as usize, Gc::allocation_size(o))
            .is_some()
        {
            continue;
        }
        verify(o);
        stack.extend(o.link.get());
        o.kids.with(|k| stack.extend(k.iter().copied()));
    }
    seen
}

#[test]
fn shared_graph_under_back_to_back_collections() {
    let secs: f64 = std::env::var("TRICOLOR_STRESS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) { 4.0 } else { 8.0 });
    run(secs, Config::default());
}

#[test]
fn shared_graph_with_extra_mark_workers() {
    let secs: f64 = std::env::var("TRICOLOR_STRESS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) { 2.0 } else { 4.0 });
    let mut config = Config::default();
    config.mark_workers = 3;
    run(secs, config);
}

fn run(secs: f64, config: Config) {
    let threads = 3;
    let heap = Heap::with_config(config).unwrap();
    let mut main = heap.mutator();
    let root = main.enter(|mc| {
        Root::<Rootable![Globals<'_>]>::new(mc, Gc::new(mc, GcMutex::new(vec![None; SLOTS])))
    });
    let ids = Arc::new(AtomicU64::new(1));
    let stop = Arc::new(AtomicBool::new(false));
    let want_pause = Arc::new(AtomicBool::new(false));
    let pause = Arc::new(Barrier::new(threads + 1));
    let resume = Arc::new(Barrier::new(threads + 1));
    let collector_on = Arc::new(AtomicBool::new(true));

    let collector = {
        let heap = heap.clone();
        let stop = stop.clone();
        let on = collector_on.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if on.load(Ordering::Relaxed) {
                    heap.request_collection();
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        })
    };
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let heap = heap.clone();
            let root = root.clone();
            let ids = ids.clone();
            let stop = stop.clone();
            let want_pause = want_pause.clone();
            let (pause, resume) = (pause.clone(), resume.clone());
            std::thread::spawn(move || {
                let mut m = heap.mutator();
                let mut rng = Rng(0x1234_5678_9abc_def1 ^ ((t as u64 + 1) * 0x9E37_79B9));
                let mut ops = 0u64;
                loop {
                    // Each scope does a burst of operations, so stacks stay grey for a while.
                    m.enter(|mc| {
                        let g = root.get(mc);
                        for _ in 0..1 + rng.below(50) {
                            mutate(mc, g, &mut rng, &ids);
                            ops += 1;
                        }
                    });
                    if want_pause.load(Ordering::Acquire) {
                        pause.wait();
                        resume.wait();
                        if stop.load(Ordering::Relaxed) {
                            return ops;
                        }
                    }
                }
            })
        })
        .collect();

    let start = Instant::now();
    let mut checks = 0;
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let last = start.elapsed().as_secs_f64() >= secs;
        want_pause.store(true, Ordering::Release);
        pause.wait(); // every worker is outside its scope now
        want_pause.store(false, Ordering::Release);
        collector_on.store(false, Ordering::Relaxed);
        heap.collect();
        let (live, live_bytes) = main.enter(|mc| {
            let g = root.get(mc);
            let live = reachable(mc, g);
            let bytes = live.values().sum::<usize>() + Gc::allocation_size(g);
            (live.len() as u64, bytes as u64)
        });
        let stats = heap.stats();
        // Exactly the reachable objects (plus the globals container) are in use: every dead
        // object was reclaimed, no live one was.
        assert_eq!(
            stats.objects_in_use,
            live + 1,
            "objects in use vs reachable after {checks} checks"
        );
        let bytes: u64 = stats
            .by_class
            .iter()
            .map(|c| c.objects_in_use * c.object_size as u64)
            .sum();
        assert_eq!(
            bytes, live_bytes,
            "bytes in use vs reachable after {checks} checks"
        );
        checks += 1;
        if last {
            stop.store(true, Ordering::Relaxed);
        }
        collector_on.store(true, Ordering::Relaxed);
        resume.wait();
        if last {
            break;
        }
    }
    let total_ops: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    collector.join().unwrap();
    let s = heap.stats();
    eprintln!(
        "stress: {checks} checks, {total_ops} operations, {} cycles, {} objects allocated",
        s.cycles,
        ids.load(Ordering::Relaxed)
    );
    assert!(checks >= 2);
    assert!(s.cycles >= checks as u64);
}
