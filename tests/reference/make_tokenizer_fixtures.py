#!/usr/bin/env python3
"""Writes the tokenizer fixtures of tests/tok from HF `tokenizers` (the reference implementation).

  tests/fixtures/tok/smollm2_expected.jsonl
      >= 1,000 varied strings (fixed seed) with the ids and code-point offsets that the real SmolLM2
      tokenizer gives. That tokenizer is rebuilt here from the default GGUF's own vocabulary, merges
      and token types (read with the `gguf` package), with the pipeline of SmolLM2's tokenizer.json:
      no normalizer; pre-tokenizer Sequence[Digits(individual_digits=True),
      ByteLevel(add_prefix_space=False, use_regex=True)]; BPE without unk_token (bytes whose
      alphabet token is absent are dropped); control tokens (type 3) as special added tokens;
      untrimmed offsets. One JSON object per line: {"t": text, "i": ids, "o": [s0, e0, s1, e1, ...]}
      plus "d": HF decode(ids) when it is not the text itself (dropped bytes).
  tests/fixtures/tok/tiny_<variant>/tokenizer.json
      small byte-level BPEs trained here, one per pipeline variant (GPT-2 style with added tokens
      that strip whitespace, NeoX-style offset trimming, Llama-3 style Split + ignore_merges, split
      behaviours, an ASCII-only alphabet that drops bytes, one with a fused unk token).
  tests/fixtures/tok/tiny_expected.jsonl
      {"v": variant, "t": text, "i": ids, "o": flat offsets, "d": HF decode(ids)} for each variant.

The SmolLM2 strings are also tokenized by transformers' own GGUF loader (AutoTokenizer with
gguf_file), and every difference from the rebuilt tokenizer is printed. The run that wrote the
committed fixture (transformers 5.24.0, tokenizers 0.23.3, gguf 0.19.0) found 16 of 1,100 strings
differ, all for one reason:
  * transformers ignores tokenizer.ggml.pre = "smollm" and pre-tokenizes with GPT-2's ByteLevel
    regex alone, without SmolLM2's Digits(individual_digits) step. ASCII digits still come out the
    same (SmolLM2 has no merge that joins a digit to anything, so " 123" -> "Ġ" "1" "2" "3" either
    way), but a non-ASCII numeric character after a space ("In ①②", " ²³", " ½", " Ⅻ", " ٣٤٥")
    stays glued to the space as one GPT-2 piece, and the space merges with its first byte
    ("Ġâ" + ...), while the real pipeline isolates each numeric character and leaves "Ġ" alone.
  * Both leave offsets untrimmed (transformers' post-processor is an empty TemplateProcessing), and
    both drop the 21 bytes that have no alphabet token in this vocabulary (e.g. 0x04, 0xF1).
The C++ tokenizer follows tokenizer.ggml.pre, i.e. the real SmolLM2 pipeline.

Run from the repository root: python3 tests/reference/make_tokenizer_fixtures.py
Needs: gguf, tokenizers, transformers, and the default model in $REMEDI_HOME (~/.cache/remedi).
"""
import json
import os
import pathlib
import random
import shutil

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests/fixtures/tok"
MODEL_HOME = pathlib.Path(os.environ.get("REMEDI_HOME", pathlib.Path.home() / ".cache/remedi"))
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SEED = 20240601
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def read_gguf_tokenizer(path):
    import gguf  # here, so that make_family_tokenizer_fixtures.py can import this file without it

    reader = gguf.GGUFReader(str(path))

    def strings(key):
        field = reader.fields[key]
        return [bytes(field.parts[i]).decode("utf-8") for i in field.data]

    def ints(key):
        field = reader.fields[key]
        return [int(field.parts[i][0]) for i in field.data]

    def scalar(key):
        field = reader.fields.get(key)
        return None if field is None else field.contents()

    return {
        "model": scalar("tokenizer.ggml.model"),
        "pre": scalar("tokenizer.ggml.pre"),
        "tokens": strings("tokenizer.ggml.tokens"),
        "types": ints("tokenizer.ggml.token_type"),
        "merges": strings("tokenizer.ggml.merges"),
    }


