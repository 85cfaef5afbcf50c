//! Deep object graphs: marking and sweeping use bounded native stack whatever the depth.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tricolor::{Config, Gc, Heap, Root, Rootable, Trace};

#[derive(Trace)]
#[trace(unsafe_drop)]
struct Link<'gc> {
    next: Option<Gc<'gc, Link<'gc>>>,
    #[trace(static)]
    drops: Option<Arc<AtomicUsize>>,
}

impl Drop for Link<'_> {
    fn drop(&mut self) {
        if let Some(d) = &self.drops {
            d.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[test]
fn ten_million_element_list_is_marked_and_swept_without_overflow() {
    const N: usize = 10_000_000;
    let heap = Heap::with_config(Config::default()).unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let mut m = heap.mutator();
    // Build it in slices of scopes, extending a rooted head, so collections can run meanwhile.
    let mut head = m.enter(|mc| {
        Root::<Rootable![Link<'_>]>::new(
            mc,
            Gc::new(
                mc,
                Link {
                    next: None,
                    drops: None,
                },
            ),
        )
    });
    for _ in 0..N / 100_000 {
        head = m.enter(|mc| {
            let mut cur = head.get(mc);
            for i in 0..100_000 {
                cur = Gc::new(
                    mc,
                    Link {
                        next: Some(cur),
                        // Count drops of a sample, to check sweeping without slowing it down.
                        drops: (i % 1000 == 0).then(|| drops.clone()),
                    },
                );
            }
            Root::new(mc, cur)
        });
    }
    heap.collect();
    let len = m.enter(|mc| {
        let mut n = 0;
        let mut cur = Some(head.get(mc));
        while let Some(l) = cur {
            n += 1;
            cur = l.next;
        }
        n
    });
    assert_eq!(len, N + 1, "the whole list survived marking");
    assert_eq!(drops.load(Ordering::Relaxed), 0);
    let before = heap.stats().objects_in_use;
    assert!(before as usize > N);
    drop(head);
    heap.collect();
    assert_eq!(
        drops.load(Ordering::Relaxed),
        N / 1000,
        "every sampled link dropped once"
    );
    let after = heap.stats().objects_in_use;
    assert!(after < 1000, "the list was freed: {after} objects left");
}
