// A root of a type that is not `Sync` (it has a `RefLock`) cannot go to another thread.
use tricolor::{Gc, Heap, RefLock, Root, Rootable};

fn main() {
    let heap = Heap::new();
    let root = heap
        .mutator()
        .enter(|mc| Root::<Rootable![RefLock<u32>]>::new(mc, Gc::new(mc, RefLock::new(0))));
    std::thread::spawn(move || drop(root));
}
