//! Behaviour of the public API: what survives, what dies, and when.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tricolor::{
    Config, Gc, GcCell, GcMutex, Heap, RefLock, Root, Rootable, Trace, Weak, WeakKeyTable,
};

/// A heap of its own for each test (tests run in parallel).
fn heap() -> Heap {
    Heap::with_config(Config::default()).unwrap()
}

/// Counts its drops in a shared counter.
#[derive(Trace)]
#[trace(unsafe_drop)]
struct Counted {
    #[trace(static)]
    drops: Arc<AtomicUsize>,
    #[trace(static)]
    id: u64,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Trace)]
struct Node<'gc> {
    payload: Gc<'gc, Counted>,
    next: GcCell<Option<Gc<'gc, Node<'gc>>>>,
}

#[test]
fn unreachable_cycles_are_collected_and_dropped_once() {
    let heap = heap();
    let drops = Arc::new(AtomicUsize::new(0));
    let mut m = heap.mutator();
    let root = m.enter(|mc| {
        // A ring of 100 nodes.
        let first = Gc::new(
            mc,
            Node {
                payload: Gc::new(
                    mc,
                    Counted {
                        drops: drops.clone(),
                        id: 0,
                    },
                ),
                next: GcCell::new(None),
            },
        );
        let mut prev = first;
        for i in 1..100 {
            let n = Gc::new(
                mc,
                Node {
                    payload: Gc::new(
                        mc,
                        Counted {
                            drops: drops.clone(),
                            id: i,
                        },
                    ),
                    next: GcCell::new(None),
                },
            );
            prev.next.set(mc, Some(n));
            prev = n;
        }
        prev.next.set(mc, Some(first));
        Root::<Rootable![Node<'_>]>::new(mc, first)
    });
    for _ in 0..3 {
        heap.collect();
        assert_eq!(
            drops.load(Ordering::SeqCst),
            0,
            "a rooted ring lost objects"
        );
    }
    // Walk the ring: every payload intact.
    m.enter(|mc| {
        let first = root.get(mc);
        let mut n = first;
        for i in 0..100 {
            assert_eq!(n.payload.id, i);
            n = n.next.get().unwrap();
        }
        assert!(Gc::ptr_eq(n, first));
    });
    let before = heap.stats().objects_in_use;
    drop(root);
    heap.collect();
    assert_eq!(
        drops.load(Ordering::SeqCst),
        100,
        "each dead payload dropped exactly once"
    );
    heap.collect();
    assert_eq!(drops.load(Ordering::SeqCst), 100, "never dropped twice");
    let after = heap.stats().objects_in_use;
    assert_eq!(before - after, 200, "the ring's 200 objects were freed");
    let s = heap.stats();
    assert!(
        s.max_live_after_mark >= s.live_after_last_mark + 200 * 16,
        "the peak live heap remembers the ring: {} vs {}",
        s.max_live_after_mark,
        s.live_after_last_mark
    );
}

#[test]
fn rooted_objects_survive_many_collections_and_roots_cross_threads() {
    let heap = heap();
    let mut m = heap.mutator();
    let root = m.enter(|mc| {
        let v: Vec<Gc<'_, String>> = (0..1000).map(|i| Gc::new(mc, format!("s{i}"))).collect();
        Root::<Rootable![Vec<Gc<'_, String>>]>::new(mc, Gc::new(mc, v))
    });
    for _ in 0..10 {
        heap.collect();
    }
    let r2 = root.clone();
    let h2 = heap.clone();
    std::thread::spawn(move || {
        let mut m2 = h2.mutator();
        m2.enter(|mc| {
            let v = r2.get(mc);
            for (i, s) in v.iter().enumerate() {
                assert_eq!(**s, format!("s{i}"));
            }
        });
    })
    .join()
    .unwrap();
    m.enter(|mc| assert_eq!(root.get(mc).len(), 1000));
}

#[test]
fn weak_clears_exactly_when_the_target_dies() {
    let heap = heap();
    let mut m = heap.mutator();
    let (strong, weak) = m.enter(|mc| {
        let obj = Gc::new(mc, 42u64);
        let w = Gc::new(mc, Gc::downgrade(obj, mc));
        (
            Root::<Rootable![u64]>::new(mc, obj),
            Root::<Rootable![Weak<'_, u64>]>::new(mc, w),
        )
    });
    for _ in 0..3 {
        heap.collect();
        m.enter(|mc| assert_eq!(weak.get(mc).upgrade(mc).map(|g| *g), Some(42)));
    }
    drop(strong);
    heap.collect();
    m.enter(|mc| assert!(weak.get(mc).upgrade(mc).is_none()));
}

#[test]
fn ephemeron_entries_vanish_with_their_key_even_if_the_value_points_back() {
    #[derive(Trace)]
    struct Back<'gc> {
        key: Gc<'gc, u32>,
    }
    let heap = heap();
    let mut m = heap.mutator();
    let (table, key, value_weak) = m.enter(|mc| {
        let table = Gc::new(mc, WeakKeyTable::<u32, Back<'_>>::new());
        let key = Gc::new(mc, 7u32);
        // The value points back to its key: it must not keep the key alive.
        let value = Gc::new(mc, Back { key });
        table.insert(mc, key, value);
        let weak = Gc::new(mc, Gc::downgrade(value, mc));
        (
            Root::<Rootable![WeakKeyTable<'_, u32, Back<'_>>]>::new(mc, table),
            Root::<Rootable![u32]>::new(mc, key),
            Root::<Rootable![Weak<'_, Back<'_>>]>::new(mc, weak),
        )
    });
    for _ in 0..2 {
        heap.collect();
        m.enter(|mc| {
            // Only the table keeps the value alive, while the key lives.
            let v = table
                .get(mc)
                .get(mc, key.get(mc))
                .expect("value kept while key lives");
            assert_eq!(*v.key, 7);
            assert_eq!(table.get(mc).len(mc), 1);
            assert!(value_weak.get(mc).upgrade(mc).is_some());
        });
    }
    drop(key);
    heap.collect();
    m.enter(|mc| {
        assert_eq!(table.get(mc).len(mc), 0);
        assert!(
            value_weak.get(mc).upgrade(mc).is_none(),
            "the value died with its key"
        );
    });
}

#[test]
fn cleanups_run_once_after_death_never_for_live_objects() {
    let heap = heap();
    let ran = Arc::new(AtomicUsize::new(0));
    let mut m = heap.mutator();
    let (live, _dead) = m.enter(|mc| {
        let live = Gc::new(mc, 1u8);
        let dead = Gc::new(mc, 2u8);
        let r1 = ran.clone();
        Gc::add_cleanup(live, mc, move || {
            r1.fetch_add(100, Ordering::SeqCst);
        });
        let r2 = ran.clone();
        let c = Gc::add_cleanup(dead, mc, move || {
            r2.fetch_add(1, Ordering::SeqCst);
        });
        (Root::<Rootable![u8]>::new(mc, live), c)
    });
    for _ in 0..3 {
        heap.collect();
        heap.run_cleanups(usize::MAX);
    }
    assert_eq!(
        ran.load(Ordering::SeqCst),
        1,
        "dead object's cleanup ran once, live one's never"
    );
    drop(live);
    heap.collect();
    heap.run_cleanups(usize::MAX);
    assert_eq!(ran.load(Ordering::SeqCst), 101);
}

#[test]
fn cancelled_cleanups_never_run() {
    let heap = heap();
    let ran = Arc::new(AtomicUsize::new(0));
    let mut m = heap.mutator();
    // Cancelled while the object is still alive (rooted), so no cycle can queue it first.
    let (c, obj) = m.enter(|mc| {
        let r = ran.clone();
        let obj = Gc::new(mc, 0u8);
        let c = Gc::add_cleanup(obj, mc, move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        (c, Root::<Rootable![u8]>::new(mc, obj))
    });
    assert!(c.cancel());
    drop(obj);
    heap.collect();
    heap.run_cleanups(usize::MAX);
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert!(!c.cancel());
}

#[test]
fn a_panic_inside_a_scope_leaves_the_heap_usable() {
    let heap = heap();
    let mut m = heap.mutator();
    let root = m.enter(|mc| {
        Root::<Rootable![RefLock<Vec<Gc<'_, u32>>>]>::new(mc, Gc::new(mc, RefLock::new(vec![])))
    });
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        m.enter(|mc| {
            let list = root.get(mc);
            let mut b = list.borrow_mut(mc);
            b.push(Gc::new(mc, 1));
            panic!("boom");
        })
    }));
    assert!(r.is_err());
    heap.collect();
    m.enter(|mc| {
        let list = root.get(mc);
        list.borrow_mut(mc).push(Gc::new(mc, 2));
        assert_eq!(
            list.borrow().iter().map(|g| **g).collect::<Vec<_>>(),
            vec![1, 2]
        );
    });
    heap.collect();
}

#[test]
fn write_tokens_unlock_fields_of_an_object() {
    #[derive(Trace)]
    struct Instance<'gc> {
        name: Gc<'gc, String>,
        fields: RefLock<Vec<Gc<'gc, u64>>>,
    }
    let heap = heap();
    let mut m = heap.mutator();
    let root = m.enter(|mc| {
        let name = Gc::new(mc, "inst".to_string());
        let inst = Gc::new(
            mc,
            Instance {
                name,
                fields: RefLock::new(vec![]),
            },
        );
        Root::<Rootable![Instance<'_>]>::new(mc, inst)
    });
    for round in 0..50u64 {
        m.enter(|mc| {
            let inst = root.get(mc);
            let w = inst.write(mc);
            w.unlock(&inst.fields).borrow_mut().push(Gc::new(mc, round));
        });
        if round % 10 == 0 {
            heap.collect();
        }
    }
    heap.collect();
    m.enter(|mc| {
        let inst = root.get(mc);
        assert_eq!(**inst.name, *"inst");
        let got: Vec<u64> = inst.fields.borrow().iter().map(|g| **g).collect();
        assert_eq!(got, (0..50).collect::<Vec<_>>());
    });
}

#[test]
#[should_panic(expected = "not part of the object")]
fn unlocking_a_foreign_reflock_panics() {
    #[derive(Trace)]
    struct Holder<'gc> {
        cell: RefLock<Vec<Gc<'gc, u8>>>,
    }
    let heap = heap();
    heap.mutator().enter(|mc| {
        let a = Gc::new(
            mc,
            Holder {
                cell: RefLock::new(vec![]),
            },
        );
        let b = Gc::new(
            mc,
            Holder {
                cell: RefLock::new(vec![]),
            },
        );
        let w = a.write(mc);
        let _ = w.unlock(&b.cell);
    });
}

#[test]
fn four_threads_share_a_graph_through_roots_while_collections_run() {
    type Items<'gc> = GcMutex<Vec<Gc<'gc, (u64, u64)>>>;
    let heap = heap();
    let mut m = heap.mutator();
    let root =
        m.enter(|mc| Root::<Rootable![Items<'_>]>::new(mc, Gc::new(mc, GcMutex::new(vec![]))));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let collector = {
        let heap = heap.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                heap.collect();
                n += 1;
            }
            n
        })
    };
    let workers: Vec<_> = (0..4u64)
        .map(|t| {
            let heap = heap.clone();
            let root = root.clone();
            std::thread::spawn(move || {
                let mut m = heap.mutator();
                for i in 0..2_000u64 {
                    m.enter(|mc| {
                        let shared = root.get(mc);
                        let item = Gc::new(mc, (t, i));
                        // Garbage to keep the collector busy.
                        for _ in 0..8 {
                            Gc::new(mc, [i; 4]);
                        }
                        let mut items = shared.lock(mc);
                        items.push(item);
                        if items.len() > 1_000 {
                            items.drain(..500);
                        }
                    });
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let cycles = collector.join().unwrap();
    assert!(cycles > 0);
    heap.collect();
    m.enter(|mc| {
        let items = root.get(mc).lock(mc);
        assert!(!items.is_empty());
        // Every surviving item is intact (its value was written once, at allocation).
        for it in items.iter() {
            assert!(it.0 < 4 && it.1 < 2_000, "corrupted item {:?}", **it);
        }
    });
}

#[test]
fn large_sequences_are_traced_in_parts_that_cover_every_element_once() {
    use std::collections::VecDeque;
    use tricolor::{TRACE_CHUNK, Tracer};
    fn parts<'gc, T: Trace<'gc>>(v: &T) -> (usize, Vec<usize>) {
        let mut n = 0;
        let edges = Tracer::record(|t| {
            while v.trace_chunk(t, n) {
                n += 1;
            }
        });
        (n + 1, edges.iter().map(|p| p.as_ptr() as usize).collect())
    }
    let heap = heap();
    heap.mutator().enter(|mc| {
        let items: Vec<Gc<'_, u32>> = (0..2 * TRACE_CHUNK as u32 + 5)
            .map(|i| Gc::new(mc, i))
            .collect();
        let whole: Vec<usize> = Tracer::record(|t| items.trace(t))
            .iter()
            .map(|p| p.as_ptr() as usize)
            .collect();
        assert_eq!(whole.len(), items.len());
        assert_eq!(parts(&items), (3, whole.clone()));
        let lock = RefLock::new(items.clone());
        assert_eq!(parts(&lock), (3, whole.clone()));
        // A ring buffer whose contents wrap around.
        let mut ring: VecDeque<Gc<'_, u32>> = VecDeque::with_capacity(items.len());
        ring.extend(items.iter().copied());
        for _ in 0..700 {
            let x = ring.pop_front().unwrap();
            ring.push_back(x);
        }
        let ring_whole: Vec<usize> = Tracer::record(|t| ring.trace(t))
            .iter()
            .map(|p| p.as_ptr() as usize)
            .collect();
        assert_eq!(parts(&ring).1, ring_whole);
        // Small values are one part.
        assert_eq!(parts(&items[..10].to_vec()).0, 1);
    });
}

#[test]
fn a_large_container_mutated_during_back_to_back_collections_loses_nothing() {
    type Big<'gc> = RefLock<Vec<Gc<'gc, u64>>>;
    let heap = heap();
    let mut m = heap.mutator();
    let root = m.enter(|mc| {
        let v: Vec<Gc<'_, u64>> = (0..20_000u64).map(|i| Gc::new(mc, i)).collect();
        Root::<Rootable![Big<'_>]>::new(mc, Gc::new(mc, RefLock::new(v)))
    });
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let collector = {
        let heap = heap.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                heap.collect();
            }
        })
    };
    let mut next = 20_000u64;
    for round in 0..400u64 {
        m.enter(|mc| {
            let big = root.get(mc);
            // Rotate: move the first 50 elements to the end (each held only by this stack in
            // between) and replace 10 with new objects.
            let mut v = big.borrow_mut(mc);
            let moved: Vec<_> = v.drain(..50).collect();
            for _ in 0..10 {
                Gc::new(mc, [round; 8]); // garbage
            }
            v.extend(moved);
            for i in 0..10 {
                let at = (round as usize * 37 + i * 101) % v.len();
                v[at] = Gc::new(mc, next);
                next += 1;
            }
        });
    }
    stop.store(true, Ordering::Relaxed);
    collector.join().unwrap();
    heap.collect();
    m.enter(|mc| {
        let big = root.get(mc);
        let v = big.borrow();
        assert_eq!(v.len(), 20_000);
        let mut seen = std::collections::HashSet::new();
        for g in v.iter() {
            assert!(**g < next, "corrupted element {}", **g);
            assert!(seen.insert(**g), "duplicate element {}", **g);
        }
    });
    // The container, its buffer's 20 000 elements and nothing else.
    assert_eq!(heap.stats().objects_in_use, 20_001);
}

#[test]
#[should_panic(expected = "inside a mutation scope of the same heap")]
fn collect_inside_a_scope_panics_instead_of_waiting_forever() {
    let heap = heap();
    heap.mutator().enter(|mc| mc.heap().collect());
}

#[test]
fn collect_inside_a_scope_of_another_heap_is_fine() {
    let a = heap();
    let b = heap();
    let mut m = a.mutator();
    m.enter(|_| b.collect());
    a.collect();
}

#[test]
fn the_pacer_starts_cycles_at_its_trigger_not_on_requests_from_the_last_cycle() {
    const MIB: usize = 1 << 20;
    let heap = heap();
    let mut m = heap.mutator();
    // 8 MiB live (above the minimum goal), then 192 MiB of short-lived garbage. While a cycle
    // marks, the pacer's count is still the one that reached the trigger, so allocation slow
    // paths during the cycle see it past the trigger: such a request must not start the next
    // cycle once this one has reset the count.
    let _root = m.enter(|mc| {
        let v: Vec<Gc<'_, [u64; 64]>> = (0..16_384).map(|i| Gc::new(mc, [i; 64])).collect();
        Root::<Rootable![Vec<Gc<'_, [u64; 64]>>]>::new(mc, Gc::new(mc, v))
    });
    let mut seen = Vec::new();
    let mut allocated = 0;
    while allocated < 192 * MIB {
        m.enter(|mc| {
            for i in 0..256u64 {
                std::hint::black_box(Gc::new(mc, [i; 8]));
            }
        });
        allocated += 256 * 64;
        if let Some(c) = heap.stats().last_cycle
            && seen
                .last()
                .is_none_or(|l: &tricolor::CycleSummary| l.number != c.number)
        {
            seen.push(c);
        }
    }
    let paced: Vec<_> = seen
        .iter()
        .filter(|c| c.number > 1 && !c.forced && !c.periodic)
        .collect();
    assert!(paced.len() >= 5, "too few cycles to judge: {seen:?}");
    for c in paced {
        assert!(
            c.paced_heap_start >= c.trigger,
            "cycle {} started at {} bytes as the pacer counts them, below its trigger {}",
            c.number,
            c.paced_heap_start,
            c.trigger
        );
    }
}

#[test]
fn freed_memory_goes_back_to_the_os_down_to_the_goal() {
    const MIB: usize = 1 << 20;
    let heap = heap();
    let mut m = heap.mutator();
    // 64 MiB of 1 KiB objects, reachable from one rooted vector.
    let root = m.enter(|mc| {
        let v: Vec<Gc<'_, [u64; 128]>> = (0..65_536).map(|i| Gc::new(mc, [i; 128])).collect();
        Root::<Rootable![Vec<Gc<'_, [u64; 128]>>]>::new(mc, Gc::new(mc, v))
    });
    heap.collect();
    let backed = |s: &tricolor::MemStats| s.heap_obtained_bytes - s.heap_released_bytes;
    assert!(
        backed(&heap.stats()) >= 64 * MIB,
        "the live objects are backed"
    );
    drop(root);
    heap.collect();
    heap.collect();
    // The background scavenger runs every 100 ms or so; give it a few seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let s = loop {
        let s = heap.stats();
        if backed(&s) <= s.heap_goal + s.heap_goal / 10 + MIB
            || std::time::Instant::now() > deadline
        {
            break s;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(
        backed(&s) <= s.heap_goal + s.heap_goal / 10 + MIB,
        "backed {} MiB, goal {} MiB: {s:?}",
        backed(&s) / MIB,
        s.heap_goal / MIB
    );
    assert!(
        s.heap_goal < 16 * MIB,
        "an empty heap's goal is the minimum"
    );
}

#[test]
fn rootable_elides_the_brand_inside_tuples_and_arrays() {
    type Pair = Rootable![(Gc<'_, u8>, [Option<Gc<'_, u32>>; 2], u64)];
    let heap = heap();
    let mut m = heap.mutator();
    let root: Root<Pair> = m.enter(|mc| {
        let pair = (Gc::new(mc, 7u8), [Some(Gc::new(mc, 8u32)), None], 9u64);
        Root::new(mc, Gc::new(mc, pair))
    });
    heap.collect();
    m.enter(|mc| {
        let (a, [b, c], d) = *root.get(mc);
        assert_eq!((*a, *b.unwrap(), c.is_none(), d), (7, 8, true, 9));
    });
}
