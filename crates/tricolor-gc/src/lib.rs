//! tricolor-gc (work in progress).
