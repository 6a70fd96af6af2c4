"""Shared fixtures of the Python package's tests (run by CTest: python/CMakeLists.txt registers
each file with PYTHONPATH=<build>/python and REMEDI_CLI=<build>/remedi)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import remedi

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "lm"


def tiny_model_dir(root: Path, family: str) -> Path:
    """An HF folder of the tiny random fixture model `family` with the fixture tokenizer beside it."""
    folder = root / family
    if not folder.exists():
        folder.mkdir(parents=True)
        for name in ("config.json", "model.safetensors"):
            shutil.copy(FIXTURES / family / name, folder / name)
        shutil.copy(FIXTURES / "tokenizer.json", folder / "tokenizer.json")
    return folder


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return lambda family="gpt2": tiny_model_dir(root, family)


@pytest.fixture(scope="session")
def smollm2():
    return remedi.load_model("smollm2")


@pytest.fixture(scope="session")
def shipped_editors(smollm2):
    return remedi.load_editors(smollm2, REPO / "data" / "editors" / "smollm2-counterfact")


@pytest.fixture(scope="session")
def cli() -> str:
    return os.environ.get("REMEDI_CLI", str(REPO / "build" / "remedi"))


def train_tiny_editor(model: remedi.Model, results: Path, layer: int = 1) -> remedi.Editor:
    """A linear editor trained for one epoch on 8 CounterFact rows (seconds on a tiny model)."""
    remedi.train(
        model,
        name="tiny",
        rows="train[:8]",
        layers=[layer],
        max_epochs=1,
        batch_size=4,
        results_dir=str(results),
        quiet=True,
    )
    return remedi.load_editor(model, results / "tiny", "linear", layer)
