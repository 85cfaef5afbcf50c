// A std `RefCell` holding GC pointers is not `Trace` (writes through it would skip the barrier).
use std::cell::RefCell;
use tricolor::{Gc, Trace};

#[derive(Trace)]
struct Holder<'gc> {
    items: RefCell<Vec<Gc<'gc, u32>>>,
}

fn main() {}
