// std cells are `Trace` only around `'static + Send` contents, so a `RefCell` or `Cell` can never
// hold a branded GC pointer (writes through it would bypass the write barrier).
use std::cell::{Cell, RefCell};
use tricolor::Trace;

#[derive(Trace)]
struct Cells<'a> {
    refcell: RefCell<&'a u32>,
}

#[derive(Trace)]
struct NotSend {
    cell: Cell<std::rc::Rc<u32>>,
}

fn main() {}
