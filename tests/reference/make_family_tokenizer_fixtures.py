#!/usr/bin/env python3
"""Writes the fixtures of tests/tok/family_tokenizers_test.cpp with HF `tokenizers` (the reference).

One small tokenizer.json per pipeline style of the model families of issue 21, trained here on a
small multilingual corpus (no hub access), and the ids and offsets HF gives on the same >= 1,000
strings:

  qwen2   NFC normalizer; Split(Qwen2's regex: single digits) + ByteLevel(use_regex=false);
          <|endoftext|>, <|im_start|>, <|im_end|> special added tokens (Qwen2, Qwen2.5, Qwen3).
  llama3  Split(Llama-3's regex: digits by three) + ByteLevel(use_regex=false), ignore_merges
          (Llama-3, OLMo 2's cl100k-style pattern is the same).
  neox    NFC normalizer; ByteLevel(use_regex=true); ByteLevel post-processor with trim_offsets;
          a whitespace-run added token with normalized=true (GPT-NeoX, Pythia).
  gemma   SentencePiece-style BPE: normalizer Replace(" " -> "▁"), no pre-tokenizer, byte_fallback
          with <0xNN> tokens, fused <unk>; decoder Replace/ByteFallback/Fuse (Gemma 2, Gemma 3).
  spm     the same vocabulary with Prepend("▁") before the Replace and a Strip decoder (Llama-2 and
          Phi-3's tokenizer.json layout).
  metaspace        the same with no normalizer but a Metaspace pre-tokenizer (prepend_scheme
                   "first", split false: Llama-2-style files written by recent transformers).
  metaspace_split  Metaspace with prepend_scheme "always" and split true (older files).

Files, in tests/fixtures/tok_families/:
  strings.jsonl           one JSON string per line: the test texts, shared by every style.
  <style>/tokenizer.json  the tokenizer.
  <style>_expected.jsonl  one line per string, in order: {"i": ids, "o": offsets, "d": decode}.
                          Offsets (code points) are coded short to keep the files small: a string
                          with one entry per token, the digit L when the token starts where the
                          previous one ended (0 for the first) and spans L <= 9 code points, else
                          "[G:L]" with G = start - previous end (may be negative). "d" is only
                          written when HF's decode(ids) is not the text itself.
  The spm and metaspace styles are checked on the first OTHER_STRING_COUNT strings only (they share
  gemma's model).
  special_expected.jsonl  the first SPECIAL_STRING_COUNT strings again, encoded with
                          add_special_tokens=True by the styles with a TemplateProcessing
                          post-processor (gemma and llama3 as their families write it, "<bos> $A";
                          metaspace_split with an EOS suffix too, "<bos> $A <eos>"): one line per
                          style and string, {"s": style, "k": string index, "i": ids, "o": offsets as
                          [start, end] pairs}. The _expected files above never add special tokens.

Run from the repository root: .venv/bin/python tests/reference/make_family_tokenizer_fixtures.py
Needs: tokenizers (the committed files: tokenizers 0.23.3).
"""
import json
import pathlib
import random
import shutil
import sys
import unicodedata

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_tokenizer_fixtures import (CODE, CONTRACTIONS, EMOJI, LLAMA3_SPLIT, NUMERIC_SAMPLES, SCRIPTS,
                                     TINY_CORPUS, WHITESPACE, WORDS, random_code_point, random_word)

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests/fixtures/tok_families"
SEED = 20261206
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
               r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
STRING_COUNT = 1000
STYLES_ON_EVERY_STRING = ["qwen2", "llama3", "neox", "gemma"]
OTHER_STRING_COUNT = 300
SPECIAL_STRING_COUNT = 50

# Accented letters both ways round for NFC: precomposed, decomposed, decomposed with two marks in
# either order (canonical reordering), Hangul syllables as conjoining jamo, and singletons that NFC
# replaces (Angstrom and Ohm signs, U+0344) or leaves decomposed (composition exclusions: U+0958).
BASES = "aeiouAEIOUnNcCyYsSzZwW"
MARKS = ["\u0300", "\u0301", "\u0302", "\u0303", "\u0308", "\u030a", "\u030c", "\u0323", "\u0327", "\u0328",
         "\u031b", "\u0345"]
