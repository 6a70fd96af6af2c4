"""remedi editors on a live ``transformers`` model, through forward hooks.

For a model you already hold in Python (any causal LM whose blocks sit where GPT-2, GPT-J, GPT-NeoX or
the Llama family keep them: ``transformer.h``, ``gpt_neox.layers``, ``model.layers``), including
families remedi's C++ runtime does not load::

    from transformers import AutoModelForCausalLM, AutoTokenizer
    import remedi.hf
    lm = AutoModelForCausalLM.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    editor = remedi.hf.load_editor(lm, "results/demo/linear/6")
    edits = [remedi.Edit(entity="Dolomiten", context="Dolomiten is written in Russian", editor=editor)]
    with remedi.hf.edit(lm, tokenizer, ["Dolomiten is written in"], edits) as batch:
        logits = lm(**batch).logits

What the C++ library computes, computed here with the HF model (docs/PYTHON.md): the editor reads the
mean of the attribute's tokens in the context (block ``layer``'s output, HF ``hidden_states[layer +
1]``; the entity alone for editors that use it), and the direction is added to block ``layer``'s
output at the entity's last token of the prompt (or all its tokens, as the editor's config says):
``h <- beta * h + alpha * d``. Token spans use the same rule as the C++ library
(remedi._core.token_range on the tokenizer's offsets), so a tokenizer with offsets (a "fast" one)
is needed. The tokenizer adds its special tokens (a BOS for Gemma or Llama-3, nothing for GPT-2), as
remedi does; spans never start at them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from . import _core
from ._api import Edit

__all__ = ["blocks", "directions", "edit", "fingerprint", "load_editor", "remedi_family"]

# transformers' model_type -> remedi's family name (what editor fingerprints record).
_FAMILIES = {"gpt2": "gpt2", "gptj": "gptj", "gpt_neox": "gpt_neox", "llama": "llama", "mistral": "llama"}


def blocks(model: torch.nn.Module) -> Sequence[torch.nn.Module]:
    """The transformer blocks of an HF causal LM, in order (block l's output is hidden_states[l + 1])."""
    for path in ("transformer.h", "gpt_neox.layers", "model.layers", "model.decoder.layers"):
        module: Any = model
        try:
            for name in path.split("."):
                module = getattr(module, name)
        except AttributeError:
            continue
        if isinstance(module, torch.nn.ModuleList):
            return module
    raise _core.Error(
        f"<model>: {type(model).__name__}: no transformer blocks found "
        "(looked for transformer.h, gpt_neox.layers, model.layers, model.decoder.layers)"
    )


def remedi_family(model: torch.nn.Module) -> str | None:
    """remedi's name for the model's family, or None for one the C++ runtime does not load."""
    return _FAMILIES.get(getattr(model.config, "model_type", ""))


def fingerprint(model: torch.nn.Module) -> str | None:
    """The fingerprint remedi records for this model's weights (remedi/editor_file.h), or None for a
    family remedi does not load (whose editors cannot have been trained by remedi on it)."""
    family = remedi_family(model)
    if family is None:
        return None
    embedding = model.get_input_embeddings().weight
    config = model.config
    head = model.get_output_embeddings()
    vocab = (head.weight if head is not None else embedding).shape[0]
    return _core.model_fingerprint(family, len(blocks(model)), config.hidden_size, vocab, embedding.detach())


def load_editor(
    model: torch.nn.Module, path: str, type: str = "linear", layer: int | None = None, check_model: bool = True
) -> _core.Editor:
    """A remedi editor folder (``<dir>/<type>/<layer>`` or the folder holding editor.json) for ``model``.

    Its hidden size and layer must fit the model; with ``check_model`` the weights it was trained on
    must be this model's (by fingerprint) when the model is of a family remedi loads."""
    from pathlib import Path

    folder = Path(path)
    if not (folder / "editor.json").is_file():
        layers = _core.saved_layers(str(folder), type)
        if layer is None:
            if len(layers) != 1:
                raise _core.Error(
                    f"{folder}: layer: {'no saved ' + type + ' editor here' if not layers else 'several layers saved here; choose one'}"
                )
            layer = layers[0]
        folder = folder / type / str(layer)
    device = str(next(model.parameters()).device)
    expected = fingerprint(model) if check_model else None
    name = getattr(model.config, "_name_or_path", "") or type(model).__name__
    return _core.load_editor_for(
        str(folder), len(blocks(model)), model.config.hidden_size, expected or "", name, device
    )


def _encode(tokenizer: Any, texts: Sequence[str], device: torch.device) -> tuple[dict[str, torch.Tensor], list]:
    """Right-padded ids and mask (with the tokenizer's BOS/EOS), and each row's (start, end) offsets."""
    if tokenizer.pad_token_id is None:
        if tokenizer.eos_token is None:
            raise _core.Error("<tokenizer>: pad_token: the tokenizer has neither a pad nor an eos token to pad with")
        tokenizer.pad_token = tokenizer.eos_token  # the usual choice for causal LMs; pads are masked out
    encoded = tokenizer(
        list(texts), add_special_tokens=True, padding=True, return_offsets_mapping=True, return_tensors="pt"
    )
    offsets = encoded.pop("offset_mapping")
    if tokenizer.padding_side != "right":
        raise _core.Error(
            "<tokenizer>: padding_side: remedi.hf needs right padding (set tokenizer.padding_side = 'right')"
        )
    rows = []
    for b in range(len(texts)):
        n = int(encoded["attention_mask"][b].sum())
        rows.append([(int(s), int(e)) for s, e in offsets[b, :n].tolist()])
    return {k: v.to(device) for k, v in encoded.items()}, rows


@torch.no_grad()
def _block_output(model: torch.nn.Module, batch: dict[str, torch.Tensor], layer: int) -> torch.Tensor:
    return model(**batch, output_hidden_states=True).hidden_states[layer + 1].float()


@torch.no_grad()
def directions(model: torch.nn.Module, tokenizer: Any, edits: Sequence[Edit]) -> torch.Tensor:
    """(B, H) float32 directions of ``edits`` (each with an editor) computed on the HF model."""
    out = []
    device = next(model.parameters()).device
    for edit in edits:
        editor = edit.resolve_editor()
        if editor is None:
            out.append(torch.zeros(model.config.hidden_size, device=device))
            continue
        config = editor.config
        layer = config["layer"]
        context = edit.context or edit.attribute
        attribute = edit.attribute or _core.default_attribute(edit.entity, context)
        batch, offsets = _encode(tokenizer, [context], device)
        hidden = _block_output(model, batch, layer)[0]
        begin, end = _core.token_range(offsets[0], context, attribute, 0)
        attribute_input = hidden[begin:end].mean(0, keepdim=True)
        entity_input = None
        if config["use_entity"]:
            batch, offsets = _encode(tokenizer, [edit.entity], device)
            hidden = _block_output(model, batch, layer)[0]
            begin, end = _core.token_range(offsets[0], edit.entity, edit.entity, 0)
            entity_input = (
                hidden[end - 1 : end] if config["input_last_entity_token"] else hidden[begin:end].mean(0, keepdim=True)
            )
        out.append(editor.forward(entity_input, attribute_input)[0])
    return torch.stack(out)


@contextlib.contextmanager
def edit(
    model: torch.nn.Module, tokenizer: Any, prompts: Sequence[str], edits: Sequence[Edit | None]
) -> Iterator[dict[str, torch.Tensor]]:
    """Within the block, the model's forward passes over the yielded batch (``model(**batch)``) carry
    the edits: one per prompt (None: unedited), each added at its entity's tokens in its prompt.
    Passes of another length (e.g. generation's later steps) run unedited, as remedi's generation
    edits only the prompt pass (METHOD §6.3)."""
    if len(edits) != len(prompts):
        raise _core.Error(f"<argument>: edits: {len(edits)} edits for {len(prompts)} prompts")
    device = next(model.parameters()).device
    batch, offsets = _encode(tokenizer, prompts, device)
    d = directions(model, tokenizer, [e if e is not None else Edit(entity="") for e in edits])
    by_layer: dict[int, list[tuple[int, int, int, float, float]]] = {}
    for row, e in enumerate(edits):
        editor = None if e is None else e.resolve_editor()
        if editor is None:
            continue
        if e.entity not in prompts[row]:
            raise _core.Error(f"<argument>: edits[{row}].entity: '{e.entity}' is not in prompt {row}")
        begin, end = _core.token_range(offsets[row], prompts[row], e.entity, e.entity_occurrence)
        if editor.config["edit_last_entity_token"]:
            begin = end - 1
        by_layer.setdefault(editor.layer, []).append((row, begin, end, float(e.alpha), float(e.beta)))
    width = batch["input_ids"].shape[1]

    def hook_for(rows: list[tuple[int, int, int, float, float]]):
        def hook(_module: torch.nn.Module, _inputs: Any, output: Any) -> Any:
            hidden = output[0] if isinstance(output, tuple) else output
            if hidden.shape[1] != width:
                return output
            hidden = hidden.clone()
            for row, begin, end, alpha, beta in rows:
                hidden[row, begin:end] = beta * hidden[row, begin:end] + alpha * d[row].to(hidden.dtype)
            return (hidden, *output[1:]) if isinstance(output, tuple) else hidden

        return hook

    layers = blocks(model)
    handles = [layers[layer].register_forward_hook(hook_for(rows)) for layer, rows in by_layer.items()]
    try:
        yield batch
    finally:
        for handle in handles:
            handle.remove()
