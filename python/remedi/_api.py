"""Models, editors and edits: the Pythonic side of remedi._core (lm/, remedi/edit.h)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from . import _core

__all__ = [
    "Edit",
    "ForwardOutput",
    "Model",
    "PreparedEdits",
    "TokenProbability",
    "load_editor",
    "load_editors",
    "load_model",
    "prepare_edits",
    "train",
]

PreparedEdits = _core.PreparedEdits
EditorChoice = _core.Editor | Mapping[int, _core.Editor] | None


@dataclass
class Edit:
    """One edit: make the model behave as if ``context`` (a sentence about ``entity``) held.

    ``attribute`` is the part of ``context`` the editor reads (default: what follows the entity's
    last mention, METHOD §3.2); given alone, it is its own context. ``editor`` is an
    :class:`remedi.Editor` or the dict :func:`load_editors` returns, from which ``layer`` picks one
    (needed when it holds several). The direction is added to the entity's hidden state as
    ``h <- beta * h + alpha * d``. ``editor=None`` leaves the row unedited.
    """

    entity: str
    context: str = ""
    attribute: str = ""
    editor: EditorChoice = None
    layer: int | None = None
    alpha: float = 1.0
    beta: float = 1.0
    entity_occurrence: int = 0

    def resolve_editor(self) -> _core.Editor | None:
        """The editor this edit uses: ``editor`` itself, or its entry at ``layer``."""
        editor = self.editor
        if editor is None or isinstance(editor, _core.Editor):
            if editor is not None and self.layer is not None and editor.layer != self.layer:
                raise _core.Error(
                    f"<argument>: Edit.layer: {self.layer} differs from the editor's layer {editor.layer}"
                )
            return editor
        if self.layer is None:
            if len(editor) != 1:
                raise _core.Error(f"<argument>: Edit.layer: the editors hold layers {sorted(editor)}: choose one")
            return next(iter(editor.values()))
        if self.layer not in editor:
            raise _core.Error(f"<argument>: Edit.layer: no editor at layer {self.layer} (saved: {sorted(editor)})")
        return editor[self.layer]

    def request(self, prompt: str) -> _core.EditRequest:
        """The C++ request for running this edit on ``prompt``."""
        return _core.EditRequest(
            prompt=prompt,
            entity=self.entity,
            context=self.context or self.attribute,
            attribute=self.attribute,
            editor=self.resolve_editor(),
            alpha=float(self.alpha),
            beta=float(self.beta),
            entity_occurrence=self.entity_occurrence,
        )


@dataclass
class TokenProbability:
    """A next token and its probability."""

    token: str
    id: int
    probability: float


@dataclass
class ForwardOutput:
    """What :meth:`Model.forward` returns.

    ``logits``: float32, (B, T, V) (``logits="all"``), (B, V) at each row's last real token
    (``"last"``) or None; ``hidden``: block outputs by layer, (B, T, H) (block l's output is the
    residual stream after block l, HF ``hidden_states[l + 1]``); ``input_ids`` and
    ``attention_mask``: the (B, T) batch that ran (left-padded when built from texts).
    """

    logits: torch.Tensor | None
    hidden: dict[int, torch.Tensor]
    input_ids: torch.Tensor
    attention_mask: torch.Tensor | None
    edits: PreparedEdits | None = field(default=None, repr=False)


Prompts = str | Sequence[str]
Edits = Edit | Sequence[Edit | None] | None


def _as_list(prompts: Prompts) -> list[str]:
    if isinstance(prompts, str):
        return [prompts]
    return list(prompts)


class Model:
    """A causal LM and its tokenizer, loaded by :func:`load_model` (lm::LoadedModel)."""

    def __init__(self, core: _core.Model):
        self._core = core

    # --- what it is ---
    @property
    def path(self) -> str:
        return self._core.path

    @property
    def family(self) -> str:
        return self._core.family

    @property
    def n_layer(self) -> int:
        return self._core.n_layer

    @property
    def hidden_size(self) -> int:
        return self._core.hidden_size

    @property
    def vocab_size(self) -> int:
        return self._core.vocab_size

    @property
    def context_length(self) -> int:
        return self._core.context_length

    @property
    def device(self) -> str:
        return self._core.device

    @property
    def dtype(self) -> str:
        return self._core.dtype

    @property
    def eos_id(self) -> int:
        return self._core.eos_id

    def __repr__(self) -> str:
        return (
            f"Model(path={self.path!r}, family={self.family!r}, n_layer={self.n_layer}, "
            f"hidden_size={self.hidden_size}, device={self.device!r}, dtype={self.dtype!r})"
        )

    # --- tokens ---
    def tokenize(self, text: str, add_special_tokens: bool = False) -> _core.Encoding:
        """Token ids and code-point offsets of ``text``. With ``add_special_tokens``, the BOS/EOS the
        tokenizer adds around a model's input (offsets (0, 0)), as in :meth:`encode_batch`, ``forward``
        and ``generate``; without, the text's own tokens only."""
        return self._core.tokenize(text, add_special_tokens)

    def decode(self, ids: Sequence[int] | torch.Tensor, skip_special_tokens: bool = False) -> str:
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        return self._core.decode(list(ids), skip_special_tokens)

    def encode_batch(self, texts: Prompts, padding_side: str = "left") -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T) int64 ids and attention mask of ``texts``, padded on ``padding_side``."""
        return self._core.encode_batch(_as_list(texts), padding_side)

    # --- running it ---
    def prepare(self, prompts: Prompts, edits: Edits = None) -> PreparedEdits:
        """The prompts, left-padded, with each row's edit direction and where it is added."""
        return prepare_edits(self, prompts, edits)

    def forward(
        self,
        inputs: Prompts | torch.Tensor | PreparedEdits,
        attention_mask: torch.Tensor | None = None,
        *,
        edits: Edits = None,
        capture: Sequence[int] = (),
        interventions: Sequence[_core.Intervention] = (),
        logits: str = "all",
    ) -> ForwardOutput:
        """One forward pass, without gradients.

        ``inputs``: texts (left-padded into one batch), a (B, T) id tensor (with ``attention_mask``,
        1 = real token), or :class:`PreparedEdits`. ``edits``: one per text (None for an unedited
        row), applied where each row's entity occurs. ``capture``: block outputs to return.
        ``interventions``: raw ones, added to the edits'. ``logits``: "all", "last" or "none".
        """
        prepared = None
        if isinstance(inputs, _core.PreparedEdits):
            prepared = inputs
        elif isinstance(inputs, torch.Tensor):
            if edits is not None:
                raise _core.Error("<argument>: edits: need texts (to find each entity), not token ids")
            ids, mask = inputs, attention_mask
        elif edits is not None:
            prepared = prepare_edits(self, inputs, edits)
        else:
            ids, mask = self.encode_batch(inputs)
        extra = list(interventions)
        if prepared is not None:
            ids, mask = prepared.input_ids, prepared.attention_mask
            extra = list(prepared.interventions) + extra
        out_logits, hidden = self._core.forward(ids, mask, list(capture), extra, logits)
        return ForwardOutput(
            logits=out_logits if logits != "none" else None,
            hidden=dict(hidden),
            input_ids=ids,
            attention_mask=mask,
            edits=prepared,
        )

    def top_next_tokens(self, prompts: Prompts, edits: Edits = None, k: int = 10) -> list[list[TokenProbability]]:
        """Per prompt, the ``k`` most likely next tokens (after the edits, when given)."""
        prepared = prepare_edits(self, prompts, edits)
        rows = _core.top_next_tokens(self._core, prepared, k, edits is not None)
        return [[TokenProbability(self._core.decode([i]), i, p) for i, p in row] for row in rows]

    def generate(
        self,
        prompts: Prompts,
        edits: Edits = None,
        *,
        max_new_tokens: int = 20,
        top_k: int = 0,
        temperature: float = 1.0,
        seed: int = 123456,
        skip_special_tokens: bool = True,
    ) -> list[str]:
        """Continues each prompt (KV-cached, batched): greedy with ``top_k=0``, else seeded top-k
        sampling. With ``edits`` (one per prompt, None for an unedited row) each row's edit is applied
        to its prompt pass (METHOD §6.3). Returns the new text of each row, up to its EOS."""
        prepared = prepare_edits(self, prompts, edits)
        interventions = list(prepared.interventions) if edits is not None else []
        result = self._core.generate(
            prepared.input_ids, prepared.attention_mask, interventions, max_new_tokens, top_k, temperature, seed, 0
        )
        texts = []
        for row, finished in zip(result["tokens"].tolist(), result["finished"].tolist()):
            if finished and self.eos_id in row:
                row = row[: row.index(self.eos_id) + 1]
            texts.append(self._core.decode(row, skip_special_tokens))
        return texts


