//! Benchmarks of tricolor against peer memory managers.
//!
//! * [`workloads`]: the workloads (binary-trees, GCBench, churn, multi-thread churn, latency),
//!   their sizes, shared drivers and closed-form checksums;
//! * [`peers`]: one module per peer implementing [`peers::Peer`];
//! * [`stats`]: medians, the latency histogram, gap recording and MMU;
//! * [`report`]: the result-line protocol between `bench-report` and its child processes, the
//!   machine description and the Markdown tables of `docs/PERFORMANCE.md`.
//!
//! Users: the criterion benches (`benches/`), the `bench-report` and `latency` binaries, and the
//! smoke test (`tests/smoke.rs`). See `benches/README.md` for the commands.

pub mod peers;
pub mod report;
pub mod stats;
pub mod workloads;
