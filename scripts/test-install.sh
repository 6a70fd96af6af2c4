#!/usr/bin/env bash
# Installs the built library into a fresh prefix, builds examples/ against the installed package (not
# the source tree) and runs the edit example on the default model with the shipped editor. Run by
# CTest (tests/CMakeLists.txt) after the build; by hand: scripts/test-install.sh [BUILD_DIR].
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath "${1:-$root/build}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$root/examples" -B "$work/examples" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/examples" >/dev/null
model=$("$root/scripts/fetch-model.sh")
out=$("$work/examples/edit" "$model" "$root/data/editors/smollm2-counterfact")
echo "$out"
# The shipped editor makes " Russian" the most likely next token, which it is not before the edit:
# the first row's after column (between its two percentages) names it.
first_row=$(echo "$out" | sed -n 3p)
echo "$first_row" | cut -d% -f2 | grep -q '" Russian"' ||
  { echo "test-install: expected \" Russian\" first after the edit" >&2; exit 1; }
echo "$first_row" | cut -d% -f1 | grep -q '" Russian"' &&
  { echo "test-install: \" Russian\" was already first before the edit" >&2; exit 1; }
echo "test-install: ok"
