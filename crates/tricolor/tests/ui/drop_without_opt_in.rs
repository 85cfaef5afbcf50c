// A derived type must not implement `Drop` (its `drop` could dereference a GC pointer whose
// target the sweeper already freed) unless it opts in with `#[trace(unsafe_drop)]`.
use tricolor::Trace;

#[derive(Trace)]
struct Handle {
    id: u32,
}

impl Drop for Handle {
    fn drop(&mut self) {}
}

#[derive(Trace)]
enum Generic<'gc, T> {
    Value(T),
    Marker(std::marker::PhantomData<&'gc ()>),
}

impl<T> Drop for Generic<'_, T> {
    fn drop(&mut self) {}
}

fn main() {}
