//! [`Trace`] for the standard library's types.
//!
//! Three kinds of impl, each justified against the numbered contract on [`Trace`]:
//!
//! * **Leaves** — plain data that can never hold a GC pointer (numbers, strings, paths, time,
//!   atomics, ...): `Trace<'gc>` for every brand `'gc`, both constants `false`, an empty `trace`.
//!   Each leaf type is checked at compile time to be `'static + Send` (rule 3: its drop glue may
//!   run on the sweeping thread).
//! * **Static-only wrappers** — std's interior-mutable and shared-ownership types (`Cell`,
//!   `RefCell`, `Mutex`, `RwLock`, `OnceCell`, `OnceLock`, `Arc`) are `Trace<'gc>` (for every
//!   `'gc`) only when their contents are `'static + Send` (`+ Sync` for `Arc`), i.e. can hold no
//!   GC pointer: a `Gc<'gc, _>` is branded with a non-`'static` lifetime. So
//!   `RefCell<Gc<'gc, _>>` is not `Trace`, and no GC pointer can be written through a std cell,
//!   bypassing the write barrier (rule 5). They are leaves otherwise.
//! * **Containers** — `Box`, slices, arrays, `Vec` and the other collections, `Option`, `Result`,
//!   tuples, ranges and a few wrappers: `Trace<'gc>` when their elements are `Trace<'gc>` for the
//!   same brand. They trace every element and take their constants from the element types (so
//!   `Vec<RefLock<_>>` needs claims, and `Vec<u32>` is never scanned). Mutating them needs `&mut`,
//!   which inside the heap only a barriered lock cell can give.
//!
//! `PhantomData<T>` is `Trace<'gc>` for every `'gc` and every `T`: it holds nothing.
//!
//! Deliberately **not** `Trace`: `Rc` and both `Weak`s (a shared, possibly `!Send` owner whose
//! count the sweeper would touch from another thread, and a way to hold GC pointers outside the
//! heap's view), raw pointers and references (except `&'static str`), `MaybeUninit` (the
//! collector could not know whether it is initialised) and `Pin`.
//!
//! `ManuallyDrop<T>` forwards to `T`: its drop glue never runs, which is always allowed, and its
//! contents are alive and traceable until an `unsafe` `ManuallyDrop::drop`/`take`, whose contract
//! forbids any later use of the slot — so neither may be called on a value in the GC heap, which
//! the collector may trace at any time.

use core::cell::{Cell, OnceCell, RefCell};
use core::cmp::Reverse;
use core::marker::{PhantomData, PhantomPinned};
use core::mem::ManuallyDrop;
use core::num::{NonZero, Saturating, Wrapping};
use core::ops::{Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, LinkedList, VecDeque};
use std::ffi::{CStr, CString, OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant, SystemTime};

use crate::{Trace, Tracer};

/// Compile-time check that a leaf type may be dropped on any thread and holds no borrowed data.
const fn assert_leaf<T: ?Sized + 'static + Send>() {}

