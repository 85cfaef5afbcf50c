// A value holding a GC pointer branded `'a` is `Trace<'a>` only: it cannot be placed in the heap
// of another scope `'b` (`Gc::new` requires `T: Trace<'b>`), not even of a scope nested inside
// `'a`'s. This is what keeps pointers from crossing heaps or bypassing the barriers.
use std::marker::PhantomData;
use tricolor::{Trace, Tracer};

/// Like `Gc<'gc, T>`: invariant in `'gc`, and `Trace<'gc>` only for its own brand.
struct FakeGc<'gc>(PhantomData<fn(&'gc ()) -> &'gc ()>);

unsafe impl<'gc> Trace<'gc> for FakeGc<'gc> {
    fn trace(&self, _tracer: &mut Tracer) {}
}

#[derive(Trace)]
struct Holder<'gc> {
    pointer: FakeGc<'gc>,
    count: u32,
}

/// Stands for `Gc::new(mc, value)` in a scope branded `'b`.
fn needs<'b, T: Trace<'b>>(_value: T) {}

fn same_brand<'a>(x: Holder<'a>) {
    needs::<'a, _>(x); // OK
}

fn unrelated<'a, 'b>(x: Holder<'a>) {
    needs::<'b, _>(x);
}

// An outer scope's pointer moved into an object of an inner scope.
fn nested<'outer: 'inner, 'inner>(x: Holder<'outer>) {
    needs::<'inner, _>(x);
}

fn std_container<'a, 'b>(x: Vec<Option<FakeGc<'a>>>) {
    needs::<'b, _>(x);
}

fn main() {}
