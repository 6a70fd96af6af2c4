#!/usr/bin/env bash
# Issue 20's ratio table: remedi against its two performance peers, measured in one run on this machine
# (2 threads everywhere). Not part of CI; run it on an idle machine.
#   decode at batch 1: remedi `bench_runtime generate` (128 greedy tokens) vs llama.cpp `llama-bench -n 128`
#     at the same weights: fp32 vs F32, bf16 vs BF16, q4_1 and q8_0 (remedi's quantized kernels) vs Q4_1;
#   sampled decode, 16 and 64 rows (16 prompt + 84 new tokens): `bench_runtime sample` vs
#     `llama-batched-bench` (F32) S_TG;
#   greedy decode with an edit applied against without (`bench_runtime edit`, interleaved runs);
#   training samples/s at layers 1 and 15, the LM in fp32 and in bf16: scripts/bench-train.sh vs the original REMEDI
#     ($PEERS_DIR/bench-original.sh, in its PyPI torch env where set up, else its Debian torch env).
# A peer that is not set up is skipped with a message. The peers live outside this repository: their
# set-up scripts (setup.sh, bench-original.sh, README.md) are wherever PEERS_DIR points.
#
# Usage: scripts/bench-peers.sh [--skip-training] [--avx512]
#   PEERS_WORK  the peers' work folder made by their setup.sh (default ~/peers-work)
#   PEERS_DIR   the peers' scripts, needed only for the original REMEDI's column (no default)
#   --avx512    unsets OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for the benchmark commands only
set -euo pipefail
cd "$(dirname "$0")/.."
work=${PEERS_WORK:-$HOME/peers-work}
peers=${PEERS_DIR:-}
training=1
envcmd=(env)
while [ $# -gt 0 ]; do
  case "$1" in
    --skip-training) training=0 ;;
    --avx512) envcmd=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE) ;;
    *) echo "bench-peers.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
bench=build/bench/bench_runtime
[ -x "$bench" ] || { echo "bench-peers.sh: $bench not built (cmake --build build --target bench_runtime)" >&2; exit 2; }
llama=$work/llama.cpp/build/bin
models=$work/models
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "# bench-peers $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "load before start: $(cut -d' ' -f1-3 /proc/loadavg)"
"${envcmd[@]}" build/remedi version-info | grep -E "libtorch|BLAS|threads|kernel" || true

rows=()  # "workload|remedi|peer name|peer value"
field() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

remedi_decode() {  # dtype -> tokens/s
  "${envcmd[@]}" "$bench" generate --dtype "$1" --new-tokens 128 >"$tmp/decode_$1.txt"
  field tokens_per_second "$tmp/decode_$1.txt"
}
remedi_sample() {  # rows -> tokens/s over all rows
  "${envcmd[@]}" "$bench" sample --batch "$1" --tokens 16 --new-tokens 84 >"$tmp/sample_$1.txt"
  field new_tokens_per_second "$tmp/sample_$1.txt"
}
llama_decode() {  # gguf -> tg128 tokens/s (mean of 3)
  "${envcmd[@]}" "$llama/llama-bench" -m "$1" -p 0 -n 128 -t 2 -r 3 -o csv 2>/dev/null |
    python3 -c 'import csv, sys; r = list(csv.DictReader(sys.stdin)); print("%.1f" % float(r[-1]["avg_ts"]))'
}
llama_batched() {  # gguf -> "S_TG at 16 rows" "S_TG at 64 rows"
  "${envcmd[@]}" "$llama/llama-batched-bench" -m "$1" -c 8192 -b 2048 -ub 512 -t 2 -tb 2 -npp 16 -ntg 84 \
    -npl 16,64 2>/dev/null | awk -F'|' 'NF > 8 && $4 + 0 > 0 { gsub(/ /, "", $4); gsub(/ /, "", $9); print $4, $9 }'
}

have_llama=0
if [ -x "$llama/llama-bench" ] && [ -f "$models/smollm2-f32.gguf" ]; then have_llama=1; else
  echo "llama.cpp: not set up in $work (the peers' setup.sh --steps llamacpp,model): its columns are empty"
fi