def smollm2_tokenizer(meta):
    assert meta["model"] == "gpt2" and meta["pre"] == "smollm", (meta["model"], meta["pre"])
    vocab = {token: i for i, token in enumerate(meta["tokens"])}
    merges = [tuple(merge.split(" ")) for merge in meta["merges"]]
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, dropout=None, unk_token=None, fuse_unk=False,
                                     byte_fallback=False))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])
    tokenizer.post_processor = processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    control = [token for token, kind in zip(meta["tokens"], meta["types"]) if kind == 3]
    tokenizer.add_special_tokens([AddedToken(token, special=True, normalized=False) for token in control])
    return tokenizer, control


# ---------------------------------------------------------------------------------------------
# Test strings

SCRIPTS = {
    "latin": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéèêëàâäôöùûüçñßøåæœÉÀÇ",
    "greek": "αβγδεζηθικλμνξοπρστυφχψωΑΒΓΔΕΘΛΞΠΣΦΨΩάέήίόύώ",
    "cyrillic": "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЭЮЯіїєґ",
    "arabic": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "hebrew": "אבגדהוזחטיכלמנסעפצקרשת",
    "devanagari": "अआइईउऊएऐओऔकखगघचछजझटठडढणतथदधनपफबभमयरलवशषसह्ािीुूेैोौं",
    "thai": "กขคงจฉชซญดตถทธนบปผพฟภมยรลวศษสหอฮะาิีึืุูเแโใไ่้๊๋",
    "khmer": "កខគឃងចឆជឈញដឋឌឍណតថទធនបផពភមយរលវសហឡអាិីឹឺុូួើឿៀេែៃោៅំះ្",
    "cjk": "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坐集编宝谈府拉黑且随格尽剑讲布杀微怕母调局根曾准团段终乐切级克精哪官示冷域读",
    "hangul": "가나다라마바사아자차카타파하한국어텍스트입니다안녕하세요",
    "kana": "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをんアイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンー",
}

NUMERIC_SAMPLES = ["0", "7", "42", "123", "2024", "3.14159", "1,000,000", "-17", "+33 6 12 34 56 78", "1e-9",
                   "0x1F", "007", "12345678901234567890", "٣٤٥", "१२३", "１２３", "²³", "½", "Ⅻ", "①②", "4½",
                   "x²", "10³", "९", "𝟙𝟚", "3rd", "v2.0.1", "$99.99", "50%", "12:30", "2024-06-01"]

WHITESPACE = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", " \n ", "\n \n", "\u00a0", "\u3000",
              "\u2028", "\u2009", " \t ", "\n\n\n", "\x0b", "\x0c", "    "]

CONTRACTIONS = ["I'm", "you're", "they'll", "we've", "he'd", "it's", "don't", "can't", "'S", "'RE", "We'Ve",
                "a'lL", "'tis", "o'clock", "rock'n'roll", "’s", "I’m", "''", "'''", "'"]

EMOJI = ["😀", "👍", "👍🏽", "❤️", "🇺🇸", "🇫🇷", "👨‍👩‍👧‍👦", "🏳️‍🌈", "👩🏽‍💻", "1️⃣", "#️⃣", "🧑‍🤝‍🧑",
         "🦀", "🤖", "🙂🙃", "✨", "☕", "🐈‍⬛", "👁️‍🗨️", "😶‍🌫️"]

CODE = [
    "def f(x):\n    return x ** 2  # square\n",
    "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    '{"key": [1, 2, 3], "nested": {"a": null}}',
    "<div class=\"x\">Hello &amp; bye</div>",
    "SELECT * FROM users WHERE id = 42;",
    "if x != None and y >= 3:\n\tprint(f\"{x=}\")",
    "std::vector<std::int64_t> ids{1, 2};",
    "#include <stdio.h>\nint main(void) { return 0; }",
    "$ echo $HOME && ls -la | grep '.txt'",
    "λx. x + 1 // → ∀y ∈ ℕ",
    "a_b-c.d/e\\f",
    "```python\nprint('hi')\n```",
]

