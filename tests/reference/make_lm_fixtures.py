#!/usr/bin/env python3
"""Reference fixtures for the C++ LM runtime (src/lm), computed with HF transformers.

How to run (from the repository root; CPU only, about a minute):
    python3 tests/reference/make_lm_fixtures.py            every case and SmolLM2
    python3 tests/reference/make_lm_fixtures.py qwen2 phi3 only the named cases (seeds do not change)
It needs pip torch, transformers (>= 5, for the GGUF loader and `dtype=`), accelerate (transformers
refuses to load a GGUF file without it), gguf, safetensors and numpy, and the default model
~/.cache/remedi/SmolLM2-135M-Instruct.Q4_1.gguf (fetch it with scripts/fetch-model.sh; $REMEDI_HOME
overrides the folder). Everything is seeded, so a rerun with the same versions rewrites identical
tensors (safetensors orders its metadata keys arbitrarily, so the bytes of reference.safetensors may
differ). The fixtures were produced with torch 2.15.0, transformers 5.24.0, accelerate 1.15.0,
gguf 0.19.0, safetensors 0.8.0, numpy 2.4.6; every reference.safetensors records the versions that
wrote it in its metadata.

What it writes, under tests/fixtures/lm/ (tests/fixtures/lm/README.md is the contract and names
every tensor):
  <case>/config.json, <case>/model.safetensors   tiny random HF checkpoints (save_pretrained, fp32)
  <case>/reference.safetensors                   block outputs, logits, greedy ids, an edited forward
  <case>/model.gguf                              the same weights in llama.cpp's GGUF layout (F32) for
                                                 gpt2, llama_gqa, qwen2, qwen3, olmo2, gemma2, gemma3
  llama_gqa/model-q8_0.gguf                      2-D weights quantized to Q8_0
  smollm2/reference.safetensors                  SmolLM2-135M (dequantized Q4_1) on a few prompts
It prints, per case, the logit statistics and the greedy top-1/top-2 margins that C++ tolerances
should be chosen from.
"""

from __future__ import annotations

import json
import os
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

import gguf

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "lm"
REMEDI_HOME = Path(os.environ.get("REMEDI_HOME", Path.home() / ".cache" / "remedi"))
SMOLLM2 = REMEDI_HOME / "SmolLM2-135M-Instruct.Q4_1.gguf"

SEED = 20230601
VOCAB, HIDDEN, HEADS, INTERMEDIATE, MAX_POSITIONS = 300, 64, 4, 128, 128
# The families added later are narrower, so that each case (safetensors, GGUF, references) stays
# near 300 KB.
SMALL_HIDDEN, SMALL_INTERMEDIATE = 32, 64
SEQUENCE_LENGTHS = (10, 7, 4)  # the batch: three rows of different lengths, padded to 10
EDIT_RANGES = ((2, 6), (3, 4), (0, 4))  # [i, j) per row; row 2 edits its whole sequence
NEW_TOKENS = 8
PAD_ID = 0
EOS_ID = VOCAB - 1  # "<|endoftext|>" in the GGUF vocabulary, as in GPT-2

# Standard deviations of the random weights: larger than HF's 0.02 so that every block moves the
# residual stream and a wrong term cannot hide in near-zero activations.
MATRIX_STD, EMBEDDING_STD, BIAS_STD, NORM_SPREAD = 0.2, 0.5, 0.1, 0.2


