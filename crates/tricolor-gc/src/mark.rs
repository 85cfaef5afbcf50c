//! Marking: shading objects, the grey work lists, and scanning with the claim protocol.
//!
//! Data structures:
//! * the **mark bit** of an object (in its span, owned by the allocator) says it is shaded —
//!   grey or black — in the current cycle (cycle k marks into the bitmap of parity `p`);
//! * a [`GreyQueue`] per heap holds grey objects any thread can take (crossbeam's `Injector`;
//!   under `--cfg tricolor_loom` a loom `Mutex<Vec<_>>` with the same API, since crossbeam-deque
//!   cannot be model-checked);
//! * a [`MarkContext`] per marking thread (each mark worker, each mutator) holds a local stack of
//!   grey objects, flushed to the queue in batches, and counters;
//! * the **claim state** in the header (see `header`) serialises tracing of objects that hold
//!   lock cells.
//!
//! Shading `obj`:
//! 1. set its mark bit (one atomic `fetch_or` in the span's bitmap);
//! 2. if the bit was already set, stop (someone else shaded it);
//! 3. if the object holds no GC pointers (`desc.trace == None`) it is black already;
//! 4. otherwise push it on the local grey stack.
//!
//! Scanning a grey `obj` (a mark worker, or a mutator assisting):
//! 1. if its type needs no claim (no lock cells), call its trace function, which shades each
//!    child — done;
//! 2. otherwise CAS its claim state `Unclaimed → Tracing` (AcqRel); on failure it is `Black`
//!    (a mutator's object barrier traced it) or `Tracing` (someone is tracing it now, and will
//!    finish): skip it;
//! 3. trace it, then publish `Black` (Release), which a mutator waiting to mutate it observes.
//!
//! The drain loop shades the children it finds through a short **prefetch pipeline**: an edge's
//! span is looked up when the edge is reported, the loads of the span's metadata and the child's
//! header start then, and the mark bit is set [`PIPELINE`] edges later, so the cache misses of
//! several edges overlap instead of being taken one after another (a full batch of 32 edges
//! from a large object is shaded in one go instead, [`MarkContext::shade_batch`]). The pipeline
//! is always completed before `drain` returns. A mutator's slot barrier buffers the objects it
//! shades and shades them 32 at a time the same way (the evicted object is usually cold; Go's
//! write barrier buffer); the buffer is part of the pipeline, which the mutator completes
//! whenever it publishes its grey work — at every termination round — and discards it at the
//! end of marking. So at every point termination detection looks, each shaded object is visible
//! on a grey stack or queue.
//!
//! Trace functions never recurse: children go on the grey stack, so the native stack stays
//! bounded whatever the depth of the graph (a ten-million-long list is fine).

use core::ptr::NonNull;

use tricolor_alloc::{Allocator, MarkParity, MarkSite, MarkWord, NewlyMarked, SpanHint};

use crate::header::{Epoch, Header};
#[cfg(not(tricolor_loom))]
use crate::sync::Ordering;
use crate::trace::{EDGE_BATCH, Tracer};

/// Scan work charged per edge of a large object traced in parts, in bytes. An edge costs what
/// shading its target costs (a random access to a mark bitmap and, for a first visit, the
/// target's header), about what scanning a whole small object costs, so it is charged as one
/// (32 bytes: a two-pointer object with its header), not as the 8 bytes of the pointer read.
pub(crate) const EDGE_SCAN_WORK: usize = 32;

/// A grey object: the header of an object that is shaded but not yet (fully) scanned, and the
/// part of it to scan next (large sequences are scanned in parts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Grey(pub(crate) NonNull<Header>, pub(crate) u32);

impl Grey {
    /// A whole object, from its first part.
    #[inline]
    pub(crate) fn new(obj: NonNull<Header>) -> Grey {
        Grey(obj, 0)
    }
}

// SAFETY: a `Grey` is an address handed between marking threads; the object it names is only
// accessed under the marking protocol (mark bits, claims, trace functions that promise to be
// callable from any thread — `Trace` contract rule 2).
unsafe impl Send for Grey {}

