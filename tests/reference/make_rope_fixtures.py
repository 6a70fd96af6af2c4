#!/usr/bin/env python3
"""Reference fixtures for rotary scaling (src/lm/rope_scaling.h), computed with HF transformers.

How to run (from the repository root; CPU only, a few seconds):
    python3 tests/reference/make_rope_fixtures.py          every case
    python3 tests/reference/make_rope_fixtures.py yarn     only the named cases
It needs torch, transformers (>= 5), gguf, safetensors and numpy (the versions of
make_lm_fixtures.py; every reference.safetensors records those that wrote it).

One tiny random checkpoint per rotary scaling type, each with an original context of 16 positions,
so that the prompts of the "long" batch (20 and 13 tokens) reach past it and those of the "short"
batch (12 and 7) stay within it while greedy decoding passes it:

  llama3   LlamaForCausalLM, rope_type llama3 (Llama 3.1 / 3.2), config.json in the 4.x spelling
  linear   LlamaForCausalLM, rope_scaling {"type": "linear"} (Llama 2 derivatives)
  dynamic  LlamaForCausalLM, rope_type dynamic (NTK): max_position_embeddings 16, no GGUF (llama.cpp
           has no such type)
  yarn     Qwen3ForCausalLM, rope_type yarn with beta_fast / beta_slow, 4.x spelling
  gemma3   Gemma3ForCausalLM, linear scaling of the global layer only (Gemma 3 4B and larger)
  longrope Phi3ForCausalLM, longrope short / long factors

Each case folder under tests/fixtures/lm/rope/ holds config.json + model.safetensors (save_pretrained,
fp32), model.gguf (the same weights and the scaling as llama.cpp's convert_hf_to_gguf.py writes them:
rope.scaling.* keys, and the rope_freqs (llama3) or rope_factors_long / _short (longrope) tensors)
and reference.safetensors:

  input_ids_<batch>, attention_mask_<batch>   I64 [2, T], left padded (pad id 0); batch long or short
  logits_<batch>                              F32 [2, T, 64] of a fresh model (positions from the mask)
  greedy_<batch>                              I64 [2, 8]: generate(do_sample=False) with its KV cache

Every reference comes from a freshly loaded model: transformers' dynamic scaling keeps the largest
length it has seen, so one forward would change the next.
"""

from __future__ import annotations

import json
import math
import os
import sys
from importlib.metadata import version
from pathlib import Path

import gguf
import numpy as np
import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM, GenerationConfig

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "lm" / "rope"

SEED = 20240723
VOCAB, ORIGINAL, NEW_TOKENS, PAD_ID = 64, 16, 8, 0
BATCHES = {"long": (20, 13), "short": (12, 7)}
MATRIX_STD, EMBEDDING_STD, NORM_SPREAD, BIAS_STD = 0.3, 0.5, 0.2, 0.1

LLAMA = {"hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
         "head_dim": 16, "intermediate_size": 32, "max_position_embeddings": 64, "rms_norm_eps": 1e-5,
         "tie_word_embeddings": True}
COMMON = {"vocab_size": VOCAB, "bos_token_id": VOCAB - 1, "eos_token_id": VOCAB - 1, "pad_token_id": PAD_ID,
          "attn_implementation": "eager"}


