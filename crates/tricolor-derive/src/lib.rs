//! `#[derive(Trace)]` for the [tricolor] garbage collector.
//!
//! Use it through the `tricolor` crate, which re-exports the macro next to the trait it
//! implements (`use tricolor::Trace;` brings both into scope). See [`macro@Trace`] for the full
//! reference.
//!
//! [tricolor]: https://docs.rs/tricolor
#![deny(missing_docs)]

mod attrs;
mod expand;

use proc_macro::TokenStream;

/// Derives `tricolor::Trace<'gc>` for a struct or an enum.
///
/// The generated `unsafe impl` reports every field to the tracer, computes the trait's two
/// constants from the fields' types, and checks at compile time the parts of the trait's safety
/// contract that the field-by-field traversal cannot guarantee by itself. It is an impl for one
/// brand `'gc` (see [The brand](#the-brand)), and every traced field must be `Trace<'gc>` for that
/// same brand.
///
/// ```
/// use std::collections::HashMap;
/// use tricolor::Trace;
///
/// #[derive(Trace)]
/// struct Frame<V> {
///     slots: Vec<V>,
///     names: HashMap<String, usize>,
///     // Not traced; checked at compile time to be `'static + Send`.
///     #[trace(skip)]
///     source_line: u32,
/// }
///
/// #[derive(Trace)]
/// enum Value<V> {
///     Nil,
///     Number(f64),
///     Pair { head: V, tail: V },
/// }
///
/// // Plain data holds no GC pointers: the collector never scans it.
/// assert!(!<Frame<u64> as Trace<'_>>::NEEDS_TRACE);
/// assert!(!<Value<u64> as Trace<'_>>::NEEDS_CLAIM);
/// ```
///
/// In a real program the fields are `Gc<'gc, T>` pointers, barriered cells and containers of
/// them, branded with the type's `'gc` lifetime; the derived impl is then `NEEDS_TRACE = true`:
///
/// ```ignore
/// use tricolor::{Gc, RefLock, Trace};
///
/// #[derive(Trace)]
/// struct Closure<'gc> {
///     function: Gc<'gc, Function<'gc>>,
///     upvalues: Box<[Gc<'gc, RefLock<Value<'gc>>>]>,
/// }
/// ```
///
/// # What is generated
///
/// For `struct S<'gc, T, const N: usize> { a: A, b: B }` the derive produces (in outline):
///
/// ```text
/// unsafe impl<'gc, T, const N: usize> ::tricolor::Trace<'gc> for S<'gc, T, N>
/// where
///     T: ::tricolor::Trace<'gc>,
/// {
///     const NEEDS_TRACE: bool = <A as Trace<'gc>>::NEEDS_TRACE || <B as Trace<'gc>>::NEEDS_TRACE;
///     const NEEDS_CLAIM: bool = <A as Trace<'gc>>::NEEDS_CLAIM || <B as Trace<'gc>>::NEEDS_CLAIM;
///     fn trace(&self, tracer: &mut Tracer) {
///         <A as Trace<'gc>>::trace(&self.a, tracer);
///         <B as Trace<'gc>>::trace(&self.b, tracer);
///     }
/// }
/// ```
///
/// * `trace` calls `Trace::trace` on each traced field, in declaration order, and nothing else:
///   it never recurses into the objects the fields point to (the collector does that from its
///   work list). For an enum it matches on `self` and visits only the active variant's fields.
/// * `NEEDS_TRACE` and `NEEDS_CLAIM` are the OR of the traced fields' constants (`false` if no
///   field is traced). A type of plain data is therefore never scanned, and a type is claimed
///   before tracing only if one of its fields contains a lock cell such as `RefLock`.
/// * Every traced field's type is named as `Trace<'gc>` with the impl's own brand, so a field of a
///   type that is `Trace` only for another brand does not compile.
/// * Every type parameter gets a `T: Trace<'gc>` bound. Lifetime parameters and const parameters
///   are kept as they are, and so is the type's own where clause.
///
/// # The brand
///
/// A `Gc<'gc, T>` is branded with the lifetime `'gc` of the mutation scope it belongs to, and is
/// `Trace<'gc>` for that brand only. The derived impl is for one brand:
///
/// * if the type has a lifetime parameter named `'gc`, that is the brand (`impl<'gc> Trace<'gc>
///   for S<'gc>`), and fields such as `Gc<'gc, _>` are traced for it;
/// * otherwise the impl adds a fresh `'gc` parameter (`impl<'gc, 'a> Trace<'gc> for S<'a>`): the
///   type is `Trace` for every brand, which is right for a type holding no GC pointers.
///
/// So **a type holding GC pointers must name its brand lifetime `'gc`**, or name it with
/// `#[trace(gc_lifetime = "'a")]`. A type whose pointers carry another lifetime (`Gc<'a, _>` in
/// `struct S<'a>`) without the option fails to compile with "lifetime may not live long enough ...
/// requires that `'gc` must outlive `'a`" at the field.
///
/// ```
/// # use std::marker::PhantomData;
/// # use tricolor::Trace;
/// // `'src` is not the brand: `Token<'src>` is `Trace<'gc>` for every `'gc`.
/// #[derive(Trace)]
/// struct Token<'src> {
///     kind: u8,
///     source: PhantomData<&'src str>,
/// }
///
/// fn for_every_brand<'gc, 'src>() -> bool {
///     <Token<'src> as Trace<'gc>>::NEEDS_TRACE
/// }
/// assert!(!for_every_brand());
/// ```
///
/// The name `'gc` (or the name given with `gc_lifetime`) is in scope in a custom
/// `#[trace(bound = "...")]`.
///
/// # Type options
///
/// Written as `#[trace(...)]` on the struct or enum; several options may share one attribute
/// (`#[trace(unsafe_drop, bound = "")]`) or be spread over several.
///
/// * **`#[trace(static)]`** (alias **`#[trace(no_trace)]`**): the type holds no GC pointers at
///   all. It is `Trace<'gc>` for every brand `'gc`, both constants are `false`, `trace` does
///   nothing, and the type must be `'static + Send` (a compile error otherwise). Type parameters
///   get `T: 'static + Send` instead of `T: Trace<'gc>`. Such a type may implement `Drop`: being
///   `'static`, it cannot hold a `Gc`, so its `drop` cannot dereference one.
///
///   ```
///   # use tricolor::Trace;
///   #[derive(Trace)]
///   #[trace(static)]
///   struct Interned {
///       text: std::sync::Arc<str>,
///       hash: u64,
///   }
///   assert!(!<Interned as Trace<'_>>::NEEDS_TRACE);
///   ```
///
/// * **`#[trace(unsafe_drop)]`**: allows a `Drop` impl on the type (see [Drop](#drop)). The
///   `Drop` impl must not dereference any GC pointer the value holds: when the sweeper drops a
///   dead object, the objects it points to may already be freed. It must also be sound to run
///   on any thread.
///
/// * **`#[trace(bound = "...")]`**: replaces the automatic bounds on the type parameters with the
///   given where-clause predicates; `bound = ""` adds none. Use it when a parameter is not itself
///   traced (a marker, a skipped field, a parameter used only through an associated type):
///
///   ```
///   # use tricolor::Trace;
///   # use std::marker::PhantomData;
///   #[derive(Trace)]
///   #[trace(bound = "")]
///   struct TypedId<K> {
///       id: u32,
///       kind: PhantomData<fn() -> K>,
///   }
///
///   struct NotTrace;
///   assert!(!<TypedId<NotTrace> as Trace<'_>>::NEEDS_TRACE);
///   ```
///
///   The brand's name is in scope in the bound: `#[trace(bound = "T: Trace<'gc> + Clone")]`.
///
/// * **`#[trace(gc_lifetime = "'a")]`**: the brand is the lifetime `'a` instead of `'gc` (see
///   [The brand](#the-brand)). If the type has a lifetime parameter `'a`, the impl is for that
///   brand only; otherwise `'a` is a fresh impl parameter, as `'gc` is by default. `'static` and
///   `'_` are rejected.
///
///   ```ignore
///   # use tricolor::{Gc, Trace};
///   #[derive(Trace)]
///   #[trace(gc_lifetime = "'heap")]
///   struct Env<'heap> {
///       parent: Option<Gc<'heap, Env<'heap>>>,
///   }
///   ```
///
/// * **`#[trace(crate = "path")]`**: the path of the `tricolor` crate in the generated code
///   (default `::tricolor`). Crates that re-export tricolor under another name use it, and so
///   does tricolor itself (`crate = "crate"`).
///
/// # Field options
///
/// * **`#[trace(skip)]`** (alias **`#[trace(static)]`**): the field is not traced and does not
///   count towards the constants. Its type must be `'static + Send`, checked at compile time:
///   `'static` proves that it holds no GC pointer (a `Gc<'gc, _>` is branded with a non-`'static`
///   lifetime), and `Send` that its drop glue may run on whichever thread sweeps the object.
///   Skipping is only for fields that cannot hold GC pointers; it is never needed for
///   correctness, but saves the work of visiting large plain-data fields and lets the field's
///   type lack a `Trace` impl.
///
///   ```compile_fail
///   # use tricolor::Trace;
///   #[derive(Trace)]
///   struct Borrowing<'a> {
///       #[trace(skip)]
///       bytes: &'a [u8], // error: `'a` must outlive `'static`
///   }
///   ```
///
/// * **`#[trace(recursive)]`**: the field is traced, but counts as `true` in both constants
///   instead of asking its type. Use it on a field whose type contains the deriving type itself
///   by value, through `Box`, `Vec`, `Option` and the like (`children: Vec<Self>`): computing that
///   field's constants would require the type's own constants, and the compiler reports a cycle
///   (error E0391, "cycle detected when ... `NEEDS_TRACE`") wherever the constant is used.
///   Recursion through a `Gc` pointer needs nothing:
///   `Gc`'s constants do not depend on its target.
///
///   ```
///   # use tricolor::Trace;
///   #[derive(Trace)]
///   struct Tree<V> {
///       value: V,
///       #[trace(recursive)]
///       children: Vec<Tree<V>>,
///   }
///   assert!(<Tree<u8> as Trace<'_>>::NEEDS_TRACE); // conservative
///   ```
///
/// Options on enum variants are rejected; put them on the variant's fields.
///
/// # Drop
///
/// Unless the type is `#[trace(static)]` or opts in with `#[trace(unsafe_drop)]`, implementing
/// `Drop` for it is a compile error, reported as a conflicting implementation of the hidden trait
/// `__TricolorTypeMustNotImplementDropUseTraceUnsafeDrop`. (The derive implements that trait for
/// every `Drop` type and for the deriving type; if the deriving type is also `Drop`, the two
/// impls overlap.) To act when an object dies, register a cleanup or finalizer with the heap
/// instead.
///
/// ```compile_fail,E0119
/// # use tricolor::Trace;
/// #[derive(Trace)]
/// struct Handle {
///     id: u32,
/// }
///
/// impl Drop for Handle {
///     fn drop(&mut self) {}
/// }
/// ```
///
/// # Errors
///
/// The derive rejects unions (the collector could not know which field is active),
/// `#[repr(packed)]` types (their fields cannot be borrowed), unknown options and options in the
/// wrong place. A traced field whose type does not implement `Trace` — for example an `Rc`, a raw
/// pointer, or a `RefCell` holding a `Gc` — fails with "the trait bound `...: Trace<'gc>` is not
/// satisfied" at the field's type; one that is `Trace` only for another brand fails with "lifetime
/// may not live long enough" there.
#[proc_macro_derive(Trace, attributes(trace))]
pub fn derive_trace(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
