//! Hans Boehm's *GCBench* (the classic `GCBench.java`, as translated to many languages).
//!
//! Nodes have `left`, `right` and two integer fields `i`, `j`. With `TreeSize(d) = 2^(d+1) − 1`
//! and `NumIters(d) = 2·TreeSize(stretch) / TreeSize(d)`:
//!
//! 1. *stretch*: `MakeTree(stretch)` and drop it;
//! 2. *long-lived tree*: a new node, `Populate(long_lived, node)`, kept to the end;
//! 3. *long-lived array* of `array_size` doubles, the first half set to `1/i`, kept to the end;
//! 4. for `d = min, min + 2, …, max`: `NumIters(d)` times a **top-down** tree (a new node then
//!    `Populate(d, node)`, which *mutates* the `left`/`right` fields of already-allocated nodes,
//!    so GC peers need their mutable cells and write barriers), then `NumIters(d)` times a
//!    **bottom-up** tree (`MakeTree(d)`), each dropped at once;
//! 5. probe: walk the long-lived tree and read `array[1000]`.
//!
//! `Populate(d, n)`: if `d > 0`, set `n.left` and `n.right` to new nodes and populate both with
//! `d − 1`. `MakeTree(d)`: a new node whose children are `MakeTree(d − 1)` (none at `d = 0`).
//!
//! Checksum: the number of nodes allocated, plus the node count of the long-lived tree, plus
//! `round(array[k] · k)` (1 when the array is intact).

use std::fmt;

use super::Size;

/// Parameters of GCBench (`k…` names as in the original).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// `kStretchTreeDepth` (18).
    pub stretch_depth: u32,
    /// `kLongLivedTreeDepth` (16).
    pub long_lived_depth: u32,
    /// `kArraySize` (500,000).
    pub array_size: usize,
    /// `kMinTreeDepth` (4).
    pub min_depth: u32,
    /// `kMaxTreeDepth` (16).
    pub max_depth: u32,
}

impl Params {
    /// The classic parameters.
    pub const CLASSIC: Params = Params {
        stretch_depth: 18,
        long_lived_depth: 16,
        array_size: 500_000,
        min_depth: 4,
        max_depth: 16,
    };

    /// The parameters at `size`.
    pub fn for_size(size: Size) -> Self {
        match size {
            Size::Tiny => Params {
                stretch_depth: 10,
                long_lived_depth: 8,
                array_size: 4_000,
                min_depth: 4,
                max_depth: 8,
            },
            Size::Ci => Params {
                stretch_depth: 16,
                long_lived_depth: 14,
                array_size: 125_000,
                min_depth: 4,
                max_depth: 14,
            },
            Size::Report => Params::CLASSIC,
        }
    }

    /// The depths of the timed trees.
    pub fn depths(&self) -> impl Iterator<Item = u32> {
        (self.min_depth..=self.max_depth).step_by(2)
    }

    /// `NumIters(d)`.
    pub fn num_iters(&self, d: u32) -> u64 {
        2 * tree_size(self.stretch_depth) / tree_size(d)
    }

    /// The array index probed at the end (1000, or less for tiny arrays).
    pub fn probe_index(&self) -> usize {
        1000.min(self.array_size / 2 - 1)
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stretch {}, long-lived {}, array {}, depths {}..={}",
            self.stretch_depth,
            self.long_lived_depth,
            self.array_size,
            self.min_depth,
            self.max_depth
        )
    }
}

/// `TreeSize(d)`: nodes in a complete tree of depth `d`.
pub fn tree_size(d: u32) -> u64 {
    (1u64 << (d + 1)) - 1
}

/// The checksum of a correct run, in closed form.
pub fn expected_checksum(p: &Params) -> u64 {
    let allocated = tree_size(p.stretch_depth)
        + tree_size(p.long_lived_depth)
        + p.depths()
            .map(|d| 2 * p.num_iters(d) * tree_size(d))
            .sum::<u64>();
    allocated + tree_size(p.long_lived_depth) + 1
}

/// The heap operations a peer provides for GCBench. Each returns the number of nodes it
/// allocated, counted as they are allocated.
pub trait GcBenchHeap {
    /// `MakeTree(d)` (bottom-up), then drop the tree.
    fn make_tree_drop(&mut self, d: u32) -> u64;
    /// A new node, `Populate(d, node)` (top-down, mutating), then drop the tree.
    fn populate_drop(&mut self, d: u32) -> u64;
    /// A new node, `Populate(d, node)`, kept alive to the end of the run.
    fn make_long_lived(&mut self, d: u32) -> u64;
    /// Keep the array alive to the end of the run (in the peer's own managed box).
    fn keep_array(&mut self, array: Vec<f64>);
    /// Walk the long-lived tree (returning its node count) and read `array[index]`.
    fn probe(&mut self, index: usize) -> (u64, f64);
}

/// Runs GCBench on `heap`; returns the checksum.
pub fn run(p: &Params, heap: &mut impl GcBenchHeap) -> u64 {
    let mut allocated = heap.make_tree_drop(p.stretch_depth);
    allocated += heap.make_long_lived(p.long_lived_depth);
    let mut array = vec![0.0f64; p.array_size];
    for (i, x) in array.iter_mut().take(p.array_size / 2).enumerate() {
        *x = 1.0 / i as f64;
    }
    heap.keep_array(array);
    for d in p.depths() {
        let iters = p.num_iters(d);
        for _ in 0..iters {
            allocated += heap.populate_drop(d);
        }
        for _ in 0..iters {
            allocated += heap.make_tree_drop(d);
        }
    }
    let k = p.probe_index();
    let (long_lived, value) = heap.probe(k);
    allocated + long_lived + (value * k as f64).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_iteration_counts() {
        let p = Params::CLASSIC;
        // As printed by the original: "Creating 33824 trees of depth 4", 8256 of 6, ..., 8 of 16.
        assert_eq!(p.num_iters(4), 33824);
        assert_eq!(p.num_iters(6), 8256);
        assert_eq!(p.num_iters(16), 8);
        assert_eq!(p.depths().count(), 7);
        assert_eq!(p.probe_index(), 1000);
        assert_eq!(Params::for_size(Size::Tiny).probe_index(), 1000);
    }
}
