//! tricolor-alloc (work in progress).
#![warn(missing_docs)]

#[doc(hidden)]
pub mod sync;
