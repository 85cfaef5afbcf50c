//! Arenas: the heap's reservation, carved into fixed-size arenas, and the page table that maps
//! any address to its span in O(1).
//!
//! # Design
//!
//! * `res` — one contiguous reservation per allocator (`os::Reservation`), aligned to the
//!   arena size; arena `i` covers `[base + i · arena_bytes, base + (i + 1) · arena_bytes)`;
//! * `table[i]: AtomicPtr` — null until arena `i` is activated, then the arena's page table: a
//!   heap-allocated array of `pages_per_arena` `AtomicPtr<Span>`, one per 8 KiB page.
//!
//! Arenas are activated in address order, under the page-heap lock, when the page heap grows
//! (`PageHeap::grow`). Activation allocates the page table and publishes it with a Release
//! store; lookups load it with Acquire. Memory itself needs no activation step: the kernel
//! commits a page the first time it is touched.
//!
//! Every page of an in-use span points at the span (set by the thread that took the span from
//! the page heap, after the span is published). Entries are not cleared when a span is freed:
//! span structs are never deallocated while the allocator lives, and a lookup checks that the
//! span is in use and covers the address, so a stale entry answers "no span".
//!
//! Address → span ([`Arenas::span_of`]):
//!
//! 1. `off = addr − base`; outside the reservation → none;
//! 2. `table[off >> arena_shift]` (Acquire) → the arena's page table, or none;
//! 3. `pages[(off >> PAGE_SHIFT) & (pages_per_arena − 1)]` (Acquire) → the span, or none;
//! 4. span state in use (Acquire) and `base ≤ addr < base + npages · PAGE_SIZE`, or none.

use std::ptr;

use crate::AllocError;
use crate::os::Reservation;
use crate::size_class::{PAGE_SHIFT, PAGE_SIZE};
use crate::span::{SPAN_IN_USE, Span};
use crate::sync::{AtomicPtr, Ordering};

/// The reservation and its page tables. See the module docs.
pub(crate) struct Arenas {
    res: Reservation,
    base: usize,
    len: usize,
    arena_shift: u32,
    pages_per_arena: usize,
    table: Box<[AtomicPtr<AtomicPtr<Span>>]>,
}

impl Arenas {
    /// Reserves `max_bytes` (a multiple of `arena_bytes`, itself a power of two ≥ one page);
    /// on failure halves the size, down to `min_bytes`. With `huge_pages`, advises the kernel
    /// to back it with transparent huge pages (ignored where the kernel has none).
    pub(crate) fn reserve(
        max_bytes: usize,
        min_bytes: usize,
        arena_bytes: usize,
        huge_pages: bool,
    ) -> Result<Self, AllocError> {
        debug_assert!(arena_bytes.is_power_of_two() && arena_bytes >= PAGE_SIZE);
        let mut bytes = max_bytes;
        let res = loop {
            match Reservation::reserve(bytes, arena_bytes) {
                Ok(res) => break res,
                Err(source) => {
                    let next = (bytes / 2) & !(arena_bytes - 1);
                    if next < min_bytes.max(arena_bytes) || next == 0 {
                        return Err(AllocError::Reserve { bytes, source });
                    }
                    bytes = next;
                }
            }
        };
        if huge_pages {
            // Advice only: a kernel without transparent huge pages refuses it, and the heap
            // then works with normal pages.
            let _ = res.advise_huge_pages();
        }
        let narenas = res.len() / arena_bytes;
        Ok(Self {
            base: res.base().addr(),
            len: narenas * arena_bytes,
            arena_shift: arena_bytes.trailing_zeros(),
            pages_per_arena: arena_bytes / PAGE_SIZE,
            table: (0..narenas)
                .map(|_| AtomicPtr::new(ptr::null_mut()))
                .collect(),
            res,
        })
    }

    /// Reserved bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes per arena (the reservation's alignment).
    pub(crate) fn arena_bytes(&self) -> usize {
        1 << self.arena_shift
    }

    /// Pages per arena.
    pub(crate) fn pages_per_arena(&self) -> usize {
        self.pages_per_arena
    }

    /// Address of page `page`.
    #[inline]
    pub(crate) fn page_addr(&self, page: usize) -> usize {
        self.base + page * PAGE_SIZE
    }

    /// Page number of `addr` (inside the reservation).
    #[inline]
    pub(crate) fn page_of(&self, addr: usize) -> usize {
        (addr - self.base) >> PAGE_SHIFT
    }

    /// A pointer to `addr` (inside the reservation) that carries the mapping's provenance.
    #[inline]
    pub(crate) fn ptr_at(&self, addr: usize) -> *mut u8 {
        debug_assert!(addr >= self.base && addr - self.base < self.len);
        self.res.base().with_addr(addr)
    }

