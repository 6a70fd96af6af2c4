#!/usr/bin/env python3
"""Writes the model-file fixtures of tests/io and tests/lm/config_test.cpp from independent references.

  tests/fixtures/io/quants.gguf            one tensor per storage type + metadata of every GGUF type
  tests/fixtures/io/quants_expected.json   f32 values of each tensor, dequantized by the `gguf` package
  tests/fixtures/io/tiny_gpt2.gguf         gpt2 metadata (vocab from the token list, untied head)
  tests/fixtures/io/smollm2_token_embd_row0.json
                                           row 0 of token_embd in the default SmolLM2 GGUF (Q8_0),
                                           dequantized by the `gguf` package (only if the model is here)
  tests/fixtures/io/small.safetensors      written by the `safetensors` package (torch), values in
                                           small_safetensors_expected.json
  tests/fixtures/io/npy/*.npy              arrays written by numpy (accepted and rejected kinds)
  tests/fixtures/config/<name>/config.json configs written by transformers' config classes, plus
                                           hand-written 4.x-style configs as found on the Hub
  tests/fixtures/config/expected.json      what transformers reads from each, and the parameter count of
                                           the model it builds

Quantized types the `gguf` package can quantize (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, BF16) are quantized
from random floats; for the K-quants (dequantize only) the blocks are random bytes with finite f16
scales, and the package's dequantization gives the expected values.

Run from the repository root: python3 tests/reference/make_gguf_fixtures.py (add `configs` to write
only tests/fixtures/config)
Needs: numpy, gguf, torch, transformers.
"""
import json
import os
import pathlib

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as V

ROOT = pathlib.Path(__file__).resolve().parents[2]
IO = ROOT / "tests/fixtures/io"
CONFIG = ROOT / "tests/fixtures/config"
rng = np.random.RandomState(20230817)


def floats(values):
    """float32 values as Python floats (repr round-trips them exactly)."""
    return [float(v) for v in np.asarray(values, dtype=np.float32).reshape(-1)]


def random_k_blocks(qtype, n_blocks):
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.randint(0, 256, size=(n_blocks, type_size)).astype(np.uint8)
    # Replace the f16 scale fields with finite values of both signs.
    def f16_bytes(count):
        values = (rng.uniform(0.001, 0.05, size=(n_blocks, count)) * rng.choice([-1, 1], size=(n_blocks, count)))
        return values.astype(np.float16).view(np.uint8).reshape(n_blocks, 2 * count)
    if qtype in (Q.Q4_K, Q.Q5_K):
        raw[:, 0:4] = f16_bytes(2)  # d, dmin
    elif qtype == Q.Q6_K:
        raw[:, type_size - 2:] = f16_bytes(1)  # d comes last
    return raw


