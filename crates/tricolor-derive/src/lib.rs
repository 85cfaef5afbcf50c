//! tricolor-derive (work in progress).