SPECIAL_SNIPPETS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<repo_name>", "<file_sep>", "<filename>",
                    "<gh_stars>", "<jupyter_code>", "<empty_output>", "<|im_start|>user\n",
                    "<|im_start|><|im_end|>", "<|im_sta", "<|im_end", "< |im_end|>", "<<|im_end|>>"]

WORDS = ["the", "Eiffel", "Tower", "is", "in", "Paris", "Danielle", "Darrieux", "mother", "tongue", "English",
         "batman", "night", "cool", "language", "model", "hidden", "state", "editing", "knowledge", "Toko",
         "Yasuda", "plays", "guitar", "occupation", "nurse", "professor", "New", "York", "Mount", "Everest"]


def random_word(rng, alphabet, low=1, high=9):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))


def random_code_point(rng):
    """Any valid code point (no surrogates), biased toward the BMP; includes unassigned planes."""
    plane = rng.random()
    if plane < 0.55:
        cp = rng.randint(0x20, 0x2FFF)
    elif plane < 0.8:
        cp = rng.randint(0x3000, 0xFFFD)
    elif plane < 0.9:
        cp = rng.randint(0x10000, 0x1FFFF)
    elif plane < 0.95:
        cp = rng.randint(0x0, 0x1F)
    else:
        cp = rng.randint(0x20000, 0x10FFFF)
    if 0xD800 <= cp <= 0xDFFF:
        cp = 0xFFFD
    return chr(cp)


def make_strings():
    rng = random.Random(SEED)
    out = ["", " ", "a", "Hello world", " Hello world", "Hello World", "HELLO WORLD", "   leading", "trailing   ",
           "a" * 300, "ab" * 200, "The batman is the night.", "The batman is the night. The batman is cool.",
           "Danielle Darrieux's mother tongue is English", "\x04x\x06y\x13", "tab\there", "x\u0085y"]
    for name, alphabet in SCRIPTS.items():
        for _ in range(25):
            words = [random_word(rng, alphabet) for _ in range(rng.randint(1, 6))]
            sep = rng.choice([" ", " ", " ", ", ", "。", "\n", "-", ""])
            out.append(sep.join(words) + rng.choice(["", ".", "!", "?", " "]))
    for _ in range(90):
        parts = [rng.choice(NUMERIC_SAMPLES) for _ in range(rng.randint(1, 4))]
        glue = rng.choice([" ", "", ", ", " and ", "-", "/"])
        out.append(rng.choice(["", "In ", "Total: ", "x"]) + glue.join(parts))
    for _ in range(40):
        out.append(str(rng.randint(0, 10 ** rng.randint(1, 40))))
    for _ in range(90):
        pieces = []
        for _ in range(rng.randint(1, 5)):
            pieces.append(rng.choice(WORDS) if rng.random() < 0.6 else "")
            pieces.append(rng.choice(WHITESPACE))
        out.append("".join(pieces))
    for _ in range(70):
        sentence = " ".join(rng.choice(WORDS + CONTRACTIONS) for _ in range(rng.randint(2, 7)))
        out.append(sentence)
    for _ in range(90):
        pieces = [rng.choice(EMOJI) for _ in range(rng.randint(1, 4))]
        glue = rng.choice(["", " ", " and ", "\n"])
        out.append(rng.choice(["", "I ", "ok "]) + glue.join(pieces) + rng.choice(["", " !", "."]))
    for snippet in CODE:
        out.append(snippet)
    for _ in range(50):
        a, b = rng.sample(CODE, 2)
        out.append(a[: rng.randint(5, len(a))] + rng.choice(WHITESPACE) + b[: rng.randint(3, len(b))])
    for _ in range(80):
        parts = []
        for _ in range(rng.randint(1, 4)):
            parts.append(rng.choice(SPECIAL_SNIPPETS))
            parts.append(rng.choice(["", " ", "\n", "Hi", " there", "system", "assistant\n", "42"]))
        out.append("".join(parts))
    for _ in range(150):
        out.append("".join(random_code_point(rng) for _ in range(rng.randint(1, 24))))
    generators = [
        lambda: random_word(rng, SCRIPTS[rng.choice(list(SCRIPTS))]),
        lambda: rng.choice(NUMERIC_SAMPLES),
        lambda: rng.choice(WHITESPACE),
        lambda: rng.choice(CONTRACTIONS),
        lambda: rng.choice(EMOJI),
        lambda: rng.choice(SPECIAL_SNIPPETS),
        lambda: rng.choice(WORDS),
        lambda: random_code_point(rng),
    ]
    while len(out) < 1100:
        out.append("".join(rng.choice(generators)() for _ in range(rng.randint(2, 10))))
    return out


