//! tricolor (work in progress).
