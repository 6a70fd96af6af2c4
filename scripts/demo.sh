#!/usr/bin/env bash
# The main job on the embedded default model (SmolLM2-135M-Instruct, GGUF Q4_1). Sets up what it needs
# (scripts/setup.sh --demo builds only the `remedi` program), then:
#   1. checks the runtime ("The capital of France is" -> Paris);
#   2. edits three held-out CounterFact facts (rows 5004, 5005, 5009) with the editor shipped in
#      data/editors/smollm2-counterfact (linear, layer 6, trained on 2,000 rows: docs/RESULTS.md);
#   3. trains a small editor of its own (layer 6, 800 rows of [0, 5000), up to 6 epochs) and applies it
#      to the same three facts;
#   4. measures the efficacy of both editors on 200 held-out rows [5000, 5200) against the unedited
#      model, and generation fluency/consistency and essence of its own editor on 20 of them;
#   5. writes results/report.html (tables, charts, examples) and prints a short summary.
# The JSON of every step stays in results/ (docs/FORMATS.md). About 5-7 minutes on 2 cores after set-up.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --demo  # build progress shows here (about 10 minutes the first time on 2 cores)
model=$(scripts/fetch-model.sh)
remedi=build/remedi
rm -rf results/demo results/demo_eval results/shipped_eval

echo "== remedi generate: greedy, KV-cached"
$remedi generate --model "$model" --prompt "The capital of France is" --max-new-tokens 8

facts=("Farouk of Egypt|Farouk of Egypt is affiliated with the religion Christianity|Farouk of Egypt is follower of"
       "Dolomiten|Dolomiten is written in Russian|The language Dolomiten was written in is called"
       "Mexico City|What is the twin city of Mexico City? It is Seoul|Mexico City is a twin city of")
edit_all() {  # $1: editors folder or shipped name, $2: how many top tokens to show
  for fact in "${facts[@]}"; do
    IFS='|' read -r entity context prompt <<<"$fact"
    echo
    echo "-- remedi edit -e $1 --entity \"$entity\" --context \"$context\""
    $remedi edit -m "$model" -e "$1" -l 6 --entity "$entity" --context "$context" --prompt "$prompt" \
      --max-new-tokens 12 --top "$2"
  done
}
echo
echo "== remedi edit with the shipped editor (data/editors/smollm2-counterfact)"
edit_all smollm2-counterfact 5

echo
echo "== remedi train: a linear editor at layer 6 on CounterFact rows [0, 800), up to 6 epochs"
$remedi train -n demo -m "$model" -d counterfact -l 6 --train-size 800 --max-epochs 6 --clear-results-dir >/dev/null
echo
echo "== remedi edit with the editor just trained (results/demo)"
edit_all results/demo 5

echo
echo "== remedi eval fact-gen: efficacy on held-out rows [5000, 5200), both editors vs the unedited model"
$remedi eval fact-gen -n shipped_eval -m "$model" -e smollm2-counterfact -l 6 -b efficacy \
  --rows "train[5000:5200]" -q >/dev/null
$remedi eval fact-gen -n demo_eval -m "$model" -e results/demo -l 6 -b efficacy --rows "train[5000:5200]" -q >/dev/null
echo "== remedi eval fact-gen: generation (fluency, consistency) and essence on rows [5000, 5020)"
$remedi eval fact-gen -n demo_eval -m "$model" -e results/demo -l 6 -b generation essence \
  --rows "train[5000:5020]" -q >/dev/null
echo "== remedi report"
$remedi report results -o results/report.html >/dev/null

echo
echo "== summary"
.venv/bin/python - <<'PY'
import json
def metrics(path):
    with open(path) as f:
        return json.load(f)
def pct(aggregate):
    return f"{100 * aggregate['mean']:.1f}% [{100 * aggregate['ci95'][0]:.1f}, {100 * aggregate['ci95'][1]:.1f}]"
shipped = metrics("results/shipped_eval/linear/6/efficacy_metrics.json")
demo = metrics("results/demo_eval/linear/6/efficacy_metrics.json")
print("CounterFact efficacy on 200 held-out rows (mean [95% CI]):")
print(f"  shipped editor (2,000 rows):  {pct(shipped['score'])}")
print(f"  editor trained here (800):    {pct(demo['score'])}")
print(f"  unedited model:               {pct(demo['unedited']['score'])}")
generation = metrics("results/demo_eval/linear/6/generation_metrics.json")
essence = metrics("results/demo_eval/linear/6/essence_metrics.json")
print(f"On 20 rows, editor trained here: fluency {generation['fluency']['mean']:.3f} "
      f"(unedited {generation['unedited']['fluency']['mean']:.3f}), consistency "
      f"{generation['consistency']['mean']:.3f} (unedited {generation['unedited']['consistency']['mean']:.3f}), "
      f"essence {essence['essence']['mean']:.3f}")
print("Report: results/report.html; every result as JSON under results/ (docs/FORMATS.md)")
PY