# ---------------------------------------------------------------------------------------------
# SmolLM2


def flat_offsets(offsets):
    return [value for pair in offsets for value in pair]


def write_smollm2_fixture(strings):
    model_path = MODEL_HOME / MODEL_FILE
    meta = read_gguf_tokenizer(model_path)
    tokenizer, control = smollm2_tokenizer(meta)
    lines = []
    for text in strings:
        encoding = tokenizer.encode(text, add_special_tokens=False)
        record = {"t": text, "i": encoding.ids, "o": flat_offsets(encoding.offsets)}
        decoded = tokenizer.decode(encoding.ids, skip_special_tokens=False)
        if decoded != text:
            record["d"] = decoded
        lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
    path = OUT / "smollm2_expected.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{path}: {len(lines)} strings, {path.stat().st_size} bytes, {len(control)} control tokens")
    compare_with_transformers(tokenizer, strings, model_path)


def compare_with_transformers(tokenizer, strings, model_path):
    from transformers import AutoTokenizer

    loaded = AutoTokenizer.from_pretrained(str(model_path.parent), gguf_file=model_path.name)
    backend = loaded.backend_tokenizer
    print(f"transformers GGUF tokenizer: pre_tokenizer={backend.pre_tokenizer} "
          f"post_processor={backend.post_processor} normalizer={backend.normalizer}")
    differing = []
    for text in strings:
        ours = tokenizer.encode(text, add_special_tokens=False)
        theirs = loaded(text, add_special_tokens=False, return_offsets_mapping=True)
        same_ids = ours.ids == theirs["input_ids"]
        same_offsets = [tuple(o) for o in ours.offsets] == [tuple(o) for o in theirs["offset_mapping"]]
        if not (same_ids and same_offsets):
            differing.append((text, ours.ids, theirs["input_ids"], same_ids))
    print(f"transformers vs rebuilt tokenizer: {len(differing)} of {len(strings)} strings differ")
    for text, ours_ids, their_ids, same_ids in differing[:15]:
        print(f"  {text!r}: rebuilt {ours_ids} transformers {their_ids}" + ("" if not same_ids else " (offsets)"))


# ---------------------------------------------------------------------------------------------
# Tiny tokenizer.json variants

TINY_CORPUS = [
    "The Eiffel Tower is in Paris. The batman is the night; the batman is cool!",
    "I'm sure they'll say it's fine, don't you think? We've seen it before.",
    "Numbers: 12345, 3.14159 and 1,000,000 - plus 42 apples for 7 people.",
    "def square(x):\n    return x * x  # tab\there\n",
    "Café naïve résumé — Ωμέγα Привет мир 日本語 😀 👍🏽",
    "a-b-c well-known state-of-the-art e-mail",
] * 20


def train_tiny(alphabet_full, special_tokens, vocab_size=400):
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    initial = pre_tokenizers.ByteLevel.alphabet() if alphabet_full else []
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=special_tokens,
                                  initial_alphabet=initial, show_progress=False)
    tokenizer.train_from_iterator(TINY_CORPUS, trainer=trainer)
    return tokenizer