/// Runs a trace function; a panic there breaks the `Trace` contract and may leave an object
/// claimed forever (every later mutation of it would wait), so it aborts the process with a
/// message instead of unwinding.
///
/// # Safety
///
/// `trace` must be the trace function of `obj`'s descriptor, `obj` a live object, and nobody may
/// mutate `obj` non-atomically during the call (the caller holds its claim, or owns it).
#[inline(always)]
unsafe fn call_trace(
    trace: crate::header::TraceFn,
    obj: NonNull<Header>,
    tracer: &mut Tracer,
    chunk: usize,
) -> bool {
    // SAFETY: forwarded from the caller.
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe {
        trace(obj, tracer, chunk)
    }));
    match r {
        Ok(more) => more,
        Err(_) => {
            crate::collector::report(format_args!(
                "tricolor: fatal error: a trace function panicked (see above); aborting"
            ));
            std::process::abort()
        }
    }
}

/// Edges the drain loop keeps in flight between looking up a child's span (prefetching its
/// metadata and the child's header) and setting its mark bit (a power of two).
pub(crate) const PIPELINE: usize = 16;

/// How many grey objects a thread keeps before it publishes a batch to the shared queue.
pub(crate) const FLUSH_BATCH: usize = 256;

/// Empty batch buffers kept for reuse, at most.
#[cfg(not(tricolor_loom))]
const SPARE_BATCHES: usize = 64;

/// The shared queue of grey objects. It holds batches (of at most [`FLUSH_BATCH`] objects), so
/// that publishing or taking a batch costs one queue operation, not one per object. Emptied
/// batch buffers go to a small pool and are reused: a buffer is usually filled by one thread
/// and emptied by another, and handing it to `free` there would contend for the malloc arena
/// of the thread that allocated it (a mutator blocked on that lock in the middle of an assist).
pub(crate) struct GreyQueue {
    #[cfg(not(tricolor_loom))]
    inner: crossbeam_deque::Injector<Vec<Grey>>,
    #[cfg(tricolor_loom)]
    inner: crate::sync::Mutex<Vec<Vec<Grey>>>,
    #[cfg(not(tricolor_loom))]
    spare: crossbeam_deque::Injector<Vec<Grey>>,
    /// Buffers in `spare` (approximately: it only bounds the pool).
    #[cfg(not(tricolor_loom))]
    spare_len: crate::sync::AtomicUsize,
}

impl GreyQueue {
    pub(crate) fn new() -> GreyQueue {
        GreyQueue {
            #[cfg(not(tricolor_loom))]
            inner: crossbeam_deque::Injector::new(),
            #[cfg(tricolor_loom)]
            inner: crate::sync::Mutex::new(Vec::new()),
            #[cfg(not(tricolor_loom))]
            spare: crossbeam_deque::Injector::new(),
            #[cfg(not(tricolor_loom))]
            spare_len: crate::sync::AtomicUsize::new(0),
        }
    }

    /// An empty batch buffer: a spare one if any.
    fn fresh(&self) -> Vec<Grey> {
        #[cfg(not(tricolor_loom))]
        if let crossbeam_deque::Steal::Success(v) = self.spare.steal() {
            self.spare_len.fetch_sub(1, Ordering::Relaxed);
            return v;
        }
        Vec::with_capacity(FLUSH_BATCH)
    }