def make_config(case: str) -> transformers.PretrainedConfig:
    if case == "llama3":
        # theta 100 over 16 dims: wavelengths 6.3, 11, 20, 35, ... against the thresholds 16 / 2 = 8 and
        # 16 / 0.5 = 32: one frequency kept, two smoothed, five divided by the factor.
        return transformers.LlamaConfig(
            rope_parameters={"rope_type": "llama3", "rope_theta": 100.0, "factor": 4.0, "low_freq_factor": 0.5,
                             "high_freq_factor": 2.0, "original_max_position_embeddings": ORIGINAL},
            **LLAMA, **COMMON)
    if case == "linear":
        return transformers.LlamaConfig(rope_parameters={"rope_type": "linear", "rope_theta": 10000.0, "factor": 2.5},
                                        **LLAMA, **COMMON)
    if case == "dynamic":
        return transformers.LlamaConfig(rope_parameters={"rope_type": "dynamic", "rope_theta": 100.0, "factor": 3.0},
                                        **{**LLAMA, "max_position_embeddings": ORIGINAL}, **COMMON)
    if case == "yarn":
        # beta_fast 2 / beta_slow 0.25 put the ramp over dims 0..5 of 8 (the defaults 32 / 1 would give 0..2).
        return transformers.Qwen3Config(
            rope_parameters={"rope_type": "yarn", "rope_theta": 100.0, "factor": 4.0, "beta_fast": 2.0,
                             "beta_slow": 0.25, "original_max_position_embeddings": ORIGINAL},
            **LLAMA, **COMMON)
    if case == "gemma3":
        # query_pre_attn_scalar = head_dim, so that the GGUF file (which cannot record it) is the same model.
        return transformers.Gemma3TextConfig(
            **{**LLAMA, "num_hidden_layers": 3}, query_pre_attn_scalar=16, sliding_window=6,
            hidden_activation="gelu_pytorch_tanh",
            layer_types=["sliding_attention", "full_attention", "sliding_attention"],
            rope_parameters={"full_attention": {"rope_type": "linear", "rope_theta": 1000000.0, "factor": 8.0},
                             "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
            **COMMON)
    if case == "longrope":
        # factor = 64 / 16 = 4: cos and sin times sqrt(1 + ln 4 / ln 16).
        return transformers.Phi3Config(
            hidden_size=16, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, intermediate_size=32,
            max_position_embeddings=64, original_max_position_embeddings=ORIGINAL, rms_norm_eps=1e-5,
            tie_word_embeddings=False,
            rope_parameters={"rope_type": "longrope", "rope_theta": 10000.0, "original_max_position_embeddings": ORIGINAL,
                             "short_factor": [1.0, 1.2, 1.5, 2.0], "long_factor": [1.5, 3.0, 6.0, 12.0]},
            **COMMON)
    raise ValueError(case)


CASES = ("llama3", "linear", "dynamic", "yarn", "gemma3", "longrope")


def legacy_rope(config: dict) -> dict:
    """config.json in the 4.x spelling of most hub checkpoints: rope_theta at the top level and the
    scaling under rope_scaling (Gemma 3: rope_theta / rope_local_base_freq / rope_scaling of the global
    layers, as gemma-3-4b-it's text config has them)."""
    rope = config.pop("rope_parameters")
    if "full_attention" in rope:
        full, sliding = dict(rope["full_attention"]), rope["sliding_attention"]
        config["rope_theta"] = full.pop("rope_theta")
        config["rope_local_base_freq"] = sliding["rope_theta"]
        config["rope_scaling"] = full
        return config
    rope = dict(rope)
    config["rope_theta"] = rope.pop("rope_theta")
    rope.pop("partial_rotary_factor", None)
    if rope["rope_type"] == "linear":  # Llama 2 derivatives write the pre-4.45 key "type"
        rope["type"] = rope.pop("rope_type")
    config["rope_scaling"] = rope
    return config


# Folders whose config.json is rewritten in the 4.x spelling (the others keep transformers 5's).
LEGACY = ("llama3", "linear", "yarn", "gemma3")


def randomize_weights(model, generator: torch.Generator) -> None:
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("bias"):
                param.copy_(torch.randn(param.shape, generator=generator) * BIAS_STD)
            elif param.dim() == 1:
                param.copy_(1.0 + (torch.rand(param.shape, generator=generator) * 2 - 1) * NORM_SPREAD)
            elif "embed_tokens" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * EMBEDDING_STD)
            else:
                param.copy_(torch.randn(param.shape, generator=generator) * MATRIX_STD)