/// `unsafe impl Trace<'gc>` (for every `'gc`) for types that hold no GC pointers.
macro_rules! leaf {
    ($($(#[$attr:meta])* $ty:ty),* $(,)?) => {$(
        $(#[$attr])*
        const _: () = assert_leaf::<$ty>();

        $(#[$attr])*
        // SAFETY: the type holds no GC pointers (it is `'static`, checked above), so the empty
        // `trace` reports all of them and both constants are truthfully `false` (rules 1, 6);
        // tracing does nothing (2); it is `Send`, checked above, so its drop glue may run on any
        // thread (3); it has no `Drop` that could reach a GC object (4) and no GC pointer to
        // change (5).
        unsafe impl<'gc> Trace<'gc> for $ty {
            const NEEDS_TRACE: bool = false;
            const NEEDS_CLAIM: bool = false;

            #[inline(always)]
            fn trace(&self, _tracer: &mut Tracer) {}
        }
    )*};
}

leaf! {
    (), bool, char, f32, f64,
    u8, u16, u32, u64, u128, usize,
    i8, i16, i32, i64, i128, isize,
    NonZero<u8>, NonZero<u16>, NonZero<u32>, NonZero<u64>, NonZero<u128>, NonZero<usize>,
    NonZero<i8>, NonZero<i16>, NonZero<i32>, NonZero<i64>, NonZero<i128>, NonZero<isize>,
    str, String, &'static str, Cow<'static, str>,
    CStr, CString, OsStr, OsString, Path, PathBuf,
    Duration, Instant, SystemTime,
    core::cmp::Ordering, core::any::TypeId, core::alloc::Layout, PhantomPinned, RangeFull,
    std::net::IpAddr, std::net::Ipv4Addr, std::net::Ipv6Addr,
    std::net::SocketAddr, std::net::SocketAddrV4, std::net::SocketAddrV6,
    #[cfg(target_has_atomic = "8")] core::sync::atomic::AtomicBool,
    #[cfg(target_has_atomic = "8")] core::sync::atomic::AtomicU8,
    #[cfg(target_has_atomic = "8")] core::sync::atomic::AtomicI8,
    #[cfg(target_has_atomic = "16")] core::sync::atomic::AtomicU16,
    #[cfg(target_has_atomic = "16")] core::sync::atomic::AtomicI16,
    #[cfg(target_has_atomic = "32")] core::sync::atomic::AtomicU32,
    #[cfg(target_has_atomic = "32")] core::sync::atomic::AtomicI32,
    #[cfg(target_has_atomic = "64")] core::sync::atomic::AtomicU64,
    #[cfg(target_has_atomic = "64")] core::sync::atomic::AtomicI64,
    #[cfg(target_has_atomic = "ptr")] core::sync::atomic::AtomicUsize,
    #[cfg(target_has_atomic = "ptr")] core::sync::atomic::AtomicIsize,
}

// SAFETY: a `PhantomData` holds nothing, so the empty `trace` is complete and both constants
// are truthfully `false` (rules 1, 6); it has no drop glue at all, so rules 3 and 4 hold whatever
// `T` is, and it has no GC pointer to change (5).
unsafe impl<'gc, T: ?Sized> Trace<'gc> for PhantomData<T> {
    const NEEDS_TRACE: bool = false;
    const NEEDS_CLAIM: bool = false;

    #[inline(always)]
    fn trace(&self, _tracer: &mut Tracer) {}
}

/// `unsafe impl Trace<'gc>` (for every `'gc`) for std wrappers that are traceable only around
/// `'static` contents.
macro_rules! static_only {
    ($($ty:ident),* $(,)?) => {$(
        // SAFETY: `T: 'static` means the contents hold no GC pointer (every GC pointer carries a
        // non-`'static` `'gc` brand), so the empty `trace` is complete, the constants are
        // truthfully `false` (rules 1, 6), and no GC pointer can be written through the wrapper
        // bypassing the barrier (5). `T: Send` makes the wrapper `Send`, so its drop glue may run
        // on the sweeping thread (3). Tracing does nothing (2) and there is no `Drop` reaching a
        // GC object (4).
        unsafe impl<'gc, T: ?Sized + 'static + Send> Trace<'gc> for $ty<T> {
            const NEEDS_TRACE: bool = false;
            const NEEDS_CLAIM: bool = false;

            #[inline(always)]
            fn trace(&self, _tracer: &mut Tracer) {}
        }
    )*};
}

static_only!(Cell, RefCell, Mutex, RwLock);

// SAFETY: as for `static_only!` (rules 1, 2, 4, 5, 6: `T: 'static` holds no GC pointer); the
// `Sized` bound is only because these cells require it.
unsafe impl<'gc, T: 'static + Send> Trace<'gc> for OnceCell<T> {
    const NEEDS_TRACE: bool = false;
    const NEEDS_CLAIM: bool = false;

    #[inline(always)]
    fn trace(&self, _tracer: &mut Tracer) {}
}

// SAFETY: as for `OnceCell`: `T: 'static` holds no GC pointer and `T: Send` makes the cell `Send`
// for the sweeping thread (rule 3).
unsafe impl<'gc, T: 'static + Send> Trace<'gc> for OnceLock<T> {
    const NEEDS_TRACE: bool = false;
    const NEEDS_CLAIM: bool = false;

    #[inline(always)]
    fn trace(&self, _tracer: &mut Tracer) {}
}

// SAFETY: `T: 'static` means the shared contents hold no GC pointer, so the empty `trace` is
// complete and the constants truthful (rules 1, 5, 6). `T: Send + Sync` makes `Arc<T>` `Send`,
// so decrementing the count (and perhaps dropping `T`) on the sweeping thread is sound (3).
// Tracing does nothing (2); the drop reaches no GC object (4).
unsafe impl<'gc, T: ?Sized + 'static + Send + Sync> Trace<'gc> for Arc<T> {
    const NEEDS_TRACE: bool = false;
    const NEEDS_CLAIM: bool = false;

    #[inline(always)]
    fn trace(&self, _tracer: &mut Tracer) {}
}

