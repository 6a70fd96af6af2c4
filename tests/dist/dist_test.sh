#!/usr/bin/env bash
# Distributed runs on one machine (docs/DISTRIBUTED.md), two processes over loopback Gloo, on the
# tiny GPT-2 fixture (tests/fixtures/lm) with a few short samples:
#   train     `torchrun --nproc-per-node 2 remedi train` (data parallel, uneven shards: batches of 5
#             split 3 + 2) gives the 1-process editor within 1e-6 relative, and its report;
#             --parallel layers gives each layer's 1-process editor bit for bit.
#   failure   a rank killed (SIGKILL) or hung (SIGSTOP) mid-training: the other exits non-zero with a
#             one-line error within --dist-timeout (plus start-up slack); a 2-rank run killed after a
#             checkpoint and resumed by one process ends with the uninterrupted 1-process editor.
#   eval      `eval fact-gen` on 2 ranks writes the 1-process records and metrics.
#   evals     every other sharded evaluation (eval fact-cls, fact-mediation, bias-gen, bias-cls,
#             entailment and its prefix baseline, generate-directions) on 2 ranks writes the 1-process
#             files, byte for byte where binary, equal JSON (less timings) otherwise, and prints the
#             1-process summary.
#
#   tests/dist/dist_test.sh REMEDI_BINARY train|failure|eval|evals
set -euo pipefail
cd "$(dirname "$0")/../.."
remedi=$(realpath "$1")
part=$2
python=.venv/bin/python
torchrun=.venv/bin/torchrun
export REMEDI_NUM_THREADS=1 OMP_NUM_THREADS=1

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
model=$work/model
mkdir -p "$model"
cp tests/fixtures/lm/gpt2/config.json tests/fixtures/lm/gpt2/model.safetensors tests/fixtures/lm/tokenizer.json "$model/"
# 16 short samples "<city> is in <new>" about cities whose true country is <true>.
"$python" - "$work/samples.jsonl" <<'PY'
import json, sys
triples = """paris italy france; rome spain italy; berlin peru germany; madrid chile spain;
lisbon greece portugal; athens norway greece; oslo egypt norway; cairo india egypt; delhi cuba india;
havana turkey cuba; ankara kenya turkey; nairobi poland kenya; lima japan peru; tokyo brazil japan;
quito ghana ecuador; accra chad ghana"""
with open(sys.argv[1], "w") as out:
    for triple in triples.split(";"):
        city, new, true = triple.split()
        record = dict(id=city, entity=city, context=f"{city} is in {new}", attribute=f"is in {new}",
                      prompt=f"the city of {city} is in", target_mediated=new, target_unmediated=true)
        print(json.dumps(record), file=out)
PY
export REMEDI_RESULTS=$work/results
# 16 rows, a quarter held out: 12 training rows in batches of 5, 5, 2; 4 validation rows in one batch.
train_args=(train -m "$model" -d samples -f "$work/samples.jsonl" --rows 'train[:16]' --hold-out 0.25
  --batch-size 5 --seed 3 --lam-norm 0.01 -q)
two=("$torchrun" --standalone --nproc-per-node 2 --no-python "$remedi")

