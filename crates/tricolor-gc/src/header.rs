//! Object headers and type descriptors.
//!
//! Every object in a tricolor heap starts with a one-word [`Header`]; the value follows at
//! `max(8, align_of::<T>())` bytes (the layout of a `#[repr(C)]` struct of header then value, see
//! [`GcBox`]). The header word packs:
//!
//! ```text
//!  63 ............................ 3 |   2   | 1  0
//!  address of the &'static TypeDesc  | epoch | claim state
//! ```
//!
//! * The [`TypeDesc`] is a `'static` descriptor (size, alignment, trace and drop functions,
//!   flags, a name) aligned to 8, so its address leaves the low three bits free.
//! * The *claim state* serves the object barrier and is only meaningful when the epoch bit equals
//!   the current cycle's parity; a state stamped in an older cycle reads as [`Claim::Unclaimed`]:
//!   - `Unclaimed`: nobody has traced the object this cycle;
//!   - `Tracing`: one thread (a mark worker or a mutator running the object barrier) has
//!     claimed it and is shading its children; nobody else traces it or mutates it meanwhile;
//!   - `Black`: it has been traced this cycle (or allocated during this cycle's marking).
//!
//! Flipping the cycle parity at mark start turns every `Black` into `Unclaimed` without touching
//! any object. A live object with pointers is re-stamped every cycle (it is shaded, so someone
//! traces it), so a stale stamp can never survive into the cycle two later with the same parity.
//!
//! Whether an object is *marked* (grey or black, i.e. will survive) is not stored here: that is
//! the span's mark bit, owned by the allocator (`tricolor_alloc::Allocator::mark`).
//!
//! Orderings: the claim CAS is `AcqRel` (failure `Acquire`); publishing `Black` after tracing is a
//! `Release` store that pairs with the `Acquire` load of a mutator's "is it black already?" check
//! (design rule 2), so a mutator that sees `Black` also sees that the tracer's reads are done.

use core::ptr::NonNull;

use crate::sync::{AtomicUsize, Ordering};
use crate::trace::Tracer;

/// A type's trace function: shades the GC pointers of part `chunk` of the object `obj` and returns
/// whether parts remain.
///
/// # Safety
///
/// `obj` must be the header of a live, initialised object of the descriptor's type.
pub type TraceFn = unsafe fn(obj: NonNull<Header>, tracer: &mut Tracer, chunk: usize) -> bool;

/// Describes one Rust type stored in the heap: how big its box is, how to trace and drop it.
///
/// Descriptors are `'static` constants, one per type (see `Desc::DESC` in the public crate); the engine reaches
/// user objects only through them (the one embedding boundary).
#[repr(C, align(8))]
#[derive(Debug)]
pub struct TypeDesc {
    /// Size in bytes of the whole box (header and value).
    pub size: usize,
    /// Alignment of the whole box.
    pub align: usize,
    /// Size class the box is allocated from (0 for large objects), computed at compile time.
    pub class: u8,
    /// Shades the GC pointers of part `chunk` of the object and returns whether parts remain
    /// (large sequences are traced in parts); `None` if the type holds no pointers ("noscan").
    pub trace: Option<TraceFn>,
    /// Runs the value's drop glue; `None` if the type needs no drop.
    pub drop: Option<unsafe fn(NonNull<Header>)>,
    /// Whether the value can be mutated non-atomically during marking (it contains a lock
    /// cell), so tracing it must claim the object first.
    pub needs_claim: bool,
    /// The type's name, for statistics and debugging (`core::any::type_name`, which is not a
    /// `const fn` yet).
    pub name: fn() -> &'static str,
}

/// The claim state of an object in the current cycle (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Not traced yet in this cycle.
    Unclaimed,
    /// Being traced by exactly one thread.
    Tracing,
    /// Traced (or allocated black) in this cycle.
    Black,
}

