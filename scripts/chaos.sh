#!/usr/bin/env bash
# Chaos test (issue 23): kill -9 `remedi train`, `remedi generate-directions` and a long evaluation
# (`remedi eval-fact-gen`, three benchmarks) at KILLS random moments each, run each killed run again
# (training with --resume; the others resume on their own: an evaluation skips the benchmarks whose
# metrics file exists, generate-directions writes its dump again) and compare it with one
# uninterrupted run. After each kill: every file under a final name is whole (JSON parses,
# safetensors headers and sizes agree). After each rerun: no temporary file or checkpoint is left,
# and the outputs are identical to the uninterrupted run's (training: the saved editors bit for bit
# and their editor.json but for timings; the others: every file, each JSON file but for timings
# and the experiment's name; the args-<time>.json record of each invocation aside). Runs on the tiny
# GPT-2 fixture (tests/fixtures/lm) with the fixture tokenizer, twelve short training samples and
# six CounterFact rows: a few seconds per kill on 2 cores.
#
#   scripts/chaos.sh [KILLS (default 50)] [REMEDI_BINARY (default build/remedi)] [PHASES (default "train directions fact-gen diskfull")]
#
# Phase "diskfull" (root only: it mounts a tmpfs; skipped with a message otherwise): each of the three
# commands with its results folder on a tmpfs of each size in CHAOS_DISK_SIZES (KiB, default
# "4 8 16 32 48 64 96 128 160 256 512"), too small for some of its files. It must finish (exit 0) or fail
# with exit 2 and one line naming a file, leave no partial file under a final name and no temporary
# file; then the tmpfs grows, the command runs again (training with --resume) and its outputs must
# equal the uninterrupted run's. A full disk is also a unit test (tests/util/atomic_file_test.cpp).
#
# Prints one line per run and a summary; exit 1 on the first difference.
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-50}
remedi=$(realpath "${2:-build/remedi}")
phases=${3:-train directions fact-gen diskfull}
python=.venv/bin/python
[ -x "$python" ] || python=python3

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
model=$work/model
mkdir -p "$model"
cp tests/fixtures/lm/gpt2/config.json tests/fixtures/lm/gpt2/model.safetensors tests/fixtures/lm/tokenizer.json "$model/"
"$python" - "$work/samples.jsonl" <<'PY'
import json, sys
rows = [("paris", "italy", "france"), ("rome", "spain", "italy"), ("berlin", "peru", "germany"),
        ("madrid", "chile", "spain"), ("lisbon", "greece", "portugal"), ("athens", "norway", "greece"),
        ("oslo", "egypt", "norway"), ("cairo", "india", "egypt"), ("delhi", "cuba", "india"),
        ("havana", "turkey", "cuba"), ("ankara", "kenya", "turkey"), ("nairobi", "poland", "kenya")]
with open(sys.argv[1], "w") as f:
    for city, new, true in rows:
        f.write(json.dumps({"id": city, "entity": city, "context": f"{city} is in {new}",
                            "attribute": f"is in {new}", "prompt": f"the city of {city} is in",
                            "target_mediated": new, "target_unmediated": true}) + "\n")
PY
export REMEDI_RESULTS=$work/results
train_args=(train -m "$model" -d samples -f "$work/samples.jsonl" --rows 'train[:12]' -l 1 2
  --max-epochs 6 --patience 6 --batch-size 2 --hold-out 0.25 --seed 3 -q)

