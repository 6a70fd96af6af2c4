#!/usr/bin/env bash
# The main job on the embedded default model (SmolLM2-135M-Instruct, GGUF Q4_1): sets everything up,
# checks the runtime ("The capital of France is" -> Paris), trains a small CounterFact editor at
# layer 6 (800 rows of [0, 5000), 6 epochs), shows before/after for three
# held-out edits (rows 5004, 5005, 5009), measures efficacy on 200 held-out rows against the
# unedited model, generation fluency/consistency and essence on 20 of them, and renders the HTML
# report (4-7 minutes in all on 2 cores). Results go to results/demo/, results/demo_eval/ and
# results/report.html.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
model=$(scripts/fetch-model.sh)
echo "== remedi generate (greedy, KV-cached)"
build/remedi generate --model "$model" --prompt "The capital of France is" --max-new-tokens 8
echo
echo "== remedi train: linear editor, layer 6, CounterFact rows [0, 800), up to 6 epochs"
build/remedi train -n demo -m "$model" -d counterfact -l 6 --train-size 800 --max-epochs 6 --clear-results-dir
edit() {
  echo
  echo "== remedi edit --entity \"$1\" --context \"$2\""
  build/remedi edit -m "$model" -e results/demo -l 6 --entity "$1" --context "$2" --prompt "$3" --max-new-tokens 12
}
edit "Farouk of Egypt" "Farouk of Egypt is affiliated with the religion Christianity" "Farouk of Egypt is follower of"
edit "Dolomiten" "Dolomiten is written in Russian" "The language Dolomiten was written in is called"
edit "Mexico City" "What is the twin city of Mexico City? It is Seoul" "Mexico City is a twin city of"
echo
echo "== remedi eval-fact-gen: efficacy on held-out rows [5000, 5200), edited vs unedited"
# Evaluations keep results already written (METHOD §8.14); the editor was just retrained, so start clean.
rm -rf results/demo_eval
build/remedi eval-fact-gen -n demo_eval -m "$model" -e results/demo -l 6 -b efficacy --rows "train[5000:5200]" -q
echo
echo "== remedi eval fact-gen: generation (fluency, consistency) and essence on rows [5000, 5020)"
build/remedi eval fact-gen -n demo_eval -m "$model" -e results/demo -l 6 -b generation essence \
  --rows "train[5000:5020]" -q
echo
echo "== remedi report: tables, charts and examples of everything in results/"
build/remedi report results -o results/report.html