def write_quants():
    writer = gguf.GGUFWriter(str(IO / "quants.gguf"), "test")
    # Metadata of every value type, including arrays of arrays.
    writer.add_uint8("test.u8", 200)
    writer.add_int8("test.i8", -100)
    writer.add_uint16("test.u16", 60000)
    writer.add_int16("test.i16", -30000)
    writer.add_uint32("test.u32", 4000000000)
    writer.add_int32("test.i32", -2000000000)
    writer.add_float32("test.f32", 0.1)
    writer.add_bool("test.bool", True)
    writer.add_string("test.string", "héllo\nworld")
    writer.add_uint64("test.u64", 18000000000000000000)
    writer.add_int64("test.i64", -9000000000000000000)
    writer.add_float64("test.f64", 2.718281828459045)
    writer.add_array("test.strings", ["a", "bc", ""])
    writer.add_key_value("test.u64s", [1, 2, 18000000000000000000], V.ARRAY, sub_type=V.UINT64)
    writer.add_array("test.floats", [0.5, -1.25])
    writer.add_array("test.nested", [[1, 2], [3, 4, 5]])
    writer.add_custom_alignment(64)  # sets general.alignment and pads the data to it

    expected = {}
    plain = rng.standard_normal((3, 4, 5)).astype(np.float32)
    writer.add_tensor("f32_3d", plain)  # numpy shape (3, 4, 5) = GGUF ne [5, 4, 3]
    expected["f32_3d"] = {"type": "F32", "shape": [3, 4, 5], "values": floats(plain)}
    half = rng.standard_normal((2, 8)).astype(np.float16)
    half[0, :4] = [65504, -0.0, 6.1e-5, 5.96e-8]  # largest, signed zero, smallest normal, subnormal
    writer.add_tensor("f16", half)
    expected["f16"] = {"type": "F16", "shape": [2, 8], "values": floats(half.astype(np.float32))}
    wide = rng.standard_normal((2, 3))
    writer.add_tensor("f64", wide)
    expected["f64"] = {"type": "F64", "shape": [2, 3], "values": floats(wide)}

    source = rng.standard_normal((3, 64)).astype(np.float32)
    for qtype in (Q.BF16, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q8_0):
        packed = gguf.quants.quantize(source, qtype)
        writer.add_tensor(qtype.name.lower(), packed, raw_shape=packed.shape, raw_dtype=qtype)
        values = gguf.quants.dequantize(packed, qtype)
        expected[qtype.name.lower()] = {"type": qtype.name, "shape": [3, 64], "values": floats(values)}
    for qtype in (Q.Q4_K, Q.Q5_K, Q.Q6_K):
        packed = random_k_blocks(qtype, 4).reshape(2, -1)  # 2 rows x 512 values
        writer.add_tensor(qtype.name.lower(), packed, raw_shape=packed.shape, raw_dtype=qtype)
        values = gguf.quants.dequantize(packed, qtype)
        assert values.shape == (2, 512) and np.isfinite(values).all()
        expected[qtype.name.lower()] = {"type": qtype.name, "shape": [2, 512], "values": floats(values)}
    ints = np.arange(6, dtype=np.int32).reshape(2, 3)
    writer.add_tensor("i32", ints)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    (IO / "quants_expected.json").write_text(json.dumps(expected, indent=0) + "\n")