NFC_SPECIAL = ["\u212b", "\u2126", "\u0344", "\u0958", "\u0f73", "\u1100\u1161", "\u1100\u1161\u11a8",
               "\u1112\u1161\u11ab", "\u1100\u1161\u11a8\u11a8", "\u03b1\u0313\u0301\u0345", "\u00c5\u0301",
               "A\u030a", "\u0041\u0323\u0302", "\u1ea0\u0302", "\ufb01", "\u00bd", "\u2460", "\u0915\u093c",
               "\u0627\u0653", "\u05e9\u05c1\u05bc", "\u3099\u304b", "\u304b\u3099", "\u0301a", "e\u0301\u0301"]
SPECIALS = {
    "qwen2": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
    "llama3": ["<|begin_of_text|>", "<|eot_id|>"],
    "neox": ["<|endoftext|>", "<|padding|>"],
    "gemma": ["<start_of_turn>", "<end_of_turn>"],
}
UPPER_CONTRACTIONS = ["I'M", "YOU'RE", "THEY'LL", "WE'VE", "HE'D", "IT'S", "DON'T", "'S", "'Re", "'lL", "'D",
                      "O'NEIL'S", "'ſ", "'ſt", "x'S'T"]


def weighted(rng, choices):
    """Calls one of the (weight, function) choices, drawn with the weights (which sum to 1)."""
    draw = rng.random()
    for weight, function in choices:
        if draw < weight:
            return function()
        draw -= weight
    return choices[-1][1]()


def accented_word(rng):
    choices = [
        (0.3, lambda: rng.choice(BASES)),
        (0.25, lambda: unicodedata.normalize("NFC", rng.choice(BASES) + rng.choice(MARKS))),
        (0.25, lambda: rng.choice(BASES) + rng.choice(MARKS)),
        (0.1, lambda: rng.choice(BASES) + "".join(rng.sample(MARKS, 2))),
        (0.1, lambda: rng.choice(NFC_SPECIAL)),
    ]
    return "".join(weighted(rng, choices) for _ in range(rng.randint(1, 6)))


def make_strings():
    rng = random.Random(SEED)
    specials = sorted({token for tokens in SPECIALS.values() for token in tokens})
    out = ["", " ", "  ", "\n", "a", "Hello world", " Hello world", "HELLO WORLD", "I'M HERE, YOU'RE THERE",
           "e\u0301", "\u00e9", "cafe\u0301 caf\u00e9", "\u1100\u1161\u11a8", "1234567", "  x  ", "x\r\ny",
           "\u00a0\u00a0x", "<|im_start|>user\nHi<|im_end|>", "<start_of_turn>model\n", "▁x ▁", "<0x41>"]
    for alphabet in SCRIPTS.values():
        for _ in range(10):
            words = [random_word(rng, alphabet, 1, 6) for _ in range(rng.randint(1, 4))]
            out.append(rng.choice([" ", " ", "", ", ", "\n"]).join(words) + rng.choice(["", ".", " ", "!"]))
    for _ in range(120):
        words = [accented_word(rng) for _ in range(rng.randint(1, 4))]
        out.append(rng.choice([" ", " ", "", "-", "\n"]).join(words))
    for _ in range(70):
        pieces = [rng.choice(EMOJI) for _ in range(rng.randint(1, 3))]
        out.append(rng.choice(["", "I ", "ok "]) + rng.choice(["", " ", "\u200d"]).join(pieces))
    for _ in range(70):
        parts = [rng.choice(NUMERIC_SAMPLES) if rng.random() < 0.5 else str(rng.randint(0, 10 ** rng.randint(1, 12)))
                 for _ in range(rng.randint(1, 3))]
        out.append(rng.choice(["", "In ", "x", " "]) + rng.choice([" ", "", ",", "-"]).join(parts))
    for _ in range(90):
        pieces = []
        for _ in range(rng.randint(1, 4)):
            pieces.append(rng.choice(WORDS) if rng.random() < 0.5 else "")
            pieces.append("".join(rng.choice(WHITESPACE) for _ in range(rng.randint(1, 3))))
        out.append("".join(pieces))
    for _ in range(70):
        out.append(" ".join(rng.choice(WORDS + CONTRACTIONS + UPPER_CONTRACTIONS) for _ in range(rng.randint(1, 5))))
    for _ in range(70):
        parts = []
        for _ in range(rng.randint(1, 3)):
            parts.append(rng.choice(specials + ["<|im_sta", "< |im_end|>", "<start_of", "<<|endoftext|>>"]))
            parts.append(rng.choice(["", " ", "\n", "Hi", " there", "user\n", "42", "  "]))
        out.append("".join(parts))
    out.extend(CODE)
    for _ in range(40):
        snippet = rng.choice(CODE)
        start = rng.randint(0, len(snippet) - 1)
        out.append(snippet[start:start + rng.randint(3, 30)])
    for _ in range(80):
        out.append("".join(random_code_point(rng) for _ in range(rng.randint(1, 10))))
    generators = [
        lambda: random_word(rng, SCRIPTS[rng.choice(list(SCRIPTS))], 1, 5),
        lambda: accented_word(rng),
        lambda: rng.choice(NUMERIC_SAMPLES),
        lambda: rng.choice(WHITESPACE),
        lambda: rng.choice(CONTRACTIONS + UPPER_CONTRACTIONS),
        lambda: rng.choice(EMOJI),
        lambda: rng.choice(specials),
        lambda: rng.choice(WORDS),
        lambda: random_code_point(rng),
    ]
    while len(out) < STRING_COUNT:
        out.append("".join(rng.choice(generators)() for _ in range(rng.randint(2, 6))))
    return out


