"""Data sets as mediation samples (src/data): CounterFact, Bias in Bios, McRae, WinoVenti, ..."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import _core

__all__ = ["Sample", "load", "names"]


@dataclass
class Sample:
    """One mediation sample (data/sample.h): ``context`` states ``attribute`` of ``entity``;
    ``prompt`` mentions the entity and should continue with ``target_mediated`` after the edit
    (and ``target_unmediated`` without it, for CounterFact). ``source`` is the raw record."""

    id: str
    entity: str
    attribute: str
    context: str
    prompt: str
    target_mediated: str
    target_unmediated: str | None = None
    source: Any = field(default=None, repr=False)


def names() -> list[str]:
    """The data set names :func:`load` knows."""
    return list(_core.dataset_names())


def load(name: str, rows: str = "", *, file: str = "", cmudict: str = "", seed: int = 123456) -> list[Sample]:
    """The rows ``rows`` selects (Hugging Face split syntax, e.g. "train[:100]", "train[5000:5200]";
    empty: every row) of data set ``name``, read from ``file`` or from its default input in the data
    folder ($REMEDI_DATA, else the package's). ``cmudict`` and ``seed``: as ``remedi dataset``."""
    samples = _core.load_dataset(name, rows, file, cmudict, seed)
    return [
        Sample(
            id=s.get("id", ""),
            entity=s["entity"],
            attribute=s["attribute"],
            context=s["context"],
            prompt=s["prompt"],
            target_mediated=s["target_mediated"],
            target_unmediated=s.get("target_unmediated"),
            source=s.get("source"),
        )
        for s in samples
    ]