const STATE_MASK: usize = 0b011;
const EPOCH_BIT: usize = 0b100;
const TAG_MASK: usize = 0b111;
const TRACING: usize = 0b01;
const BLACK: usize = 0b10;

/// The one-word object header.
#[repr(C)]
#[derive(Debug)]
pub struct Header {
    word: AtomicUsize,
}

/// The parity of the current collection cycle, as stored in headers (0 or 1).
pub type Epoch = usize;

#[inline]
fn epoch_bits(epoch: Epoch) -> usize {
    (epoch & 1) << 2
}

impl Header {
    /// A header for a new object of type `desc`. `black_in` stamps it black in the given cycle
    /// (objects allocated during marking), otherwise it starts unclaimed.
    #[inline]
    pub fn new(desc: &'static TypeDesc, black_in: Option<Epoch>) -> Header {
        let mut word = desc as *const TypeDesc as usize;
        debug_assert_eq!(word & TAG_MASK, 0);
        if let Some(epoch) = black_in {
            word |= epoch_bits(epoch) | BLACK;
        }
        Header {
            word: AtomicUsize::new(word),
        }
    }

    /// The object's type descriptor.
    #[inline]
    pub fn desc(&self) -> &'static TypeDesc {
        let word = self.word.load(Ordering::Relaxed) & !TAG_MASK;
        // SAFETY: the descriptor bits of a header are written once, at allocation, from a
        // `&'static TypeDesc`, and never change afterwards (claims only touch the tag bits).
        unsafe { &*(word as *const TypeDesc) }
    }

    #[inline]
    fn decode(word: usize, epoch: Epoch) -> Claim {
        if word & EPOCH_BIT != epoch_bits(epoch) {
            return Claim::Unclaimed;
        }
        match word & STATE_MASK {
            TRACING => Claim::Tracing,
            BLACK => Claim::Black,
            _ => Claim::Unclaimed,
        }
    }

    /// The claim state in cycle `epoch`. `Acquire`: pairs with the `Release` in
    /// [`Header::finish_trace`], so seeing `Black` means the tracer is done reading the object.
    #[inline]
    pub fn claim_state(&self, epoch: Epoch) -> Claim {
        if crate::faults::fault(crate::faults::Fault::RelaxedBlackCheck) {
            // loom negative control: the check without its Acquire.
            return Self::decode(self.word.load(Ordering::Relaxed), epoch);
        }
        Self::decode(self.word.load(Ordering::Acquire), epoch)
    }

    /// Tries to claim the object for tracing in cycle `epoch`. Returns the state that prevented
    /// the claim (`Tracing` or `Black`) on failure.
    ///
    /// The CAS is `AcqRel` with an `Acquire` failure ordering (design rule 3: a relaxed failure
    /// ordering lost an object in the loom model): a claimer that fails on `Black` must see the
    /// previous tracer's work.
    #[inline]
    pub fn try_claim(&self, epoch: Epoch) -> Result<(), Claim> {
        let mut current = self.word.load(Ordering::Acquire);
        loop {
            match Self::decode(current, epoch) {
                Claim::Unclaimed => {}
                other => return Err(other),
            }
            let claimed = (current & !TAG_MASK) | epoch_bits(epoch) | TRACING;
            match self.word.compare_exchange_weak(
                current,
                claimed,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => current = actual,
            }
        }
    }

    /// Publishes that the claimed object has been traced in cycle `epoch`. `Release`: pairs
    /// with the `Acquire` loads in [`Header::claim_state`] and [`Header::try_claim`].
    #[inline]
    pub fn finish_trace(&self, epoch: Epoch) {
        let word = self.word.load(Ordering::Relaxed);
        debug_assert_eq!(Self::decode(word, epoch), Claim::Tracing);
        self.word.store(
            (word & !TAG_MASK) | epoch_bits(epoch) | BLACK,
            Ordering::Release,
        );
    }

    /// Gives back a claim without blackening: the object was traced in part and its next part
    /// is queued. `Release`: pairs with the `Acquire` of the next claimer.
    #[inline]
    pub fn release_claim(&self, epoch: Epoch) {
        let word = self.word.load(Ordering::Relaxed);
        debug_assert_eq!(Self::decode(word, epoch), Claim::Tracing);
        self.word
            .store((word & !TAG_MASK) | epoch_bits(epoch), Ordering::Release);
    }

    /// Stamps an object black in cycle `epoch` without tracing it (used for objects that need
    /// no claim and whose children were shaded by their allocator). `Release` as above.
    #[inline]
    pub fn set_black(&self, epoch: Epoch) {
        let word = self.word.load(Ordering::Relaxed);
        self.word.store(
            (word & !TAG_MASK) | epoch_bits(epoch) | BLACK,
            Ordering::Release,
        );
    }
}