def training_corpus():
    rng = random.Random(SEED + 1)
    choices = [
        (0.45, lambda: rng.choice(WORDS)),
        (0.25, lambda: random_word(rng, SCRIPTS[rng.choice(list(SCRIPTS))], 1, 5)),
        (0.1, lambda: accented_word(rng)),
        (0.1, lambda: rng.choice(NUMERIC_SAMPLES)),
        (0.1, lambda: rng.choice(CONTRACTIONS + EMOJI)),
    ]
    lines = list(TINY_CORPUS)
    for _ in range(1500):
        words = [weighted(rng, choices) for _ in range(rng.randint(3, 10))]
        lines.append(" ".join(words) + rng.choice(["", ".", "\n", "  "]))
    return lines


def byte_level(pre_tokenizer, special_tokens, normalizer=None, vocab_size=900):
    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=special_tokens,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(training_corpus(), trainer=trainer)
    return tokenizer


def sentencepiece_bpe(layout):
    """A Gemma-style BPE: vocabulary = specials, the 256 <0xNN> byte tokens, then what the trainer
    learnt from the corpus with spaces spelled "▁". Characters seen fewer than 20 times are taken out
    of the corpus first (the trainer's limit_alphabet breaks ties differently from run to run), so
    that byte fallback and <unk> both happen."""
    corpus = training_corpus()
    counts = {}
    for line in corpus:
        for c in line:
            counts[c] = counts.get(c, 0) + 1
    corpus = ["".join(c for c in line if counts[c] >= 20) for line in corpus]
    trainer_model = Tokenizer(models.BPE())
    trainer_model.normalizer = normalizers.Replace(" ", "▁")
    trainer = trainers.BpeTrainer(vocab_size=700, min_frequency=2, show_progress=False)
    trainer_model.train_from_iterator(corpus, trainer=trainer)
    learnt = json.loads(trainer_model.to_str())["model"]
    specials = ["<pad>", "<eos>", "<bos>", "<unk>"]
    vocab = {token: i for i, token in enumerate(specials)}
    for byte in range(256):
        vocab[f"<0x{byte:02X}>"] = len(vocab)
    for token, _ in sorted(learnt["vocab"].items(), key=lambda item: item[1]):
        if token not in vocab:
            vocab[token] = len(vocab)
    # Drop the byte tokens of 0x41 ('A') and 0xE2, so that some characters have neither a token
    # nor every byte token and become <unk> (fused when adjacent).
    del vocab["<0x41>"], vocab["<0xE2>"]
    merges = [tuple(merge) if isinstance(merge, list) else tuple(merge.split(" ")) for merge in learnt["merges"]]
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True,
                                     byte_fallback=True))
    steps = [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    if layout == "gemma":
        tokenizer.normalizer = normalizers.Replace(" ", "▁")
        steps = steps[:3]
    elif layout == "spm":
        tokenizer.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    elif layout == "metaspace":
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    else:
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Sequence(steps)
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    return tokenizer


def styles():
    out = {}
    qwen2 = byte_level(pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ]), SPECIALS["qwen2"], normalizers.NFC())
    qwen2.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    qwen2.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIALS["qwen2"]])
    out["qwen2"] = qwen2

    llama3 = byte_level(pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ]), SPECIALS["llama3"])
    state = json.loads(llama3.to_str())
    state["model"]["ignore_merges"] = True
    llama3 = Tokenizer.from_str(json.dumps(state))
    # Llama-3's own post-processor: ByteLevel (offsets left alone), then its BOS.
    begin = llama3.token_to_id("<|begin_of_text|>")
    llama3.post_processor = processors.Sequence([
        processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True),
        processors.TemplateProcessing(single="<|begin_of_text|> $A",
                                      pair="<|begin_of_text|> $A <|begin_of_text|>:1 $B:1",
                                      special_tokens=[("<|begin_of_text|>", begin)]),
    ])
    out["llama3"] = llama3

    neox = byte_level(pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
                      SPECIALS["neox"], normalizers.NFC())
    neox.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    neox.add_tokens([AddedToken("   ", normalized=True, special=False)])
    out["neox"] = neox

    for layout in ["gemma", "spm", "metaspace", "metaspace_split"]:
        tokenizer = sentencepiece_bpe(layout)
        if layout != "spm":
            tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIALS["gemma"]])
        bos, eos = tokenizer.token_to_id("<bos>"), tokenizer.token_to_id("<eos>")
        if layout == "gemma":  # Gemma 2 / 3's template
            tokenizer.post_processor = processors.TemplateProcessing(
                single="<bos> $A", pair="<bos> $A <bos> $B", special_tokens=[("<bos>", bos)])
        elif layout == "metaspace_split":  # not a family's: a suffix as well
            tokenizer.post_processor = processors.TemplateProcessing(
                single="<bos> $A <eos>", pair="<bos> $A <eos> $B:1 <eos>:1",
                special_tokens=[("<bos>", bos), ("<eos>", eos)])
        out[layout] = tokenizer
    return out


