#!/usr/bin/env bash
# Runs every runtime benchmark on the default model, one process each (each reports its peak RSS).
# Usage: scripts/bench-runtime.sh [--avx512]
#   --avx512  unsets OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for these commands only (they mattered for
#             Debian's OpenBLAS; the torch wheel's MKL ignores them). The BLAS and CPU kernels that
#             ran are printed either way.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
scripts/fetch-model.sh >/dev/null
envcmd=(env)
[ "${1:-}" = "--avx512" ] && envcmd=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
b=build/bench/bench_runtime
echo "# $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
for args in "load --dtype fp32" "load --dtype bf16" "prompt --batch 16 --tokens 32" \
            "generate --dtype fp32 --new-tokens 128" "generate --dtype bf16 --new-tokens 128" \
            "sample --batch 16 --tokens 16 --new-tokens 84" "sample --batch 64 --tokens 16 --new-tokens 84" \
            "stop-early --layer 2 --batch 16 --tokens 32"; do
  echo "## bench_runtime $args"
  # shellcheck disable=SC2086
  "${envcmd[@]}" "$b" $args
done
