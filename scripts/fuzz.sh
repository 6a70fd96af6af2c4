#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang with AddressSanitizer + UndefinedBehaviorSanitizer) into
# build-fuzz/ and runs each for SECONDS, from a corpus seeded with the committed fixtures plus the
# saved regression inputs (fuzz/regressions/<target>/). Any crash, sanitizer report, leak, timeout or
# out-of-memory stops that target, leaves the input under build-fuzz/runs/artifacts/ and makes the
# script exit 1 once every target ran.
#
#   scripts/fuzz.sh [SECONDS (default 600)] [PARALLEL (default 1)] [TARGET ...]
#
# TARGET: names without the fuzz_ prefix (default: all). PARALLEL targets run at a time (the test
# command's smoke run uses 2 on 2 cores). Logs: build-fuzz/runs/logs/<target>.log; the last line of
# each (its executions, coverage and corpus) is printed. The corpus grows in
# build-fuzz/runs/corpus/<target>/ and is re-seeded at every run. docs/FUZZING.md has the results.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
parallel=${2:-1}
shift $(($# > 2 ? 2 : $#))
all=(gguf safetensors npy config_json pickle tokenizer_json tokenizer_gguf datasets rows serve_request)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
python=.venv/bin/python
[ -x "$python" ] || python=python3

# Only what the targets need (fuzz/CMakeLists.txt: the readers' sources and the serve parser's unit,
# not the libtorch library, the CLI or the Python extension), with clang. FUZZ_BUILD: another build
# folder; FUZZ_SKIP_BUILD=1: run the binaries already there.
build=${FUZZ_BUILD:-build-fuzz}
if [ "${FUZZ_SKIP_BUILD:-0}" != 1 ]; then
  CXX=${CXX:-clang++} cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE= -DREMEDI_BUILD_FUZZ=ON \
    -DREMEDI_BUILD_TESTS=OFF -DREMEDI_BUILD_BENCH=OFF -DREMEDI_BUILD_PYTHON=OFF >/dev/null
  cmake --build "$build" -j "$(nproc)" --target fuzz >/dev/null
fi

runs=${FUZZ_RUNS:-$build/runs}  # FUZZ_RUNS: another folder (a long campaign beside a smoke run)
mkdir -p "$runs/logs" "$runs/artifacts"

# Copies the seeds of target $1 into folder $2: fixtures, selector bytes where the target has them,
# and the saved regression inputs.
seed() {
  local t=$1 dir=$2 f d
  case $t in
    gguf) cp tests/fixtures/io/*.gguf "$dir/" ;;
    safetensors) cp tests/fixtures/io/*.safetensors "$dir/" ;;
    npy) cp tests/fixtures/io/npy/*.npy "$dir/" ;;
    config_json) for d in tests/fixtures/config/*/; do cp "$d/config.json" "$dir/$(basename "$d").json"; done ;;
    pickle)
      cp tests/fixtures/data/*.pkl "$dir/"
      for f in tests/fixtures/remedi/*/*/*/weights.pth; do  # each archive's data.pkl (torch mode)
        "$python" -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); sys.stdout.buffer.write(z.read(next(n for n in z.namelist() if n.endswith("/data.pkl"))))' \
          "$f" >"$dir/$(echo "$f" | cut -d/ -f4- | tr / _).pkl"
      done ;;
    tokenizer_json)
      cp tests/fixtures/lm/tokenizer.json "$dir/lm.json"
      # The byte-level styles, then the families' (tokenizer normalizers, SentencePiece-style BPE with
      # byte fallback, Metaspace, the Qwen2 and Llama-3 regexes).
      for d in tests/fixtures/tok/*/ tests/fixtures/tok_families/*/; do
        [ -f "$d/tokenizer.json" ] && cp "$d/tokenizer.json" "$dir/$(basename "$d").json"
      done ;;
    tokenizer_gguf)
      # The fixtures' metadata without their tensors: small inputs whose bytes are all tokenizer
      # and config metadata.
      for f in tests/fixtures/lm/*/model.gguf tests/fixtures/io/tiny_gpt2.gguf tests/fixtures/tok_families/*.gguf; do
        "$python" - "$f" "$dir/$(echo "$f" | cut -d/ -f3- | tr / _)" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
n_kv = struct.unpack_from("<Q", data, 16)[0]
pos = 24
def skip(kind):
    global pos
    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    if kind == 8:
        pos += 8 + struct.unpack_from("<Q", data, pos)[0]
    elif kind == 9:
        inner, count = struct.unpack_from("<IQ", data, pos)
        pos += 12
        for _ in range(count):
            skip(inner)
    else:
        pos += sizes[kind]
for _ in range(n_kv):
    pos += 8 + struct.unpack_from("<Q", data, pos)[0]
    kind = struct.unpack_from("<I", data, pos)[0]
    pos += 4
    skip(kind)
open(sys.argv[2], "wb").write(data[:8] + struct.pack("<Q", 0) + data[16:pos])
PY
      done ;;
    datasets)
      # Selector byte, then the file (fuzz/fuzz_datasets.cpp).
      "$python" - "$dir" <<'PY'
import json, sys
out = sys.argv[1]
def write(name, selector, body):
    open(f"{out}/{name}", "wb").write(bytes([selector]) + body)
records = json.load(open("data/counterfact/counterfact-val.json"))[:3]
write("counterfact.json", 0, json.dumps(records, indent=1).encode())
write("bios.csv", 1, b"".join(open("data/biasinbios-samples/accountant.csv", "rb").readlines()[:6]))
# The header and 31 rows: McRae's conversion grows fast with the rows (every co-occurring pair, each
# with its features), and the whole 53-row fixture takes 0.3 s per run under the sanitizers.
write("mcrae.tsv", 2, b"".join(open("tests/fixtures/data/mcrae_synthetic.tsv", "rb").readlines()[:32]))
write("winoventi.tsv", 3, b"".join(open("data/winoventi/winoventi_bert_large_final.tsv", "rb").readlines()[:8]))
write("articles_winoventi.tsv", 3, open("tests/fixtures/data/articles_winoventi.tsv", "rb").read())
write("samples.jsonl", 4, b"".join(open("tests/fixtures/data/mcrae_synthetic_expected.jsonl", "rb").readlines()[:4]))
write("cmudict.txt", 5, b";;; comment\nAPPLE  AE1 P AH0 L\nHOUR  AW1 ER0\nUNICORN  Y UW1 N IH0 K AO2 R N\nX-RAY  EH1 K S R EY2\n")
PY
      ;;
    rows)
      local spec i=0
      for spec in 'train' 'train[:12]' 'train[-5:]' 'train[10%:20%]' 'train[977::2]' 'train[:3]+train[-3:]' 'train[:-0]' 'train[1:-1:3]'; do
        printf '\x64\x00%s' "$spec" >"$dir/rows$i"
        i=$((i + 1))
      done ;;
    serve_request)
      # Selector byte (bit 0: chat; bits 1-3: the chat template, fuzz_serve_request.cpp), then the body.
      printf '\x00%s' '{"model": "m", "prompt": "The Eiffel Tower is in", "max_tokens": 8, "temperature": 0.7, "top_p": 0.9, "top_k": 5, "seed": 3, "stop": ["\n", "."], "logprobs": 2, "stream": true, "stream_options": {"include_usage": true}}' >"$dir/completion"
      printf '\x00%s' '{"prompt": "Rome is in", "edits": [{"entity": "Rome", "context": "Rome is in France", "layer": 1, "editor": "linear", "alpha": 1.5, "beta": 0.5}], "return_edit": true}' >"$dir/edit"
      printf '\x03%s' '{"model": "m", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Where is Rome?"}], "max_tokens": 4, "n": 1, "logprobs": true, "top_logprobs": 2}' >"$dir/chat"
      printf '\x05%s' '{"messages": [{"role": "user", "content": "Rome"}], "edits": [{"entity": "Rome", "attribute": "in France"}]}' >"$dir/chat_edit"
      for selector in 07 09 0b 0d; do  # Llama 3, Gemma 2, Gemma 3, Phi-3
        printf "\\x$selector%s" '{"messages": [{"role": "system", "content": " Be brief. "}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Rome?"}]}' >"$dir/chat_$selector"
      done ;;
    *) echo "fuzz: unknown target '$t' (known: ${all[*]})" >&2; exit 2 ;;
  esac
  if [ -d "fuzz/regressions/$t" ]; then cp fuzz/regressions/"$t"/* "$dir/" 2>/dev/null || true; fi
}

# Runs target $1 for $seconds; its exit status is libFuzzer's.
run() {
  local t=$1 corpus=$runs/corpus/$1
  rm -rf "$corpus" && mkdir -p "$corpus"
  seed "$t" "$corpus"
  # -max_len: the seeds' size (tokenizer files reach 16 KB, the GGUF metadata 40 KB); -rss_limit_mb:
  # AddressSanitizer's quarantine and the corpus need more than the default 2 GB on long runs.
  nice -n 15 "$build"/fuzz/fuzz_"$t" -max_total_time="$seconds" -max_len=65536 -timeout=25 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$runs/artifacts/$t-" "$corpus" >"$runs/logs/$t.log" 2>&1
}

failed=()
pids=()
names=()
wait_one() {  # waits for the oldest running target and reports it
  local status=0
  wait "${pids[0]}" || status=$?
  local t=${names[0]}
  pids=("${pids[@]:1}")
  names=("${names[@]:1}")
  echo "fuzz_$t: $(grep -E '^#[0-9]+' "$runs/logs/$t.log" | tail -1)$([ "$status" -ne 0 ] && echo " FAILED (exit $status, see $runs/logs/$t.log)")"
  [ "$status" -eq 0 ] || failed+=("$t")
}
for t in "${targets[@]}"; do
  [ ${#pids[@]} -lt "$parallel" ] || wait_one
  run "$t" &
  pids+=($!)
  names+=("$t")
done
while [ ${#pids[@]} -gt 0 ]; do wait_one; done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]}: inputs under $runs/artifacts/" >&2
  exit 1
fi
