#!/usr/bin/env bash
# Chaos test of training (issue 23): kill -9 `remedi train` at KILLS random moments, resume each
# killed run to its end, and compare it with one uninterrupted run. After each kill: every file under
# a final name is whole (JSON parses, safetensors headers and sizes agree). After each resume: the
# saved editors are bit-identical to the uninterrupted run's, their editor.json equal but for timings,
# and no temporary file or checkpoint is left. Runs on the tiny GPT-2 fixture (tests/fixtures/lm)
# with the fixture tokenizer and twelve short samples, two layers: about 3 s per kill on 2 cores.
#
#   scripts/chaos.sh [KILLS (default 50)] [REMEDI_BINARY (default build/remedi)]
#
# Prints one line per run and a summary; exit 1 on the first difference. The disk-full case is a
# unit test (tests/util/atomic_file_test.cpp, a file-size limit: no root or tmpfs needed).
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-50}
remedi=$(realpath "${2:-build/remedi}")
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

# Whole files under final names; $2 = "final": also no temporary files or checkpoints.
check() {
  "$python" - "$1" "$2" <<'PY'
import json, os, struct, sys
root, final = sys.argv[1], sys.argv[2] == "final"
for folder, _, names in os.walk(root):
    for name in names:
        path = os.path.join(folder, name)
        if ".tmp." in name:
            if final:
                sys.exit(f"chaos: temporary file left after the resume: {path}")
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
  "$python" - "$REMEDI_RESULTS/full" "$REMEDI_RESULTS/$1" <<'PY'
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

start=$(date +%s.%N)
"$remedi" "${train_args[@]}" -n full >/dev/null
full_seconds=$("$python" -c "import time; print(round(time.time() - $start, 2))")
echo "chaos: uninterrupted run: ${full_seconds} s"

# Moments drawn over the uninterrupted run's time; a run that finished first does not count, so
# draws go on (at most 4 x KILLS runs) until KILLS runs were killed.
killed=0
runs=0
while [ "$killed" -lt "$kills" ] && [ "$runs" -lt $((4 * kills)) ]; do
  runs=$((runs + 1))
  i=$runs
  delay=$("$python" -c "import random; print(round(random.uniform(0.1, $full_seconds), 2))")
  status=0
  "$remedi" "${train_args[@]}" -n "run$i" >/dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || status=$?  # returns once the process is gone, its writes ended
  if [ "$status" -eq 137 ]; then
    killed=$((killed + 1))
    check "$REMEDI_RESULTS/run$i" partial
  fi
  "$remedi" "${train_args[@]}" -n "run$i" --resume >/dev/null
  check "$REMEDI_RESULTS/run$i" final
  compare "run$i"
  echo "chaos: run $i: $([ "$status" -eq 137 ] && echo "killed at ${delay} s" || echo "finished before ${delay} s"), resumed: identical"
  rm -rf "${REMEDI_RESULTS:?}/run$i"
done
echo "chaos: $runs runs, $killed killed by kill -9 (the rest finished first): every resume identical to the uninterrupted run, no partial or temporary file"
[ "$killed" -ge "$kills" ] || { echo "chaos: only $killed of $kills runs were killed" >&2; exit 1; }
