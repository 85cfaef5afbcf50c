//! Loom model checks live in `tests/`; they compile only under `--cfg tricolor_loom`.
