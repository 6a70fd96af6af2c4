"""The Python package's costs (docs/PERFORMANCE.md, "Python"): import time, and one edit's latency
through remedi (prepare the edit, then the edited forward's top-10 next tokens) against the same
calls made from C++ (bench_edit). scripts/bench-python.sh runs both in one go.

    python bench/bench_python.py [--repeats 30]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def import_seconds(code: str, runs: int = 5) -> float:
    """Median wall time of a fresh interpreter running `code`."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()

    bare = import_seconds("pass")
    torch_only = import_seconds("import torch")
    with_remedi = import_seconds("import torch, remedi")
    print(f"import_python_s {bare:.3f}\nimport_torch_s {torch_only:.3f}\nimport_torch_remedi_s {with_remedi:.3f}")
    print(f"import_remedi_extra_s {with_remedi - torch_only:.3f}")

    import torch

    import remedi

    print(f"threads {torch.get_num_threads()}")
    model = remedi.load_model("smollm2")
    editors = remedi.load_editors(model, "smollm2-counterfact")
    edit = remedi.Edit(entity="Dolomiten", context="Dolomiten is written in Russian", editor=editors)
    prompt = "The language Dolomiten was written in is called"
    seconds = []
    for i in range(args.repeats + 3):  # 3 warm-up calls, as bench_edit
        start = time.perf_counter()
        model.top_next_tokens(prompt, [edit], k=10)
        if i >= 3:
            seconds.append(time.perf_counter() - start)
    seconds.sort()
    print(f"edit_call_median_ms {1e3 * seconds[len(seconds) // 2]:.3f}\nedit_call_min_ms {1e3 * seconds[0]:.3f}")


if __name__ == "__main__":
    main()