// SAFETY: a box owns exactly its contents: tracing them reports every GC pointer it holds and
// its constants are the contents' (rules 1, 6). Tracing only reads (2). Its drop glue is `T`'s
// plus freeing the allocation, which is sound on any thread because `T`'s is (3, 4); it changes
// no GC pointer itself (5).
unsafe impl<'gc, T: ?Sized + Trace<'gc>> Trace<'gc> for Box<T> {
    const NEEDS_TRACE: bool = T::NEEDS_TRACE;
    const NEEDS_CLAIM: bool = T::NEEDS_CLAIM;

    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        if T::NEEDS_TRACE {
            T::trace(self, tracer);
        }
    }

    #[inline]
    fn trace_chunk(&self, tracer: &mut Tracer, chunk: usize) -> bool {
        T::NEEDS_TRACE && T::trace_chunk(self, tracer, chunk)
    }
}

// SAFETY: a slice's GC pointers are its elements', and `trace` traces every element, so rules 1
// and 6 follow from `T`'s; tracing only reads (2); the drop glue is the elements' (3, 4), and it
// changes no GC pointer itself (5).
unsafe impl<'gc, T: Trace<'gc>> Trace<'gc> for [T] {
    const NEEDS_TRACE: bool = T::NEEDS_TRACE;
    const NEEDS_CLAIM: bool = T::NEEDS_CLAIM;

    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        if T::NEEDS_TRACE {
            for element in self {
                element.trace(tracer);
            }
        }
    }

    #[inline]
    fn trace_chunk(&self, tracer: &mut Tracer, chunk: usize) -> bool {
        crate::trace::trace_slice_chunk(self, tracer, chunk)
    }
}

// SAFETY: an array is a slice of `N` elements, see `[T]`.
unsafe impl<'gc, T: Trace<'gc>, const N: usize> Trace<'gc> for [T; N] {
    const NEEDS_TRACE: bool = T::NEEDS_TRACE;
    const NEEDS_CLAIM: bool = T::NEEDS_CLAIM;

    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        self.as_slice().trace(tracer);
    }

    #[inline]
    fn trace_chunk(&self, tracer: &mut Tracer, chunk: usize) -> bool {
        crate::trace::trace_slice_chunk(self.as_slice(), tracer, chunk)
    }
}

/// `unsafe impl Trace<'gc>` for collections of one element type, traced through `iter()`.
macro_rules! collection {
    ($($ty:ident),* $(,)?) => {$(
        // SAFETY: the collection owns its elements and `iter()` yields each of them once, so
        // tracing them reports every GC pointer it holds and its constants are the elements'
        // (rules 1, 6). Tracing only reads (2). The drop glue is the elements' plus freeing
        // memory, sound on any thread because the elements' is (3, 4). Changing the collection
        // needs `&mut`, which inside the heap only a barriered lock cell gives (5).
        unsafe impl<'gc, T: Trace<'gc>> Trace<'gc> for $ty<T> {
            const NEEDS_TRACE: bool = T::NEEDS_TRACE;
            const NEEDS_CLAIM: bool = T::NEEDS_CLAIM;

            #[inline]
            fn trace(&self, tracer: &mut Tracer) {
                if T::NEEDS_TRACE {
                    for element in self.iter() {
                        element.trace(tracer);
                    }
                }
            }
        }
    )*};
}

collection!(LinkedList, BinaryHeap, BTreeSet);

// SAFETY: as for `collection!`; the parts of `trace_chunk` are the slice's parts, together every
// element once.
unsafe impl<'gc, T: Trace<'gc>> Trace<'gc> for Vec<T> {
    const NEEDS_TRACE: bool = T::NEEDS_TRACE;
    const NEEDS_CLAIM: bool = T::NEEDS_CLAIM;

    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        self.as_slice().trace(tracer);
    }

    #[inline]
    fn trace_chunk(&self, tracer: &mut Tracer, chunk: usize) -> bool {
        crate::trace::trace_slice_chunk(self.as_slice(), tracer, chunk)
    }
}

