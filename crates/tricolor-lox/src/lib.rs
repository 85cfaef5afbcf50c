//! tricolor-lox (work in progress).
