// A `Mutation` belongs to the thread that entered the scope: it cannot be used from another.
use tricolor::{Gc, Heap};

fn main() {
    Heap::new().mutator().enter(|mc| {
        std::thread::scope(|s| {
            s.spawn(|| Gc::new(mc, 1u32));
        });
    });
}
