// A skipped field must be `Send`: the sweeper may drop the object on another thread.
use tricolor::Trace;

#[derive(Trace)]
struct Shared {
    #[trace(static)]
    count: std::rc::Rc<u8>,
}

fn main() {}
