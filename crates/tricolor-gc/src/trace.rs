//! The tracer: how a value's trace function reports the GC objects it points to.
//!
//! A [`Tracer`] is handed to every trace function. During marking it *shades* each reported
//! object (sets its mark bit; if the bit was newly set and the object holds pointers, queues it
//! grey in the tracing thread's local work list); the drain loop's tracer collects the edges in
//! batches of 32: a full batch (part of a large object) is shaded as one batch (all spans looked
//! up and prefetched, then all marks gathered), a partial one (a small object's few edges) goes
//! through the marking context's prefetch pipeline, which overlaps it with the next objects'.
//! Other kinds of tracer exist for tests and diagnostics (recording the edges of one object).
//!
//! Trace functions never recurse into children: they report edges and the mark loop pops them
//! later, so the native stack stays bounded whatever the depth of the object graph.

use core::mem::MaybeUninit;
use core::ptr::NonNull;

use crate::header::Header;

/// Edges a pipelined tracer buffers before handing them to its marking context in one batch.
pub(crate) const EDGE_BATCH: usize = 32;

/// Receives the outgoing edges of an object while it is traced.
pub struct Tracer {
    sink: Sink,
    /// Edges reported so far (the scan work of a part of a large object).
    edges: usize,
    /// A pipelined tracer's edges not yet handed to its context: `batch[..batched]`. Reporting
    /// an edge is then two stores in the trace function, and the context shades a whole batch
    /// in one loop (see [`Tracer::finish`]).
    batch: [MaybeUninit<NonNull<Header>>; EDGE_BATCH],
    batched: usize,
}

enum Sink {
    /// Shade into a marking context (a worker's or a mutator's local grey buffer).
    Mark(NonNull<crate::mark::MarkContext>),
    /// Shade into a marking context a few edges later, through its prefetch pipeline (the
    /// drain loop, which completes the pipeline before it returns).
    Pipelined(NonNull<crate::mark::MarkContext>),
    /// Record the edges (tests, diagnostics).
    Record(Vec<NonNull<Header>>),
}

impl Tracer {
    /// A tracer that shades into `cx`.
    pub(crate) fn marking(cx: &mut crate::mark::MarkContext) -> Tracer {
        Tracer {
            sink: Sink::Mark(NonNull::from(cx)),
            edges: 0,
            batch: [MaybeUninit::uninit(); EDGE_BATCH],
            batched: 0,
        }
    }

    /// A tracer that shades into `cx` through its prefetch pipeline
    /// ([`MarkContext::shade_pipelined`](crate::mark::MarkContext::shade_pipelined)); the
    /// caller must complete the pipeline before anything may rely on the shading.
    pub(crate) fn pipelined(cx: &mut crate::mark::MarkContext) -> Tracer {
        Tracer {
            sink: Sink::Pipelined(NonNull::from(cx)),
            edges: 0,
            batch: [MaybeUninit::uninit(); EDGE_BATCH],
            batched: 0,
        }
    }

    /// Runs `f` with a tracer that only records the edges reported to it, and returns them in
    /// order. Nothing is marked and no object is dereferenced.
    pub fn record(f: impl FnOnce(&mut Tracer)) -> Vec<NonNull<Header>> {
        let mut tracer = Tracer {
            sink: Sink::Record(Vec::new()),
            edges: 0,
            batch: [MaybeUninit::uninit(); EDGE_BATCH],
            batched: 0,
        };
        f(&mut tracer);
        match tracer.sink {
            Sink::Record(edges) => edges,
            Sink::Mark(_) | Sink::Pipelined(_) => unreachable!(),
        }
    }

    /// Reports an edge to the object whose header is `obj`.
    ///
    /// # Safety
    ///
    /// `obj` must be the header of a live object in the heap being traced (one reachable from
    /// the object whose trace function is running), unless this tracer was made by
    /// [`Tracer::record`], which never dereferences it.
    #[inline]
    pub unsafe fn edge(&mut self, obj: NonNull<Header>) {
        self.edges += 1;
        if let Sink::Pipelined(_) = self.sink {
            self.batch[self.batched] = MaybeUninit::new(obj);
            self.batched += 1;
            if self.batched == EDGE_BATCH {
                self.flush_batch();
            }
            return;
        }
        // SAFETY: forwarded from the caller.
        unsafe { self.edge_unbatched(obj) }
    }

    /// [`Tracer::edge`] for the sinks that do not batch.
    ///
    /// # Safety
    ///
    /// As for [`Tracer::edge`].
    #[inline(never)]
    unsafe fn edge_unbatched(&mut self, obj: NonNull<Header>) {
        match &mut self.sink {
            // SAFETY: a marking tracer is only created by the engine from a `&mut MarkContext`
            // that outlives it (the tracer is a local of the trace loop), and the caller
            // guarantees `obj` is a live object of that heap.
            Sink::Mark(cx) => unsafe { cx.as_mut().shade(obj) },
            Sink::Pipelined(_) => unreachable!("pipelined edges are batched"),
            Sink::Record(edges) => edges.push(obj),
        }
    }

    /// Hands the batched edges to the marking context's pipeline.
    #[inline(never)]
    fn flush_batch(&mut self) {
        let n = core::mem::take(&mut self.batched);
        if let Sink::Pipelined(cx) = &mut self.sink {
            // SAFETY: `batch[..n]` was written by `edge` since the last flush.
            let edges = unsafe {
                core::slice::from_raw_parts(self.batch.as_ptr().cast::<NonNull<Header>>(), n)
            };
            // A full batch (a large object) is shaded on its own; the few edges of a small
            // object go through the pipeline, which overlaps them with the next objects'.
            if n == EDGE_BATCH {
                // SAFETY: a pipelined tracer is only created by the engine from a `&mut
                // MarkContext` that outlives it; every batched edge was reported by a trace
                // function under `edge`'s contract (a live object of that heap).
                unsafe { cx.as_mut().shade_batch(edges) };
            } else {
                // SAFETY: as for the full batch.
                unsafe { cx.as_mut().shade_all_pipelined(edges) };
            }
        }
    }

    /// Hands over whatever edges are still batched. The engine calls it when a trace function
    /// returns; until then the edges are only values read from the object.
    pub(crate) fn finish(&mut self) {
        if self.batched > 0 {
            self.flush_batch();
        }
    }
}

impl Tracer {
    /// The edges reported to this tracer so far.
    pub(crate) fn edges(&self) -> usize {
        self.edges
    }
}

impl core::fmt::Debug for Tracer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self.sink {
            Sink::Mark(_) => "Tracer(mark)",
            Sink::Pipelined(_) => "Tracer(mark, pipelined)",
            Sink::Record(_) => "Tracer(record)",
        })
    }
}
