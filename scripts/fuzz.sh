#!/usr/bin/env bash
# A long fuzz run: 100,000 random argument lists, mutated scenarios, mutated tile programs
# and mutated CSVs, traces and profiles (FuzzTests), in an optimized build, under a
# wall-clock limit so that a hang fails.
#   scripts/fuzz.sh [SEED]        (ATTNSIM_FUZZ_ARGS/SCENARIOS/PROGRAMS/FILES override the split)
# One part alone: set the others to 0 (ATTNSIM_FUZZ_ARGS=0 ATTNSIM_FUZZ_PROGRAMS=0
# ATTNSIM_FUZZ_FILES=0 scripts/fuzz.sh SEED runs the scenarios). ATTNSIM_FUZZ_CHUNKS=K runs
# the cases in K chunks, seeds SEED, SEED + 1, ..., each of the counts divided by K, and
# prints a line per chunk, so that a long run says how far it got (the tests print nothing
# until they end).
set -euo pipefail
cd "$(dirname "$0")/.."
export ATTNSIM_FUZZ_SEED="${1:-20261201}"
export ATTNSIM_FUZZ_ARGS="${ATTNSIM_FUZZ_ARGS:-67000}"
export ATTNSIM_FUZZ_SCENARIOS="${ATTNSIM_FUZZ_SCENARIOS:-10000}"
export ATTNSIM_FUZZ_PROGRAMS="${ATTNSIM_FUZZ_PROGRAMS:-20000}"
export ATTNSIM_FUZZ_FILES="${ATTNSIM_FUZZ_FILES:-3000}"
# The tests use @testable imports, and a release build links every module with
# -static-stdlib (Package.swift), which an XCTest bundle cannot link. So the fuzz build is
# the debug configuration (testing enabled, runtime dynamic) compiled with -O, in a scratch
# path of its own so that it neither rebuilds nor replaces the usual debug and release
# products.
# ATTNSIM_FUZZ_SCRATCH names another scratch path (a second run beside a first).
scratch=(--scratch-path "${ATTNSIM_FUZZ_SCRATCH:-.build-fuzz}" -c debug -Xswiftc -O)
echo "fuzz: seed $ATTNSIM_FUZZ_SEED, $ATTNSIM_FUZZ_ARGS argument lists, $ATTNSIM_FUZZ_SCENARIOS scenarios, $ATTNSIM_FUZZ_PROGRAMS programs, $ATTNSIM_FUZZ_FILES files"
start=$(date +%s)
swift build "${scratch[@]}" --build-tests
built=$(date +%s)
echo "fuzz: build took $((built - start)) s"
status=0
chunks="${ATTNSIM_FUZZ_CHUNKS:-1}"
seed="$ATTNSIM_FUZZ_SEED"
deadline=$((built + ${ATTNSIM_FUZZ_TIMEOUT:-10800}))
for kind in ARGS SCENARIOS PROGRAMS FILES; do
    var="ATTNSIM_FUZZ_$kind"
    export "$var"=$(( ${!var} / chunks ))
done
for ((chunk = 0; chunk < chunks; chunk++)); do
    export ATTNSIM_FUZZ_SEED=$((seed + chunk))
    chunkStart=$(date +%s)
    chunkStatus=0
    timeout $((deadline - chunkStart > 1 ? deadline - chunkStart : 1)) swift test "${scratch[@]}" --skip-build --filter FuzzTests || chunkStatus=$?
    [ "$chunks" -gt 1 ] && echo "fuzz: chunk $((chunk + 1)) of $chunks (seed $ATTNSIM_FUZZ_SEED) took $(($(date +%s) - chunkStart)) s, exit $chunkStatus"
    [ "$chunkStatus" -ne 0 ] && status=$chunkStatus
    [ "$(date +%s)" -ge "$deadline" ] && break
done
echo "fuzz: tests took $(($(date +%s) - built)) s, exit $status"
exit "$status"
