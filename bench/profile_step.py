"""Where one training step and one decode step spend their time (docs/PERFORMANCE.md, issue 20):
libtorch's profiler around the library's own calls, through the Python package (the extension runs
on the wheel's libtorch, so the profiler sees every operator the C++ dispatches; code that is not a
libtorch operator, such as the quantized kernels, shows only as the gap to the wall time).

    PYTHONPATH=build/python .venv/bin/python bench/profile_step.py train [--layer 1] [--rows 48]
    PYTHONPATH=build/python .venv/bin/python bench/profile_step.py decode [--dtype fp32] [--new-tokens 64]

train: one epoch of `remedi.train` on CounterFact rows train[:ROWS] (batch 16) after a warm-up epoch
(epoch 0 measures and fills the caches; the profiled run resumes nothing, so it repeats epoch 0's
passes too: the table separates forward and backward operators by name).
decode: greedy decoding of NEW_TOKENS tokens at batch 1 after a warm-up.
Prints the wall time, the time inside libtorch operators and the top operators by self CPU time.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch
from torch.profiler import ProfilerActivity, profile

import remedi


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["train", "decode"])
    parser.add_argument("--layer", type=int, default=1)
    parser.add_argument("--rows", type=int, default=48)
    parser.add_argument("--dtype", default="fp32")
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    print(f"threads {torch.get_num_threads()}, torch {torch.__version__}, {torch.backends.cpu.get_cpu_capability()}")

    if args.what == "train":
        model = remedi.load_model("smollm2")

        def work() -> None:
            with tempfile.TemporaryDirectory() as results:
                remedi.train(
                    model,
                    rows=f"train[:{args.rows}]",
                    layers=[args.layer],
                    max_epochs=1,
                    patience=99,
                    results_dir=results,
                    quiet=True,
                )
    else:
        model = remedi.load_model("smollm2", dtype=args.dtype)

        def work() -> None:
            model.generate(["The mother tongue of Danielle Darrieux is"], max_new_tokens=args.new_tokens)

    work()  # warm-up
    start = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        work()
    wall = time.perf_counter() - start
    events = prof.key_averages()
    inside = sum(e.self_cpu_time_total for e in events) / 1e6
    print(f"wall {wall:.3f} s, self time of libtorch operators {inside:.3f} s ({100 * inside / wall:.0f}%)")
    print(events.table(sort_by="self_cpu_time_total", row_limit=args.top))


if __name__ == "__main__":
    main()
