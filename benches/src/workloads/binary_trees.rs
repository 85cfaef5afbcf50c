//! The Computer Language Benchmarks Game's *binary-trees*.
//!
//! With `max = max(MIN_DEPTH + 2, n)`: build and check a *stretch* tree of depth `max + 1` and
//! drop it; build a *long-lived* tree of depth `max` and keep it; then for
//! `d = MIN_DEPTH, MIN_DEPTH + 2, …, max` build, check and drop `2^(max − d + MIN_DEPTH)` trees of
//! depth `d`; finally check the long-lived tree. A tree of depth 0 is a single node; `check`
//! counts the nodes (`1 + check(left) + check(right)`), so a tree of depth `d` checks to
//! `2^(d+1) − 1`.
//!
//! Checksum: the sum of every check (stretch, all iterations, long-lived).

use std::fmt;

use super::Size;

/// The smallest depth of the iterated trees.
pub const MIN_DEPTH: u32 = 4;

/// Parameters of binary-trees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// `n`, the requested maximum depth (21 is the standard size).
    pub depth: u32,
}

impl Params {
    /// The parameters at `size`.
    pub fn for_size(size: Size) -> Self {
        Params {
            depth: match size {
                Size::Tiny => 8,
                Size::Ci => 14,
                Size::Report => 21,
            },
        }
    }

    /// The effective maximum depth, `max(MIN_DEPTH + 2, depth)`.
    pub fn max_depth(&self) -> u32 {
        self.depth.max(MIN_DEPTH + 2)
    }

    /// The depths of the iterated trees.
    pub fn depths(&self) -> impl Iterator<Item = u32> {
        (MIN_DEPTH..=self.max_depth()).step_by(2)
    }

    /// How many trees of depth `d` are built.
    pub fn iterations(&self, d: u32) -> u64 {
        1 << (self.max_depth() - d + MIN_DEPTH)
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "depth {}", self.depth)
    }
}

/// The number of nodes of a complete tree of depth `d`.
pub fn tree_nodes(d: u32) -> u64 {
    (1u64 << (d + 1)) - 1
}

/// The checksum of a correct run, in closed form.
pub fn expected_checksum(p: &Params) -> u64 {
    let max = p.max_depth();
    tree_nodes(max + 1)
        + p.depths()
            .map(|d| p.iterations(d) * tree_nodes(d))
            .sum::<u64>()
        + tree_nodes(max)
}

/// The heap operations a peer provides for binary-trees.
pub trait TreeHeap {
    /// Build a tree of depth `d` bottom-up, check it (count its nodes by walking it), drop it, and
    /// return the check.
    fn make_check_drop(&mut self, d: u32) -> u64;
    /// Build a tree of depth `d` and keep it alive until the end of the run.
    fn make_long_lived(&mut self, d: u32);
    /// Check the long-lived tree.
    fn check_long_lived(&mut self) -> u64;
}

/// Runs binary-trees on `heap`; returns the checksum.
pub fn run(p: &Params, heap: &mut impl TreeHeap) -> u64 {
    let max = p.max_depth();
    let mut sum = heap.make_check_drop(max + 1);
    heap.make_long_lived(max);
    for d in p.depths() {
        for _ in 0..p.iterations(d) {
            sum += heap.make_check_drop(d);
        }
    }
    sum + heap.check_long_lived()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_form_matches_the_published_output_for_10() {
        // The Benchmarks Game's reference output for n = 10:
        // stretch tree of depth 11 check: 4095
        // 1024 trees of depth 4 check: 31744
        // 256 trees of depth 6 check: 32512
        // 64 trees of depth 8 check: 32704
        // 16 trees of depth 10 check: 32752
        // long lived tree of depth 10 check: 2047
        let p = Params { depth: 10 };
        assert_eq!(p.iterations(4), 1024);
        assert_eq!(p.iterations(10), 16);
        assert_eq!(
            expected_checksum(&p),
            4095 + 31744 + 32512 + 32704 + 32752 + 2047
        );
        assert_eq!(Params { depth: 2 }.max_depth(), 6);
    }
}