def make_config(case: str) -> transformers.PretrainedConfig:
    common = dict(vocab_size=VOCAB, bos_token_id=EOS_ID, eos_token_id=EOS_ID, attn_implementation="eager")
    if case == "gpt2":
        # n_inner stays unset (4 * n_embd = 256): llama.cpp's converter writes 4 * n_embd as the
        # GGUF feed-forward length and transformers' GGUF loader cannot set n_inner.
        return transformers.GPT2Config(n_embd=HIDDEN, n_layer=3, n_head=HEADS, n_positions=MAX_POSITIONS,
                                       activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0,
                                       attn_pdrop=0.0, tie_word_embeddings=True, **common)
    if case == "gptj":
        return transformers.GPTJConfig(n_embd=HIDDEN, n_layer=3, n_head=HEADS, n_inner=INTERMEDIATE,
                                       rotary_dim=8, n_positions=MAX_POSITIONS,
                                       activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0,
                                       attn_pdrop=0.0,
                                       tie_word_embeddings=False, **common)
    if case in ("neox_parallel", "neox_sequential"):
        parallel = case == "neox_parallel"
        return transformers.GPTNeoXConfig(
            hidden_size=HIDDEN, num_hidden_layers=3 if parallel else 2, num_attention_heads=HEADS,
            intermediate_size=INTERMEDIATE, max_position_embeddings=MAX_POSITIONS, hidden_act="gelu",
            use_parallel_residual=parallel, tie_word_embeddings=False,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                             "partial_rotary_factor": 0.25 if parallel else 0.5}, **common)
    if case in ("llama_gqa", "llama_tied"):
        gqa = case == "llama_gqa"
        return transformers.LlamaConfig(
            hidden_size=HIDDEN, num_hidden_layers=3 if gqa else 2, num_attention_heads=HEADS,
            num_key_value_heads=2 if gqa else HEADS, intermediate_size=INTERMEDIATE,
            max_position_embeddings=MAX_POSITIONS, rms_norm_eps=1e-5, tie_word_embeddings=not gqa,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0 if gqa else 100000.0}, **common)
    if case == "qwen2":  # q/k/v biases, grouped-query attention, untied
        return transformers.Qwen2Config(
            hidden_size=SMALL_HIDDEN, num_hidden_layers=2, num_attention_heads=HEADS, num_key_value_heads=2,
            intermediate_size=SMALL_INTERMEDIATE, max_position_embeddings=MAX_POSITIONS, rms_norm_eps=1e-6,
            tie_word_embeddings=False, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
            **common)
    if case == "qwen3":  # per-head q/k norms, head_dim (16) unlike hidden / heads (8), tied
        return transformers.Qwen3Config(
            hidden_size=SMALL_HIDDEN, num_hidden_layers=2, num_attention_heads=HEADS, num_key_value_heads=2,
            head_dim=16, intermediate_size=SMALL_INTERMEDIATE, max_position_embeddings=MAX_POSITIONS,
            rms_norm_eps=1e-6, tie_word_embeddings=True,
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}, **common)
    if case == "olmo2":  # q/k norms over the whole projections, norms after attention and MLP
        return transformers.Olmo2Config(
            hidden_size=SMALL_HIDDEN, num_hidden_layers=2, num_attention_heads=HEADS, num_key_value_heads=HEADS,
            intermediate_size=SMALL_INTERMEDIATE, max_position_embeddings=MAX_POSITIONS, rms_norm_eps=1e-6,
            tie_word_embeddings=False, rope_parameters={"rope_type": "default", "rope_theta": 500000.0},
            pad_token_id=PAD_ID, **common)
    if case in ("gemma2", "gemma3"):
        # Three layers: sliding, global, sliding, with a window of 4 columns (shorter than the prompts,
        # so that it masks). query_pre_attn_scalar 24 is not head_dim (16). Gemma 2 soft-caps scores
        # and logits at values the random weights exceed; Gemma 3 has per-head q/k norms and a
        # different rotary base on its sliding layers.
        gemma = dict(hidden_size=SMALL_HIDDEN, num_hidden_layers=3, num_attention_heads=HEADS,
                     num_key_value_heads=2, head_dim=16, intermediate_size=SMALL_INTERMEDIATE,
                     max_position_embeddings=MAX_POSITIONS, rms_norm_eps=1e-6, query_pre_attn_scalar=24,
                     sliding_window=4, hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True,
                     pad_token_id=PAD_ID, **common)
        if case == "gemma2":
            return transformers.Gemma2Config(attn_logit_softcapping=3.0, final_logit_softcapping=8.0,
                                             rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
                                             **gemma)
        return transformers.Gemma3TextConfig(
            layer_types=["sliding_attention", "full_attention", "sliding_attention"],
            rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
                             "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}, **gemma)
    if case == "phi3":
        # Fused qkv and gate_up, a sliding window (6) on every layer, and longrope scaling whose
        # original context (12) the 10-token prompts stay within while greedy decoding passes it:
        # short factors for the prompt, long ones from position 12 on.
        return transformers.Phi3Config(
            hidden_size=SMALL_HIDDEN, num_hidden_layers=2, num_attention_heads=HEADS, num_key_value_heads=2,
            intermediate_size=SMALL_INTERMEDIATE, max_position_embeddings=MAX_POSITIONS, rms_norm_eps=1e-5,
            tie_word_embeddings=False, sliding_window=6, original_max_position_embeddings=12,
            rope_parameters={"rope_type": "longrope", "rope_theta": 10000.0, "original_max_position_embeddings": 12,
                             "short_factor": [1.0, 1.3, 2.0, 3.5], "long_factor": [1.5, 4.0, 9.0, 20.0]},
            pad_token_id=PAD_ID, **common)
    raise ValueError(case)


CASES = ("gpt2", "gptj", "neox_parallel", "neox_sequential", "llama_gqa", "llama_tied", "qwen2", "qwen3",
         "olmo2", "gemma2", "gemma3", "phi3")
# Cases that get a model.gguf beside their safetensors (Llama also a Q8_0 one).
GGUF_CASES = ("gpt2", "llama_gqa", "qwen2", "qwen3", "olmo2", "gemma2", "gemma3")
GEMMA_TYPES = ("gemma2", "gemma3_text")

# Two folders get config.json in the pre-v5 spelling found in most hub checkpoints (rotary_pct +
# rotary_emb_base for NeoX, rope_theta for Llama) instead of v5's `rope_parameters`, so the C++
# parser is tested on both; transformers reads both (checked by reloading every folder).
LEGACY_CONFIG_STYLE = {
    "neox_sequential": lambda rope: {"rotary_pct": rope["partial_rotary_factor"],
                                     "rotary_emb_base": rope["rope_theta"]},
    "llama_tied": lambda rope: {"rope_theta": rope["rope_theta"]},
}


def blocks(model) -> torch.nn.ModuleList:
    base = model.base_model
    return base.h if hasattr(base, "h") else base.layers


def residual_of(block_output):
    # GPT-2/GPT-J/NeoX blocks return a tuple (hidden, ...); transformers 5 Llama returns the tensor.
    return block_output[0] if isinstance(block_output, tuple) else block_output


def randomize_weights(model, generator: torch.Generator) -> None:
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("bias"):
                param.copy_(torch.randn(param.shape, generator=generator) * BIAS_STD)
            elif param.dim() == 1:  # LayerNorm / RMSNorm gains
                param.copy_(1.0 + (torch.rand(param.shape, generator=generator) * 2 - 1) * NORM_SPREAD)
            elif any(key in name for key in ("wte", "wpe", "embed_tokens", "embed_in")):
                param.copy_(torch.randn(param.shape, generator=generator) * EMBEDDING_STD)
            else:
                param.copy_(torch.randn(param.shape, generator=generator) * MATRIX_STD)


def padded_batch(sequences: list[torch.Tensor], left: bool) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), PAD_ID, dtype=torch.int64)
    mask = torch.zeros((len(sequences), width), dtype=torch.int64)
    for row, seq in enumerate(sequences):
        span = slice(width - len(seq), width) if left else slice(0, len(seq))
        ids[row, span] = seq
        mask[row, span] = 1
    return ids, mask


