#!/usr/bin/env bash
# The main job on the embedded default model (SmolLM2-135M-Instruct, GGUF Q4_1): sets everything up,
# then inspects it, tokenizes a CounterFact context and completes "The capital of France is".
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
model=$(scripts/fetch-model.sh)
echo "== remedi inspect $model"
build/remedi inspect "$model"
echo
echo "== remedi tokenize"
build/remedi tokenize --model "$model" "The mother tongue of Danielle Darrieux is English"
echo
echo "== remedi generate (greedy, KV-cached)"
build/remedi generate --model "$model" --prompt "The capital of France is" --max-new-tokens 8
