"""Edits through the Python API on SmolLM2 with the shipped editor, against the `remedi edit` CLI."""

from __future__ import annotations

import json
import subprocess

import pytest
import torch
from conftest import REPO

import remedi

PROMPT = "The language Dolomiten was written in is called"
EDIT = {"entity": "Dolomiten", "context": "Dolomiten is written in Russian"}


def test_top_tokens_equal_cli(smollm2, shipped_editors, cli):
    edit = remedi.Edit(**EDIT, editor=shipped_editors)
    before = smollm2.top_next_tokens(PROMPT, k=5)[0]
    after = smollm2.top_next_tokens(PROMPT, edits=[edit], k=5)[0]
    shown = json.loads(
        subprocess.run(
            [
                cli,
                "edit",
                "-m",
                "smollm2",
                "-e",
                str(REPO / "data/editors/smollm2-counterfact"),
                "--entity",
                EDIT["entity"],
                "--context",
                EDIT["context"],
                "--prompt",
                PROMPT,
                "--top",
                "5",
                "--max-new-tokens",
                "0",
                "--json",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    for ours, theirs in ((before, shown["before"]), (after, shown["after"])):
        assert [t.id for t in ours] == [t["id"] for t in theirs["top_tokens"]]
        assert max(abs(t.probability - u["prob"]) for t, u in zip(ours, theirs["top_tokens"])) < 1e-6
    assert before[0].token != after[0].token  # the edit changes the prediction
    assert "Russian" in [t.token.strip() for t in after]


def test_batch_of_different_edits_equals_each_alone(smollm2, shipped_editors):
    prompts = [PROMPT, "Danielle Darrieux's mother tongue is", "The Eiffel Tower is in the city of"]
    edits = [
        remedi.Edit(**EDIT, editor=shipped_editors),
        remedi.Edit(
            entity="Danielle Darrieux",
            context="Danielle Darrieux's mother tongue is English",
            editor=shipped_editors,
            alpha=2.0,
        ),
        None,
    ]
    together = smollm2.generate(prompts, edits, max_new_tokens=8)
    alone = [smollm2.generate([p], [e], max_new_tokens=8)[0] for p, e in zip(prompts, edits)]
    assert together == alone
    assert together[2] == smollm2.generate(prompts[2], max_new_tokens=8)[0]
    # The edited forward's last logits equal the ones top_next_tokens reads.
    out = smollm2.forward(prompts, edits=edits, logits="last")
    probs = torch.softmax(out.logits, -1)
    top = smollm2.top_next_tokens(prompts, edits, k=1)
    for row in range(3):
        assert abs(probs[row].max().item() - top[row][0].probability) < 1e-6


def test_prepared_edits_hold_directions(smollm2, shipped_editors):
    prepared = remedi.prepare_edits(smollm2, [PROMPT, PROMPT], [remedi.Edit(**EDIT, editor=shipped_editors), None])
    assert prepared.directions.shape == (2, smollm2.hidden_size)
    assert prepared.directions[1].abs().max().item() == 0  # the unedited row
    assert prepared.directions[0].norm().item() > 0
    assert prepared.attributes[0] == "is written in Russian"
    editor = shipped_editors[6]
    assert editor.layer == 6 and editor.type == "linear" and editor.config["hidden_size"] == smollm2.hidden_size
    assert set(editor.state_dict()) >= {"w.weight", "w.bias"}


def test_edit_errors_name_the_field(smollm2, shipped_editors):
    with pytest.raises(remedi.Error, match="prompt.*does not contain the entity 'Nobody'"):
        smollm2.top_next_tokens(
            PROMPT, [remedi.Edit(entity="Nobody", context="Nobody is here", editor=shipped_editors)]
        )
    with pytest.raises(remedi.Error, match="attribute.*not part of the context"):
        smollm2.top_next_tokens(PROMPT, [remedi.Edit(**EDIT, attribute="French", editor=shipped_editors)])
    with pytest.raises(remedi.Error, match="Edit.layer: no editor at layer 3"):
        smollm2.top_next_tokens(PROMPT, [remedi.Edit(**EDIT, editor=shipped_editors, layer=3)])
    with pytest.raises(remedi.Error, match="2 edits for 1 prompts"):
        smollm2.generate(PROMPT, [None, None])
    with pytest.raises(remedi.Error, match="no saved editor"):
        remedi.load_editors(smollm2, REPO / "data", "linear")
