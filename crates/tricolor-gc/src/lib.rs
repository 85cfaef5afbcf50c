//! The tricolor collector engine: a concurrent tricolor mark-sweep garbage collector on the
//! `tricolor-alloc` span allocator.
//!
//! This crate is the engine under the public `tricolor` crate; most users want that one. It
//! knows objects only through their [`TypeDesc`] (size, trace and drop
//! functions) and never names a user-facing type.
//!
//! * [`Collector`] — one heap: its allocator, registry of mutators, root table, grey queue,
//!   pacer and background threads (started by [`Collector::start`]).
//! * [`Mutator`] — a registered thread; [`Mutator::enter`] opens a [`Scope`], inside which it
//!   allocates ([`Scope::alloc`]) and runs the barriers ([`Scope::slot_barrier`],
//!   [`Scope::write_begin`]/[`Scope::write_end`]).
//! * [`RootEntry`] — a persistent root; weak slots, ephemerons and cleanups (see [`weak`] and
//!   [`cleanup`]).
//! * [`Tracer`] — what trace functions report edges to.
//!
//! The protocol (phases, handshakes, barriers, termination) is described in `collector` and
//! `mutator`, and argued in `docs/SOUNDNESS.md`.
#![deny(missing_docs)]

pub mod cleanup;
pub mod collector;
pub mod config;
pub mod header;
pub mod histogram;
mod mark;
#[doc(hidden)]
pub mod model;
pub mod mutator;
pub mod pacer;
pub mod roots;
pub mod stats;
pub mod trace;
pub mod weak;

#[doc(hidden)]
pub use tricolor_alloc::faults;
#[doc(hidden)]
pub use tricolor_alloc::sync;

pub use cleanup::CleanupId;
pub use collector::{Collector, StartError, Threads};
pub use config::{Config, ConfigError};
pub use header::{GcBox, Header, TypeDesc, allocation_size};
pub use mutator::{Mutator, Scope};
pub use roots::RootEntry;
pub use stats::{ClassStats, CycleSummary, MemStats};
pub use trace::Tracer;
pub use tricolor_alloc::AllocError;
pub use tricolor_alloc::size_class::class_for;