// SAFETY: as for `collection!`; the parts of `trace_chunk` cover the two halves of the ring
// buffer in order, together every element once.
unsafe impl<'gc, T: Trace<'gc>> Trace<'gc> for VecDeque<T> {
    const NEEDS_TRACE: bool = T::NEEDS_TRACE;
    const NEEDS_CLAIM: bool = T::NEEDS_CLAIM;

    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        let (a, b) = self.as_slices();
        a.trace(tracer);
        b.trace(tracer);
    }

    #[inline]
    fn trace_chunk(&self, tracer: &mut Tracer, chunk: usize) -> bool {
        if !T::NEEDS_TRACE {
            return false;
        }
        let (a, b) = self.as_slices();
        let a_chunks = a.len().div_ceil(crate::trace::TRACE_CHUNK);
        if chunk < a_chunks {
            crate::trace::trace_slice_chunk(a, tracer, chunk);
            chunk + 1 < a_chunks || !b.is_empty()
        } else {
            crate::trace::trace_slice_chunk(b, tracer, chunk - a_chunks)
        }
    }
}

// SAFETY: as for `collection!`: every key and every value is traced and the constants are the OR
// of the key and value types' (rules 1, 6); tracing only reads (2); drop glue is the entries' (3,
// 4); mutation needs `&mut` (5).
unsafe impl<'gc, K: Trace<'gc>, V: Trace<'gc>> Trace<'gc> for BTreeMap<K, V> {
    const NEEDS_TRACE: bool = K::NEEDS_TRACE || V::NEEDS_TRACE;
    const NEEDS_CLAIM: bool = K::NEEDS_CLAIM || V::NEEDS_CLAIM;

    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        if Self::NEEDS_TRACE {
            for (key, value) in self {
                key.trace(tracer);
                value.trace(tracer);
            }
        }
    }
}

// SAFETY: as for `BTreeMap`. The hasher `S` is not traced: `S: 'static` proves it holds no GC
// pointer (1), and `S: Send` lets its drop glue run on the sweeping thread (3).
unsafe impl<'gc, K: Trace<'gc>, V: Trace<'gc>, S: 'static + Send> Trace<'gc> for HashMap<K, V, S> {
    const NEEDS_TRACE: bool = K::NEEDS_TRACE || V::NEEDS_TRACE;
    const NEEDS_CLAIM: bool = K::NEEDS_CLAIM || V::NEEDS_CLAIM;

    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        if Self::NEEDS_TRACE {
            for (key, value) in self {
                key.trace(tracer);
                value.trace(tracer);
            }
        }
    }
}

// SAFETY: as for `HashMap`, with keys only.
unsafe impl<'gc, K: Trace<'gc>, S: 'static + Send> Trace<'gc> for HashSet<K, S> {
    const NEEDS_TRACE: bool = K::NEEDS_TRACE;
    const NEEDS_CLAIM: bool = K::NEEDS_CLAIM;

    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        if K::NEEDS_TRACE {
            for key in self {
                key.trace(tracer);
            }
        }
    }
}

// SAFETY: an `Option` holds at most one `T`, which `trace` traces when present; the constants are
// `T`'s (rules 1, 6). Tracing only reads (2); drop glue is `T`'s (3, 4); it changes no GC pointer
// itself (5).
unsafe impl<'gc, T: Trace<'gc>> Trace<'gc> for Option<T> {
    const NEEDS_TRACE: bool = T::NEEDS_TRACE;
    const NEEDS_CLAIM: bool = T::NEEDS_CLAIM;

    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        if let Some(value) = self {
            value.trace(tracer);
        }
    }
}

// SAFETY: a `Result` holds either a `T` or an `E`, and `trace` traces whichever is present; the
// constants are the OR of both (rules 1, 6). Otherwise as for `Option`.
unsafe impl<'gc, T: Trace<'gc>, E: Trace<'gc>> Trace<'gc> for Result<T, E> {
    const NEEDS_TRACE: bool = T::NEEDS_TRACE || E::NEEDS_TRACE;
    const NEEDS_CLAIM: bool = T::NEEDS_CLAIM || E::NEEDS_CLAIM;

    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        match self {
            Ok(value) => value.trace(tracer),
            Err(error) => error.trace(tracer),
        }
    }
}

