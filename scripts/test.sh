#!/usr/bin/env bash
# Sets up (Debian packages, build, default model) and runs the whole test suite with CTest, then a
# short run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
phase_start=$(date +%s)
phases=""
phase_done() {  # the seconds each phase took, printed at the end (CI's time budget: .ci/run)
  phases="$phases $1 $(($(date +%s) - phase_start)) s,"
  phase_start=$(date +%s)
}
scripts/setup.sh
scripts/fetch-model.sh >/dev/null
phase_done setup
ctest --test-dir build --output-on-failure -j 2 "$@"
phase_done ctest
# Every libFuzzer target for 30 s from its seeds and saved regressions, two at a time (a clang build
# of the library's libtorch-free part into build-fuzz/; docs/FUZZING.md). REMEDI_FUZZ_SECONDS=0 skips it.
fuzz_seconds=${REMEDI_FUZZ_SECONDS:-30}
[ "$fuzz_seconds" -eq 0 ] || scripts/fuzz.sh "$fuzz_seconds" 2
phase_done fuzz
echo "test.sh:${phases%,}"
