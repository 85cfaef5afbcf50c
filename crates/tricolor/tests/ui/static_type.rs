// A `#[trace(static)]` type must itself be `'static + Send`.
use tricolor::Trace;

#[derive(Trace)]
#[trace(static)]
struct Borrowed<'a>(&'a str);

#[derive(Trace)]
#[trace(static)]
enum NotSend {
    Shared(std::rc::Rc<u8>),
}

fn main() {}
