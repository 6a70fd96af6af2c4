"""remedi.hf: editors applied to a live transformers model through hooks equal the C++ runtime."""

from __future__ import annotations

import pytest
import remedi.hf
import torch
from conftest import train_tiny_editor
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast

import remedi

PROMPTS = ["Ferrari was founded in the city of", "The mother tongue of Danielle Darrieux is", "Zebras"]


@pytest.mark.parametrize("family", ["gpt2", "gptj", "neox_parallel", "llama_gqa"])
def test_hook_edits_equal_cpp_runtime(tiny_models, tmp_path, family):
    folder = tiny_models(family)
    model = remedi.load_model(folder)
    editor = train_tiny_editor(model, tmp_path)
    edits = [
        remedi.Edit(entity="Ferrari", context="Ferrari was founded in Rome", editor=editor),
        remedi.Edit(entity="Danielle Darrieux", context="Danielle Darrieux speaks English", editor=editor, alpha=3.0),
        None,
    ]
    ours = model.forward(PROMPTS, edits=edits)

    hf = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager").eval()
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(folder / "tokenizer.json"))
    tokenizer.padding_side = "right"
    tokenizer.pad_token = "<|endoftext|>"
    hf_editor = remedi.hf.load_editor(hf, tmp_path / "tiny", layer=1)
    hf_edits = [remedi.Edit(**{**e.__dict__, "editor": hf_editor}) if e else None for e in edits]

    # Directions: the editor read the attribute from the HF model's own hidden states.
    d = remedi.hf.directions(hf, tokenizer, [e for e in hf_edits if e])
    assert (d - ours.edits.directions[:2]).abs().max().item() < 1e-5

    with remedi.hf.edit(hf, tokenizer, PROMPTS, hf_edits) as batch, torch.no_grad():
        theirs = hf(**batch).logits
    with torch.no_grad():
        unedited = hf(**batch).logits  # the hooks are gone after the block
    lengths = batch["attention_mask"].sum(1).tolist()
    width = ours.logits.shape[1]
    for row, n in enumerate(lengths):
        # remedi left-pads, the HF batch is right-padded: compare the real tokens.
        ours_row, theirs_row = ours.logits[row, width - n :], theirs[row, :n]
        assert (ours_row - theirs_row).abs().max().item() < 1e-4
    assert (theirs[0] - unedited[0]).abs().max().item() > 1e-3  # the edit did something
    assert (theirs[2] - unedited[2]).abs().max().item() == 0  # the unedited row


def test_fingerprint_refuses_another_model(tiny_models, tmp_path):
    model = remedi.load_model(tiny_models("gpt2"))
    train_tiny_editor(model, tmp_path)
    other = AutoModelForCausalLM.from_pretrained(tiny_models("llama_gqa"), dtype=torch.float32)
    with pytest.raises(remedi.Error, match="model.fingerprint"):
        remedi.hf.load_editor(other, tmp_path / "tiny", layer=1)
    assert remedi.hf.remedi_family(other) == "llama"
    assert len(remedi.hf.blocks(other)) == 3
