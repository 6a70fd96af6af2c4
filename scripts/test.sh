#!/usr/bin/env bash
# Sets up (Debian packages, build, default model) and runs the whole test suite with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/fetch-model.sh >/dev/null
ctest --test-dir build --output-on-failure -j 2 "$@"