def load_model(name_or_path: str = "smollm2", device: str = "cpu", dtype: str = "fp32") -> Model:
    """Loads a model: a short name (smollm2, gpt2, gpt2-xl, gptj, neox; $REMEDI_HOME) or a path
    (an HF folder or a .gguf file); ``device`` "cpu", "cuda", "cuda:N"; ``dtype`` fp32, bf16, fp16, or
    weight-only quantized q8_0, q4_0, q4_1 (inference only)."""
    return Model(_core.load_model(str(name_or_path), device, dtype))


def load_editor(model: Model, path: str, type: str = "linear", layer: int | None = None) -> _core.Editor:
    """The editor in ``path``: an editor folder (holding editor.json), or an editors folder with
    ``type``/``layer`` below it (``layer`` None: the only one saved), or the name of one shipped in
    data/editors (e.g. "smollm2-counterfact")."""
    from pathlib import Path

    path = _core.editors_dir(str(path))
    if (Path(path) / "editor.json").is_file():
        return _core.load_editor(model._core, str(path), "", -1)
    return _core.load_editor(model._core, str(path), type, -1 if layer is None else layer)


def load_editors(model: Model, path: str, type: str = "linear") -> dict[int, _core.Editor]:
    """Every editor of ``type`` saved under ``path`` (``<path>/<type>/<layer>``), by layer; ``path``
    may name an editor shipped in data/editors (e.g. "smollm2-counterfact")."""
    path = _core.editors_dir(str(path))
    layers = _core.saved_layers(str(path), type)
    if not layers:
        raise _core.Error(f"{path}: {type}: no saved editor (expected {path}/{type}/<layer>/editor.json)")
    return {layer: _core.load_editor(model._core, str(path), type, layer) for layer in layers}


