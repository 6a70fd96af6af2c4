#!/usr/bin/env bash
# Installs the build dependencies (Debian packages) and builds remedi into ./build.
# Idempotent: packages already present are not reinstalled; the build is incremental.
# Usage: scripts/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

# ocl-icd-opencl-dev: oneDNN's CMake package config requires the OpenCL headers and fails without them.
# chromium-headless-shell, zlib1g-dev: the report test (tests/apps/report_cli_test.cpp) opens the HTML
# page in the browser and decodes its PNG screenshot.
packages=(build-essential cmake ninja-build pkg-config git ca-certificates unzip python3-pip
          libtorch-dev libopenblas0-openmp libdnnl-dev nlohmann-json3-dev libcli11-dev libpcre2-dev
          libgtest-dev libgmock-dev libbenchmark-dev clang-format clang-tidy cppcheck
          ocl-icd-opencl-dev chromium-headless-shell zlib1g-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# libtorch must not run on the reference BLAS (about 50x slower): make sure OpenBLAS is selected.
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)
case "$blas" in
  *openblas*) ;;
  *) echo "setup: warning: libblas.so.3 resolves to '$blas', not OpenBLAS; matrix products will be slow" >&2 ;;
esac

[ "${1:-}" = "--no-build" ] && exit 0
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)"