# The editors of experiments $1 and $2 at layers $3... : equal within $tolerance (relative difference
# ||a - b|| / ||a|| of each tensor), and their training reports.
compare() {
  "$python" - "$REMEDI_RESULTS/$1" "$REMEDI_RESULTS/$2" "$tolerance" "${@:3}" <<'PY'
import json, sys
import numpy as np
from safetensors.numpy import load_file
a_root, b_root, tolerance, layers = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4:]
for layer in layers:
    a, b = (load_file(f"{root}/linear/{layer}/editor.safetensors") for root in (a_root, b_root))
    if sorted(a) != sorted(b):
        sys.exit(f"dist: layer {layer}: tensors {sorted(a)} vs {sorted(b)}")
    for name in a:
        x, y = a[name].astype(np.float64), b[name].astype(np.float64)
        error = np.linalg.norm(x - y) / max(np.linalg.norm(x), 1e-30)
        print(f"dist: layer {layer} {name}: relative difference (norm) {error:.2e}")
        if error > tolerance:
            sys.exit(f"dist: layer {layer} {name} differs by {error:.2e} > {tolerance:.0e}")
    ra, rb = (json.load(open(f"{root}/linear/{layer}/editor.json"))["training"]["report"] for root in (a_root, b_root))
    if ra["best_epoch"] != rb["best_epoch"] or len(ra["epochs"]) != len(rb["epochs"]):
        sys.exit(f"dist: layer {layer}: reports differ: {ra} vs {rb}")
    for ea, eb in zip(ra["epochs"], rb["epochs"]):
        for key in ("train_loss", "validation_loss"):
            if abs(ea[key] - eb[key]) > 1e-5 * max(1.0, abs(ea[key])):
                sys.exit(f"dist: layer {layer} epoch {ea['epoch']} {key}: {ea[key]} vs {eb[key]}")
PY
}

case "$part" in
train)
  "$remedi" "${train_args[@]}" -l 1 --max-epochs 3 --patience 3 -n one >/dev/null
  "${two[@]}" "${train_args[@]}" -l 1 --max-epochs 3 --patience 3 -n two >"$work/two.json" 2>"$work/two.err" ||
    { cat "$work/two.err"; exit 1; }
  tolerance=1e-6 compare one two 1
  # Rank 0 alone prints the summary.
  "$python" -c "import json, sys; d = json.load(open(sys.argv[1])); assert len(d['editors']) == 1, d" "$work/two.json"
  # --faithful (quirk Q1: the KL of the whole batch's last row, on whichever rank holds it).
  "$remedi" "${train_args[@]}" -l 1 --max-epochs 2 --patience 2 --faithful -n one_q1 >/dev/null
  "${two[@]}" "${train_args[@]}" -l 1 --max-epochs 2 --patience 2 --faithful -n two_q1 >/dev/null 2>"$work/two.err" ||
    { cat "$work/two.err"; exit 1; }
  tolerance=1e-6 compare one_q1 two_q1 1
  # --parallel layers: each editor trained by one rank alone, as one process trains it.
  "$remedi" "${train_args[@]}" -l 0 1 2 --max-epochs 1 --patience 1 -n one_layers >/dev/null
  "${two[@]}" "${train_args[@]}" -l 0 1 2 --max-epochs 1 --patience 1 --parallel layers -n two_layers \
    >"$work/layers.json" 2>"$work/two.err" || { cat "$work/two.err"; exit 1; }
  tolerance=0 compare one_layers two_layers 0 1 2
  "$python" -c "import json, sys; d = json.load(open(sys.argv[1])); assert [e['layer'] for e in d['editors']] == [0, 1, 2], d" \
    "$work/layers.json"
  echo "dist: train ok"
  ;;
