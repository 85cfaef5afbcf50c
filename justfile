# Every routine command. Each recipe is a plain cargo command too (see README.md).
set shell := ["bash", "-euo", "pipefail", "-c"]

# Run the test suite (the README's test command).
test:
    cargo test --workspace

# rustfmt check and clippy with warnings denied.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Build the docs with warnings denied.
doc:
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

# Criterion benchmarks (short settings).
bench:
    cargo bench -p benches --bench '*' -- --warm-up-time 1 --measurement-time 2 --noplot

# Loom model checks of the production code (see loom-tests/README.md).
loom preemptions="3":
    LOOM_MAX_PREEMPTIONS={{preemptions}} RUSTFLAGS="--cfg tricolor_loom" \
      cargo test -p loom-tests --release --target-dir target/loom

# Exactly what CI runs.
ci:
    bash .ci/run
