"""Training, evaluations and data sets through the Python API: the CLI's options and results."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO, train_tiny_editor

import remedi


def test_datasets_load_selects_rows():
    rows = remedi.datasets.load("counterfact", rows="train[2:5]")
    assert len(rows) == 3
    every = remedi.datasets.load("counterfact", rows="train[:5]")
    assert [r.id for r in rows] == [r.id for r in every[2:5]]
    assert all(r.entity in r.context and r.entity in r.prompt and r.target_unmediated for r in rows)
    assert "counterfact" in remedi.datasets.names()
    with pytest.raises(remedi.Error, match="no-such-file.json"):
        remedi.datasets.load("counterfact", file="/tmp/no-such-file.json")


def test_train_reports_progress_and_saves(tiny_models, tmp_path):
    model = remedi.load_model(tiny_models("gpt2"))
    events = []
    summary = remedi.train(
        model,
        name="run",
        rows="train[:8]",
        layers=[0, 1],
        max_epochs=2,
        batch_size=4,
        results_dir=str(tmp_path),
        progress=events.append,
    )
    assert summary["experiment"].endswith("run")
    assert [(e["type"], e["layer"]) for e in summary["editors"]] == [("linear", 0), ("linear", 1)]
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "started" and kinds.count("saved") == 2 and "epoch" in kinds
    editors = remedi.load_editors(model, tmp_path / "run")
    assert sorted(editors) == [0, 1]
    with open(tmp_path / "run" / "linear" / "1" / "editor.json") as f:
        assert json.load(f)["training"]["args"]["max_epochs"] == 2


def test_train_option_errors(tiny_models, tmp_path):
    model = remedi.load_model(tiny_models("gpt2"))
    with pytest.raises(TypeError, match="unexpected keyword argument 'epochs'"):
        remedi.train(model, epochs=3)
    with pytest.raises(TypeError, match="lr: expected"):
        remedi.train(model, lr="fast")
    with pytest.raises(remedi.Error, match="rows|split"):
        remedi.train(model, rows="train[::0]", results_dir=str(tmp_path), quiet=True)

    def stop(_event):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # a callback's exception ends the run and reaches the caller
        remedi.train(
            model, name="stop", rows="train[:8]", layers=[1], max_epochs=1, results_dir=str(tmp_path), progress=stop
        )


def test_fact_gen_returns_the_metrics_file(tiny_models, tmp_path):
    model = remedi.load_model(tiny_models("gpt2"))
    train_tiny_editor(model, tmp_path)
    summary = remedi.evaluate.fact_gen(
        model,
        name="eval",
        editors=str(tmp_path / "tiny"),
        rows="train[100:110]",
        benchmarks=["efficacy"],
        results_dir=str(tmp_path),
        quiet=True,
    )
    efficacy = summary["layers"]["1"]["efficacy"]
    with open(tmp_path / "eval" / "linear" / "1" / "efficacy_metrics.json") as f:
        assert json.load(f) == efficacy
    assert efficacy["samples"] == 10
    with pytest.raises(remedi.Error, match="--benchmarks"):
        remedi.evaluate.fact_gen(model, editors=str(tmp_path / "tiny"), benchmarks=["speed"], results_dir=str(tmp_path))


def test_python_m_remedi_runs_the_cli(tiny_models):
    out = subprocess.run(
        [sys.executable, "-m", "remedi", "tokenize", "--model", str(tiny_models("gpt2")), "Zebras", "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert json.loads(out.stdout)["ids"]
    bad = subprocess.run(
        [sys.executable, "-m", "remedi", "edit", "--top", "x"], check=False, capture_output=True, text=True
    )
    assert bad.returncode == 2 and bad.stderr.strip()


@pytest.mark.parametrize("order", ["import torch, remedi", "import remedi, torch"])
def test_imports_with_torch_in_either_order(order):
    code = f"{order}; import transformers; x = torch.ones(3); print(remedi.__version__, float(x.sum()))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.split()[1] == "3.0"


def test_quickstart_example_runs():
    out = subprocess.run(
        [sys.executable, str(REPO / "examples" / "quickstart.py")], check=True, capture_output=True, text=True
    )
    assert "before" in out.stdout and "after" in out.stdout and "Russian" in out.stdout
