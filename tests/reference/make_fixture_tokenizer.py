"""Writes tests/fixtures/lm/tokenizer.json: a byte-level BPE tokenizer whose ids fit the tiny fixture
models' 300-row embeddings, so the library's model-level functions (edits, evaluations) can be tested
on them with real text.

It is tests/fixtures/tok/tiny_gpt2/tokenizer.json (itself written by HF `tokenizers`) cut to its first
299 ids: <|endoftext|> (0), the 256 byte tokens (1-256) and the first 42 merges (257-298), in rank
order, so every kept merge yields a kept token. Run from the repository root with any Python 3."""
import json

SOURCE = "tests/fixtures/tok/tiny_gpt2/tokenizer.json"
TARGET = "tests/fixtures/lm/tokenizer.json"
LIMIT = 299  # ids 0..298; the models have 300 embedding rows

with open(SOURCE, encoding="utf-8") as f:
    doc = json.load(f)
vocab = {token: i for token, i in doc["model"]["vocab"].items() if i < LIMIT}
merges = [m for m in doc["model"]["merges"] if "".join(m) in vocab]
assert len(vocab) == LIMIT and all(a in vocab and b in vocab for a, b in merges)
doc["model"]["vocab"] = vocab
doc["model"]["merges"] = merges
doc["added_tokens"] = [t for t in doc["added_tokens"] if t["id"] < LIMIT]
with open(TARGET, "w", encoding="utf-8") as f:
    json.dump(doc, f, ensure_ascii=False, indent=1)
    f.write("\n")
print(f"{TARGET}: {len(vocab)} ids, {len(merges)} merges")
