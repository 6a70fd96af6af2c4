#!/usr/bin/env bash
# The main job on the embedded default model (SmolLM2-135M-Instruct, GGUF Q4_1): sets everything up,
# then shows what remedi can do with it so far.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
model=$(scripts/fetch-model.sh)
echo "== remedi inspect $model"
build/remedi inspect "$model"
echo
echo "== remedi tokenize"
build/remedi tokenize --model "$model" "The mother tongue of Danielle Darrieux is English"
