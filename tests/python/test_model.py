"""remedi.Model against transformers' reference outputs (tests/fixtures/lm) and the C++ CLI."""

from __future__ import annotations

import json
import resource
import subprocess

import pytest
import torch
from conftest import FIXTURES
from safetensors.torch import load_file

import remedi


@pytest.mark.parametrize("family", ["gpt2", "gptj", "neox_parallel", "llama_gqa"])
def test_forward_equals_transformers(tiny_models, family):
    model = remedi.load_model(tiny_models(family))
    ref = load_file(FIXTURES / family / "reference.safetensors")
    ids, mask = ref["input_ids_right"], ref["attention_mask_right"]
    out = model.forward(ids, mask, capture=[0, 1])
    real = mask.bool()
    assert out.logits.shape == ref["logits_right"].shape
    assert (out.logits[real] - ref["logits_right"][real]).abs().max().item() < 1e-4
    assert (out.hidden[1][real] - ref["block_output_right_1"][real]).abs().max().item() < 1e-4
    # The left-padded batch gives the same values at real tokens (positions follow the mask).
    left = model.forward(ref["input_ids_left"], ref["attention_mask_left"], logits="last")
    last = torch.stack([ref["logits_right"][b, int(n) - 1] for b, n in enumerate(mask.sum(1))])
    assert (left.logits - last).abs().max().item() < 1e-4


def test_describes_itself(tiny_models):
    model = remedi.load_model(tiny_models("llama_gqa"))
    assert (model.family, model.n_layer, model.hidden_size, model.vocab_size) == ("llama", 3, 64, 300)
    assert model.context_length == 128 and model.device == "cpu" and model.dtype == "fp32"
    assert "llama" in repr(model)


def test_tokenize_matches_cli(tiny_models, cli):
    folder = tiny_models("gpt2")
    model = remedi.load_model(folder)
    text = "Zebras are striped, naïvely 2023!"
    encoding = model.tokenize(text)
    shown = json.loads(
        subprocess.run(
            [cli, "tokenize", "--model", str(folder), text, "--json"], check=True, capture_output=True, text=True
        ).stdout
    )
    assert encoding.ids == shown["ids"]
    assert [list(o) for o in encoding.offsets] == [
        [o["start"], o["end"]] if isinstance(o, dict) else list(o) for o in shown["offsets"]
    ]
    assert model.decode(encoding.ids) == text


def test_texts_batch_equals_each_alone(tiny_models):
    model = remedi.load_model(tiny_models("gpt2"))
    texts = ["The capital of France is", "Zebras"]
    both = model.forward(texts, logits="last").logits
    for row, text in enumerate(texts):
        alone = model.forward([text], logits="last").logits[0]
        assert (both[row] - alone).abs().max().item() < 1e-4


def test_bad_input_is_one_line_error(tiny_models, tmp_path):
    with pytest.raises(remedi.Error, match="no-such-model.gguf"):
        remedi.load_model(str(tmp_path / "no-such-model.gguf"))
    model = remedi.load_model(tiny_models("gpt2"))
    with pytest.raises(remedi.Error, match="input_ids"):
        model.forward(torch.tensor([[1, 2, 300]]))
    with pytest.raises(remedi.Error, match="capture"):
        model.forward(torch.tensor([[1, 2]]), capture=[7])
    with pytest.raises(remedi.Error, match="top"):
        model.top_next_tokens("Zebras", k=10_000)
    with pytest.raises(remedi.Error, match="logits"):
        model.forward(torch.tensor([[1, 2]]), logits="some")
    with pytest.raises(TypeError):
        model.forward(torch.tensor([[1, 2]]), capture="one")


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def test_no_memory_growth_over_1000_forwards(tiny_models):
    model = remedi.load_model(tiny_models("gpt2"))
    ids = torch.randint(0, 299, (2, 16))
    for _ in range(100):  # warm-up: allocator pools, lazily built kernels
        model.forward(ids, capture=[1])
    before = rss_mib()
    for _ in range(1000):
        model.forward(ids, capture=[1])
    assert rss_mib() - before < 16, f"RSS grew from {before:.1f} MiB to {rss_mib():.1f} MiB"