def left_padded(sequences: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), PAD_ID, dtype=torch.int64)
    mask = torch.zeros((len(sequences), width), dtype=torch.int64)
    for row, seq in enumerate(sequences):
        ids[row, width - len(seq):] = seq
        mask[row, width - len(seq):] = 1
    return ids, mask


def load(folder: Path):
    return AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32, attn_implementation="eager").eval()


@torch.no_grad()
def logits_of(folder: Path, ids, mask) -> torch.Tensor:
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    return load(folder)(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=False).logits


@torch.no_grad()
def greedy_of(folder: Path, ids, mask) -> torch.Tensor:
    model = load(folder)
    model.generation_config.eos_token_id = None
    config = GenerationConfig(do_sample=False, max_new_tokens=NEW_TOKENS, eos_token_id=None, pad_token_id=PAD_ID,
                              bos_token_id=None)
    out = model.generate(input_ids=ids, attention_mask=mask, generation_config=config)
    return out[:, ids.shape[1]:]


# ---------------------------------------------------------------------------------------------
# GGUF, as llama.cpp's convert_hf_to_gguf.py writes these models.

ARCHITECTURES = {"llama": gguf.MODEL_ARCH.LLAMA, "qwen3": gguf.MODEL_ARCH.QWEN3, "gemma3_text": gguf.MODEL_ARCH.GEMMA3,
                 "phi3": gguf.MODEL_ARCH.PHI3}


