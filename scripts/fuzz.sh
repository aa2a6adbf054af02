#!/usr/bin/env bash
# A long fuzz run: 100,000 random argument lists, mutated scenarios and mutated tile
# programs (FuzzTests), in a release build, under a wall-clock limit so that a hang fails.
#   scripts/fuzz.sh [SEED]        (ATTNSIM_FUZZ_ARGS/SCENARIOS/PROGRAMS override the split)
set -euo pipefail
cd "$(dirname "$0")/.."
export ATTNSIM_FUZZ_SEED="${1:-20261201}"
export ATTNSIM_FUZZ_ARGS="${ATTNSIM_FUZZ_ARGS:-70000}"
export ATTNSIM_FUZZ_SCENARIOS="${ATTNSIM_FUZZ_SCENARIOS:-10000}"
export ATTNSIM_FUZZ_PROGRAMS="${ATTNSIM_FUZZ_PROGRAMS:-20000}"
# @testable imports need testing enabled in a release build; a scratch path of its own
# keeps it from rebuilding the usual release products.
scratch=(--scratch-path .build-fuzz -c release -Xswiftc -enable-testing)
swift build "${scratch[@]}" --build-tests
timeout "${ATTNSIM_FUZZ_TIMEOUT:-10800}" swift test "${scratch[@]}" --skip-build --filter FuzzTests
