// A traced field's type must implement `Trace`; `Rc` deliberately does not.
use tricolor::Trace;

#[derive(Trace)]
struct Shared {
    value: std::rc::Rc<u32>,
}

#[derive(Trace)]
enum Pointer {
    Raw(*const u8),
}

fn main() {}