for pair in "fp32 smollm2-f32.gguf" "bf16 smollm2-bf16.gguf" "q4_1 SmolLM2-135M-Instruct.Q4_1.gguf" \
            "q8_0 SmolLM2-135M-Instruct.Q4_1.gguf"; do
  read -r dtype gguf <<<"$pair"
  ours=$(remedi_decode "$dtype")
  theirs="-"
  if [ "$have_llama" = 1 ] && [ -f "$models/$gguf" ]; then theirs=$(llama_decode "$models/$gguf"); fi
  rows+=("greedy decode, batch 1, $dtype weights (tok/s)|$ours|llama.cpp ${gguf%.gguf}|$theirs")
  kernel=$(field quantized_kernel "$tmp/decode_$dtype.txt")
  if [ -n "$kernel" ]; then echo "remedi $dtype kernel: $kernel"; fi
done

batched16="-"
batched64="-"
if [ "$have_llama" = 1 ]; then
  llama_batched "$models/smollm2-f32.gguf" >"$tmp/batched.txt"
  batched16=$(awk '$1 == 16 { print $2 }' "$tmp/batched.txt")
  batched64=$(awk '$1 == 64 { print $2 }' "$tmp/batched.txt")
fi
rows+=("sampled decode, 16 rows, fp32 (tok/s)|$(remedi_sample 16)|llama.cpp F32|${batched16:--}")
rows+=("sampled decode, 64 rows, fp32 (tok/s)|$(remedi_sample 64)|llama.cpp F32|${batched64:--}")

"${envcmd[@]}" "$bench" edit --tokens 16 --new-tokens 128 --layer 2 --repeats 5 >"$tmp/edit.txt"
grep -E "^(prompt_pass_seconds|seconds_per_step|step_cost_ratio|whole_ratio)" "$tmp/edit.txt" | sed 's/^/edit vs none: /'

original_env=""
original_label="not set up"
if [ -x "$work/venv/bin/python" ]; then
  original_env=pypi
elif [ -x "$work/venv-debian/bin/python" ]; then
  original_env=debian
fi
if [ "$training" = 1 ]; then
  scripts/bench-train.sh --layers "1 15" --modes "efficient bf16" >"$tmp/train.txt"
  cat "$tmp/train.txt"
  for layer in 1 15; do
    ours=$(awk -v l="$layer" '$1 == l && $2 == "efficient" { print $3 }' "$tmp/train.txt")
    ours_bf16=$(awk -v l="$layer" '$1 == l && $2 == "bf16" { print $3 }' "$tmp/train.txt")
    theirs="-"
    if [ -n "$peers" ] && [ -n "$original_env" ] && [ -x "$peers/bench-original.sh" ]; then
      rm -f "$work/results/result-$original_env-layer$layer.json"
      PEERS_WORK=$work "$peers/bench-original.sh" --layers "$layer" --envs "$original_env" >"$tmp/original_$layer.txt" 2>&1 || true
      result=$work/results/result-$original_env-layer$layer.json
      theirs=$(python3 -c 'import json, sys; print("%.2f" % json.load(open(sys.argv[1]))["train_samples_per_second"])' \
        "$result" 2>/dev/null || echo "-")
      torch_version=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["versions"]["torch"])' \
        "$result" 2>/dev/null || echo "?")
      original_label="$original_env env, torch $torch_version"
    fi
    rows+=("training, layer $layer (samples/s)|$ours|original REMEDI ($original_label)|$theirs")
    rows+=("training, layer $layer, LM in bf16 (samples/s)|$ours_bf16|original REMEDI ($original_label)|$theirs")
  done
  if [ -z "$peers" ] || [ -z "$original_env" ]; then
    echo "original REMEDI: PEERS_DIR unset or its environment not set up in $work: its column is empty"
  fi
fi

echo
echo "| workload | remedi | peer | peer value | ratio |"
echo "| --- | --- | --- | --- | --- |"
for row in "${rows[@]}"; do
  IFS='|' read -r name ours peer theirs <<<"$row"
  ratio=$(python3 -c 'import sys
try: print("%.2fx" % (float(sys.argv[1]) / float(sys.argv[2])))
except ValueError: print("-")' "$ours" "$theirs")
  echo "| $name | $ours | $peer | $theirs | $ratio |"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
