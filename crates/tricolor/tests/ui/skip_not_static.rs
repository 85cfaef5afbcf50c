// A skipped field must be `'static`: a borrowed field could be (or hold) a `'gc`-branded pointer.
use tricolor::Trace;

#[derive(Trace)]
struct Borrowing<'a> {
    id: u32,
    #[trace(skip)]
    bytes: &'a u8,
}

#[derive(Trace)]
struct GenericSkip<T> {
    #[trace(skip)]
    value: T,
}

fn main() {}