def positions_from_mask(mask: torch.Tensor) -> torch.Tensor:
    return (mask.cumsum(-1) - 1).clamp(min=0)


@torch.no_grad()
def forward_with_blocks(model, ids, mask, position_ids=None, edit=None):
    """Logits and the residual stream after every block; `edit` = (layer, directions, ranges)."""
    captured: list[torch.Tensor] = []
    handles = [b.register_forward_hook(lambda _m, _a, out: captured.append(residual_of(out).clone()))
               for b in blocks(model)]
    if edit is not None:
        layer, directions, ranges = edit

        def add_direction(_module, _args, out):
            edited = residual_of(out).clone()
            for row, (start, end) in enumerate(ranges.tolist()):
                edited[row, start:end] += directions[row]
            return (edited, *out[1:]) if isinstance(out, tuple) else edited

        # Registered after the capture hooks, so captures of `layer` still see the unedited output.
        handles.append(blocks(model)[layer].register_forward_hook(add_direction))
    try:
        logits = model(input_ids=ids, attention_mask=mask, position_ids=position_ids, use_cache=False).logits
    finally:
        for handle in handles:
            handle.remove()
    return logits, captured


@torch.no_grad()
def greedy_margin(model, ids, mask, greedy_ids) -> float:
    """Checks `greedy_ids` against one plain forward over prompt + continuation (no KV cache,
    positions from the mask): each token must be the argmax after its prefix. Returns the smallest
    top-1/top-2 logit gap on the way, the slack a reimplementation has before greedy flips."""
    steps = greedy_ids.shape[1]
    full_mask = torch.cat([mask, torch.ones_like(greedy_ids)], dim=1)
    logits = model(input_ids=torch.cat([ids, greedy_ids], dim=1), attention_mask=full_mask,
                   position_ids=positions_from_mask(full_mask), use_cache=False).logits
    predicting = logits[:, ids.shape[1] - 1: ids.shape[1] - 1 + steps]  # (B, steps, V)
    assert torch.equal(predicting.argmax(-1), greedy_ids), "generate disagrees with a plain forward"
    top2 = predicting.topk(2, dim=-1).values
    return (top2[..., 0] - top2[..., 1]).min().item()


