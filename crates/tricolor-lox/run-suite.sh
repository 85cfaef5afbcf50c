#!/usr/bin/env bash
# Builds the release tricolor-lox binary and runs the Lox conformance suite
# (the clox suite of Crafting Interpreters) against it.
#
#   crates/tricolor-lox/run-suite.sh [--gc-stress] [--binary PATH] [runner options...]
#
# Without --binary it builds and uses the release binary; CI passes the debug
# binary that `cargo test --workspace` has already built (one build profile).
#
# The suite is taken from ${LOX_SUITE_DIR:-<repo>/../shared/lox} when that
# directory exists, else from the vendored copy in tests/suite/. Extra
# arguments other than --gc-stress go to run_tests.py (e.g. --filter closure).
# Expected last line: "246 passed, 0 failed, 8 skipped".
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

suite="${LOX_SUITE_DIR:-$repo/../shared/lox}"
if [[ ! -f "$suite/run_tests.py" ]]; then
    suite="$here/tests/suite"
fi

vm_args=()
runner_args=()
binary=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --gc-stress) vm_args+=("--gc-stress") ;;
        --binary)
            [[ $# -ge 2 ]] || { echo "run-suite.sh: --binary needs a path" >&2; exit 2; }
            binary="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
            shift ;;
        *) runner_args+=("$1") ;;
    esac
    shift
done

if [[ -z "$binary" ]]; then
    cargo build --release --quiet --manifest-path "$repo/Cargo.toml" -p tricolor-lox --bin tricolor-lox
    target_dir="$(cargo metadata --format-version 1 --no-deps --manifest-path "$repo/Cargo.toml" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
    binary="$target_dir/release/tricolor-lox"
fi
[[ -x "$binary" ]] || { echo "run-suite.sh: no executable at $binary" >&2; exit 2; }

echo "suite: $suite"
echo "binary: $binary ${vm_args[*]+"${vm_args[*]}"}"
cd "$suite"
exec python3 run_tests.py --suite clox -j 2 "${runner_args[@]+"${runner_args[@]}"}" \
    -- "$binary" "${vm_args[@]+"${vm_args[@]}"}"