    /// Keeps an emptied batch buffer for reuse (or frees it if the pool is full).
    #[cfg(not(tricolor_loom))]
    fn recycle(&self, mut v: Vec<Grey>) {
        if v.capacity() < FLUSH_BATCH {
            return;
        }
        // Relaxed: the count only bounds the pool; the buffers travel through the injector.
        if self.spare_len.fetch_add(1, Ordering::Relaxed) < SPARE_BATCHES {
            v.clear();
            self.spare.push(v);
        } else {
            self.spare_len.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Under loom buffers are not pooled (the model needs no allocator behaviour).
    #[cfg(tricolor_loom)]
    fn recycle(&self, v: Vec<Grey>) {
        drop(v);
    }

    fn push_batch(&self, batch: Vec<Grey>) {
        #[cfg(not(tricolor_loom))]
        self.inner.push(batch);
        #[cfg(tricolor_loom)]
        self.inner.lock().unwrap().push(batch);
    }

    fn take_batch(&self) -> Option<Vec<Grey>> {
        #[cfg(not(tricolor_loom))]
        loop {
            match self.inner.steal() {
                crossbeam_deque::Steal::Success(b) => return Some(b),
                crossbeam_deque::Steal::Empty => return None,
                crossbeam_deque::Steal::Retry => crate::sync::spin_loop(),
            }
        }
        #[cfg(tricolor_loom)]
        self.inner.lock().unwrap().pop()
    }

    /// Moves every object of `batch` to the queue, in batches of at most [`FLUSH_BATCH`].
    pub(crate) fn push_all(&self, batch: &mut Vec<Grey>) {
        while batch.len() > FLUSH_BATCH {
            self.push_batch(batch.split_off(batch.len() - FLUSH_BATCH));
        }
        if !batch.is_empty() {
            let fresh = self.fresh();
            self.push_batch(core::mem::replace(batch, fresh));
        }
    }

    /// Takes one batch, up to `max` objects of it, into `into` (the rest goes back); returns
    /// how many it took.
    pub(crate) fn take(&self, into: &mut Vec<Grey>, max: usize) -> usize {
        let Some(mut b) = self.take_batch() else {
            return 0;
        };
        if b.len() > max {
            let keep = b.split_off(b.len() - max);
            self.push_batch(b);
            b = keep;
        }
        let n = b.len();
        if into.is_empty() {
            self.recycle(core::mem::replace(into, b));
        } else {
            into.append(&mut b);
            self.recycle(b);
        }
        n
    }

    /// Whether the queue looks empty (it may change at once).
    pub(crate) fn is_empty(&self) -> bool {
        #[cfg(not(tricolor_loom))]
        {
            self.inner.is_empty()
        }
        #[cfg(tricolor_loom)]
        {
            self.inner.lock().unwrap().is_empty()
        }
    }

    /// Drops everything in the queue. Only called between cycles, when no thread can be
    /// pushing (every mutator has left the previous cycle's marking mode).
    pub(crate) fn clear(&self) {
        while let Some(b) = self.take_batch() {
            self.recycle(b);
        }
    }
}

/// One thread's marking state: its local grey stack and counters.
///
/// A mutator keeps one for its whole life (re-armed at each mark start); a mark worker makes one
/// per cycle.
pub struct MarkContext {
    alloc: NonNull<Allocator>,
    parity: MarkParity,
    epoch: Epoch,
    /// Grey objects shaded by this thread and not yet published or scanned.
    pub(crate) local: Vec<Grey>,
    /// Whether this thread newly shaded anything since the flag was last cleared (termination
    /// detection: such a thread has produced work).
    pub(crate) produced: bool,
    /// Bytes of objects this thread newly marked (not yet added to the cycle's total).
    pub(crate) marked_bytes: usize,
    /// Bytes of objects this thread scanned (not yet added to the cycle's total).
    pub(crate) scanned_bytes: usize,
    /// Grey objects (or parts) [`MarkContext::drain`] has taken up, ever: whether a drain
    /// consumed grey work, which termination detection must see (see
    /// `Collector::end_shared_drain`).
    pub(crate) taken: u64,
    /// The prefetch pipeline of the drain loop: children whose span and header are being
    /// loaded, to be shaded [`PIPELINE`] edges later (`pipe_len` of them from `pipe_head`,
    /// circularly). A mark worker's is empty whenever `drain` is not running; a mutator's may
    /// hold slot-barrier shades until it next publishes its grey work.
    pipe: [MarkSite; PIPELINE],
    pipe_head: usize,
    pipe_len: usize,
    /// The span the pipeline last marked in (forgotten whenever marking ends or starts, so it
    /// never outlives the span's use: spans are freed only by sweeping).
    hint: SpanHint,
    /// Mark bits the pipeline has gathered for one bitmap word and not set yet: part of the
    /// pipeline (completed and discarded with it).
    pending: MarkWord,
    /// The slot barrier's shades not yet made (`deferred[..deferred_len]`), shaded as one batch
    /// when the buffer fills: part of the pipeline (completed and discarded with it).
    deferred: [NonNull<Header>; EDGE_BATCH],
    deferred_len: usize,
}

// SAFETY: the context names its allocator by address; the allocator is `Sync` and outlives every
// context (both are owned by the collector's shared state, which drops its contexts first).
unsafe impl Send for MarkContext {}

impl MarkContext {
    /// A context marking with `parity`/`epoch` into `alloc`.
    pub(crate) fn new(alloc: &Allocator, parity: MarkParity, epoch: Epoch) -> MarkContext {
        MarkContext {
            alloc: NonNull::from(alloc),
            parity,
            epoch,
            local: Vec::new(),
            produced: false,
            marked_bytes: 0,
            scanned_bytes: 0,
            taken: 0,
            pipe: [MarkSite::EMPTY; PIPELINE],
            pipe_head: 0,
            pipe_len: 0,
            hint: SpanHint::EMPTY,
            pending: MarkWord::EMPTY,
            deferred: [NonNull::dangling(); EDGE_BATCH],
            deferred_len: 0,
        }
    }

    /// Re-arms the context for a new cycle (the local stack must be empty or junk).
    pub(crate) fn rearm(&mut self, parity: MarkParity, epoch: Epoch) {
        self.parity = parity;
        self.epoch = epoch;
        self.local.clear();
        debug_assert!(
            self.pipeline_is_empty(),
            "edges left in the pipeline across cycles"
        );
        self.hint = SpanHint::EMPTY;
        self.produced = false;
        self.marked_bytes = 0;
        self.scanned_bytes = 0;
    }

    /// The mark parity this context marks with.
    #[inline]
    pub(crate) fn parity(&self) -> MarkParity {
        self.parity
    }

    /// The cycle parity of header claim states.
    #[inline]
    pub(crate) fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// Whether `obj` is marked in this context's cycle.
    #[inline]
    pub(crate) fn is_marked(&self, obj: NonNull<Header>) -> bool {
        self.alloc().is_marked(obj.cast(), self.parity)
    }

    #[inline]
    fn alloc(&self) -> &Allocator {
        // SAFETY: see the `Send` impl: the allocator outlives the context.
        unsafe { self.alloc.as_ref() }
    }

    /// Shades `obj` (see the module docs).
    ///
    /// # Safety
    ///
    /// `obj` must be the header of a live object of this context's heap.
    #[inline]
    pub(crate) unsafe fn shade(&mut self, obj: NonNull<Header>) {
        // SAFETY: the caller guarantees `obj` is a live object, so in an in-use span.
        if let Some(size) = unsafe { self.alloc().mark_live(obj.cast(), self.parity) } {
            self.newly_marked(obj, size, true);
        }
    }

    /// Shades `obj` a few edges later: looks up its span now, starting the loads of the span's
    /// metadata and of `obj`'s header, and shades the edge that has waited longest once
    /// [`PIPELINE`] are in flight. Used by the drain loop, which completes the pipeline
    /// ([`MarkContext::complete_pipeline`]) before it returns, and by a mutator's slot
    /// barrier, whose pipeline is completed whenever the mutator publishes its grey work (at
    /// every termination round, so termination detection never misses a pending shade).
    ///
    /// # Safety
    ///
    /// `obj` must be the header of a live object of this context's heap.
    #[inline]
    pub(crate) unsafe fn shade_pipelined(&mut self, obj: NonNull<Header>) {
        // SAFETY: the caller guarantees `obj` is a live object, so in an in-use span; the hint
        // was taken in this cycle's marking, during which no span is freed.
        let site = unsafe { self.alloc().mark_site_hinted(obj.cast(), &self.hint) };
        if self.hint.worth_prefetching(obj.as_ptr().addr()) {
            crate::sync::prefetch(obj.as_ptr());
        }
        if self.pipe_len < PIPELINE {
            self.pipe[(self.pipe_head + self.pipe_len) % PIPELINE] = site;
            self.pipe_len += 1;
        } else {
            let old_site = core::mem::replace(&mut self.pipe[self.pipe_head], site);
            self.pipe_head = (self.pipe_head + 1) % PIPELINE;
            // SAFETY: every entry was a live object when it entered the pipeline, and objects
            // reachable in this cycle stay live (and in their span) until its sweep.
            unsafe { self.shade_site(old_site) };
        }
    }

    /// [`MarkContext::shade_pipelined`] for each of `objs`.
    ///
    /// # Safety
    ///
    /// Every object must be the header of a live object of this context's heap.
    #[inline]
    pub(crate) unsafe fn shade_all_pipelined(&mut self, objs: &[NonNull<Header>]) {
        for &obj in objs {
            // SAFETY: forwarded from the caller.
            unsafe { self.shade_pipelined(obj) };
        }
    }

    /// Shades a batch of at most [`EDGE_BATCH`] edges (a large object's, or the slot
    /// barrier's buffer): looks up every edge's span first, starting the loads of the spans'
    /// metadata and the objects' headers, then gathers their mark bits. Within one batch this
    /// overlaps the cache misses as the pipeline does, with the hint and the gathered word kept
    /// in registers and no ring to maintain. The batch is complete on return, except for the
    /// last gathered bitmap word, which stays pending as in the pipeline.
    ///
    /// # Safety
    ///
    /// Every object must be the header of a live object of this context's heap.
    ///
    /// # Panics
    ///
    /// If `objs` holds more than [`EDGE_BATCH`] objects (none may go unshaded).
    #[inline]
    pub(crate) unsafe fn shade_batch(&mut self, objs: &[NonNull<Header>]) {
        assert!(objs.len() <= EDGE_BATCH, "shade_batch: batch too long");
        // SAFETY: see the `Send` impl: the allocator outlives the context (a copy of the
        // pointer, so that `self` stays free to record what is newly marked).
        let alloc = unsafe { self.alloc.as_ref() };
        let mut hint = self.hint;
        let mut sites = [MarkSite::EMPTY; EDGE_BATCH];
        for (site, &obj) in sites.iter_mut().zip(objs) {
            // SAFETY: the caller guarantees `obj` is a live object, so in an in-use span; the
            // hint was taken in this cycle's marking, during which no span is freed.
            *site = unsafe { alloc.mark_site_hinted(obj.cast(), &hint) };
            // (A leaf in a span of leaves is never read: no need to load it.)
            if hint.worth_prefetching(obj.as_ptr().addr()) {
                crate::sync::prefetch(obj.as_ptr());
            }
        }
        let mut pending = self.pending;
        for &site in &sites[..objs.len()] {
            // SAFETY: each site was looked up just above for a live object, and `pending`
            // holds bits of this cycle's marking.
            let flushed =
                unsafe { alloc.mark_site_gathered(site, self.parity, &mut hint, &mut pending) };
            self.newly_marked_all(flushed);
        }
        (self.hint, self.pending) = (hint, pending);
    }

    /// Shades `obj` later, with the next [`EDGE_BATCH`] − 1 objects the slot barrier shades:
    /// two stores now, and one [`MarkContext::shade_batch`] per full buffer. The buffer is
    /// part of the pipeline: completed with it whenever the mutator publishes its grey work
    /// (at every termination round), discarded with it at the end of marking.
    ///
    /// # Safety
    ///
    /// `obj` must be the header of a live object of this context's heap.
    #[inline]
    pub(crate) unsafe fn shade_deferred(&mut self, obj: NonNull<Header>) {
        self.deferred[self.deferred_len] = obj;
        self.deferred_len += 1;
        if self.deferred_len == EDGE_BATCH {
            self.flush_deferred();
        }
    }

    /// Shades the slot barrier's buffered objects.
    #[inline(never)]
    fn flush_deferred(&mut self) {
        let n = core::mem::take(&mut self.deferred_len);
        let objs = self.deferred;
        // SAFETY: every buffered object was live when `shade_deferred` took it, and objects
        // reachable in this cycle stay live (and in their span) until its sweep, which waits
        // for the pipeline to be completed or discarded.
        unsafe { self.shade_batch(&objs[..n]) };
    }

    /// Drops the edges in the pipeline unshaded (at the end of marking: nothing may be marked
    /// once sweeping may have begun, and everything reachable is marked already).
    pub(crate) fn discard_pipeline(&mut self) {
        self.deferred_len = 0;
        self.pipe_len = 0;
        self.pending = MarkWord::EMPTY;
        self.hint = SpanHint::EMPTY;
    }

    /// Whether the pipeline holds no edge (none in flight, no mark bit gathered).
    fn pipeline_is_empty(&self) -> bool {
        self.deferred_len == 0 && self.pipe_len == 0 && self.pending.is_empty()
    }

    /// Whether the context holds no grey work (local stack and pipeline empty).
    pub(crate) fn is_idle(&self) -> bool {
        self.local.is_empty() && self.pipeline_is_empty()
    }

    /// Shades every edge in the pipeline.
    pub(crate) fn complete_pipeline(&mut self) {
        if self.deferred_len > 0 {
            self.flush_deferred();
        }
        while self.pipe_len > 0 {
            let site = self.pipe[self.pipe_head];
            self.pipe_head = (self.pipe_head + 1) % PIPELINE;
            self.pipe_len -= 1;
            // SAFETY: as in `shade_pipelined`.
            unsafe { self.shade_site(site) };
        }
        let mut pending = self.pending;
        // SAFETY: the gathered bits are of objects shaded in this cycle's marking, live until
        // its sweep.
        let flushed = unsafe { self.alloc().flush_mark_word(&mut pending, self.parity) };
        self.pending = pending;
        self.newly_marked_all(flushed);
    }

    /// Shades the object of `site`: gathers its mark bit with others of the same bitmap word,
    /// and sets the gathered bits of the previous word if this one is another.
    ///
    /// # Safety
    ///
    /// `site` must come from this context's allocator in this cycle's marking, and its object
    /// still be live.
    #[inline(always)]
    unsafe fn shade_site(&mut self, site: MarkSite) {
        let (mut hint, mut pending) = (self.hint, self.pending);
        // SAFETY: forwarded from the caller; `pending` holds bits of this cycle's marking.
        let flushed = unsafe {
            self.alloc()
                .mark_site_gathered(site, self.parity, &mut hint, &mut pending)
        };
        (self.hint, self.pending) = (hint, pending);
        self.newly_marked_all(flushed);
    }

    /// [`MarkContext::newly_marked`] for each object a flushed bitmap word newly marked.
    #[inline(always)]
    fn newly_marked_all(&mut self, flushed: Option<NewlyMarked>) {
        if let Some(objs) = flushed {
            let scan = objs.may_hold_pointers();
            if !scan && !cfg!(debug_assertions) {
                // Leaves only (their span never held an object with a trace function): count
                // them without visiting each. (Debug builds visit them, to check the flag.)
                self.produced = true;
                self.marked_bytes += objs.bytes();
                return;
            }
            for (obj, size) in objs {
                self.newly_marked(obj.cast(), size, scan);
            }
        }
    }

    /// Records a newly marked object and, if it has a trace function, pushes it grey. With
    /// `scan` false its span never held an object with a trace function (the allocator's
    /// `needs_scan`), so it is a leaf and its header is not read.
    #[inline]
    fn newly_marked(&mut self, obj: NonNull<Header>, size: usize, scan: bool) {
        self.produced = true;
        self.marked_bytes += size;
        // SAFETY: `shade`'s caller guarantees `obj` is a live object; its header is initialised
        // before the object becomes reachable.
        let header = || unsafe { obj.as_ref() };
        if !scan {
            debug_assert!(
                header().desc().trace.is_none(),
                "an object with a trace function in a span without needs_scan"
            );
            return;
        }
        if header().desc().trace.is_some() {
            self.local.push(Grey::new(obj));
        }
    }

    /// Shades every child of `obj` (runs its trace function into this context) without
    /// claiming it. Used by a mutator for objects it owns exclusively at the moment: a fresh
    /// allocation, or an object it has claimed or mutably borrowed.
    ///
    /// # Safety
    ///
    /// `obj` must be a live object of this heap that no other thread is mutating.
    pub(crate) unsafe fn trace_children(&mut self, obj: NonNull<Header>) {
        // SAFETY: the caller guarantees `obj` is live.
        let desc = unsafe { obj.as_ref() }.desc();
        if let Some(trace) = desc.trace {
            let mut tracer = Tracer::marking(self);
            let mut chunk = 0;
            // SAFETY: `trace` is the descriptor's own trace function for this object, and the
            // caller guarantees nobody mutates it meanwhile. All parts, in order.
            while unsafe { call_trace(trace, obj, &mut tracer, chunk) } {
                chunk += 1;
            }
            self.scanned_bytes += desc.size;
        }
    }

    /// Scans part `grey.1` of the grey object `grey.0` with the claim protocol (module docs,
    /// steps 1–3). An object traced in parts is claimed for one part at a time and released
    /// (not blackened) between parts, with its next part queued: a mutator waiting to mutate it
    /// waits for one part, then runs its object barrier on the whole object itself, after which
    /// the remaining parts find it black and stop.
    ///
    /// # Safety
    ///
    /// `grey.0` must be a live object of this heap, shaded in the current cycle.
    pub(crate) unsafe fn scan(&mut self, grey: Grey) {
        let Grey(obj, chunk) = grey;
        // SAFETY: the caller guarantees `obj` is live.
        let header = unsafe { obj.as_ref() };
        let desc = header.desc();
        let Some(trace) = desc.trace else { return };
        let epoch = self.epoch;
        let claim = desc.needs_claim && !crate::faults::fault(crate::faults::Fault::WorkerNoClaim);
        if claim && header.try_claim(epoch).is_err() {
            return;
        }
        let mut tracer = Tracer::pipelined(self);
        // SAFETY: the object is live; if it holds lock cells we hold its claim, so no mutator
        // mutates it while we read it (they wait for `Black`); otherwise its GC pointers change
        // only atomically.
        let more = unsafe { call_trace(trace, obj, &mut tracer, chunk as usize) };
        tracer.finish();
        if claim {
            if more {
                header.release_claim(epoch);
            } else {
                header.finish_trace(epoch);
            }
        }
        // Scan work: an object's size when its trace completes, plus, for an object traced in
        // parts, `EDGE_SCAN_WORK` per edge of each part (its size counts only the container,
        // not the elements it owns). Without the parts' work, a budgeted drain (a mark assist)
        // would trace a whole large object before noticing its budget was spent.
        let edges = tracer.edges();
        if more || chunk > 0 {
            self.scanned_bytes += edges.max(1) * EDGE_SCAN_WORK;
        }
        if more {
            self.local.push(Grey(obj, chunk + 1));
        } else {
            self.scanned_bytes += desc.size;
        }
    }

    /// Scans grey objects (local first, then from `queue`) until `budget` bytes have been
    /// scanned or no grey object is left. Publishes a batch to `queue` whenever the local stack
    /// grows past two batches and `queue` is empty, so idle threads find work. Returns the
    /// bytes scanned.
    pub(crate) fn drain(&mut self, queue: &GreyQueue, budget: usize) -> usize {
        let start = self.scanned_bytes;
        let mut since_balance = 0usize;
        loop {
            let grey = match self.local.pop() {
                Some(g) => g,
                None => {
                    if !self.pipeline_is_empty() {
                        self.complete_pipeline();
                    } else if queue.take(&mut self.local, FLUSH_BATCH) == 0 {
                        break;
                    }
                    continue;
                }
            };
            self.taken += 1;
            // SAFETY: every object on a grey stack was shaded this cycle and is therefore
            // live until this cycle's sweep, which cannot start while it is still grey.
            unsafe { self.scan(grey) };
            if self.scanned_bytes - start >= budget {
                self.complete_pipeline();
                break;
            }
            since_balance += 1;
            if since_balance >= 64 {
                since_balance = 0;
                // Share work as Go's `gcw.balance` does: when the shared queue is empty, half
                // of the local stack (up to a batch) goes there, so that mutators that must
                // assist find work. Without it, a depth-first frontier (a few dozen objects in
                // a tree) never reaches the queue, assists find nothing and forgive their debt,
                // and the heap outruns its goal while one thread marks.
                if self.local.len() >= 2 && queue.is_empty() {
                    let share = (self.local.len() / 2).min(FLUSH_BATCH);
                    let mut batch = self.local.split_off(self.local.len() - share);
                    queue.push_all(&mut batch);
                }
            }
        }
        self.scanned_bytes - start
    }

    /// Publishes the whole local stack to `queue`.
    pub(crate) fn flush(&mut self, queue: &GreyQueue) {
        if !self.local.is_empty() {
            queue.push_all(&mut self.local);
        }
    }
}

#[cfg(all(test, not(tricolor_loom)))]
pub(crate) mod tests {
    use std::cell::RefCell;

    use tricolor_alloc::ThreadCache;
    use tricolor_alloc::size_class::size_to_class;

    use super::*;
    use crate::header::TypeDesc;

    /// Edges per part of the big test object.
    const PART: usize = 64;
    const LEAVES: usize = 64 * PART;

    thread_local! {
        /// The leaves the big object points to (its trace function, which runs on the test's
        /// thread, reads them from here).
        static BIG_CHILDREN: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    }

    pub(crate) static LEAF: TypeDesc = TypeDesc {
        size: 16,
        align: 8,
        class: 2,
        trace: None,
        drop: None,
        needs_claim: false,
        name: || "leaf",
    };

    /// Traces `PART` children per part.
    unsafe fn trace_big(_obj: NonNull<Header>, tracer: &mut Tracer, chunk: usize) -> bool {
        BIG_CHILDREN.with_borrow(|children| {
            let parts = children.chunks(PART).collect::<Vec<_>>();
            for &c in parts[chunk] {
                // SAFETY: the test allocated every child in the heap and keeps them.
                unsafe { tracer.edge(NonNull::new(c as *mut Header).unwrap()) };
            }
            chunk + 1 < parts.len()
        })
    }

    static BIG: TypeDesc = TypeDesc {
        trace: Some(trace_big),
        name: || "big",
        ..LEAF
    };

    /// Traces one child per part: a long, thin object whose children pile up on the stack.
    unsafe fn trace_thin(_obj: NonNull<Header>, tracer: &mut Tracer, chunk: usize) -> bool {
        BIG_CHILDREN.with_borrow(|children| {
            // SAFETY: the test allocated every child in the heap and keeps them.
            unsafe { tracer.edge(NonNull::new(children[chunk] as *mut Header).unwrap()) };
            chunk + 1 < children.len()
        })
    }

    unsafe fn trace_nothing(_obj: NonNull<Header>, _tracer: &mut Tracer, _chunk: usize) -> bool {
        false
    }

    static THIN: TypeDesc = TypeDesc {
        trace: Some(trace_thin),
        name: || "thin",
        ..BIG
    };

    /// A leaf that has a trace function (so it is pushed grey) but no children.
    pub(crate) static GREY_LEAF: TypeDesc = TypeDesc {
        trace: Some(trace_nothing),
        name: || "grey leaf",
        ..LEAF
    };

    fn new_object(cache: &mut ThreadCache, desc: &'static TypeDesc) -> NonNull<Header> {
        let class = size_to_class(desc.size);
        let p = match cache.alloc_fast(class) {
            Some(p) => p,
            None => cache.alloc_slow(class).unwrap(),
        };
        if desc.trace.is_some() {
            cache.note_needs_scan(class);
        }
        let h = p.cast::<Header>();
        // SAFETY: a fresh slot of 16 bytes, 8-aligned, ours alone.
        unsafe { h.as_ptr().write(Header::new(desc, None)) };
        h
    }

    /// A small heap without collector threads, a cache on it, and `n` objects of `desc` as the
    /// children the test objects' trace functions report.
    fn heap_with_children(
        n: usize,
        desc: &'static TypeDesc,
    ) -> (std::sync::Arc<crate::collector::Collector>, ThreadCache) {
        let c = crate::model::collector(crate::Config {
            arena_bytes: 1 << 20,
            max_heap_bytes: 16 << 20,
            ..crate::Config::default()
        })
        .unwrap();
        let mut cache = ThreadCache::new(c.alloc.clone());
        let children = (0..n)
            .map(|_| new_object(&mut cache, desc).as_ptr() as usize)
            .collect();
        BIG_CHILDREN.set(children);
        (c, cache)
    }

    #[test]
    fn a_budgeted_drain_stops_inside_a_large_object() {
        let (c, mut cache) = heap_with_children(LEAVES, &LEAF);
        let big = new_object(&mut cache, &BIG);

        let queue = GreyQueue::new();
        let mut cx = MarkContext::new(&c.alloc, 0, 1);
        // SAFETY: `big` is a live object of this heap.
        unsafe { cx.shade(big) };
        // A budget of two parts' worth of edges.
        let budget = 2 * PART * EDGE_SCAN_WORK;
        let done = cx.drain(&queue, budget);
        assert!(
            done >= budget && done < 4 * budget,
            "stopped near the budget: {done} of {budget}"
        );
        let next_parts: Vec<u32> = cx
            .local
            .iter()
            .filter(|g| g.0 == big)
            .map(|g| g.1)
            .collect();
        assert_eq!(
            next_parts,
            [2],
            "the rest of the object waits as a grey part"
        );
        // The drain completed its prefetch pipeline before returning: exactly the leaves of
        // the two parts it scanned are marked, none is still waiting to be.
        let marked = BIG_CHILDREN.with_borrow(|children| {
            children
                .iter()
                .map(|&l| cx.is_marked(NonNull::new(l as *mut Header).unwrap()))
                .collect::<Vec<_>>()
        });
        assert!(
            marked[..2 * PART].iter().all(|&m| m),
            "a scanned edge is unmarked"
        );
        assert!(!marked[2 * PART..].iter().any(|&m| m));
        assert_eq!(cx.pipe_len, 0);
        // Draining without a budget finishes it: every leaf is marked exactly once.
        cx.drain(&queue, usize::MAX);
        assert!(cx.local.is_empty());
        assert_eq!(cx.marked_bytes, 16 * (LEAVES + 1));
        cache.release_all();
    }

    #[test]
    fn a_draining_thread_shares_half_its_stack_when_the_queue_is_empty() {
        let (c, mut cache) = heap_with_children(200, &GREY_LEAF);
        let thin = new_object(&mut cache, &THIN);
        let queue = GreyQueue::new();
        let mut cx = MarkContext::new(&c.alloc, 0, 1);
        // SAFETY: `thin` is a live object of this heap.
        unsafe { cx.shade(thin) };
        // About 160 scans: the thin object's parts, each leaving a grey leaf on the stack, which
        // stays far below a batch. (The leaves turn grey a bitmap word at a time, 64 of them,
        // once their marks are set: by the second balancing check, after 128 scans, some are.)
        cx.drain(&queue, 160 * EDGE_SCAN_WORK);
        assert!(cx.local.len() < FLUSH_BATCH);
        assert!(
            !queue.is_empty(),
            "part of a small local stack is shared when the queue runs dry"
        );
        // Everything is still marked exactly once in the end.
        cx.drain(&queue, usize::MAX);
        assert!(cx.local.is_empty() && queue.is_empty());
        assert_eq!(cx.marked_bytes, 16 * 201);
        cache.release_all();
    }
}
