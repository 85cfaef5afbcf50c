// A `Gc` from one scope cannot be stored in an object of another scope (another mutator, or
// another heap): the brands differ, so it is not `Trace` for the inner scope's brand.
use tricolor::{Gc, Heap};

fn main() {
    let heap = Heap::new();
    let mut outer = heap.mutator();
    let mut inner = heap.mutator();
    outer.enter(|mc1| {
        let a = Gc::new(mc1, 1u32);
        inner.enter(|mc2| {
            let _b = Gc::new(mc2, a);
        });
    });
}