failure)
  timeout=4
  for signal in KILL STOP; do
    port=$("$python" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
    run=fail_$signal
    for rank in 0 1; do
      MASTER_ADDR=127.0.0.1 MASTER_PORT=$port WORLD_SIZE=2 RANK=$rank LOCAL_RANK=$rank \
        "$remedi" "${train_args[@]}" -l 1 --max-epochs 500 --patience 500 --dist-timeout $timeout -n "$run" \
        >/dev/null 2>"$work/rank$rank.err" &
      pids+=($!)
    done
    rank0=${pids[-2]}
    rank1=${pids[-1]}
    # Rank 0 writes the args file once both ranks have joined; a checkpoint once they train.
    for _ in $(seq 300); do
      [ -e "$REMEDI_RESULTS/$run/linear/1/checkpoint.pt" ] && break
      sleep 0.1
    done
    [ -e "$REMEDI_RESULTS/$run/linear/1/checkpoint.pt" ] || { cat "$work"/rank*.err; echo "dist: training did not start"; exit 1; }
    kill -"$signal" "$rank1"
    start=$(date +%s.%N)
    status=0
    wait "$rank0" || status=$?
    seconds=$("$python" -c "import time; print(round(time.time() - $start, 1))")
    kill -9 "$rank1" 2>/dev/null || true
    err=$(cat "$work/rank0.err")
    echo "dist: rank 1 got SIG$signal: rank 0 exited with $status after $seconds s: $err"
    [ "$status" -ne 0 ] || { echo "dist: rank 0 exited 0"; exit 1; }
    "$python" -c "import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) + 10 else 1)" "$seconds" "$timeout" ||
      { echo "dist: rank 0 took longer than the timeout"; exit 1; }
    [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || { echo "dist: not one line"; exit 1; }
    case "$err" in "remedi: error: rank 0 of 2: "*) ;; *) echo "dist: unexpected message"; exit 1 ;; esac
  done
  # Both ranks killed after a checkpoint; one process resumes it (--resume with another world size)
  # and ends with the editor of an uninterrupted one-process run.
  # Forty epochs: the 2-rank run must still be training when the watcher below sees its second
  # checkpoint (eight epochs ended before the kill on an idle machine).
  resume_args=("${train_args[@]}" -l 1 --max-epochs 40 --patience 40)
  "$remedi" "${resume_args[@]}" -n resume_one >/dev/null
  port=$("$python" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
  for rank in 0 1; do
    MASTER_ADDR=127.0.0.1 MASTER_PORT=$port WORLD_SIZE=2 RANK=$rank LOCAL_RANK=$rank \
      "$remedi" "${resume_args[@]}" -n resume_two >/dev/null 2>&1 &
    pids+=($!)
  done
  for _ in $(seq 300); do
    [ -e "$REMEDI_RESULTS/resume_two/linear/1/checkpoint.pt" ] && break
    sleep 0.1
  done
  # The checkpoint of epoch 0 only measures: wait for the next (a new file: written by rename).
  checkpoint=$REMEDI_RESULTS/resume_two/linear/1/checkpoint.pt
  first=$(stat -c %i "$checkpoint" 2>/dev/null || echo none)
  for _ in $(seq 300); do
    [ "$(stat -c %i "$checkpoint" 2>/dev/null || echo none)" != "$first" ] && break
    sleep 0.05
  done
  kill -9 "${pids[-2]}" "${pids[-1]}" 2>/dev/null || true
  wait "${pids[-2]}" "${pids[-1]}" 2>/dev/null || true
  [ -e "$REMEDI_RESULTS/resume_two/linear/1/checkpoint.pt" ] || { echo "dist: no checkpoint to resume"; exit 1; }
  [ ! -e "$REMEDI_RESULTS/resume_two/linear/1/editor.json" ] || { echo "dist: the 2-rank run ended before the kill"; exit 1; }
  "$remedi" "${resume_args[@]}" -n resume_two --resume >/dev/null
  tolerance=1e-6 compare resume_one resume_two 1
  echo "dist: failure ok"
  ;;
eval)
  # Editors at layers 1 and 2 (one epoch), then fact-gen on 5 CounterFact rows in batches of 2 (the
  # second rank gets one batch, the last one short) with every benchmark.
  "$remedi" "${train_args[@]}" -l 1 2 --max-epochs 1 --patience 1 -n editors >/dev/null
  eval_args=(eval fact-gen -m "$model" -e "$REMEDI_RESULTS/editors" -l 1 2 --rows 'train[5000:5005]'
    --batch-size 2 --max-length 72 -b efficacy paraphrase neighborhood generation essence -q)
  "$remedi" "${eval_args[@]}" -n eval_one >"$work/one.json"
  "${two[@]}" "${eval_args[@]}" -n eval_two >"$work/two.json" 2>"$work/two.err" || { cat "$work/two.err"; exit 1; }
  "$python" - "$REMEDI_RESULTS/eval_one" "$REMEDI_RESULTS/eval_two" "$work/one.json" "$work/two.json" <<'PY'
import json, sys
sys.path.insert(0, "tests/dist")
from same_results import compare_folders, strip
files = compare_folders(sys.argv[1], sys.argv[2])
summary = [strip(json.load(open(path))) for path in sys.argv[3:5]]
summary[1]["experiment"] = summary[0]["experiment"]
if summary[0] != summary[1]:
    sys.exit("dist: the printed summaries differ")