def greedy_by_generate(model, ids, mask, steps: int) -> torch.Tensor:
    # eos disabled so that every row produces `steps` tokens and no logits processor runs; generate
    # falls back to the model's own generation_config for fields left None, so clear it there too.
    model.generation_config.eos_token_id = None
    config = GenerationConfig(do_sample=False, max_new_tokens=steps, eos_token_id=None, pad_token_id=PAD_ID,
                              bos_token_id=None)
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=mask, generation_config=config)
    assert out.shape == (ids.shape[0], ids.shape[1] + steps), out.shape
    return out[:, ids.shape[1]:]


def real_positions(tensor: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return tensor[mask.bool()]


def versions() -> dict[str, str]:
    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "gguf": version("gguf"), "safetensors": version("safetensors"),
            "numpy": np.__version__, "generator": "tests/reference/make_lm_fixtures.py"}


def save_atomically(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> None:
    temporary = path.with_suffix(".tmp")
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(temporary), metadata=metadata)
    os.replace(temporary, path)


# ---------------------------------------------------------------------------------------------
# GGUF export in llama.cpp's layout (names from gguf's own tensor map, metadata as written by
# llama.cpp's convert_hf_to_gguf.py for these architectures).


def byte_level_alphabet() -> tuple[list[str], list[int]]:
    """GPT-2's reversible byte -> printable character map: (characters, their bytes) in GPT-2's id order."""
    visible = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
               *range(ord("®"), ord("ÿ") + 1)]
    hidden = [b for b in range(256) if b not in visible]
    return [chr(b) for b in visible] + [chr(256 + k) for k in range(len(hidden))], visible + hidden


MERGE_TRAINING_TEXT = ("the capital of france is paris . the mother tongue of danielle darrieux is french . "
                       "the eiffel tower is in paris and the louvre is in paris too . she is an actress "
                       "and he is an actor ; they speak french and english at the theatre in the city")


def tiny_bpe_vocabulary() -> tuple[list[str], list[str]]:
    """A consistent byte-level BPE vocabulary of exactly VOCAB tokens: 256 byte characters, merges
    learned greedily from a fixed sentence, and "<|endoftext|>" last (id EOS_ID)."""
    alphabet, byte_order = byte_level_alphabet()
    char_of_byte = dict(zip(byte_order, alphabet))
    words: dict[tuple[str, ...], int] = {}
    for word in MERGE_TRAINING_TEXT.split(" "):
        symbols = tuple(char_of_byte[b] for b in (" " + word).encode())
        words[symbols] = words.get(symbols, 0) + 1
    tokens, merges = list(alphabet), []
    while len(tokens) < VOCAB - 1:
        pair_counts: dict[tuple[str, str], int] = {}
        for symbols, count in words.items():
            for pair in zip(symbols, symbols[1:]):
                pair_counts[pair] = pair_counts.get(pair, 0) + count
        best = min(pair_counts, key=lambda p: (-pair_counts[p], p))
        merges.append(f"{best[0]} {best[1]}")
        tokens.append(best[0] + best[1])
        merged_words = {}
        for symbols, count in words.items():
            out, k = [], 0
            while k < len(symbols):
                if k + 1 < len(symbols) and (symbols[k], symbols[k + 1]) == best:
                    out.append(best[0] + best[1])
                    k += 2
                else:
                    out.append(symbols[k])
                    k += 1
            merged_words[tuple(out)] = merged_words.get(tuple(out), 0) + count
        words = merged_words
    tokens.append("<|endoftext|>")
    return tokens, merges


GGUF_TOKENIZER_TEXT = " The capital of france is paris. Café, 2023!"


def add_tokenizer_metadata(writer: gguf.GGUFWriter) -> None:
    tokens, merges = tiny_bpe_vocabulary()
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types([gguf.TokenType.NORMAL] * (len(tokens) - 1) + [gguf.TokenType.CONTROL])
    writer.add_token_merges(merges)
    writer.add_bos_token_id(EOS_ID)
    writer.add_eos_token_id(EOS_ID)
    writer.add_add_bos_token(False)


