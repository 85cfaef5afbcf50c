//! *churn*: allocate many small objects, keeping only a sliding window of the newest alive.
//!
//! Object `k` (for `k` in `0..allocations`) is a 32-byte `[u64; 4]` payload, [`payload`]`(k)`.
//! Handles live in a ring buffer of `window` slots: the first `window` allocations fill it, every
//! later one replaces (and drops) the oldest. Each object is read once, when it is evicted or at
//! the end, and [`value`] of it is added to a wrapping sum: the checksum, `Σ (k + 1)`.
//!
//! The multi-thread variant splits `0..allocations` into contiguous ranges, one per thread
//! ([`thread_range`]); each thread has its own window of `window` slots, all threads allocate
//! from one shared heap, and the checksum is the sum over threads, so it equals the
//! single-thread checksum.

use std::fmt;
use std::ops::Range;

use super::Size;

/// The allocated object.
pub type Payload = [u64; 4];

/// Parameters of churn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// Total number of allocations (over all threads).
    pub allocations: u64,
    /// Objects kept alive (per thread).
    pub window: usize,
}

impl Params {
    /// The parameters at `size`.
    pub fn for_size(size: Size) -> Self {
        match size {
            Size::Tiny => Params {
                allocations: 20_000,
                window: 1_000,
            },
            Size::Ci => Params {
                allocations: 2_000_000,
                window: 100_000,
            },
            Size::Report => Params {
                allocations: 50_000_000,
                window: 100_000,
            },
        }
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} allocations of 32 B, window {}",
            self.allocations, self.window
        )
    }
}

/// The payload of object `k`.
#[inline]
pub fn payload(k: u64) -> Payload {
    [k, k.wrapping_mul(0x9E37_79B9_7F4A_7C15), !k, 1]
}

/// What reading an object contributes to the checksum (`k + 1` for object `k`).
#[inline]
pub fn value(p: &Payload) -> u64 {
    p[0].wrapping_add(p[3])
}

/// The allocations done by thread `t` of `threads`.
pub fn thread_range(p: &Params, t: usize, threads: usize) -> Range<u64> {
    let n = u128::from(p.allocations);
    let start = n * t as u128 / threads as u128;
    let end = n * (t as u128 + 1) / threads as u128;
    start as u64..end as u64
}

/// The checksum of a correct run, in closed form.
pub fn expected_checksum(p: &Params) -> u64 {
    let n = u128::from(p.allocations);
    (n * (n + 1) / 2) as u64
}

/// A ring buffer of handles: the window. Generic over the handle type so that the manual and
/// reference-counted peers can share it; GC peers whose handles must live inside their heap keep
/// their own.
pub struct Window<H> {
    slots: Vec<H>,
    capacity: usize,
    next: usize,
}

impl<H> Window<H> {
    /// An empty window of `capacity` slots.
    pub fn new(capacity: usize) -> Self {
        assert!(capacity > 0);
        Window {
            slots: Vec::with_capacity(capacity),
            capacity,
            next: 0,
        }
    }

    /// Inserts `h`, returning the evicted oldest handle once the window is full.
    #[inline]
    pub fn push(&mut self, h: H) -> Option<H> {
        if self.slots.len() < self.capacity {
            self.slots.push(h);
            None
        } else {
            let old = std::mem::replace(&mut self.slots[self.next], h);
            self.next += 1;
            if self.next == self.capacity {
                self.next = 0;
            }
            Some(old)
        }
    }

    /// The handles still in the window.
    pub fn into_handles(self) -> Vec<H> {
        self.slots
    }
}

/// Runs one thread's share of churn with handles made by `alloc` and read by `read`.
#[inline]
pub fn run_range<H>(
    range: Range<u64>,
    window: usize,
    mut alloc: impl FnMut(Payload) -> H,
    read: impl Fn(&H) -> u64,
) -> u64 {
    let mut ring = Window::new(window);
    let mut sum = 0u64;
    for k in range {
        if let Some(old) = ring.push(alloc(payload(k))) {
            sum = sum.wrapping_add(read(&old));
        }
    }
    for h in ring.into_handles() {
        sum = sum.wrapping_add(read(&h));
    }
    sum
}

/// Runs churn split over `threads` scoped threads, each calling `worker(range)`, and sums the
/// results.
pub fn run_threads(p: &Params, threads: usize, worker: impl Fn(Range<u64>) -> u64 + Sync) -> u64 {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let r = thread_range(p, t, threads);
                let worker = &worker;
                s.spawn(move || worker(r))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("churn worker panicked"))
            .fold(0u64, u64::wrapping_add)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_partition_the_allocations() {
        let p = Params {
            allocations: 1001,
            window: 10,
        };
        assert_eq!(thread_range(&p, 0, 1), 0..1001);
        assert_eq!(thread_range(&p, 0, 2), 0..500);
        assert_eq!(thread_range(&p, 1, 2), 500..1001);
    }

    #[test]
    fn window_evicts_oldest_first() {
        let mut w = Window::new(3);
        assert_eq!(w.push(1), None);
        assert_eq!(w.push(2), None);
        assert_eq!(w.push(3), None);
        assert_eq!(w.push(4), Some(1));
        assert_eq!(w.push(5), Some(2));
        assert_eq!(w.into_handles(), vec![4, 5, 3]);
    }

    #[test]
    fn checksum_closed_form() {
        let p = Params {
            allocations: 12_345,
            window: 100,
        };
        let direct = run_range(0..p.allocations, p.window, Box::new, |b| value(b));
        assert_eq!(direct, expected_checksum(&p));
        let threaded = run_threads(&p, 3, |r| run_range(r, p.window, Box::new, |b| value(b)));
        assert_eq!(threaded, expected_checksum(&p));
    }
}
