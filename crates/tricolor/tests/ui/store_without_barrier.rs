// GC pointers inside objects change only through barriered cells: a plain field cannot be
// assigned through a `Gc`, and a std `Cell` of a `Gc` is not `Trace`.
use std::cell::Cell;
use tricolor::{Gc, Heap, Trace};

#[derive(Trace)]
struct Plain<'gc> {
    next: Option<Gc<'gc, Plain<'gc>>>,
}

#[derive(Trace)]
struct Sneaky<'gc> {
    next: Cell<Option<Gc<'gc, Sneaky<'gc>>>>,
}

fn main() {
    Heap::new().mutator().enter(|mc| {
        let a = Gc::new(mc, Plain { next: None });
        let b = Gc::new(mc, Plain { next: None });
        a.next = Some(b);
    });
}
