#!/usr/bin/env bash
# `pip install .` as a user does it: a fresh virtual environment with only torch (the version of
# requirements.txt), then `pip install <checkout>` (scikit-build-core builds the extension against
# that torch, in pip's isolated build environment), then examples/quickstart.py from outside the
# checkout. Not part of the test command (the build compiles the C++ core once more: ~15 min on 2
# cores; with ccache configured, set CMAKE_CXX_COMPILER_LAUNCHER=ccache to reuse a build's objects).
# Usage: scripts/test-pip-install.sh [VENV_DIR]   (default: a temporary folder, removed afterwards)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="${1:-}"
if [ -z "$venv" ]; then
  venv=$(mktemp -d /tmp/remedi-pip.XXXXXX)
  trap 'rm -rf "$venv"' EXIT
fi
torch_pin=$(grep -E '^torch==' "$repo/requirements.txt")
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$torch_pin"
start=$(date +%s)
"$venv/bin/python" -m pip install --disable-pip-version-check "$repo"
echo "test-pip-install: pip install . took $(( $(date +%s) - start )) s"
cd "$venv"  # away from the checkout: the installed package, not python/ of the source tree
"$venv/bin/python" -c "import remedi, sys; print('remedi', remedi.__version__, 'from', remedi.__file__)"
"$venv/bin/python" "$repo/examples/quickstart.py"
"$venv/bin/remedi" version-info >/dev/null
echo "test-pip-install: passed"
