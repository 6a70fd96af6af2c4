"""What tests/dist/dist_test.sh compares between one process and two ranks: the results folders, file
by file (JSON equal once wall-clock timings are left out, anything else byte for byte)."""

import json
import os
import sys

TIMING = ("generation_seconds",)  # fact-gen, bias-gen: wall-clock seconds of the generations


def strip(value):
    """A JSON value without its timing fields."""
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if k not in TIMING}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


def listing(root):
    """The result files under root (not the args- files, which name their own folder)."""
    return sorted(
        os.path.relpath(os.path.join(d, n), root)
        for d, _, names in os.walk(root)
        for n in names
        if not n.startswith("args-")
    )


def read_bytes(path):
    with open(path, "rb") as file:
        return file.read()


def compare_folders(one, two):
    """Exits with a message at the first difference; returns the files compared."""
    files = listing(one)
    if files != listing(two):
        sys.exit(f"dist: files differ: {files} vs {listing(two)}")
    for name in files:
        a, b = (read_bytes(os.path.join(root, name)) for root in (one, two))
        equal = strip(json.loads(a)) == strip(json.loads(b)) if name.endswith(".json") else a == b
        if not equal:
            sys.exit(f"dist: {name} differs between one process and two ranks")
    return files
