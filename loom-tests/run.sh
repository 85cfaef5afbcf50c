#!/usr/bin/env bash
# The loom model checks as CI runs them (called by `.ci/run` and `just loom`): every test of the
# loom-tests crate, release build, `--cfg tricolor_loom`, target dir `target/loom`, each model
# at the preemption bound recorded in loom-tests/README.md — 3, except the tests listed in
# P2_ONLY, which run at 2 (a negative control that fails after ~10 s at 2 but ~1 min at 3, and
# the assist model, about 2 minutes at 2 and far longer at 3), and those in P1_ONLY, which run
# at 1 (the drain-progress model: ~5 minutes at 1, which already adds one preemption anywhere
# to a scenario whose order the model scripts).
#
# With LOOM_MAX_PREEMPTIONS set, runs every test at that bound instead (e.g. a deeper manual
# run: `LOOM_MAX_PREEMPTIONS=4 loom-tests/run.sh`). Extra arguments go to the test binaries
# (e.g. `--nocapture` to see each model's execution count and time).
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTFLAGS="--cfg tricolor_loom"

P2_ONLY=(negative_control_single_step_mark_start assists_wait_for_tracing_to_start negative_control_early_assist)
P1_ONLY=(termination_counts_drains_during_the_round negative_control_ignore_drain_progress)

loom_test() {
    local bound=$1
    shift
    LOOM_MAX_PREEMPTIONS=$bound cargo test -p loom-tests --tests --release \
        --target-dir target/loom -- "$@"
}

if [[ -n "${LOOM_MAX_PREEMPTIONS:-}" ]]; then
    loom_test "$LOOM_MAX_PREEMPTIONS" "$@"
    exit
fi

skips=()
for t in "${P2_ONLY[@]}" "${P1_ONLY[@]}"; do
    skips+=(--skip "$t")
done
loom_test 3 "${skips[@]}" "$@"
loom_test 2 "${P2_ONLY[@]}" "$@"
loom_test 1 "${P1_ONLY[@]}" "$@"