    /// Creates arena `i`'s page table. Called under the page-heap lock, once per arena, before
    /// any of its pages is handed out.
    pub(crate) fn activate(&self, i: usize) {
        let pages: Box<[AtomicPtr<Span>]> = (0..self.pages_per_arena)
            .map(|_| AtomicPtr::new(ptr::null_mut()))
            .collect();
        let pages = Box::into_raw(pages).cast::<AtomicPtr<Span>>();
        // Release: pairs with the Acquire loads in `page_entry`, so a reader that sees the
        // table sees its initialised (null) entries.
        let old = self.table[i].swap(pages, Ordering::Release);
        assert!(old.is_null(), "arena {i} activated twice");
    }

    /// Page `page`'s entry, or `None` if its arena is not active.
    #[inline]
    fn page_entry(&self, page: usize) -> Option<&AtomicPtr<Span>> {
        let arena = page >> (self.arena_shift - PAGE_SHIFT);
        // Acquire: pairs with the Release swap in `activate`.
        let table = self.table.get(arena)?.load(Ordering::Acquire);
        if table.is_null() {
            return None;
        }
        // SAFETY: a non-null table points at `pages_per_arena` entries that live until the
        // allocator drops (`activate`, `Drop`); the mask keeps the index in bounds.
        Some(unsafe { &*table.add(page & (self.pages_per_arena - 1)) })
    }

    /// Points every page of `[start, start + npages)` at `span`. The pages' arenas are active;
    /// `span` is in use and published.
    pub(crate) fn set_span(&self, start: usize, npages: usize, span: *const Span) {
        for page in start..start + npages {
            let entry = self
                .page_entry(page)
                .expect("span pages in an inactive arena");
            // Release: pairs with the Acquire load in `span_of`, so a reader that finds the
            // span sees it initialised.
            entry.store(span.cast_mut(), Ordering::Release);
        }
    }

    /// The span of `addr`, without the checks of [`Arenas::span_of`] (a hot path of marking).
    ///
    /// # Safety
    ///
    /// `addr` must lie in an in-use span of this allocator (a live object).
    #[inline(always)]
    pub(crate) unsafe fn span_of_live(&self, addr: usize) -> &Span {
        let page = (addr - self.base) >> PAGE_SHIFT;
        let arena = page >> (self.arena_shift - PAGE_SHIFT);
        // SAFETY: the caller guarantees `addr` is in an in-use span, so inside the reservation
        // (the index is in bounds) and in an active arena (the table is non-null).
        let table = unsafe { self.table.get_unchecked(arena) }.load(Ordering::Acquire);
        // SAFETY: as above; the mask keeps the index in the table.
        let entry = unsafe { &*table.add(page & (self.pages_per_arena - 1)) };
        // SAFETY: an in-use span's pages point at it (`set_span`); span structs live as long as
        // the allocator. Acquire: pairs with the Release store in `set_span`.
        unsafe { &*entry.load(Ordering::Acquire) }
    }

    /// The in-use span covering `addr`, if any (steps 1–4 of the module docs).
    #[inline]
    pub(crate) fn span_of(&self, addr: usize) -> Option<&Span> {
        let off = addr.wrapping_sub(self.base);
        if off >= self.len {
            return None;
        }
        // Acquire: pairs with the Release store in `set_span`.
        let span = self.page_entry(off >> PAGE_SHIFT)?.load(Ordering::Acquire);
        if span.is_null() {
            return None;
        }
        // SAFETY: page-table entries only ever point at span structs owned by the allocator,
        // which are never deallocated before it drops (`Allocator::drop`).
        let span = unsafe { &*span };
        // Acquire: pairs with the Release store of `state` when the span was published, so
        // `base`/`npages` below are the ones of this use of the struct.
        if span.state.load(Ordering::Acquire) != SPAN_IN_USE {
            return None;
        }
        let base = span.base();
        (addr >= base && addr - base < span.npages() * PAGE_SIZE).then_some(span)
    }

    /// Returns pages `[start, start + n)` to the OS.
    ///
    /// # Safety
    ///
    /// The pages must be free and out of the page heap's hands (lent to the scavenger) for the
    /// duration of the call: their contents are discarded.
    pub(crate) unsafe fn decommit(&self, start: usize, n: usize) -> std::io::Result<()> {
        // SAFETY: the range is inside the reservation (pages of active arenas) and, by the
        // caller's contract, holds no data.
        unsafe { self.res.decommit(start * PAGE_SIZE, n * PAGE_SIZE) }
    }
}

impl Drop for Arenas {
    fn drop(&mut self) {
        for entry in self.table.iter() {
            let table = entry.load(Ordering::Relaxed);
            if !table.is_null() {
                let slice = ptr::slice_from_raw_parts_mut(table, self.pages_per_arena);
                // SAFETY: `table` came from `Box::into_raw` of a slice of `pages_per_arena`
                // entries in `activate`, and is freed only here, once (we have `&mut self`).
                drop(unsafe { Box::from_raw(slice) });
            }
        }
    }
}