/// `unsafe impl Trace<'gc>` for single-field wrappers: `$get` borrows the field from `self`.
macro_rules! wrapper {
    ($($ty:ident => |$this:ident| $get:expr),* $(,)?) => {$(
        // SAFETY: the wrapper holds exactly one `T` and nothing else that could be a GC pointer;
        // `trace` traces it and the constants are `T`'s (rules 1, 6). Tracing only reads (2); the
        // drop glue is at most `T`'s (3, 4); it changes no GC pointer itself (5).
        unsafe impl<'gc, T: Trace<'gc>> Trace<'gc> for $ty<T> {
            const NEEDS_TRACE: bool = T::NEEDS_TRACE;
            const NEEDS_CLAIM: bool = T::NEEDS_CLAIM;

            #[inline]
            fn trace(&self, tracer: &mut Tracer) {
                let $this = self;
                let inner: &T = $get;
                inner.trace(tracer);
            }
        }
    )*};
}

wrapper! {
    Reverse => |this| &this.0,
    Wrapping => |this| &this.0,
    Saturating => |this| &this.0,
    ManuallyDrop => |this| this,
    RangeFrom => |this| &this.start,
    RangeTo => |this| &this.end,
    RangeToInclusive => |this| &this.end,
}

/// `unsafe impl Trace<'gc>` for ranges with both ends.
macro_rules! two_ended_range {
    ($($ty:ident => |$this:ident| ($start:expr, $end:expr)),* $(,)?) => {$(
        // SAFETY: the range holds two `T`s (its ends) and nothing else that could be a GC
        // pointer; `trace` traces both and the constants are `T`'s (rules 1, 6). Tracing only
        // reads (2); the drop glue is the ends' (3, 4); it changes no GC pointer itself (5).
        unsafe impl<'gc, T: Trace<'gc>> Trace<'gc> for $ty<T> {
            const NEEDS_TRACE: bool = T::NEEDS_TRACE;
            const NEEDS_CLAIM: bool = T::NEEDS_CLAIM;

            #[inline]
            fn trace(&self, tracer: &mut Tracer) {
                let $this = self;
                $start.trace(tracer);
                $end.trace(tracer);
            }
        }
    )*};
}

two_ended_range! {
    Range => |this| (this.start, this.end),
    RangeInclusive => |this| (this.start(), this.end()),
}

/// `unsafe impl Trace<'gc>` for a tuple, given its element types and field indices.
macro_rules! tuple {
    ($($name:ident $index:tt),+) => {
        // SAFETY: a tuple's GC pointers are its elements'; `trace` traces each element in order
        // and the constants are the OR of theirs (rules 1, 6). Tracing only reads (2); the drop
        // glue is the elements' (3, 4); it changes no GC pointer itself (5).
        unsafe impl<'gc, $($name: Trace<'gc>),+> Trace<'gc> for ($($name,)+) {
            const NEEDS_TRACE: bool = $($name::NEEDS_TRACE)||+;
            const NEEDS_CLAIM: bool = $($name::NEEDS_CLAIM)||+;

            #[inline]
            fn trace(&self, tracer: &mut Tracer) {
                $(self.$index.trace(tracer);)+
            }
        }
    };
}

tuple!(A 0);
tuple!(A 0, B 1);
tuple!(A 0, B 1, C 2);
tuple!(A 0, B 1, C 2, D 3);
tuple!(A 0, B 1, C 2, D 3, E 4);
tuple!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);

#[cfg(test)]
mod tests {
    use super::*;

    fn consts<'gc, T: ?Sized + Trace<'gc>>() -> (bool, bool) {
        (T::NEEDS_TRACE, T::NEEDS_CLAIM)
    }

    #[test]
    fn leaves_and_static_wrappers_are_never_scanned() {
        assert_eq!(consts::<u64>(), (false, false));
        assert_eq!(consts::<str>(), (false, false));
        assert_eq!(consts::<Box<str>>(), (false, false));
        assert_eq!(consts::<RefCell<Vec<u8>>>(), (false, false));
        assert_eq!(consts::<Arc<str>>(), (false, false));
        assert_eq!(consts::<PhantomData<*const u8>>(), (false, false));
        assert_eq!(consts::<HashMap<String, Vec<(u8, char)>>>(), (false, false));
        assert_eq!(
            consts::<(u8, u16, u32, u64, i8, i16, i32, i64, f32, f64, bool, ())>(),
            (false, false)
        );
        let edges = Tracer::record(|t| (1u8, String::from("x"), vec![1u32, 2]).trace(t));
        assert!(edges.is_empty());
    }
}
