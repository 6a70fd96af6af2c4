#!/usr/bin/env bash
# Sets up (Debian packages, build, default model) and runs the whole test suite with CTest, then a
# short run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/fetch-model.sh >/dev/null
ctest --test-dir build --output-on-failure -j 2 "$@"
# Every libFuzzer target for 30 s from its seeds and saved regressions, two at a time (a clang build
# of the library's libtorch-free part into build-fuzz/; docs/FUZZING.md). REMEDI_FUZZ_SECONDS=0 skips it.
fuzz_seconds=${REMEDI_FUZZ_SECONDS:-30}
[ "$fuzz_seconds" -eq 0 ] || scripts/fuzz.sh "$fuzz_seconds" 2