def tiny_variants():
    variants = {}

    gpt2 = train_tiny(True, ["<|endoftext|>"])
    gpt2.post_processor = processors.ByteLevel(add_prefix_space=True, trim_offsets=False)
    gpt2.add_tokens([AddedToken("<sep>", lstrip=True, rstrip=True, normalized=False, special=False),
                     AddedToken("[MASK]", lstrip=True, normalized=True, special=True),
                     AddedToken("<sep>x", normalized=False, special=False)])
    variants["gpt2"] = gpt2

    neox = train_tiny(True, ["<|endoftext|>", "<|padding|>"])
    neox.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=True)
    variants["trim"] = neox

    llama = train_tiny(True, ["<|begin_of_text|>", "<|eot_id|>"])
    state = json.loads(llama.to_str())
    state["model"]["ignore_merges"] = True
    llama = Tokenizer.from_str(json.dumps(state))
    llama.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    llama.post_processor = processors.Sequence([
        processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", special_tokens=[("<|begin_of_text|>", 0)]),
    ])
    variants["llama3"] = llama

    splits = train_tiny(True, ["<|endoftext|>"])
    splits.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split("-", behavior="merged_with_next"),
        pre_tokenizers.Split(Regex(r"[,;]"), behavior="merged_with_previous"),
        pre_tokenizers.Split(Regex(r"\s+"), behavior="removed"),
        pre_tokenizers.Split(Regex(r"[aeiou]"), behavior="contiguous", invert=True),
        pre_tokenizers.Digits(individual_digits=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    variants["splits"] = splits

    ascii_only = train_tiny(False, ["<|endoftext|>"])
    ascii_only.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    variants["drop"] = ascii_only

    unk = train_tiny(False, ["<unk>", "<|endoftext|>"])
    state = json.loads(unk.to_str())
    state["model"]["unk_token"] = "<unk>"
    state["model"]["fuse_unk"] = True
    variants["unk"] = Tokenizer.from_str(json.dumps(state))
    return variants


TINY_STRINGS = [
    "", "The batman is the night.", "Hello  world ", "  leading and trailing  ", "I'm sure they'll say it's fine",
    "Numbers 12345 and 3.14159 and 1,000,000", "x<|endoftext|>y", "a <sep> b", "a<sep>b", "a <sep>x b",
    "a  <sep>  <sep>  b", "[MASK] and  [MASK]", "well-known state-of-the-art", "a, b; c ,d", "Café naïve résumé",
    "Привет мир", "日本語のテキスト", "😀 👍🏽 🇺🇸", "def f(x):\n\treturn x\n", "\n\n  \t\n", "ÀÁÂ ÃÄÅ",
    "Ωμέγα 42", "a\x04b\x06c", "<|begin_of_text|>Hi<|eot_id|>", "<|padding|><|padding|>x", "ab😀cd 😀😀",
    "ééé aaa", " ²³ ½", "rock'n'roll", "Ünïcödé-tëxt", "\u00a0\u00a0x",
]


def write_tiny_fixtures():
    records = []
    for name, tokenizer in tiny_variants().items():
        folder = OUT / f"tiny_{name}"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        tokenizer.save(str(folder / "tokenizer.json"))
        for text in TINY_STRINGS:
            encoding = tokenizer.encode(text, add_special_tokens=False)
            records.append({"v": name, "t": text, "i": encoding.ids, "o": flat_offsets(encoding.offsets),
                            "d": tokenizer.decode(encoding.ids, skip_special_tokens=False)})
    # BOS/EOS/PAD of an HF folder come from tokenizer_config.json.
    (OUT / "tiny_llama3/tokenizer_config.json").write_text(json.dumps(
        {"bos_token": "<|begin_of_text|>", "eos_token": {"content": "<|eot_id|>"}, "pad_token": None}) + "\n")
    path = OUT / "tiny_expected.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in records) + "\n",
                    encoding="utf-8")
    print(f"{path}: {len(records)} records")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    write_tiny_fixtures()
    strings = make_strings()
    assert len(strings) >= 1000
    write_smollm2_fixture(strings)


if __name__ == "__main__":
    main()