def llama_cpp_rope_permute(weight: np.ndarray, n_head: int) -> np.ndarray:
    """Row order llama.cpp's converter gives Llama Q/K: per head, HF's halves layout
    (x_i, x_{i+d/2}) becomes interleaved pairs (x_2i, x_2i+1). n_head = heads of this projection."""
    half = weight.shape[0] // n_head // 2
    return weight.reshape(n_head, 2, half, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def undo_llama_cpp_rope_permute(weight: np.ndarray, n_head: int) -> np.ndarray:
    half = weight.shape[0] // n_head // 2
    return weight.reshape(n_head, half, 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


GGUF_ARCHITECTURES = {"gpt2": gguf.MODEL_ARCH.GPT2, "llama": gguf.MODEL_ARCH.LLAMA, "qwen2": gguf.MODEL_ARCH.QWEN2,
                      "qwen3": gguf.MODEL_ARCH.QWEN3, "olmo2": gguf.MODEL_ARCH.OLMO2,
                      "gemma2": gguf.MODEL_ARCH.GEMMA2, "gemma3_text": gguf.MODEL_ARCH.GEMMA3}


def gguf_tensors(folder: Path, config) -> list[tuple[str, str, np.ndarray]]:
    """(gguf name, hf name, array as llama.cpp stores it) for every tensor of model.safetensors."""
    arch = GGUF_ARCHITECTURES[config.model_type]
    name_map = gguf.get_tensor_name_map(arch, config.num_hidden_layers)
    out = []
    for hf_name, tensor in sorted(load_file(str(folder / "model.safetensors")).items()):
        out.append((name_map.get_name(hf_name, try_suffixes=(".weight", ".bias")), hf_name,
                    np.ascontiguousarray(to_gguf_layout(tensor.numpy(), hf_name, config), dtype=np.float32)))
    return out


def to_gguf_layout(array: np.ndarray, hf_name: str, config) -> np.ndarray:
    if config.model_type == "gpt2" and hf_name.endswith(("c_attn.weight", "c_proj.weight", "c_fc.weight")):
        return array.T  # HF's Conv1D stores [in, out]; GGUF wants [out, in] like nn.Linear
    if config.model_type in GEMMA_TYPES and hf_name.endswith("norm.weight"):
        return array + np.float32(1)  # llama.cpp's converter folds Gemma's (1 + w) into the weights
    if config.model_type != "llama":  # llama.cpp runs the others' rotary on HF's halves (rope type NEOX)
        return array
    if hf_name.endswith("q_proj.weight"):
        return llama_cpp_rope_permute(array, config.num_attention_heads)
    if hf_name.endswith("k_proj.weight"):
        return llama_cpp_rope_permute(array, config.num_key_value_heads)
    return array


def from_gguf_layout(array: np.ndarray, hf_name: str, config) -> np.ndarray:
    if config.model_type == "gpt2" and hf_name.endswith(("c_attn.weight", "c_proj.weight", "c_fc.weight")):
        return array.T
    if config.model_type in GEMMA_TYPES and hf_name.endswith("norm.weight"):
        return array - np.float32(1)
    if config.model_type != "llama":
        return array
    if hf_name.endswith("q_proj.weight"):
        return undo_llama_cpp_rope_permute(array, config.num_attention_heads)
    if hf_name.endswith("k_proj.weight"):
        return undo_llama_cpp_rope_permute(array, config.num_key_value_heads)
    return array


def write_gguf(folder: Path, config, path: Path, quantize_matrices: bool) -> None:
    arch = gguf.MODEL_ARCH_NAMES[GGUF_ARCHITECTURES[config.model_type]]
    writer = gguf.GGUFWriter(str(path.with_suffix(".tmp")), arch)
    writer.add_name(f"remedi-fixture-{folder.name}")
    writer.add_block_count(config.num_hidden_layers)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_head_count(config.num_attention_heads)
    if arch != "gpt2":
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        writer.add_feed_forward_length(config.intermediate_size)
        writer.add_head_count_kv(config.num_key_value_heads)
        # Gemma 3 has a table per attention type; GGUF holds the global one (llama.cpp fixes the local 1e4).
        writer.add_rope_freq_base(config.rope_parameters.get("full_attention", config.rope_parameters)["rope_theta"])
        writer.add_layer_norm_rms_eps(config.rms_norm_eps)
        writer.add_vocab_size(config.vocab_size)
        writer.add_rope_dimension_count(head_dim)
        if head_dim * config.num_attention_heads != config.hidden_size:
            writer.add_key_length(head_dim)
            writer.add_value_length(head_dim)
        if arch in ("gemma2", "gemma3"):
            writer.add_sliding_window(config.sliding_window)
        if arch == "gemma2":
            writer.add_attn_logit_softcapping(config.attn_logit_softcapping)
            writer.add_final_logit_softcapping(config.final_logit_softcapping)
        if arch == "gemma3":  # the period of global layers (llama.cpp's default is 6)
            writer.add_sliding_window_pattern(config.layer_types.index("full_attention") + 1)
    else:
        writer.add_feed_forward_length(4 * config.n_embd)
        writer.add_layer_norm_eps(config.layer_norm_epsilon)
    file_type = gguf.LlamaFileType.MOSTLY_Q8_0 if quantize_matrices else gguf.LlamaFileType.ALL_F32
    writer.add_file_type(file_type)
    if quantize_matrices:
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    add_tokenizer_metadata(writer)
    for gguf_name, _hf_name, array in gguf_tensors(folder, config):
        if quantize_matrices and array.ndim == 2:
            quant = gguf.GGMLQuantizationType.Q8_0
            writer.add_tensor(gguf_name, gguf.quants.quantize(array, quant), raw_dtype=quant)
        else:
            writer.add_tensor(gguf_name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(path.with_suffix(".tmp"), path)


def state_dict_from_gguf(path: Path, folder: Path, config) -> dict[str, torch.Tensor]:
    """Reads a GGUF back (dequantizing) into HF names and layouts: the weights llama.cpp would use."""
    hf_name_of = {gguf_name: hf_name for gguf_name, hf_name, _ in gguf_tensors(folder, config)}
    state = {}
    for tensor in gguf.GGUFReader(str(path)).tensors:
        array = gguf.quants.dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
        hf_name = hf_name_of[tensor.name]
        state[hf_name] = torch.from_numpy(np.ascontiguousarray(from_gguf_layout(array, hf_name, config)))
    return state


def check_gguf_with_transformers(folder: Path, gguf_name: str, ids, mask, expected: torch.Tensor) -> float:
    # transformers maps gpt2.context_length to `n_ctx`, which GPT2Config no longer reads, so its GPT-2
    # model would get 1024 positions; for GPT-2 the hyper-parameters come from config.json and only
    # the tensors (names, transposes, tying) from the GGUF. Llama is checked end to end.
    config = {"config": transformers.AutoConfig.from_pretrained(str(folder))} if "gpt2" in folder.name else {}
    model = AutoModelForCausalLM.from_pretrained(str(folder), gguf_file=gguf_name, dtype=torch.float32,
                                                 attn_implementation="eager", **config).eval()
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
    difference = (real_positions(logits, mask) - real_positions(expected, mask)).abs().max().item()
    assert difference < 1e-4, f"{folder.name}/{gguf_name}: transformers' GGUF load differs by {difference}"
    return difference


# ---------------------------------------------------------------------------------------------
# The tiny random models.


def save_checkpoint(model, folder: Path, case: str) -> None:
    model.save_pretrained(str(folder), safe_serialization=True)
    if case in LEGACY_CONFIG_STYLE:
        config_path = folder / "config.json"
        config = json.loads(config_path.read_text())
        config.update(LEGACY_CONFIG_STYLE[case](config.pop("rope_parameters")))
        config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def make_case(index: int, case: str) -> dict[str, float]:
    generator = torch.Generator().manual_seed(SEED + index)
    model = AutoModelForCausalLM.from_config(make_config(case)).eval()
    randomize_weights(model, generator)
    folder = FIXTURES / case
    folder.mkdir(parents=True, exist_ok=True)
    save_checkpoint(model, folder, case)
    sequences = [torch.randint(0, VOCAB, (n,), generator=generator) for n in SEQUENCE_LENGTHS]
    ids_right, mask_right = padded_batch(sequences, left=False)
    ids_left, mask_left = padded_batch(sequences, left=True)
    logits_before_saving, _ = forward_with_blocks(model, ids_right, mask_right)
    # Everything below runs on the model as transformers reads it back from the folder, which must
    # be the model that was saved (this also checks the legacy-style config.json).
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32,
                                                 attn_implementation="eager").eval()
    config = model.config
    n_layer = config.num_hidden_layers
    logits_right, blocks_right = forward_with_blocks(model, ids_right, mask_right)
    assert torch.equal(logits_right, logits_before_saving), f"{case}: the saved folder is a different model"
    logits_left, blocks_left = forward_with_blocks(model, ids_left, mask_left, positions_from_mask(mask_left))
    logits_left_default_positions, _ = forward_with_blocks(model, ids_left, mask_left)

    greedy_ids = greedy_by_generate(model, ids_left, mask_left, NEW_TOKENS)
    # Phi-3's longrope switches factors once generation passes the original context, so one plain
    # forward over prompt + continuation (long factors throughout) is not what generate computed.
    smallest_greedy_margin = (float("nan") if case == "phi3"
                              else greedy_margin(model, ids_left, mask_left, greedy_ids))

    edit_layer = (n_layer - 1) // 2
    residual_std = real_positions(blocks_right[edit_layer], mask_right).std().item()
    directions = torch.randn((len(SEQUENCE_LENGTHS), config.hidden_size), generator=generator) * residual_std
    edit_ranges = torch.tensor(EDIT_RANGES, dtype=torch.int64)
    edited_logits_right, _ = forward_with_blocks(model, ids_right, mask_right,
                                                 edit=(edit_layer, directions, edit_ranges))
    for row, (start, _end) in enumerate(EDIT_RANGES):  # causal: positions before the edit are untouched
        assert torch.allclose(edited_logits_right[row, :start], logits_right[row, :start], atol=1e-5)

    tensors = {"input_ids_right": ids_right, "attention_mask_right": mask_right,
               "input_ids_left": ids_left, "attention_mask_left": mask_left,
               "logits_right": logits_right, "logits_left": logits_left, "greedy_ids": greedy_ids,
               "edit_direction": directions, "edit_layer": torch.tensor(edit_layer, dtype=torch.int64),
               "edit_range": edit_ranges, "edited_logits_right": edited_logits_right}
    for layer in range(n_layer):
        tensors[f"block_output_right_{layer}"] = blocks_right[layer]
        tensors[f"block_output_left_{layer}"] = blocks_left[layer]
    for name, tensor in tensors.items():
        assert torch.isfinite(tensor.float()).all(), f"{case}: {name} is not finite"

    real_right = real_positions(logits_right, mask_right)
    stats = {"max_abs_logit": real_right.abs().max().item(), "logit_std": real_right.std().item(),
             "residual_std_last_block": real_positions(blocks_right[-1], mask_right).std().item(),
             "left_vs_right": (real_positions(logits_left, mask_left) - real_right).abs().max().item(),
             "left_without_positions": (real_positions(logits_left_default_positions, mask_left)
                                        - real_right).abs().max().item(),
             "greedy_min_margin": smallest_greedy_margin,
             "edit_max_logit_change": (edited_logits_right - logits_right).abs().max().item()}
    assert stats["left_vs_right"] < 1e-4, f"{case}: left and right padding differ by {stats['left_vs_right']}"

    if case in GGUF_CASES:
        stats.update(make_gguf_variants(folder, model, ids_right, mask_right, logits_right, tensors))
    metadata = {**versions(), "case": case, "seed": str(SEED + index), "model_type": config.model_type,
                "gguf_tokenizer_text": GGUF_TOKENIZER_TEXT}
    save_atomically(tensors, folder / "reference.safetensors", metadata)
    return stats


def make_gguf_variants(folder: Path, model, ids, mask, logits, tensors: dict) -> dict[str, float]:
    config = model.config
    write_gguf(folder, config, folder / "model.gguf", quantize_matrices=False)
    written = load_file(str(folder / "model.safetensors"))
    read_back = state_dict_from_gguf(folder / "model.gguf", folder, config)
    assert read_back.keys() == written.keys()
    # Exact, except for Gemma's norms: (w + 1) - 1 may round
    assert all(torch.allclose(read_back[k], written[k], rtol=0, atol=1e-6) for k in written)
    assert config.model_type in GEMMA_TYPES or all(torch.equal(read_back[k], written[k]) for k in written)
    stats = {}
    if config.model_type in GEMMA_TYPES:
        # GGUF has no query_pre_attn_scalar: llama.cpp scales by head_dim (hidden / heads for the 27B
        # models). The logits of that model are what the GGUF file must give.
        as_llama_cpp = AutoModelForCausalLM.from_config(
            type(config).from_dict({**config.to_dict(), "query_pre_attn_scalar": config.head_dim})).eval()
        as_llama_cpp.load_state_dict(model.state_dict())
        tensors["logits_right_gguf"], _ = forward_with_blocks(as_llama_cpp, ids, mask)
    if config.model_type in ("gpt2", "llama"):  # the new families' files are checked by the read-back above
        stats["transformers_gguf_f32"] = check_gguf_with_transformers(folder, "model.gguf", ids, mask, logits)
    if config.model_type not in ("gpt2", "llama"):
        return stats
    # The GGUF vocabulary is a working byte-level BPE; one golden encoding for the C++ tokenizer.
    tokenizer = AutoTokenizer.from_pretrained(str(folder), gguf_file="model.gguf")
    encoded = tokenizer(GGUF_TOKENIZER_TEXT, add_special_tokens=False).input_ids
    tensors["gguf_tokenizer_ids"] = torch.tensor(encoded, dtype=torch.int64)
    assert tokenizer.decode(tensors["gguf_tokenizer_ids"]) == GGUF_TOKENIZER_TEXT
    if config.model_type == "llama":
        write_gguf(folder, config, folder / "model-q8_0.gguf", quantize_matrices=True)
        dequantized = AutoModelForCausalLM.from_config(config).eval()
        dequantized.load_state_dict(state_dict_from_gguf(folder / "model-q8_0.gguf", folder, config))
        logits_q8_0, _ = forward_with_blocks(dequantized, ids, mask)
        tensors["logits_right_q8_0"] = logits_q8_0
        stats["transformers_gguf_q8_0"] = check_gguf_with_transformers(folder, "model-q8_0.gguf", ids, mask,
                                                                       logits_q8_0)
        stats["q8_0_vs_f32"] = (real_positions(logits_q8_0, mask)
                                - real_positions(logits, mask)).abs().max().item()
    return stats


# ---------------------------------------------------------------------------------------------
# SmolLM2-135M-Instruct (Q4_1 GGUF, dequantized by transformers).

SMOLLM2_PROMPTS = (
    "The capital of France is",
    "The mother tongue of Danielle Darrieux is",
    "Paris is the capital of",
    "The Eiffel Tower is located in the city of",
    "Café au lait is a drink made with coffee and",
    "In 1905, Albert Einstein published four papers that changed physics. The first explained the "
    "photoelectric effect, the second described Brownian motion, and the third introduced special "
    "relativity. The fourth paper showed that",
)
SMOLLM2_LAYERS = (0, 14, 29)
SMOLLM2_NEW_TOKENS = 16


def make_smollm2() -> dict[str, object]:
    if not SMOLLM2.is_file():
        sys.exit(f"missing {SMOLLM2}: run scripts/fetch-model.sh first")
    tokenizer = AutoTokenizer.from_pretrained(str(SMOLLM2.parent), gguf_file=SMOLLM2.name)
    model = AutoModelForCausalLM.from_pretrained(str(SMOLLM2.parent), gguf_file=SMOLLM2.name,
                                                 dtype=torch.float32, attn_implementation="eager").eval()
    tensors, report = {}, {"prompts": [], "continuations": [], "greedy_min_margin": [], "top1_margin": []}
    for k, prompt in enumerate(SMOLLM2_PROMPTS):
        ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt").input_ids
        mask = torch.ones_like(ids)
        logits, captured = forward_with_blocks(model, ids, mask)
        top = logits[0, -1].topk(50)
        tensors[f"prompt_{k}_ids"] = ids[0]
        tensors[f"prompt_{k}_top50_ids"] = top.indices
        tensors[f"prompt_{k}_top50_logits"] = top.values
        for layer in SMOLLM2_LAYERS:
            tensors[f"prompt_{k}_block_output_{layer}"] = captured[layer][0, -1]
        greedy = greedy_by_generate(model, ids, mask, SMOLLM2_NEW_TOKENS)
        tensors[f"greedy_{k}"] = greedy[0]
        report["prompts"].append(prompt)
        report["continuations"].append(tokenizer.decode(greedy[0]))
        report["greedy_min_margin"].append(greedy_margin(model, ids, mask, greedy))
        report["top1_margin"].append((top.values[0] - top.values[1]).item())
        report[f"prompt_{k}_tokens"] = ids.shape[1]
    report["max_abs_top1_logit"] = max(tensors[f"prompt_{k}_top50_logits"][0].item()
                                       for k in range(len(SMOLLM2_PROMPTS)))
    folder = FIXTURES / "smollm2"
    folder.mkdir(parents=True, exist_ok=True)
    metadata = {**versions(), "model_file": SMOLLM2.name, "prompts": json.dumps(report["prompts"]),
                "continuations": json.dumps(report["continuations"]), "layers": json.dumps(SMOLLM2_LAYERS)}
    save_atomically(tensors, folder / "reference.safetensors", metadata)
    return report


def main() -> None:
    torch.set_num_threads(1)  # 2 threads spin-wait on a shared 2-core machine; 1 is faster here
    # Named cases only (python3 tests/reference/make_lm_fixtures.py qwen2 olmo2), or every case and SmolLM2.
    chosen = sys.argv[1:] or [*CASES, "smollm2"]
    for index, case in enumerate(CASES):
        if case in chosen:
            stats = make_case(index, case)
            print(case, json.dumps({k: float(f"{v:.4g}") for k, v in stats.items()}))
    if "smollm2" in chosen:
        print("smollm2", json.dumps(make_smollm2(), indent=1, ensure_ascii=False))
    total = sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file())
    print(f"tests/fixtures/lm: {total / 1e6:.2f} MB")
    assert total < 9e6, "fixtures grew past 9 MB"


if __name__ == "__main__":
    main()
