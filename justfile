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

# The randomised multi-threaded stress test, for longer than CI runs it.
stress secs="120":
    TRICOLOR_STRESS_SECS={{secs}} cargo test --release -p tricolor --test stress -- --nocapture

# Loom model checks of the production code, as CI runs them (bounds per model in
# loom-tests/README.md), printing each model's execution count and time.
loom:
    bash loom-tests/run.sh --nocapture

# Every loom model at one preemption bound (e.g. `just loom-at 4` for a deeper manual run).
loom-at preemptions="4":
    LOOM_MAX_PREEMPTIONS={{preemptions}} bash loom-tests/run.sh

# Criterion benchmarks (short settings).
bench:
    cargo bench -p benches --bench '*' -- --warm-up-time 1 --measurement-time 2 --noplot

# Every workload against every peer at a reportable size; writes docs/PERFORMANCE.md.
bench-report:
    cargo run --release -p benches --bin bench-report -- --size report --slow-secs 120 --write

# The pause/latency harness (tricolor and the Box loop in one run).
latency:
    cargo run --release -p benches --bin latency -- --peer box
    cargo run --release -p benches --bin latency -- --peer tricolor

# The same in a steady state: 45 s of unrecorded warm-up first, by which time tricolor's heap has
# stopped growing (docs/PERFORMANCE.md, "the latency target in a steady state").
latency-steady:
    cargo run --release -p benches --bin latency -- --peer box --warmup-secs 45
    cargo run --release -p benches --bin latency -- --peer tricolor --warmup-secs 45

# A demo that prints GC statistics.
demo depth="18":
    cargo run --release -p tricolor --example binary_trees -- {{depth}}

# The book's Lox test suite on the release tricolor-lox binary, normal and under GC stress.
lox-suite:
    bash crates/tricolor-lox/run-suite.sh
    bash crates/tricolor-lox/run-suite.sh --gc-stress

# tricolor-lox against clox on the book's benchmark programs (clox built outside the repo).
lox-bench clox="/tmp/craftinginterpreters/clox":
    cargo build --release -p tricolor-lox --bins --examples
    target/release/examples/lox_bench --clox {{clox}} --runs 5

# ASan (stable with RUSTC_BOOTSTRAP; no extra components). Library and integration tests only:
# doctests and trybuild's compile-fail cases do not build under the sanitizer flags.
asan:
    RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zsanitizer=address" \
      cargo test --target x86_64-unknown-linux-gnu --target-dir target/asan --workspace --exclude loom-tests --exclude benches --lib --tests -- --exact --skip ui

# ThreadSanitizer (needs a nightly toolchain with rust-src; optional).
tsan:
    RUSTFLAGS="-Zsanitizer=thread" TSAN_OPTIONS="halt_on_error=1" \
      cargo +nightly test -Zbuild-std --target x86_64-unknown-linux-gnu --target-dir target/tsan \
      --workspace --exclude loom-tests --exclude benches --tests -- --skip rss_

# Exactly what CI runs.
ci:
    bash .ci/run
