// The brand is the lifetime parameter named `'gc` (or the one named by
// `#[trace(gc_lifetime = "...")]`). A type whose GC pointers carry another lifetime, without the
// option, gets a fresh `'gc` brand that its fields are not `Trace` for.
use std::marker::PhantomData;
use tricolor::{Trace, Tracer};

/// Like `Gc<'gc, T>`: invariant in `'gc`, and `Trace<'gc>` only for its own brand.
struct FakeGc<'gc>(PhantomData<fn(&'gc ()) -> &'gc ()>);

unsafe impl<'gc> Trace<'gc> for FakeGc<'gc> {
    fn trace(&self, _tracer: &mut Tracer) {}
}

#[derive(Trace)]
struct Unnamed<'a> {
    pointer: FakeGc<'a>,
}

#[derive(Trace)]
#[trace(gc_lifetime = "'a")]
struct Named<'a> {
    pointer: FakeGc<'a>, // OK
}

fn main() {}
