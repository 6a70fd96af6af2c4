#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: builds everything (scripts/setup.sh), then runs
#   1. the CUDA tests (tests/lm/cuda_test.cpp: fixture logits, edits and greedy continuations on the
#      device, bf16/fp16 against fp32) and the CPU fidelity tests, which must not be skipped here;
#   2. a short training run on the GPU (CounterFact rows train[:96], layer 6, 2 epochs after epoch 0)
#      and an evaluation of that editor, printing training samples/s;
#   3. greedy decoding tokens/s on the GPU (bench_runtime generate, fp32 and bf16).
# Usage: scripts/gpu-check.sh [--device cuda:N]
set -euo pipefail
cd "$(dirname "$0")/.."
device=cuda
[ "${1:-}" = "--device" ] && device="$2"
scripts/setup.sh >/dev/null
model=$(scripts/fetch-model.sh)
build/remedi version-info
if ! build/remedi version-info | grep -q "^CUDA compiled in.*[1-9][0-9]* device"; then
  echo "gpu-check: libtorch sees no CUDA device here" >&2
  exit 1
fi
echo "== CUDA and fidelity tests"
ctest --test-dir build --output-on-failure -R "Cuda|FamilyTest|GgufModel" 2>&1 | tee /tmp/gpu-check-ctest.log
if grep -q "Skipped" /tmp/gpu-check-ctest.log && grep -q "CudaFamilyTest.*Skipped" /tmp/gpu-check-ctest.log; then
  echo "gpu-check: the CUDA tests were skipped although a device is present" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "== training on $device"
build/remedi train -n gpu --results-dir "$work" -m "$model" --device "$device" -l 6 --rows "train[:96]" \
  --max-epochs 2 --patience 99 -q >/dev/null
python3 -c "import json,sys; print('training samples/s', json.load(open(sys.argv[1]))['training']['train_samples_per_second'])" \
  "$work/gpu/linear/6/editor.json"
build/remedi eval fact-gen -n gpu_eval --results-dir "$work" -m "$model" --device "$device" -e "$work/gpu" -l 6 \
  -b efficacy --rows "train[5000:5100]" -q >/dev/null
python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print('efficacy', m['score']['mean'], 'unedited', m['unedited']['score']['mean'])" \
  "$work/gpu_eval/linear/6/efficacy_metrics.json"
echo "== decoding on $device"
for dtype in fp32 bf16; do
  build/bench/bench_runtime generate --dtype "$dtype" --new-tokens 128 --device "$device"
done