def prepare_edits(model: Model, prompts: Prompts, edits: Edits = None) -> PreparedEdits:
    """Computes every row's direction (rows that share an editor share its forward pass) and where it
    is added. ``edits``: one per prompt (None: the row runs unedited), or one Edit for one prompt."""
    prompts = _as_list(prompts)
    if edits is None:
        rows: list[Edit | None] = [None] * len(prompts)
    elif isinstance(edits, Edit):
        rows = [edits]
    else:
        rows = list(edits)
    if len(rows) != len(prompts):
        raise _core.Error(f"<argument>: edits: {len(rows)} edits for {len(prompts)} prompts (give one per prompt)")
    requests = [
        _core.EditRequest(prompt) if edit is None else edit.request(prompt) for prompt, edit in zip(prompts, rows)
    ]
    return _core.prepare_edits(model._core, requests)


def train(model: Model, *, progress: Callable[[dict[str, Any]], None] | None = None, **options: Any) -> dict:
    """Trains editors as ``remedi train`` does and saves them under ``results_dir``/``name``.

    Options are the command's flags with ``_`` for ``-``: name, dataset, file, rows, train_size,
    layers, editor_types, lr, batch_size, max_epochs, patience, hold_out, lam_m, lam_u, lam_kl,
    lam_norm, lam_ess, use_entity, rank, seed, results_dir, cache_dir, resume, quiet, ...
    ``progress`` is called with each event ({"kind": started|skipped|epoch|saved, "type", "layer",
    "epoch", "folder"}); without it, and unless ``quiet``, a tqdm bar per editor shows its epochs
    (the library's own progress lines on stderr when tqdm is not installed). Returns what
    the command prints: {"experiment", "editors": [{type, layer, best_epoch, ...}]}.
    """
    if progress is None:
        progress = _tqdm_progress(options)
        if progress is not None:
            options["quiet"] = True  # the bars replace the library's own lines on stderr
    return _core.train(model._core, progress=progress, **options)


def _tqdm_progress(options: dict[str, Any]) -> Callable[[dict[str, Any]], None] | None:
    """An epoch bar per editor when tqdm is installed and the run is not quiet; None otherwise."""
    if options.get("quiet"):
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    bars: dict[tuple[str, int], Any] = {}
    total = options.get("max_epochs", 20)

    def on_event(event: dict[str, Any]) -> None:
        key = (event["type"], event["layer"])
        if event["kind"] == "epoch":
            bar = bars.get(key)
            if bar is None:
                bar = bars[key] = tqdm(total=total, desc=f"{key[0]} layer {key[1]}", unit="epoch")
            if event["epoch"] > 0:
                bar.update(1)
        elif event["kind"] == "saved" and key in bars:
            bars.pop(key).close()

    return on_event
