// A `Gc` cannot leave the scope it was made in.
use tricolor::{Gc, Heap};

fn main() {
    let heap = Heap::new();
    let mut m = heap.mutator();
    let escaped = m.enter(|mc| Gc::new(mc, 1u32));
    println!("{}", *escaped);
}
