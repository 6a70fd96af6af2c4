#!/usr/bin/env bash
# Installs what remedi needs and builds it into ./build. Idempotent: packages already present are
# not reinstalled, the build is incremental.
#   Debian packages: compiler, CMake/Ninja, header-only and small libraries (and, without --demo,
#     the test, lint and browser tools);
#   .venv/: a Python virtual environment with the pinned PyPI packages of requirements.txt, among
#     them torch, whose libtorch remedi links (cmake/TorchWheel.cmake);
#   build/: with --demo only the `remedi` program; otherwise everything (tests, benchmarks).
# Usage: scripts/setup.sh [--demo] [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
demo=0
build=1
for arg in "$@"; do
  case "$arg" in
    --demo) demo=1 ;;
    --no-build) build=0 ;;
    *) echo "setup: unknown argument '$arg' (usage: scripts/setup.sh [--demo] [--no-build])" >&2; exit 2 ;;
  esac
done

packages=(build-essential cmake ninja-build pkg-config git ca-certificates unzip python3-venv python3-pip
          nlohmann-json3-dev libcli11-dev libpcre2-dev libicu-dev python3-dev libcpp-httplib-dev)
if [ "$demo" -eq 0 ]; then
  # chromium-headless-shell, zlib1g-dev: the report test (tests/apps/report_cli_test.cpp) opens the
  # HTML page in the browser and decodes its PNG screenshot.
  # clang + libclang-rt-dev (libFuzzer and the sanitizer runtimes; only recommended by clang, which
  # --no-install-recommends skips): the fuzz targets' smoke run (scripts/fuzz.sh, docs/FUZZING.md).
  packages+=(libgtest-dev libgmock-dev libbenchmark-dev clang-format clang-tidy cppcheck
             chromium-headless-shell zlib1g-dev clang libclang-rt-dev)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The virtual environment: python3 of the PATH (3.10 or newer), packages pinned in requirements.txt.
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  python3 -m venv .venv
fi
# The test command adds requirements-test.txt (pytest, transformers, the openai client).
requirements=(requirements.txt)
[ "$demo" -eq 0 ] && requirements+=(requirements-test.txt)
for req in "${requirements[@]}"; do
  if ! .venv/bin/python - "$req" <<'PY' 2>/dev/null; then
import sys
from importlib.metadata import version
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if line:
        name, pinned = line.split("==")
        if version(name) != pinned:
            sys.exit(1)
PY
    echo "setup: installing $req into .venv (requirements.txt: torch and its CUDA libraries, about 3 GB)" >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
  fi
done

[ "$build" -eq 0 ] && exit 0
packages_done=$(date +%s)
# -O2 without debug information: the same code as RelWithDebInfo, built in about three quarters of the
# compiler time and a fraction of the linking (libtorch's headers make every object's debug
# information ~10 MB). REMEDI_BUILD_TYPE=RelWithDebInfo (or Debug) for a debugger.
build_type=(-DCMAKE_BUILD_TYPE="${REMEDI_BUILD_TYPE:-Release}" -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG")
if [ "$demo" -eq 1 ]; then
  # Configure once without tests and benchmarks (they need the packages above); a full set-up later
  # turns them on in the same build folder.
  [ -f build/build.ninja ] || cmake -S . -B build -G Ninja "${build_type[@]}" \
    -DREMEDI_BUILD_TESTS=OFF -DREMEDI_BUILD_BENCH=OFF >/dev/null
  cmake --build build -j "$(nproc)" --target remedi
else
  cmake -S . -B build -G Ninja "${build_type[@]}" -DREMEDI_BUILD_TESTS=ON \
    -DREMEDI_BUILD_BENCH=ON >/dev/null
  cmake --build build -j "$(nproc)"
fi
echo "setup: build took $(($(date +%s) - packages_done)) s" >&2