def llama_cpp_rope_permute(weight: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's Llama Q/K row order: per head, HF's halves become interleaved pairs."""
    half = weight.shape[0] // n_head // 2
    return weight.reshape(n_head, 2, half, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def gguf_layout(array: np.ndarray, hf_name: str, config) -> np.ndarray:
    if config.model_type == "gemma3_text" and hf_name.endswith("norm.weight"):
        return array + np.float32(1)
    if config.model_type == "llama" and hf_name.endswith("q_proj.weight"):
        return llama_cpp_rope_permute(array, config.num_attention_heads)
    if config.model_type == "llama" and hf_name.endswith("k_proj.weight"):
        return llama_cpp_rope_permute(array, config.num_key_value_heads)
    return array


def llama3_rope_freqs(rope: dict, dim: int) -> np.ndarray:
    """convert_hf_to_gguf.py's rope_freqs tensor: one divisor per frequency."""
    freqs = 1.0 / (rope["rope_theta"] ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    factor, low, high = rope["factor"], rope["low_freq_factor"], rope["high_freq_factor"]
    old_context = rope["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old_context / low, old_context / high
    divisors = []
    for freq in freqs.tolist():
        wavelen = 2 * math.pi / freq
        if wavelen < high_wavelen:
            divisors.append(1.0)
        elif wavelen > low_wavelen:
            divisors.append(factor)
        else:
            smooth = (old_context / wavelen - low) / (high - low)
            divisors.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(divisors, dtype=np.float32)


def llama_cpp_yarn(rope: dict, dim: int) -> tuple[np.ndarray, float]:
    """The inverse frequencies and cos / sin scale llama.cpp runs a YaRN GGUF with (ggml's
    rope_yarn_corr_dims and rope_yarn, llama_context's yarn_attn_factor), in float64."""
    base, factor, original = rope["rope_theta"], rope["factor"], rope["original_max_position_embeddings"]

    def corr_dim(rotations):
        return dim * math.log(original / (rotations * 2 * math.pi)) / (2 * math.log(base))

    low = max(0.0, math.floor(corr_dim(rope["beta_fast"])))
    high = min(dim - 1.0, math.ceil(corr_dim(rope["beta_slow"])))
    extrapolated = base ** (-np.arange(0, dim, 2) / dim)
    ramp = 1 - np.clip((np.arange(dim // 2) - low) / max(0.001, high - low), 0, 1)
    inv_freq = extrapolated / factor * (1 - ramp) + extrapolated * ramp
    # get_mscale(factor) / (1 + 0.1 ln factor) on the host, times 1 + 0.1 ln factor in the kernel
    return inv_freq, 0.1 * math.log(factor) + 1


def check_gguf_rope_matches_transformers(model, rope: dict, dim: int) -> float:
    """llama.cpp's scaled frequencies (from what the GGUF holds) against transformers'; the largest
    relative difference."""
    rotary = model.model.rotary_emb
    expected = rotary.inv_freq.double().numpy()
    if rope["rope_type"] == "llama3":
        inv_freq = rope["rope_theta"] ** (-np.arange(0, dim, 2) / dim) / llama3_rope_freqs(rope, dim)
        scale = 1.0
    else:
        inv_freq, scale = llama_cpp_yarn(rope, dim)
    assert abs(scale - rotary.attention_scaling) < 1e-12, (scale, rotary.attention_scaling)
    difference = float(np.max(np.abs(inv_freq - expected) / expected))
    assert difference < 1e-6, f"llama.cpp's {rope['rope_type']} differs from transformers' by {difference}"
    return difference


def write_gguf(folder: Path, config) -> None:
    arch = gguf.MODEL_ARCH_NAMES[ARCHITECTURES[config.model_type]]
    path = folder / "model.gguf"
    writer = gguf.GGUFWriter(str(path.with_suffix(".tmp")), arch)
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    rope = config.rope_parameters.get("full_attention", config.rope_parameters)
    writer.add_name(f"remedi-fixture-rope-{folder.name}")
    writer.add_block_count(config.num_hidden_layers)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_vocab_size(config.vocab_size)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(rope["rope_theta"])
    if head_dim * config.num_attention_heads != config.hidden_size:
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)
    extra = []
    # TextModel.set_gguf_parameters: linear and yarn as metadata; llama3 and longrope as tensors below.
    if rope["rope_type"] == "linear":
        writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(rope["factor"])
    elif rope["rope_type"] == "yarn":
        writer.add_rope_scaling_type(gguf.RopeScalingType.YARN)
        writer.add_rope_scaling_factor(rope["factor"])
        writer.add_rope_scaling_orig_ctx_len(rope["original_max_position_embeddings"])
        writer.add_rope_scaling_yarn_beta_fast(rope["beta_fast"])
        writer.add_rope_scaling_yarn_beta_slow(rope["beta_slow"])
    elif rope["rope_type"] == "llama3":  # LlamaModel.generate_extra_tensors
        extra.append(("rope_freqs.weight", llama3_rope_freqs(rope, head_dim)))
    elif rope["rope_type"] == "longrope":  # Phi3MiniModel: no scaling type, the factors as tensors
        scale = config.max_position_embeddings / rope["original_max_position_embeddings"]
        writer.add_rope_scaling_orig_ctx_len(rope["original_max_position_embeddings"])
        writer.add_rope_scaling_attn_factors(math.sqrt(1 + math.log(scale) / math.log(rope["original_max_position_embeddings"])))
        writer.add_sliding_window(0)  # the converter's "no window"
        extra.append(("rope_factors_long.weight", np.array(rope["long_factor"], dtype=np.float32)))
        extra.append(("rope_factors_short.weight", np.array(rope["short_factor"], dtype=np.float32)))
    if config.model_type == "gemma3_text":
        writer.add_sliding_window(config.sliding_window)
        writer.add_sliding_window_pattern(config.layer_types.index("full_attention") + 1)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    for name, array in extra:  # generate_extra_tensors come first
        writer.add_tensor(name, array)
    name_map = gguf.get_tensor_name_map(ARCHITECTURES[config.model_type], config.num_hidden_layers)
    for hf_name, tensor in sorted(load_file(str(folder / "model.safetensors")).items()):
        gguf_name = name_map.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        writer.add_tensor(gguf_name, np.ascontiguousarray(gguf_layout(tensor.numpy(), hf_name, config), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(path.with_suffix(".tmp"), path)


# ---------------------------------------------------------------------------------------------


def make_case(index: int, case: str) -> dict[str, float]:
    generator = torch.Generator().manual_seed(SEED + index)
    config = make_config(case)
    model = AutoModelForCausalLM.from_config(config).eval()
    randomize_weights(model, generator)
    folder = FIXTURES / case
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder), safe_serialization=True)
    (folder / "generation_config.json").unlink(missing_ok=True)
    if case in LEGACY:
        config_path = folder / "config.json"
        config_path.write_text(json.dumps(legacy_rope(json.loads(config_path.read_text())), indent=2, sort_keys=True)
                               + "\n")
    tensors, stats = {}, {}
    for batch, lengths in BATCHES.items():
        ids, mask = left_padded([torch.randint(1, VOCAB - 1, (n,), generator=generator) for n in lengths])
        with torch.no_grad():
            saved = model(input_ids=ids, attention_mask=mask, position_ids=(mask.cumsum(-1) - 1).clamp(min=0),
                          use_cache=False).logits
        logits = logits_of(folder, ids, mask)
        # The folder (4.x spelling included) is the model that was saved; dynamic scaling aside, whose
        # `model` has seen other lengths before.
        assert case == "dynamic" or torch.equal(logits, saved), f"{case}: the saved folder is a different model"
        tensors.update({f"input_ids_{batch}": ids, f"attention_mask_{batch}": mask, f"logits_{batch}": logits,
                        f"greedy_{batch}": greedy_of(folder, ids, mask)})
        stats[f"max_abs_logit_{batch}"] = logits[mask.bool()].abs().max().item()
    # The scaling matters: the same weights without it give other logits at the long prompts.
    unscaled = type(model.config).from_dict({**model.config.to_dict(), "rope_parameters": unscaled_rope(model.config)})
    reference = AutoModelForCausalLM.from_config(unscaled).eval()
    reference.load_state_dict(model.state_dict())
    ids, mask = tensors["input_ids_long"], tensors["attention_mask_long"]
    with torch.no_grad():
        without = reference(input_ids=ids, attention_mask=mask, position_ids=(mask.cumsum(-1) - 1).clamp(min=0),
                            use_cache=False).logits
    stats["scaling_moves_logits_by"] = (without - tensors["logits_long"])[mask.bool()].abs().max().item()
    assert stats["scaling_moves_logits_by"] > 0.1, f"{case}: the scaling changes nothing"
    if case in ("llama3", "yarn"):
        stats["gguf_vs_transformers_inv_freq"] = check_gguf_rope_matches_transformers(
            model, model.config.rope_parameters, model.config.head_dim)
    if case != "dynamic":
        write_gguf(folder, model.config)
    metadata = {"torch": torch.__version__, "transformers": transformers.__version__, "gguf": version("gguf"),
                "safetensors": version("safetensors"), "numpy": np.__version__, "case": case, "seed": str(SEED + index),
                "generator": "tests/reference/make_rope_fixtures.py"}
    temporary = folder / "reference.tmp"
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(temporary), metadata=metadata)
    os.replace(temporary, folder / "reference.safetensors")
    return stats


def unscaled_rope(config) -> dict:
    rope = config.rope_parameters
    if "full_attention" in rope:
        return {**rope, "full_attention": {"rope_type": "default", "rope_theta": rope["full_attention"]["rope_theta"]}}
    return {"rope_type": "default", "rope_theta": rope["rope_theta"]}


def main() -> None:
    torch.set_num_threads(1)
    chosen = sys.argv[1:] or list(CASES)
    for index, case in enumerate(CASES):
        if case in chosen:
            print(case, json.dumps({k: float(f"{v:.4g}") for k, v in make_case(index, case).items()}))
    total = sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file())
    print(f"tests/fixtures/lm/rope: {total / 1e3:.0f} KB")
    assert total < 600e3, "the rope fixtures grew past 600 KB"


if __name__ == "__main__":
    main()
