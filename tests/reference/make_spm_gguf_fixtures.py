#!/usr/bin/env python3
"""Writes the SentencePiece GGUF fixtures of tests/tok/spm_gguf_test.cpp: the gemma and spm
vocabularies of tests/fixtures/tok_families (make_family_tokenizer_fixtures.py) as the metadata of
vocabulary-only GGUF files with tokenizer.ggml.model = "llama", and the ids llama.cpp's own tokenizer
gives on the shared strings (the second reference, next to HF's <style>_expected.jsonl).

What the converters write, and what is written here:
  tokenizer.ggml.tokens      the tokenizer.json vocabulary by id. The fixture left out <0x41> and
                             <0xE2> (ids 69 and 230): gemma.gguf holds "<missing_N>" of type 5
                             (unused) there, so that characters needing those bytes still have no
                             byte token (HF gives <unk>, llama.cpp throws); spm.gguf holds the byte
                             tokens, as a real vocabulary does, so llama.cpp answers on every string.
  tokenizer.ggml.scores      llama.cpp's convert_hf_to_gguf copies SentencePiece's scores from
                             tokenizer.model; these BPE fixtures have none, so a token made by merge
                             rank r scores -r (earlier merges first, HF's order), a single character
                             scores below every merge, control, unknown and byte tokens 0 (as
                             SentencePiece writes them).
  tokenizer.ggml.token_type  3 (control) for special added tokens, 2 for <unk>, 6 for <0xNN>, 5 for
                             the placeholders, else 1.
  tokenizer.ggml.add_space_prefix  false for gemma (Gemma's GGUFs), true for spm (Llama-2's layout).
  tokenizer.ggml.add_bos_token / add_eos_token  false, so that encode adds nothing.
  bos/eos/unknown/padding ids from the special tokens.

Files, in tests/fixtures/tok_families/:
  <style>.gguf                 the vocabulary (gemma, spm).
  <style>_gguf_llamacpp.jsonl  one line per string of strings.jsonl: {"i": ids} from llama.cpp
                               (llama_tokenize with add_special=false, parse_special=true), or
                               {"x": reason} where llama.cpp throws (a character with neither a
                               token nor all its byte tokens).

Run from the repository root, with LLAMA_CPP pointing at a built llama.cpp checkout (build/bin
holding libllama.so; the committed files: llama.cpp c392e509, sources of 2025-02-20):
  LLAMA_CPP=~/llama.cpp .venv/bin/python tests/reference/make_spm_gguf_fixtures.py
It compiles llama_cpp_tokenize.cpp (next to this script) with g++ into a temporary folder.
Needs: gguf (the committed files: gguf 0.19.0), tokenizers, g++ and llama.cpp.
"""
import json
import os
import pathlib
import struct
import subprocess
import sys
import tempfile

import gguf
from tokenizers import Tokenizer

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests/fixtures/tok_families"
# style: (architecture, add_space_prefix, byte tokens complete)
LAYOUTS = {"gemma": ("gemma", False, False), "spm": ("llama", True, True)}


def gguf_fields(style, complete_bytes):
    document = json.loads((FIXTURES / style / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = dict(document["model"]["vocab"])
    added = {token["id"]: token for token in document["added_tokens"]}
    for token in added.values():
        vocab.setdefault(token["content"], token["id"])
    size = max(vocab.values()) + 1
    tokens = [None] * size
    for token, token_id in vocab.items():
        tokens[token_id] = token
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in document["model"]["merges"]]
    made_by = {}
    for rank, (left, right) in enumerate(merges):
        made_by.setdefault(left + right, rank)
    scores, types = [], []
    for token_id, token in enumerate(tokens):
        if token is None and complete_bytes:
            tokens[token_id] = f"<0x{token_id - 4:02X}>"
            scores.append(0.0)
            types.append(6)
        elif token is None:
            tokens[token_id] = f"<missing_{token_id}>"
            scores.append(0.0)
            types.append(5)
        elif token_id in added and added[token_id]["special"]:
            scores.append(0.0)
            types.append(2 if token == "<unk>" else 3)
        elif token.startswith("<0x") and len(token) == 6:
            scores.append(0.0)
            types.append(6)
        elif token in made_by:
            scores.append(-float(made_by[token]))
            types.append(1)
        else:
            scores.append(-float(len(merges) + token_id))
            types.append(1)
    return tokens, scores, types


def write_gguf(style, path):
    architecture, add_space_prefix, complete_bytes = LAYOUTS[style]
    tokens, scores, types = gguf_fields(style, complete_bytes)
    writer = gguf.GGUFWriter(str(path), architecture)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(tokens.index("<bos>"))
    writer.add_eos_token_id(tokens.index("<eos>"))
    writer.add_unk_token_id(tokens.index("<unk>"))
    writer.add_pad_token_id(tokens.index("<pad>"))
    writer.add_add_space_prefix(add_space_prefix)
    writer.add_add_bos_token(False)
    writer.add_add_eos_token(False)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def llama_cpp_ids(tool, gguf_path, strings):
    payload = b"".join(struct.pack("<Q", len(s.encode())) + s.encode() for s in strings)
    result = subprocess.run([tool, str(gguf_path)], input=payload, capture_output=True, check=True)
    lines = result.stdout.decode().split("\n")[:-1]
    assert len(lines) == len(strings), (len(lines), result.stderr.decode()[-2000:])
    return [{"x": line[1:]} if line.startswith("!") else {"i": [int(t) for t in line.split()]} for line in lines]


def main():
    llama_cpp = pathlib.Path(os.environ["LLAMA_CPP"]).expanduser()
    strings = [json.loads(line) for line in (FIXTURES / "strings.jsonl").read_text(encoding="utf-8").split("\n") if line]
    compact = {"ensure_ascii": False, "separators": (",", ":")}
    with tempfile.TemporaryDirectory() as temp:
        tool = pathlib.Path(temp) / "llama_cpp_tokenize"
        lib = llama_cpp / "build/bin"
        subprocess.run(["g++", "-std=c++17", "-O1", str(pathlib.Path(__file__).with_name("llama_cpp_tokenize.cpp")),
                        "-I", str(llama_cpp / "include"), "-I", str(llama_cpp / "ggml/include"), "-L", str(lib),
                        "-lllama", f"-Wl,-rpath,{lib}", "-o", str(tool)], check=True)
        for style in LAYOUTS:
            gguf_path = FIXTURES / f"{style}.gguf"
            write_gguf(style, gguf_path)
            records = llama_cpp_ids(tool, gguf_path, strings)
            out = FIXTURES / f"{style}_gguf_llamacpp.jsonl"
            out.write_text("".join(json.dumps(r, **compact) + "\n" for r in records), encoding="utf-8")
            # Where the two references differ (HF's expected ids cover the first strings only for spm).
            hf = Tokenizer.from_file(str(FIXTURES / style / "tokenizer.json"))
            refused = sum("x" in r for r in records)
            # HF's fixture vocabulary lacks two byte tokens; compare where it needs neither.
            hf_ids = [hf.encode(s, add_special_tokens=False).ids for s in strings]
            differ = sum("i" in r and 3 not in ids and r["i"] != ids for ids, r in zip(hf_ids, records))
            print(f"{style}: {len(records)} strings, llama.cpp refused {refused}, differs from HF on {differ}; "
                  f"{gguf_path.stat().st_size} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