def write_tiny_gpt2():
    writer = gguf.GGUFWriter(str(IO / "tiny_gpt2.gguf"), "gpt2")
    writer.add_block_count(2)
    writer.add_context_length(32)
    writer.add_embedding_length(8)
    writer.add_feed_forward_length(32)
    writer.add_head_count(2)
    writer.add_layer_norm_eps(1e-5)
    writer.add_token_list([f"t{i}" for i in range(10)])
    writer.add_bos_token_id(9)
    writer.add_eos_token_id(9)
    writer.add_tensor("token_embd.weight", rng.standard_normal((10, 8)).astype(np.float32))
    writer.add_tensor("output.weight", rng.standard_normal((10, 8)).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def write_smollm2_row():
    path = pathlib.Path(os.environ.get("REMEDI_HOME", pathlib.Path.home() / ".cache/remedi"))
    path = path / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.exists():
        print(f"skipping the SmolLM2 row: {path} not found")
        return
    reader = gguf.GGUFReader(str(path))
    tensor = next(t for t in reader.tensors if t.name == "token_embd.weight")
    rows = gguf.quants.dequantize(tensor.data, tensor.tensor_type)  # (49152, 576)
    (IO / "smollm2_token_embd_row0.json").write_text(json.dumps(
        {"type": tensor.tensor_type.name, "shape": list(rows.shape), "row0": floats(rows[0])}) + "\n")


def write_safetensors():
    import torch
    from safetensors.torch import save_file
    generator = torch.Generator().manual_seed(7)
    tensors = {
        "model.embed.weight": torch.randn(3, 4, generator=generator),
        "half": torch.randn(5, generator=generator).half(),
        "brain": torch.randn(2, 2, generator=generator).bfloat16(),
        "double": torch.randn(2, 1, 2, generator=generator).double(),
        "ids": torch.arange(3, dtype=torch.int64),
    }
    save_file(tensors, str(IO / "small.safetensors"), metadata={"format": "pt"})
    expected = {name: {"dtype": {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
                                 torch.float64: "F64", torch.int64: "I64"}[t.dtype],
                       "shape": list(t.shape),
                       "values": [float(v) for v in t.float().reshape(-1).tolist()]}
                for name, t in tensors.items()}
    (IO / "small_safetensors_expected.json").write_text(json.dumps(expected, indent=1) + "\n")


def write_npy():
    folder = IO / "npy"
    folder.mkdir(exist_ok=True)
    values = np.array([[0.5, -1.25, 3.0], [1e-3, 65504.0, -0.0]])
    np.save(folder / "f4_v1.npy", values.astype("<f4"))
    np.save(folder / "f8_v1.npy", values.astype("<f8"))
    np.save(folder / "f2_v1.npy", values.astype("<f2"))
    np.save(folder / "scalar.npy", np.float32(7.5))
    np.save(folder / "empty.npy", np.zeros((0, 4), dtype="<f4"))
    for version in ((2, 0), (3, 0)):
        with open(folder / f"f4_v{version[0]}.npy", "wb") as out:
            np.lib.format.write_array(out, values.astype("<f4"), version=version)
    np.save(folder / "fortran.npy", np.asfortranarray(values.astype("<f4")))
    np.save(folder / "big_endian.npy", values.astype(">f4"))
    np.save(folder / "int32.npy", values.astype("<i4"))


def config_fields(config, model_type):
    """What transformers itself reads from a config, in ModelConfig's terms."""
    c = config
    if model_type in ("gpt2", "gptj"):
        hidden, heads, layers = c.n_embd, c.n_head, c.n_layer
        inner = c.n_inner if c.n_inner is not None else 4 * hidden
        positions, eps = c.n_positions, c.layer_norm_epsilon
        kv_heads, head_dim = heads, hidden // heads
    else:
        hidden, heads, layers = c.hidden_size, c.num_attention_heads, c.num_hidden_layers
        inner, positions = c.intermediate_size, c.max_position_embeddings
        eps = c.layer_norm_eps if model_type == "gpt_neox" else c.rms_norm_eps
        model_type = "llama" if model_type == "mistral" else model_type  # same layout
        kv_heads = getattr(c, "num_key_value_heads", None) or heads
        head_dim = getattr(c, "head_dim", None) or hidden // heads
    fields = {"model_type": model_type, "n_layer": layers, "hidden_size": hidden, "n_head": heads,
              "n_kv_head": kv_heads, "head_dim": head_dim, "intermediate_size": inner,
              "vocab_size": c.vocab_size, "max_positions": positions, "norm_eps": eps,
              "tie_word_embeddings": bool(c.tie_word_embeddings),
              "bos_token_id": c.bos_token_id if c.bos_token_id is not None else -1,
              "eos_token_id": c.eos_token_id if c.eos_token_id is not None else -1}
    if model_type == "gpt2":
        fields.update(rotary_dim=0, activation=c.activation_function)
    elif model_type == "gptj":
        fields.update(rotary_dim=c.rotary_dim or head_dim, rope_theta=10000.0, activation=c.activation_function)
    else:
        rope = c.rope_parameters
        rope = rope.get("full_attention", rope)  # Gemma 3: one table per attention type
        activation = getattr(c, "hidden_activation", None) or c.hidden_act
        fields.update(rotary_dim=int(head_dim * rope.get("partial_rotary_factor", 1.0)),
                      rope_theta=float(rope["rope_theta"]),
                      activation="gelu_new" if activation == "gelu_pytorch_tanh" else activation)
    if model_type in ("gemma2", "gemma3_text"):
        types = c.layer_types
        fields.update(model_type="gemma3" if model_type == "gemma3_text" else model_type,
                      sliding_window=c.sliding_window or 0,
                      global_every=types.index("full_attention") + 1 if "full_attention" in types else None,
                      query_pre_attn_scalar=float(c.query_pre_attn_scalar),
                      attention_softcap=float(c.attn_logit_softcapping or 0),
                      final_softcap=float(c.final_logit_softcapping or 0))
        if fields["global_every"] is None:
            del fields["global_every"]
        if model_type == "gemma3_text":
            fields["rope_local_theta"] = float(c.rope_parameters["sliding_attention"]["rope_theta"])
    if model_type == "gpt_neox":
        fields["use_parallel_residual"] = c.use_parallel_residual
    if model_type == "phi3":
        fields.update(sliding_window=c.sliding_window or 0, global_every=0)
    if model_type in ("llama", "qwen3", "olmo2"):
        fields.update(attention_bias=getattr(c, "attention_bias", False), mlp_bias=getattr(c, "mlp_bias", False))
    return fields


def write_configs():
    import torch
    import transformers as tf

    tiny = {
        "gpt2": tf.GPT2Config(n_layer=2, n_embd=16, n_head=4, vocab_size=50, n_positions=24),
        "gptj": tf.GPTJConfig(n_layer=2, n_embd=16, n_head=4, rotary_dim=2, vocab_size=50, n_positions=24),
        "gpt_neox": tf.GPTNeoXConfig(num_hidden_layers=2, hidden_size=16, num_attention_heads=2,
                                     intermediate_size=40, vocab_size=50, max_position_embeddings=24,
                                     rotary_pct=0.5, rotary_emb_base=500.0, use_parallel_residual=False,
                                     tie_word_embeddings=True),
        "llama": tf.LlamaConfig(num_hidden_layers=2, hidden_size=16, num_attention_heads=4, num_key_value_heads=2,
                                intermediate_size=24, vocab_size=50, max_position_embeddings=24,
                                rope_theta=50000.0, rms_norm_eps=1e-5, tie_word_embeddings=True,
                                attention_bias=True, bos_token_id=0, eos_token_id=[2, 3]),
        "mistral": tf.MistralConfig(num_hidden_layers=2, hidden_size=16, num_attention_heads=4, num_key_value_heads=1,
                                    intermediate_size=24, vocab_size=50, max_position_embeddings=24,
                                    sliding_window=None, rope_theta=20000.0),
        "qwen2": tf.Qwen2Config(num_hidden_layers=2, hidden_size=16, num_attention_heads=4, num_key_value_heads=2,
                                intermediate_size=24, vocab_size=50, max_position_embeddings=24,
                                rope_theta=1000000.0, tie_word_embeddings=True),
        "qwen3": tf.Qwen3Config(num_hidden_layers=2, hidden_size=16, num_attention_heads=4, num_key_value_heads=2,
                                head_dim=8, intermediate_size=24, vocab_size=50, max_position_embeddings=24,
                                attention_bias=True),
        "olmo2": tf.Olmo2Config(num_hidden_layers=2, hidden_size=16, num_attention_heads=4, intermediate_size=24,
                                vocab_size=50, max_position_embeddings=24, rope_theta=500000.0),
        "gemma2": tf.Gemma2Config(num_hidden_layers=3, hidden_size=16, num_attention_heads=4, num_key_value_heads=2,
                                  head_dim=8, intermediate_size=24, vocab_size=50, max_position_embeddings=24,
                                  sliding_window=8, query_pre_attn_scalar=12, final_logit_softcapping=None),
        "phi3": tf.Phi3Config(num_hidden_layers=2, hidden_size=16, num_attention_heads=4, num_key_value_heads=2,
                              intermediate_size=24, vocab_size=50, max_position_embeddings=24, sliding_window=7,
                              rope_theta=20000.0, pad_token_id=0),
        "gemma3": tf.Gemma3TextConfig(num_hidden_layers=7, hidden_size=16, num_attention_heads=4,
                                      num_key_value_heads=1, head_dim=8, intermediate_size=24, vocab_size=50,
                                      max_position_embeddings=24, sliding_window=8, rope_local_base_freq=20000.0),
    }
    # Hand-written: 4.x-era configs as they sit on the Hub (shapes shrunk), with top-level
    # rotary_pct / rope_theta.
    hub_style = {
        "gpt_neox_hub": {"architectures": ["GPTNeoXForCausalLM"], "bos_token_id": 0, "eos_token_id": 0,
                         "hidden_act": "gelu", "hidden_size": 32, "initializer_range": 0.02,
                         "intermediate_size": 128, "layer_norm_eps": 1e-05, "max_position_embeddings": 64,
                         "model_type": "gpt_neox", "num_attention_heads": 4, "num_hidden_layers": 2,
                         "rotary_emb_base": 10000, "rotary_pct": 0.25, "tie_word_embeddings": False,
                         "torch_dtype": "float16", "transformers_version": "4.24.0", "use_cache": True,
                         "use_parallel_residual": True, "vocab_size": 60},
        "llama_hub": {"architectures": ["LlamaForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
                      "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu", "hidden_size": 48,
                      "initializer_range": 0.041666666666666664, "intermediate_size": 128,
                      "max_position_embeddings": 64, "mlp_bias": False, "model_type": "llama",
                      "num_attention_heads": 3, "num_hidden_layers": 2, "num_key_value_heads": 1,
                      "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_scaling": None, "rope_theta": 100000,
                      "tie_word_embeddings": True, "torch_dtype": "bfloat16", "transformers_version": "4.42.3",
                      "use_cache": True, "vocab_size": 70},
    }
    # Minimal configs: every other key takes the transformers default.
    hub_style.update({
        "gpt2_defaults": {"model_type": "gpt2"},
        "gptj_defaults": {"model_type": "gptj", "n_embd": 64, "n_head": 4, "n_layer": 1, "rotary_dim": 8,
                          "vocab_size": 100},
        "gpt_neox_defaults": {"model_type": "gpt_neox", "hidden_size": 64, "num_attention_heads": 4,
                              "num_hidden_layers": 1, "intermediate_size": 128, "vocab_size": 100},
        "llama_defaults": {"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4,
                           "num_hidden_layers": 1, "intermediate_size": 128, "vocab_size": 100},
        "mistral_defaults": {"model_type": "mistral", "hidden_size": 64, "num_attention_heads": 4,
                             "num_key_value_heads": 2, "num_hidden_layers": 1, "intermediate_size": 128,
                             "vocab_size": 100, "sliding_window": None},
        "qwen2_defaults": {"model_type": "qwen2", "hidden_size": 64, "num_attention_heads": 4,
                           "num_key_value_heads": 2, "num_hidden_layers": 1, "intermediate_size": 128,
                           "vocab_size": 100},
        "qwen3_defaults": {"model_type": "qwen3", "hidden_size": 64, "num_attention_heads": 4,
                           "num_key_value_heads": 2, "num_hidden_layers": 1, "intermediate_size": 128,
                           "vocab_size": 100},
        "phi3_defaults": {"model_type": "phi3", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 1,
                          "intermediate_size": 128, "vocab_size": 100, "pad_token_id": 0},
        "olmo2_defaults": {"model_type": "olmo2", "hidden_size": 64, "num_attention_heads": 4,
                           "num_hidden_layers": 1, "intermediate_size": 128, "vocab_size": 100},
        "gemma2_defaults": {"model_type": "gemma2", "hidden_size": 64, "num_attention_heads": 4,
                            "num_key_value_heads": 2, "head_dim": 16, "num_hidden_layers": 2,
                            "intermediate_size": 128, "vocab_size": 100},
        # A 4.x-era Gemma 3 text config: top-level rope_theta / rope_local_base_freq and the pattern.
        "gemma3_hub": {"architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text", "hidden_size": 64,
                       "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 16,
                       "num_hidden_layers": 4, "intermediate_size": 128, "vocab_size": 100,
                       "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0, "rope_scaling": None,
                       "sliding_window": 512, "sliding_window_pattern": 2, "query_pre_attn_scalar": 16,
                       "hidden_activation": "gelu_pytorch_tanh", "transformers_version": "4.50.0"},
    })
    expected = {}
    classes = {"gpt2": tf.GPT2Config, "gptj": tf.GPTJConfig, "gpt_neox": tf.GPTNeoXConfig, "llama": tf.LlamaConfig,
               "mistral": tf.MistralConfig, "qwen2": tf.Qwen2Config, "qwen3": tf.Qwen3Config,
               "olmo2": tf.Olmo2Config, "gemma2": tf.Gemma2Config, "gemma3_text": tf.Gemma3TextConfig,
               "phi3": tf.Phi3Config}
    for name, config in tiny.items():
        config.save_pretrained(CONFIG / name)  # writes only the values that differ from the defaults
    for name, raw in hub_style.items():
        (CONFIG / name).mkdir(parents=True, exist_ok=True)
        (CONFIG / name / "config.json").write_text(json.dumps(raw, indent=2) + "\n")
    for name in list(tiny) + list(hub_style):
        raw = json.loads((CONFIG / name / "config.json").read_text())
        model_type = raw["model_type"]
        config = classes[model_type].from_pretrained(CONFIG / name)
        fields = config_fields(config, model_type)
        torch.manual_seed(0)
        model = tf.AutoModelForCausalLM.from_config(config)
        # Count each tensor once (tied heads share the embedding) and skip non-parameter buffers.
        fields["parameter_count"] = sum(p.numel() for p in model.parameters())
        expected[name] = fields
    (CONFIG / "expected.json").write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["configs"]:  # only tests/fixtures/config
        CONFIG.mkdir(parents=True, exist_ok=True)
        write_configs()
        sys.exit(0)
    IO.mkdir(parents=True, exist_ok=True)
    CONFIG.mkdir(parents=True, exist_ok=True)
    write_quants()
    write_tiny_gpt2()
    write_smollm2_row()
    write_npy()
    write_safetensors()
    write_configs()