print(f"dist: {len(files)} files equal")
PY
  echo "dist: eval ok"
  ;;
evals)
  # Editors at layers 1 and 2 (one epoch). Every command runs in batches that split unevenly over the
  # two ranks (the second rank's last batch short), once as one process (results under one/) and once
  # on 2 ranks (under two/), with the same experiment names.
  "$remedi" "${train_args[@]}" -l 1 2 --max-epochs 1 --patience 1 -n editors >/dev/null
  # Seven short Bias in Bios rows (LabHC layout) of three occupations: the tiny model's 128 positions
  # hold a bio and its prompt.
  cat >"$work/bios.csv" <<'CSV'
hard_text,profession,gender
She works long night shifts caring for sick patients at the city hospital.,nurse,Female
He flies large passenger planes between the busy airports of the north coast.,pilot,Male
She teaches young children how to read and write at the village school.,teacher,Female
He looks after the old patients of the ward and gives them their daily medicine.,nurse,Male
She has flown cargo planes across the ocean for more than ten long years.,pilot,Female
He shows his students in the small school how numbers and letters work together.,teacher,Male
She checks the heart rate of every patient on the morning round of the clinic.,nurse,Female
CSV
  editors=(-e "$REMEDI_RESULTS/editors" -l 1 2)
  counterfact=(--rows 'train[5000:5005]' --batch-size 2)
  bios=(-f "$work/bios.csv" --rows 'train[:7]' --batch-size 2)
  mcrae=(-f tests/fixtures/data/mcrae_synthetic.tsv --rows 'train[:5]' --batch-size 4)
  runs=(
    "eval fact-cls ${editors[*]} ${counterfact[*]} -n fact_cls"
    "eval fact-mediation ${counterfact[*]} -n fact_mediation"
    "eval bias-gen ${editors[*]} ${bios[*]} --decontextualized --max-new-tokens 4 -n bias_gen"
    "eval bias-cls ${editors[*]} ${bios[*]} -n bias_cls"
    "eval entailment ${editors[*]} ${mcrae[*]} -n entailment"
    "eval entailment --baseline prefix ${mcrae[*]} -n entailment_prefix"
    "generate-directions ${editors[*]} -d counterfact ${counterfact[*]} -n directions"
  )
  for i in "${!runs[@]}"; do
    read -r -a run <<<"${runs[$i]}"  # no argument above holds a space
    "$remedi" "${run[@]}" -m "$model" --results-dir "$work/one" -q >"$work/one_$i.json" 2>"$work/one.err" ||
      { cat "$work/one.err"; exit 1; }
    "${two[@]}" "${run[@]}" -m "$model" --results-dir "$work/two" -q >"$work/two_$i.json" 2>"$work/two.err" ||
      { cat "$work/two.err"; exit 1; }
  done
  "$python" - "$work" "${#runs[@]}" <<'PY'
import json, os, sys
sys.path.insert(0, "tests/dist")
from same_results import compare_folders, strip
work, runs = sys.argv[1], int(sys.argv[2])
files = compare_folders(os.path.join(work, "one"), os.path.join(work, "two"))
experiments = sorted({name.split(os.sep)[0] for name in files})
# Rank 0 alone prints: one JSON document per run, the 1-process one up to the results folder.
for i in range(runs):
    a, b = (open(os.path.join(work, f"{which}_{i}.json")).read().replace(os.path.join(work, which), "ROOT")
            for which in ("one", "two"))
    if strip(json.loads(a)) != strip(json.loads(b)):
        sys.exit(f"dist: run {i}: the printed summaries differ")
print(f"dist: {len(files)} files of {len(experiments)} experiments equal: {', '.join(experiments)}")
PY
  echo "dist: evals ok"
  ;;
*)
  echo "usage: $0 REMEDI_BINARY train|failure|eval|evals" >&2
  exit 2
  ;;
esac
