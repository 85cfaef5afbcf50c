//! Every call into the operating system's memory manager (mmap, madvise, munmap) is here.
//!
//! # Contract
//!
//! * [`Reservation::reserve`] maps `len` bytes of anonymous, private, read-write memory with
//!   `MAP_NORESERVE` (through memmap2: `no_reserve_swap().map_anon()`), so reserving 64 GiB
//!   costs address space only. Pages are committed by the kernel on first touch, read as zero
//!   until written, and are never executable. The usable range is aligned to the requested
//!   power-of-two alignment (the mapping is over-sized by that much to make room).
//! * [`Reservation::decommit`] gives a page-aligned sub-range back to the kernel with
//!   `madvise(MADV_DONTNEED)`: resident memory drops at once and the range reads as zero the
//!   next time it is touched. The range stays mapped, so it may be reused at any time.
//! * [`Reservation::advise_huge_pages`] asks the kernel to back the range with transparent huge
//!   pages (`madvise(MADV_HUGEPAGE)`). Advice only: contents and addresses are unaffected.
//! * Dropping the [`Reservation`] unmaps everything. The allocator drops it last, after all
//!   metadata that points into it.
//!
//! Nothing else in the crate talks to the OS; the rest of the allocator only does address
//! arithmetic on the range handed out here.

use std::io;

use memmap2::{Advice, MmapOptions, MmapRaw, UncheckedAdvice};

/// A reserved, read-write, demand-committed range of address space.
pub(crate) struct Reservation {
    map: MmapRaw,
    /// Start of the aligned usable range (inside `map`).
    base: *mut u8,
    /// Usable bytes from `base`.
    len: usize,
}

// SAFETY: the reservation is plain memory owned by the allocator; the raw pointer is only an
// address into the mapping, which is valid from any thread until the `Reservation` drops.
unsafe impl Send for Reservation {}
// SAFETY: as above; `&Reservation` only hands out addresses and calls madvise, which the
// kernel serialises.
unsafe impl Sync for Reservation {}

impl Reservation {
    /// Reserves `len` usable bytes aligned to `align` (a power of two).
    pub(crate) fn reserve(len: usize, align: usize) -> io::Result<Self> {
        debug_assert!(align.is_power_of_two());
        let total = len
            .checked_add(align)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "reservation too large"))?;
        let map: MmapRaw = MmapOptions::new()
            .len(total)
            .no_reserve_swap()
            .map_anon()?
            .into();
        let start = map.as_mut_ptr();
        let pad = start.addr().next_multiple_of(align) - start.addr();
        // SAFETY: `pad < align` and the mapping is `len + align` bytes, so `start + pad` is
        // inside it (at most one past the padding, with `len` usable bytes after it).
        let base = unsafe { start.add(pad) };
        Ok(Self { map, base, len })
    }

    /// First usable byte.
    #[inline]
    pub(crate) fn base(&self) -> *mut u8 {
        self.base
    }

    /// Usable bytes.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Asks the kernel to back the whole range with transparent huge pages where it can (it
    /// fails on kernels without them; the range then keeps normal pages).
    pub(crate) fn advise_huge_pages(&self) -> io::Result<()> {
        self.map.advise(Advice::HugePage)
    }

    /// Returns `[offset, offset + len)` (relative to [`base`](Self::base)) to the kernel.
    ///
    /// # Safety
    ///
    /// The range must lie inside the usable range, and no live data may be stored in it: its
    /// contents are discarded (they read back as zero). The allocator calls this only for free
    /// pages that it has taken out of the page heap for the duration of the call.
    pub(crate) unsafe fn decommit(&self, offset: usize, len: usize) -> io::Result<()> {
        debug_assert!(offset.checked_add(len).is_some_and(|end| end <= self.len));
        let map_offset = self.base.addr() - self.map.as_mut_ptr().addr() + offset;
        // SAFETY: the caller guarantees the range is inside the mapping and holds no data
        // anyone will read as anything but zero; DONTNEED on a private anonymous mapping only
        // drops the pages.
        unsafe {
            self.map
                .unchecked_advise_range(UncheckedAdvice::DontNeed, map_offset, len)
        }
    }
}
