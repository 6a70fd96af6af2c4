#!/usr/bin/env bash
# The Python package against the C++ library, in one run on one machine: import time, and one edit's
# latency (prepare + edited top-10) from Python (bench/bench_python.py) and from C++ (bench_edit).
# Prints the kernel each ran. Usage: scripts/bench-python.sh [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
repeats="${1:-30}"
echo "== $(date -u +%FT%TZ) on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
echo "== C++ (build/bench/bench_edit)"
build/bench/bench_edit --repeats "$repeats"
echo "== Python (bench/bench_python.py)"
PYTHONPATH=build/python .venv/bin/python bench/bench_python.py --repeats "$repeats"
