//! The tracer: how a value's trace function reports the GC objects it points to.
//!
//! A [`Tracer`] is handed to every trace function. During marking it *shades* each reported
//! object (sets its mark bit; if the bit was newly set and the object holds pointers, queues it
//! grey in the tracing thread's local work list). Other kinds of tracer exist for tests and
//! diagnostics (recording the edges of one object).
//!
//! Trace functions never recurse into children: they report edges and the mark loop pops them
//! later, so the native stack stays bounded whatever the depth of the object graph.

use core::ptr::NonNull;

use crate::header::Header;

/// Receives the outgoing edges of an object while it is traced.
pub struct Tracer {
    sink: Sink,
    /// Edges reported so far (the scan work of a part of a large object).
    edges: usize,
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
        }
    }

    /// A tracer that shades into `cx` through its prefetch pipeline
    /// ([`MarkContext::shade_pipelined`](crate::mark::MarkContext::shade_pipelined)); the
    /// caller must complete the pipeline before anything may rely on the shading.
    pub(crate) fn pipelined(cx: &mut crate::mark::MarkContext) -> Tracer {
        Tracer {
            sink: Sink::Pipelined(NonNull::from(cx)),
            edges: 0,
        }
    }

    /// Runs `f` with a tracer that only records the edges reported to it, and returns them in
    /// order. Nothing is marked and no object is dereferenced.
    pub fn record(f: impl FnOnce(&mut Tracer)) -> Vec<NonNull<Header>> {
        let mut tracer = Tracer {
            sink: Sink::Record(Vec::new()),
            edges: 0,
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
        match &mut self.sink {
            // SAFETY: a marking tracer is only created by the engine from a `&mut MarkContext`
            // that outlives it (the tracer is a local of the trace loop), and the caller
            // guarantees `obj` is a live object of that heap.
            Sink::Mark(cx) => unsafe { cx.as_mut().shade(obj) },
            // SAFETY: as above.
            Sink::Pipelined(cx) => unsafe { cx.as_mut().shade_pipelined(obj) },
            Sink::Record(edges) => edges.push(obj),
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
