"""The paper's evaluations, as ``remedi eval <name>`` runs them (src/evaluate).

Each function takes the loaded model and the command's flags as keyword arguments (``_`` for ``-``:
name, editors, type, layers, dataset, file, rows, small, batch_size, results_dir, quiet, and the
evaluation's own), writes the same records and metrics files under ``results_dir``/``name`` (which
are also its cache: a benchmark whose metrics exist is read back, METHOD §8.14), and returns what
the command prints, as a dict. An unknown keyword or a value of the wrong type is a TypeError; bad
values, files or rows a :class:`remedi.Error`.
"""

from __future__ import annotations

from typing import Any

from . import _core
from ._api import Model

__all__ = ["bias_cls", "bias_gen", "entailment", "fact_cls", "fact_gen", "fact_mediation", "generate_directions"]


def fact_gen(model: Model, **options: Any) -> dict:
    """CounterFact editing (efficacy, paraphrase, neighborhood, generation, essence; METHOD §8.2-8.6)
    of trained editors or the prefix/replace baselines. Extra options: benchmarks, baseline, max_length."""
    return _core.fact_gen(model._core, **options)


def fact_cls(model: Model, **options: Any) -> dict:
    """Does the LM already believe a fact: classification by editor directions (METHOD §9.3).
    Extra options: entity_layers, control_task, control_model, no_normalize, similarity."""
    return _core.fact_cls(model._core, **options)


def fact_mediation(model: Model, **options: Any) -> dict:
    """How often the unedited LM knows the true object, and follows a context stating a new one."""
    return _core.fact_mediation(model._core, **options)


def bias_gen(model: Model, **options: Any) -> dict:
    """Bias in Bios generation (METHOD §8.9). Extra options: decontextualized, max_length,
    max_new_tokens, run_editors."""
    return _core.bias_gen(model._core, **options)


def bias_cls(model: Model, **options: Any) -> dict:
    """Bias in Bios occupation classification (METHOD §8.10). Extra options: those of fact_cls and
    symmetric."""
    return _core.bias_cls(model._core, **options)


def entailment(model: Model, **options: Any) -> dict:
    """McRae feature entailment (METHOD §8.11). Extra options: baseline ("prefix"),
    target_first_occurrence."""
    return _core.entailment(model._core, **options)


def generate_directions(model: Model, **options: Any) -> dict:
    """Dumps editor directions for ``size`` rows (``remedi generate-directions``). Extra option: size."""
    return _core.generate_directions(model._core, **options)
