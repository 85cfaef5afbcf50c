//! The allocator's error type.

use std::fmt;
use std::io;

/// Why an allocation or the creation of an [`Allocator`](crate::Allocator) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum AllocError {
    /// The heap's address-space reservation is used up: no free run of pages fits and no
    /// arena is left to activate. The allocator stays usable (smaller requests may succeed,
    /// and sweeping frees memory).
    OutOfMemory,
    /// Reserving the heap's address space failed, even after halving the request down to the
    /// minimum ([`AllocConfig::min_reservation_bytes`](crate::AllocConfig::min_reservation_bytes)).
    Reserve {
        /// The last (smallest) size tried.
        bytes: usize,
        /// The OS error of that attempt.
        source: io::Error,
    },
    /// The request is larger than the whole reservation could ever hold.
    TooLarge {
        /// Requested bytes.
        size: usize,
    },
    /// The alignment is not a power of two, or larger than the arena size.
    InvalidAlignment {
        /// Requested alignment.
        align: usize,
    },
    /// `alloc_slow` was called with class 0 or a class ≥ [`NUM_CLASSES`](crate::size_class::NUM_CLASSES).
    InvalidClass {
        /// The class passed.
        class: u8,
    },
    /// An [`AllocConfig`](crate::AllocConfig) field is out of range.
    InvalidConfig(&'static str),
}

impl fmt::Display for AllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfMemory => f.write_str("out of memory: the heap reservation is exhausted"),
            Self::Reserve { bytes, source } => {
                write!(
                    f,
                    "could not reserve {bytes} bytes of address space: {source}"
                )
            }
            Self::TooLarge { size } => write!(f, "allocation of {size} bytes is too large"),
            Self::InvalidAlignment { align } => write!(f, "unsupported alignment {align}"),
            Self::InvalidClass { class } => write!(f, "invalid size class {class}"),
            Self::InvalidConfig(what) => write!(f, "invalid allocator configuration: {what}"),
        }
    }
}

impl std::error::Error for AllocError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Reserve { source, .. } => Some(source),
            _ => None,
        }
    }
}
