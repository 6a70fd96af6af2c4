#!/usr/bin/env bash
# Byte-for-byte check that a change to the code did not change what remedi computes: runs a fixed set
# of commands (edit, generate, a tiny training run, every evaluation on a few rows, a random-init
# model, the report) on the default model with one `remedi` binary, and compares two such runs.
#
#   scripts/compare-outputs.sh run OUT_DIR [REMEDI_BINARY]   # default binary: build/remedi
#   scripts/compare-outputs.sh diff OUT_A OUT_B              # exit 1 and list what differs
#
# Typical use: run it with the binary built before a refactor and with the one after, then diff.
# The diff ignores only where and when a run happened: timing fields (seconds, samples per second),
# time stamps (args-*.json names, dates in the report), the output folder and the checkout's path. About 10 minutes per run on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
python=.venv/bin/python
[ -x "$python" ] || python=python3

case "${1:-}" in
  run)
    out=$(realpath -m "${2:?OUT_DIR}")
    remedi=$(realpath "${3:-build/remedi}")
    model=$(scripts/fetch-model.sh)
    rm -rf "$out" && mkdir -p "$out/stdout"
    pwd >"$out/source-dir"  # the checkout the binary reads data/ from; the diff blanks it out
    export REMEDI_RESULTS="$out/results"
    step() {  # $1: name of the captured stdout; the rest: the remedi command line
      local name=$1; shift
      echo "compare-outputs: remedi $*" >&2
      "$remedi" "$@" >"$out/stdout/$name.txt"
    }
    editor=smollm2-counterfact
    fact="--entity Dolomiten --context"
    step generate generate -m "$model" --prompt "The capital of France is" --max-new-tokens 8
    step edit_text edit -m "$model" -e $editor -l 6 $fact "Dolomiten is written in Russian" \
      --prompt "The language Dolomiten was written in is called" --max-new-tokens 8 --top 5
    step edit_json edit -m "$model" -e $editor -l 6 $fact "Dolomiten is written in Russian" \
      --prompt "The language Dolomiten was written in is called" --max-new-tokens 8 --top 5 --json --alpha 2
    step train_cf train -n cf -m "$model" -d counterfact -l 6 --train-size 48 --max-epochs 2
    step train_bias train -n bias -m "$model" -d biosbias -l 4 --train-size 48 --max-epochs 1 \
      --rows "train[:64]"
    step fact_gen eval fact-gen -n fg -m "$model" -e $editor -l 6 --rows "train[5000:5006]" -q \
      -b efficacy paraphrase neighborhood generation essence --max-length 40
    step fact_gen_prefix eval fact-gen -n fg -m "$model" --rows "train[5000:5006]" -q \
      -b efficacy paraphrase neighborhood --baseline prefix
    step fact_gen_replace eval fact-gen -n fg -m "$model" --rows "train[5000:5006]" -q \
      -b efficacy paraphrase --baseline replace
    step fact_gen_trained eval fact-gen -n fg2 -m "$model" -e "$out/results/cf" -l 6 \
      --rows "train[5000:5006]" -q -b efficacy
    step fact_cls eval fact-cls -n fc -m "$model" -e $editor -l 6 --rows "train[5000:5016]" -q \
      --entity-layers 6 12
    step fact_cls_control eval fact-cls -n fc -m "$model" -e $editor -l 6 --rows "train[5000:5016]" -q \
      --entity-layers 6 --control-task --similarity cosine
    step fact_mediation eval fact-mediation -n fm -m "$model" --rows "train[5000:5008]" -q
    step bias_gen eval bias-gen -n bg -m "$model" -e "$out/results/bias" -l 4 --rows "train[980:988]" -q \
      --max-new-tokens 6
    step bias_gen_decontextual eval bias-gen -n bg -m "$model" -e "$out/results/bias" -l 4 \
      --rows "train[980:988]" -q --max-new-tokens 6 --decontextualized
    step bias_cls eval bias-cls -n bc -m "$model" -e "$out/results/bias" -l 4 --rows "train[970:1000]" -q \
      --entity-layers 4 8
    step entailment eval entailment -n en -m "$model" -e $editor -l 6 -f tests/fixtures/data/mcrae_synthetic.tsv \
      --rows "train[:8]" -q
    step directions generate-directions -n gd -m "$model" -e $editor -l 6 --rows "train[5000:5004]" -q
    step random_init random-init-model -m "$model" --out-dir "$out/random-model" --seed 7
    step report report "$out/results" -o "$out/report.html"
    echo "compare-outputs: wrote $out" >&2
    ;;
  diff)
    "$python" - "${2:?OUT_A}" "${3:?OUT_B}" <<'PY'
import hashlib, json, os, re, sys

TIMING = re.compile(r"(seconds|per_second)$")

def normalise(value):
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items() if not TIMING.search(k)}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value

def files(root):
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            key = os.path.relpath(path, root)
            key = re.sub(r"args-\d{8}-\d{6}\.json$", "args.json", key)
            found.setdefault(key, []).append(path)
    return found

def roots(run):
    # Paths that name the run rather than what it computed: its output folder and its checkout.
    found = [os.path.realpath(run)]
    marker = os.path.join(run, "source-dir")
    if os.path.exists(marker):
        with open(marker) as f:
            found.append(f.read().strip())
    return found

STAMP = re.compile(r"\d{8}-\d{6}|\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?( UTC)?")

def content(paths, run):
    out = []
    for path in sorted(paths):
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        for root in roots(run):
            text = text.replace(root, "<root>")
        text = STAMP.sub("<stamp>", text)
        try:
            out.append(json.dumps(normalise(json.loads(text)), sort_keys=True))
            continue
        except ValueError:
            pass
        if path.endswith(".html") or path.endswith(".txt"):
            out.append(re.sub(r"\d+(\.\d+)? ?(s|ms|seconds)\b", "<t>", text))
            continue
        with open(path, "rb") as f:
            out.append(hashlib.sha256(f.read()).hexdigest())
    return out

a, b = files(sys.argv[1]), files(sys.argv[2])
bad = 0
for key in sorted(set(a) | set(b)):
    if key not in a or key not in b:
        print(f"only in {'B' if key in b else 'A'}: {key}")
        bad += 1
    elif key != "source-dir" and content(a[key], sys.argv[1]) != content(b[key], sys.argv[2]):
        print(f"differs: {key}")
        bad += 1
print(f"compare-outputs: {len(set(a) | set(b))} files, {bad} differ")
sys.exit(1 if bad else 0)
PY
    ;;
  *)
    sed -n 2,11p "$0" >&2
    exit 2
    ;;
esac
