#!/usr/bin/env bash
# Training speed of the efficient loss (default) against --reference-mode (full forward, logits at
# every position, as the original computes them) and against the efficient loss with the frozen LM in
# bf16 (--dtype bf16; the editor and loss stay float32) on the same batches: the same rows, split and
# seed. One `remedi train` process per measurement, so each reports its own peak RSS (GNU time).
# Usage: scripts/bench-train.sh [--avx512] [--samples N] [--layers "1 15"] [--modes "efficient reference bf16"]
#   --avx512  unsets OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for these commands only.
# Samples/s counts the training passes only (epochs 1-2; epoch 0 measures and fills the caches).
set -euo pipefail
cd "$(dirname "$0")/.."
envcmd=(env)
samples=96
layers="1 15"
modes="efficient reference bf16"
while [ $# -gt 0 ]; do
  case "$1" in
    --avx512) envcmd=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE) ;;
    --samples) samples="$2"; shift ;;
    --layers) layers="$2"; shift ;;
    --modes) modes="$2"; shift ;;
    *) echo "bench-train.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[ -x /usr/bin/time ] || { echo "bench-train.sh: needs GNU time (apt-get install time)" >&2; exit 1; }
scripts/setup.sh >/dev/null
scripts/fetch-model.sh >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "# $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
"${envcmd[@]}" build/remedi version-info | grep -E "libtorch|BLAS|threads|projections"
echo "rows train[:$samples], batch 16, hold-out 0.1, 2 training epochs after epoch 0"
printf '%-6s %-10s %12s %14s\n' layer mode samples/s "peak RSS MiB"
for layer in $layers; do
  for mode in $modes; do
    case "$mode" in
      efficient) flag=() ;;
      reference) flag=(--reference-mode) ;;
      bf16) flag=(--dtype bf16) ;;
      *) echo "bench-train.sh: unknown mode $mode" >&2; exit 2 ;;
    esac
    "${envcmd[@]}" /usr/bin/time -f '%M' -o "$work/rss" build/remedi train -n "$mode" --results-dir "$work" \
      -l "$layer" --rows "train[:$samples]" --max-epochs 2 --patience 99 -q "${flag[@]}" >/dev/null
    rate=$(python3 -c "import json,sys; print('%.2f' % json.load(open(sys.argv[1]))['training']['train_samples_per_second'])" \
      "$work/$mode/linear/$layer/editor.json")
    printf '%-6s %-10s %12s %14s\n' "$layer" "$mode" "$rate" "$(( $(cat "$work/rss") / 1024 ))"
  done
done
