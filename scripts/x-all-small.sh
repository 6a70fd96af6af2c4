#!/usr/bin/env bash
# Every experiment of `remedi x list` through `remedi x run` on SmolLM2 with --small, at layer 3 and
# with training and evaluation rows cut to a few (--train-rows / --eval-rows), so that the whole
# list runs in about 5 minutes on 2 cores: a check that each experiment's command sequence works end
# to end, not a measurement. McRae uses the synthetic norms (outputs say synthetic_data: true);
# dump.all stops at once because the real McRae norms are not shipped (expected exit code 2).
# Usage: scripts/x-all-small.sh [RESULTS_DIR]   (default: a fresh temporary folder)
set -u
cd "$(dirname "$0")/.."
results=${1:-$(mktemp -d /tmp/remedi-x-all-small.XXXXXX)}
mkdir -p "$results"
synthetic=tests/fixtures/data/mcrae_synthetic.tsv
failed=0
n=0
run() {
  local expected=$1 name=$2
  shift 2
  n=$((n + 1))
  local start=$SECONDS
  build/remedi x run "$name" --small --layer 3 --results-dir "$results" "$@" >"$results/$n-$name.log" 2>&1
  local code=$?
  echo "$name $* -> exit $code ($((SECONDS - start)) s)"
  if [ "$code" -ne "$expected" ]; then
    failed=1
    tail -3 "$results/$n-$name.log"
  fi
}
run 0 train.counterfact --train-rows 'train[:16]'
run 0 train.counterfact --train-rows 'train[:16]' --random
run 0 train.biosbias --train-rows 'train[978:1234:16]'
run 0 train.biosbias --train-rows 'train[978:1234:16]' --random
run 0 train.mcrae -f "$synthetic" --train-rows 'train[:16]'
run 0 eval.gen.counterfact --eval-rows 'train[5000:5003]'
run 0 eval.gen.biosbias --eval-rows 'train[977:1234:64]'
run 0 eval.cls.counterfact --eval-rows 'train[5000:5004]' --entity-layer 5
run 0 eval.cls.biosbias --eval-rows 'train[977:1234:32]' --entity-layer 5
run 0 eval.ent.mcrae -f "$synthetic" --eval-rows 'train[20:24]'
run 0 sweep.gen.counterfact --eval-rows 'train[5000:5003]'
run 0 sweep.gen.biosbias --eval-rows 'train[977:1234:64]'
run 0 sweep.cls.counterfact --eval-rows 'train[5000:5004]'
run 0 sweep.cls.biosbias --eval-rows 'train[977:1234:32]'
run 0 sweep.ent.mcrae -f "$synthetic" --eval-rows 'train[20:24]'
run 0 dump.counterfact --eval-rows 'train[5000:5004]'
run 0 dump.biosbias --eval-rows 'train[977:1234:64]'
run 0 dump.mcrae -f "$synthetic" --eval-rows 'train[20:24]'
run 2 dump.all --eval-rows 'train[5000:5004]'
echo "results and logs: $results"
exit $failed