def coded_offsets(offsets):
    out = []
    previous_end = 0
    for start, end in offsets:
        gap, length = start - previous_end, end - start
        out.append(str(length) if gap == 0 and 0 <= length <= 9 else f"[{gap}:{length}]")
        previous_end = end
    return "".join(out)


def main():
    strings = make_strings()
    assert len(strings) >= STRING_COUNT
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    compact = {"ensure_ascii": False, "separators": (",", ":")}
    (OUT / "strings.jsonl").write_text("".join(json.dumps(text, **compact) + "\n" for text in strings),
                                       encoding="utf-8")
    special_lines = []
    for name, tokenizer in styles().items():
        (OUT / name).mkdir()
        tokenizer.save(str(OUT / name / "tokenizer.json"), pretty=False)
        lines = []
        for text in strings if name in STYLES_ON_EVERY_STRING else strings[:OTHER_STRING_COUNT]:
            encoding = tokenizer.encode(text, add_special_tokens=False)
            record = {"i": encoding.ids, "o": coded_offsets(encoding.offsets)}
            decoded = tokenizer.decode(encoding.ids, skip_special_tokens=False)
            if decoded != text:
                record["d"] = decoded
            lines.append(json.dumps(record, **compact))
        path = OUT / f"{name}_expected.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        size = path.stat().st_size + (OUT / name / "tokenizer.json").stat().st_size
        print(f"{name}: {len(lines)} strings, vocabulary {tokenizer.get_vocab_size()}, {size} bytes")
        if tokenizer.post_processor is None or "TemplateProcessing" not in tokenizer.post_processor.__getstate__().decode():
            continue
        for k, text in enumerate(strings[:SPECIAL_STRING_COUNT]):
            encoding = tokenizer.encode(text, add_special_tokens=True)
            record = {"s": name, "k": k, "i": encoding.ids, "o": [list(offset) for offset in encoding.offsets]}
            special_lines.append(json.dumps(record, **compact))
    (OUT / "special_expected.jsonl").write_text("\n".join(special_lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