# Whole files under final names; $2 = "final": also no temporary files or checkpoints; "failed" (after
# a command that stopped with an error): also no temporary files.
check() {
  "$python" - "$1" "$2" <<'PY'
import json, os, struct, sys
root, final, failed = sys.argv[1], sys.argv[2] == "final", sys.argv[2] == "failed"
for folder, _, names in os.walk(root):
    for name in names:
        path = os.path.join(folder, name)
        if ".tmp." in name:
            if final:
                sys.exit(f"chaos: temporary file left after the resume: {path}")
            if failed:
                sys.exit(f"chaos: temporary file left by a command that failed: {path}")
            continue
        if final and name == "checkpoint.pt":
            sys.exit(f"chaos: checkpoint left after the resume: {path}")
        if name.endswith(".json"):
            try:
                json.load(open(path))
            except ValueError as e:
                sys.exit(f"chaos: partial JSON under a final name: {path}: {e}")
        if name.endswith(".safetensors"):
            data = open(path, "rb").read()
            n = struct.unpack("<Q", data[:8])[0] if len(data) >= 8 else -1
            try:
                header = json.loads(data[8:8 + n])
                end = max([v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"] + [0])
            except (ValueError, KeyError) as e:
                sys.exit(f"chaos: partial safetensors under a final name: {path}: {e}")
            if 8 + n + end != len(data):
                sys.exit(f"chaos: partial safetensors under a final name: {path}")
PY
}

# The saved editors of run $1 against the uninterrupted run's.
compare() {
  "$python" - "$REMEDI_RESULTS/train-full" "$REMEDI_RESULTS/$1" <<'PY'
import json, os, sys
TIMING = ("seconds", "train_samples_per_second")
def strip(value):
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if k not in TIMING and k != "experiment_name"}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value
full, run = sys.argv[1], sys.argv[2]
for layer in ("1", "2"):
    a, b = os.path.join(full, "linear", layer), os.path.join(run, "linear", layer)
    if open(os.path.join(a, "editor.safetensors"), "rb").read() != open(os.path.join(b, "editor.safetensors"), "rb").read():
        sys.exit(f"chaos: {b}/editor.safetensors differs from the uninterrupted run's")
    if strip(json.load(open(os.path.join(a, "editor.json")))) != strip(json.load(open(os.path.join(b, "editor.json")))):
        sys.exit(f"chaos: {b}/editor.json differs from the uninterrupted run's (timings aside)")
PY
}

# Every output of run $1 against the uninterrupted run $2's: the same files, byte for byte, JSON
# files equal once timings and the experiment's name are left out; args-<time>.json aside (one per
# invocation).
compare_tree() {
  "$python" - "$REMEDI_RESULTS/$2" "$REMEDI_RESULTS/$1" <<'PY'
import json, os, re, sys
def strip(value):
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items()
                if not re.search(r"seconds|per_second|experiment", k)}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value
def files(root):
    found = set()
    for folder, _, names in os.walk(root):
        for name in names:
            if not re.fullmatch(r"args-.*\.json", name):
                found.add(os.path.relpath(os.path.join(folder, name), root))
    return found
full, run = sys.argv[1], sys.argv[2]
if files(full) != files(run):
    sys.exit(f"chaos: {run} holds {sorted(files(run) ^ files(full))} unlike the uninterrupted run")
for name in sorted(files(full)):
    a, b = os.path.join(full, name), os.path.join(run, name)
    if name.endswith(".json"):
        if strip(json.load(open(a))) != strip(json.load(open(b))):
            sys.exit(f"chaos: {b} differs from the uninterrupted run's (timings aside)")
    elif open(a, "rb").read() != open(b, "rb").read():
        sys.exit(f"chaos: {b} differs from the uninterrupted run's")
PY
}

# Phase $1: the uninterrupted run "$1-full", then runs killed at moments drawn over its time, each
# checked, run again (with $2 appended, e.g. --resume) and compared by function $3. The rest of the
# arguments are the remedi command.
chaos_phase() {
  local phase=$1 again=$2 compare_fn=$3
  shift 3
  local start full_seconds killed=0 runs=0 i delay status pid
  start=$(date +%s.%N)
  "$remedi" "$@" -n "$phase-full" >/dev/null
  full_seconds=$("$python" -c "import time; print(round(time.time() - $start, 2))")
  echo "chaos: $phase: uninterrupted run: ${full_seconds} s"
  # A run that finished before its moment does not count, so draws go on (at most 4 x KILLS runs)
  # until KILLS runs were killed.
  while [ "$killed" -lt "$kills" ] && [ "$runs" -lt $((4 * kills)) ]; do
    runs=$((runs + 1))
    i=$runs
    delay=$("$python" -c "import random; print(round(random.uniform(0.1, $full_seconds), 2))")
    status=0
    "$remedi" "$@" -n "$phase-run$i" >/dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || status=$?  # returns once the process is gone, its writes ended
    if [ "$status" -eq 137 ]; then
      killed=$((killed + 1))
      check "$REMEDI_RESULTS/$phase-run$i" partial
    fi
    # shellcheck disable=SC2086 # $again: no argument or one
    "$remedi" "$@" -n "$phase-run$i" $again >/dev/null 2>"$work/stderr" || {
      echo "chaos: $phase run $i: the run again failed (exit $?):" >&2
      cat "$work/stderr" >&2
      exit 1
    }
    check "$REMEDI_RESULTS/$phase-run$i" final
    "$compare_fn" "$phase-run$i" "$phase-full" || {
      echo "chaos: $phase run $i ($([ "$status" -eq 137 ] && echo "killed at ${delay} s" || echo "finished before ${delay} s")) differs" >&2
      exit 1
    }
    echo "chaos: $phase run $i: $([ "$status" -eq 137 ] && echo "killed at ${delay} s" || echo "finished before ${delay} s"), run again: identical"
    rm -rf "${REMEDI_RESULTS:?}/$phase-run$i"
  done
  echo "chaos: $phase: $runs runs, $killed killed by kill -9 (the rest finished first): every rerun identical to the uninterrupted run, no partial or temporary file"
  [ "$killed" -ge "$kills" ] || { echo "chaos: $phase: only $killed of $kills runs were killed" >&2; exit 1; }
}