/// The in-heap layout of an object holding a `T`: the header, then the value at offset
/// `max(8, align_of::<T>())`.
#[repr(C)]
#[derive(Debug)]
pub struct GcBox<T: ?Sized> {
    /// The object header.
    pub header: Header,
    /// The value.
    pub value: T,
}

/// The bytes an object of type `desc` occupies: its size rounded up to its size class, or to
/// whole pages for a large object.
pub fn allocation_size(desc: &TypeDesc) -> usize {
    use tricolor_alloc::size_class::{PAGE_SIZE, class_size};
    if desc.class != 0 {
        class_size(desc.class)
    } else {
        desc.size.div_ceil(PAGE_SIZE) * PAGE_SIZE
    }
}

#[cfg(all(test, not(tricolor_loom)))]
mod tests {
    use super::*;

    static DESC: TypeDesc = TypeDesc {
        size: 16,
        align: 8,
        class: 2,
        trace: None,
        drop: None,
        needs_claim: true,
        name: || "test",
    };

    #[test]
    fn claims_move_unclaimed_tracing_black_within_a_cycle() {
        let h = Header::new(&DESC, None);
        assert!(core::ptr::eq(h.desc(), &DESC));
        assert_eq!(h.claim_state(1), Claim::Unclaimed);
        assert_eq!(h.try_claim(1), Ok(()));
        assert_eq!(h.claim_state(1), Claim::Tracing);
        assert_eq!(h.try_claim(1), Err(Claim::Tracing), "one tracer at a time");
        h.finish_trace(1);
        assert_eq!(h.claim_state(1), Claim::Black);
        assert_eq!(
            h.try_claim(1),
            Err(Claim::Black),
            "never traced twice in a cycle"
        );
        assert!(
            core::ptr::eq(h.desc(), &DESC),
            "claims never touch the descriptor"
        );
    }

    #[test]
    fn flipping_the_epoch_turns_black_into_unclaimed() {
        let h = Header::new(&DESC, None);
        h.try_claim(0).unwrap();
        h.finish_trace(0);
        assert_eq!(h.claim_state(0), Claim::Black);
        assert_eq!(
            h.claim_state(1),
            Claim::Unclaimed,
            "next cycle: white again"
        );
        assert_eq!(h.try_claim(1), Ok(()));
        h.finish_trace(1);
        assert_eq!(h.claim_state(1), Claim::Black);
        assert_eq!(h.claim_state(0), Claim::Unclaimed);
    }

    #[test]
    fn objects_allocated_black_and_partial_traces() {
        let h = Header::new(&DESC, Some(1));
        assert_eq!(h.claim_state(1), Claim::Black);
        assert_eq!(h.claim_state(0), Claim::Unclaimed);
        // A part of a large object: claimed, then released without blackening.
        let h = Header::new(&DESC, None);
        h.try_claim(0).unwrap();
        h.release_claim(0);
        assert_eq!(h.claim_state(0), Claim::Unclaimed);
        assert_eq!(h.try_claim(0), Ok(()), "the next part can be claimed");
    }
}