# The training phase's comparison (compare above), on the run folders' names.
compare_train() { compare "$1"; }

# Phase diskfull (see the top): $1 = the commands to run, each "name|again|compare function".
diskfull_phase() {
  local mnt=$work/tmpfs entry kind again compare_fn size run status lines
  mkdir -p "$mnt"
  if [ "$(id -u)" -ne 0 ] || ! mount -t tmpfs -o size=4k tmpfs "$mnt" 2>/dev/null; then
    echo "chaos: diskfull: skipped (mounting a tmpfs needs root)"
    return 0
  fi
  # shellcheck disable=SC2064 # expanded now: $mnt is local
  trap "umount '$mnt' 2>/dev/null || true; rm -rf '$work'" EXIT
  for entry in "train|--resume|compare_train" "directions||compare_tree" "fact-gen||compare_tree"; do
    IFS='|' read -r kind again compare_fn <<<"$entry"
    # The uninterrupted run to compare with, where the kill phases did not make it.
    [ -d "$REMEDI_RESULTS/$kind-full" ] || phase_command "$kind" -n "$kind-full" >/dev/null
    for size in ${CHAOS_DISK_SIZES:-4 8 16 32 48 64 96 128 160 256 512}; do
      run=$kind-disk$size
      rm -rf "${mnt:?}"/*
      mount -o "remount,size=${size}k" "$mnt"
      status=0
      REMEDI_RESULTS=$mnt phase_command "$kind" -n "$run" >/dev/null 2>"$work/stderr" || status=$?
      lines=$(wc -l <"$work/stderr")
      if [ "$status" -ne 0 ]; then
        if [ "$status" -ne 2 ] || [ "$lines" -ne 1 ] || ! grep -q "^remedi: error: $mnt/" "$work/stderr"; then
          echo "chaos: diskfull: $run: exit $status, not one line naming a file on the full disk:" >&2
          cat "$work/stderr" >&2
          exit 1
        fi
        check "$mnt/$run" failed
      fi
      mount -o remount,size=64m "$mnt"
      # shellcheck disable=SC2086 # $again: no argument or one
      REMEDI_RESULTS=$mnt phase_command "$kind" -n "$run" $again >/dev/null 2>"$work/stderr" || {
        echo "chaos: diskfull: $run: the run with room again failed (exit $?):" >&2
        cat "$work/stderr" >&2
        exit 1
      }
      check "$mnt/$run" final
      cp -r "$mnt/$run" "$REMEDI_RESULTS/$run"
      "$compare_fn" "$run" "$kind-full" || {
        echo "chaos: diskfull: $run differs after the disk had room again" >&2
        exit 1
      }
      if [ "$status" -eq 0 ]; then
        echo "chaos: diskfull: $kind on ${size} KiB: fit, run again: identical"
      else
        echo "chaos: diskfull: $kind on ${size} KiB: $(sed 's/^remedi: error: //' "$work/stderr" | sed "s|$mnt/||"); run again: identical"
      fi
      rm -rf "${REMEDI_RESULTS:?}/$run"
    done
  done
  umount "$mnt"
  trap 'rm -rf "$work"' EXIT
}

# The later phases use the editors of the uninterrupted training run, and six CounterFact rows.
counterfact=data/counterfact/counterfact-val.json
eval_args=(-m "$model" -e "$REMEDI_RESULTS/train-full" -l 1 2 -f "$counterfact" --rows 'train[:6]' --batch-size 2 -q)
case " $phases " in
  *" train "*) ;;
  *) "$remedi" "${train_args[@]}" -n train-full >/dev/null ;;  # the editors the other phases use
esac
# The command of phase $1, with the rest of the arguments appended.
phase_command() {
  local kind=$1
  shift
  case $kind in
    train) "$remedi" "${train_args[@]}" "$@" ;;
    directions) "$remedi" generate-directions "${eval_args[@]}" "$@" ;;
    # Three benchmarks, each its own records and metrics files (the generation benchmark's
    # references take minutes even on six rows).
    fact-gen) "$remedi" eval-fact-gen "${eval_args[@]}" -b efficacy paraphrase neighborhood "$@" ;;
  esac
}
for phase in $phases; do
  case $phase in
    train) chaos_phase train --resume compare_train "${train_args[@]}" ;;
    directions) chaos_phase directions "" compare_tree generate-directions "${eval_args[@]}" ;;
    fact-gen) chaos_phase fact-gen "" compare_tree eval-fact-gen "${eval_args[@]}" -b efficacy paraphrase neighborhood ;;
    diskfull) diskfull_phase ;;
    *) echo "chaos: unknown phase '$phase' (train, directions, fact-gen, diskfull)" >&2; exit 2 ;;
  esac
done
