#!/usr/bin/env python3
"""Expected values for tests/eval (run from the repository root).

    pip install nltk scikit-learn scipy numpy
    python3 tests/reference/make_metric_vectors.py            # writes the tokenizer fixture, prints numbers
    python3 tests/reference/make_metric_vectors.py --drift    # also measures tokenizer drift on data/ (the real bios)

Writes tests/fixtures/eval/word_tokenize_vectors.json: for each text, NLTK's sentence spans (UTF-8
byte offsets), NLTK word tokens and the REMEDI fluency (weighted n-gram entropy). The sentence splitter
is NLTK's PunktSentenceTokenizer given the same parameters as the C++ one (the abbreviation list read
from src/eval/sentence_split.cpp, nothing else), so the two must agree exactly; the word rules are
NLTK's NLTKWordTokenizer (what nltk.word_tokenize applies to each sentence).

The numbers printed for F1/MCC/Pearson/TF-IDF/quantiles are pasted into tests/eval/*_test.cpp.
"""
import argparse
import json
import re
import sys
from pathlib import Path

import nltk
import numpy as np
import scipy.stats
import sklearn
from nltk.tokenize.destructive import NLTKWordTokenizer
from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef, precision_score, recall_score

ROOT = Path(__file__).resolve().parents[2]

TEXTS = [
    "",
    "   ",
    "a",
    "a a a",
    "a b " * 100,
    "Good muffins cost $3.88\nin New York.  Please buy me\ntwo of them.\nThanks.",
    "They'll save and invest more. I can't believe it's not butter!",
    "Mr. Smith went to Washington, D.C. on Jan. 5th. He met Dr. Jones there.",
    "The U.S. economy grew 3.5% in 2010. the growth was slow.",
    "J. K. Rowling wrote Harry Potter. It sold well.",
    'He said, "This is great." Then he left.',
    "She asked: 'Is it raining?' No, it was not!!! Really?! Yes.",
    "(This sentence is in parentheses.) The next one is not.",
    "Wait... what happened... I don't know.",
    "The score was 3:2, and 1,000 people watched -- a record.",
    "\u201cHello,\u201d she said. \u2018Goodbye,\u2019 he replied\u2026 The end.",
    "Danielle Darrieux's mother tongue is English. She was born in London, England.",
    "You cannot go; gonna wanna gimme lemme gotta 'tis 'twas more'n d'ye.",
    "Prices rose (see Fig. 3) e.g. in Paris, i.e. France. Next.",
    "The meeting is at 5 p.m. tomorrow. Bring snacks.",
    "An email: user@example.com #hashtag & more * stars; semicolons.",
    "Em\u2014dash and en\u2013dash, plus a - hyphen-ated word.",
    "Caf\u00e9 na\u00efve \u00c9cole. \u00dcber alles. \u0421\u043b\u043e\u0432\u043e. \u65e5\u672c\u8a9e\u3002",
    "It's 'quoted' and ''double'' and ``tex'' style.",
    "Line one.\n\nLine two\nstill two. Line three?",
    "The year 1999. 2000 was next.",
    "Number 42. nothing follows.",
    "Is it A. or B.? Choose A.",
    "He works for Apple Inc. in California. She works at I.B.M. Corp. in New York.",
    "The Eiffel Tower is in Paris. The Eiffel Tower is in Paris. The Eiffel Tower is in Paris.",
    "Ends with a quote.\" And then more.",
    "Trailing spaces.   \t ",
    "<tag> [brackets] {braces} and the end",
    "Tabs\tand\u00a0no-break spaces\u2003em space.",
    "I'M SHOUTING. YOU'LL HEAR. WE'VE WON. THEY'RE HERE. DON'T GO.",
    "A sentence.. with two dots. And ... spaced dots . . . here.",
    "x a.--the;c.!<b and a.,b. then",
    "Dr. No. 5. Mr.Smith Jr. (b. 1950). 1. first 2. Second",
    "I saw J. Bach; the 2. the end.' He said (quietly).) Then \u00abOui.\u00bb Done.",
]

TFIDF_DOCS = [
    "The cat sat on the mat.",
    "The dog sat on the log.",
    "Cats and dogs are pets; a cat is not a dog.",
    "Paris is the capital of France.",
    "\u00c9cole and caf\u00e9 in Paris",
]


def abbreviations():
    source = (ROOT / "src/eval/sentence_split.cpp").read_text()
    block = source.split("// BEGIN ABBREVIATIONS")[1].split("// END ABBREVIATIONS")[0]
    block = re.sub(r"//[^\n]*", "", block)
    return set(re.findall(r'"([^"]*)"', block))


def sentence_tokenizer():
    params = PunktParameters()
    params.abbrev_types = abbreviations()
    return PunktSentenceTokenizer(params)


def byte_offset(text, index):
    return len(text[:index].encode("utf-8"))


def fluency(tokens):
    """REMEDI's weighted n-gram entropy of one text (src/metrics.py, float32 distribution)."""
    entropies = []
    for n in (2, 3):
        counts = nltk.FreqDist(nltk.ngrams(tokens, n))
        if not counts:
            entropies.append(0.0)
            continue
        dist = np.array([c for _, c in counts.items()], dtype=np.float32)
        dist /= dist.sum()
        entropies.append(float(np.sum(-dist * np.log(dist) / np.float32(np.log(2)))))
    return float(np.mean(np.array(entropies) * np.array([2 / 3, 4 / 3])))


def tokenize(text, splitter):
    word = NLTKWordTokenizer()
    spans = list(splitter.span_tokenize(text))
    tokens = [t for b, e in spans for t in word.tokenize(text[b:e])]
    return spans, tokens


def write_tokenizer_fixture():
    splitter = sentence_tokenizer()
    vectors = []
    for text in TEXTS:
        spans, tokens = tokenize(text, splitter)
        vectors.append({
            "text": text,
            "sentences": [[byte_offset(text, b), byte_offset(text, e)] for b, e in spans],
            "tokens": tokens,
            "fluency": fluency(tokens),
        })
    out = ROOT / "tests/fixtures/eval/word_tokenize_vectors.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"nltk": nltk.__version__, "numpy": np.__version__, "abbreviations": len(abbreviations())}
    out.write_text(json.dumps({"generated_by": "tests/reference/make_metric_vectors.py", "versions": meta,
                               "vectors": vectors}, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {out.relative_to(ROOT)} ({len(vectors)} texts)")


def print_classification():
    truth = [1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 1, 0]
    pred = [1, 0, 1, 0, 1, 0, 0, 1, 1, 1, 0, 1]
    print("classification truth", truth, "pred", pred)
    print("  accuracy %.17g precision %.17g recall %.17g f1 %.17g mcc %.17g" % (
        accuracy_score(truth, pred), precision_score(truth, pred), recall_score(truth, pred),
        f1_score(truth, pred), matthews_corrcoef(truth, pred)))
    for t, p in (([0, 0, 0], [0, 0, 0]), ([1, 1, 0], [0, 0, 0]), ([1, 1, 1], [1, 1, 1])):
        print("  degenerate", t, p, "f1 %.17g mcc %.17g" % (
            f1_score(t, p, zero_division=0), matthews_corrcoef(t, p)))


def print_pearson():
    x = [-2.5, -1.0, -3.2, -0.4, -5.0]
    y = [-2.0, -1.5, -2.9, -0.1, -4.2]
    print("pearson x", x, "y", y, "r %.17g" % scipy.stats.pearsonr(x, y)[0])
    x2, y2 = [1.0, 2.0, 3.0], [3.0, 2.0, 1.0]
    print("pearson anti", "r %.17g" % scipy.stats.pearsonr(x2, y2)[0])


def print_tfidf():
    vec = TfidfVectorizer().fit(TFIDF_DOCS)
    print("tfidf vocabulary", sorted(vec.vocabulary_.items(), key=lambda kv: kv[1]))
    print("tfidf idf", ["%.17g" % v for v in vec.idf_])
    row = vec.transform(["The cat and the dog; THE CAT!"]).toarray()[0]
    print("tfidf row", {vec.get_feature_names_out()[i]: "%.17g" % row[i] for i in np.nonzero(row)[0]})
    a, b = vec.transform(["a cat on a mat", "the dog on the log"]).toarray()
    print("tfidf cosine(eps) %.17g" % (a @ b / ((np.linalg.norm(a) + 1e-6) * (np.linalg.norm(b) + 1e-6))))
    sub = TfidfVectorizer(sublinear_tf=True, smooth_idf=False, norm="l1").fit(TFIDF_DOCS)
    row = sub.transform(["the the the cat paris"]).toarray()[0]
    print("tfidf sublinear/no-smooth/l1 row", {sub.get_feature_names_out()[i]: "%.17g" % row[i]
                                                for i in np.nonzero(row)[0]})
    spec = TfidfVectorizer().fit(["dog cat"])
    a, b = spec.transform(["dog cat", "dog dog dog cat cat cat"]).toarray()
    print("spec vector cos %.17g" % (a @ b / ((np.linalg.norm(a) + 1e-6) * (np.linalg.norm(b) + 1e-6))))


def print_quantiles():
    values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]
    for q in (0.0, 0.025, 0.5, 0.975, 1.0):
        print("quantile", q, "%.17g" % np.quantile(values, q))
    print("aggregate [1,2,3]", np.mean([1, 2, 3]), "%.17g" % np.std([1, 2, 3]))
    print("hmean [0.5, 0.25, 5.5] %.17g" % scipy.stats.hmean([0.5, 0.25, 5.5]))


class MT19937_64:
    """std::mt19937_64 (C++ [rand.predef]), to replay the C++ bootstrap's index stream."""
    MASK = (1 << 64) - 1

    def __init__(self, seed):
        self.state = [seed & self.MASK]
        for i in range(1, 312):
            prev = self.state[-1]
            self.state.append((6364136223846793005 * (prev ^ (prev >> 62)) + i) & self.MASK)
        self.index = 312

    def __call__(self):
        if self.index == 312:
            lower = (1 << 31) - 1
            for i in range(312):
                x = (self.state[i] & ~lower & self.MASK) | (self.state[(i + 1) % 312] & lower)
                self.state[i] = self.state[(i + 156) % 312] ^ (x >> 1) ^ (0xB5026F5AA96619E9 if x & 1 else 0)
            self.index = 0
        y = self.state[self.index]
        self.index += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000 & self.MASK
        y ^= (y << 37) & 0xFFF7EEE000000000 & self.MASK
        return y ^ (y >> 43)


def print_bootstrap():
    check = MT19937_64(5489)
    for _ in range(9999):
        check()
    assert check() == 9981545732273789042  # the C++ standard's required 10000th value
    values = [0.1, 0.9, 0.4, 0.4, 0.7, 0.0, 1.0, 0.3]
    gen = MT19937_64(7)
    n = len(values)
    threshold = ((1 << 64) - n) % n
    means = []
    for _ in range(200):
        total = 0.0
        for _ in range(n):
            while True:
                draw = gen()
                if draw >= threshold:
                    break
            total += values[draw % n]
        means.append(total / n)
    print("bootstrap values", values, "seed 7, 200 resamples, 95%%: [%.17g, %.17g]" % (
        np.quantile(means, 0.025), np.quantile(means, 0.975)))


def measure_drift():
    """How much sentence splitting moves tokens and fluency on real bios (data/biasinbios-samples).

    The trained English Punkt model is not available offline, so this compares our parameters with
    the two extremes: Punkt without any abbreviation, and no sentence splitting at all."""
    import csv
    data = ROOT / "data/biasinbios-samples"
    texts = []
    for path in sorted(data.glob("*.csv")):
        with path.open(newline="") as f:
            texts.extend(row["hard_text"] for row in csv.DictReader(f) if row["hard_text"].strip())
    ours = sentence_tokenizer()
    plain = PunktSentenceTokenizer()
    word = NLTKWordTokenizer()
    stats = {"plain": [0, 0.0], "nosplit": [0, 0.0]}
    dump = []
    for text in texts:
        _, tokens = tokenize(text, ours)
        dump.append({"text": text, "tokens": tokens})
        for name, other in (("plain", tokenize(text, plain)[1]), ("nosplit", word.tokenize(text))):
            stats[name][0] += tokens != other
            stats[name][1] += abs(fluency(tokens) - fluency(other))
    for name, (differ, fluency_gap) in stats.items():
        print(f"drift vs {name}: {differ}/{len(texts)} bios tokenize differently; "
              f"mean |fluency difference| {fluency_gap / len(texts):.5f} bits")
    (Path("/tmp") / "bios_tokens.json").write_text(json.dumps(dump))
    print("wrote /tmp/bios_tokens.json (for a C++ comparison)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--drift", action="store_true")
    args = parser.parse_args()
    print("nltk", nltk.__version__, "sklearn", sklearn.__version__, "scipy", scipy.__version__, "numpy",
          np.__version__, file=sys.stderr)
    write_tokenizer_fixture()
    print_classification()
    print_pearson()
    print_tfidf()
    print_quantiles()
    print_bootstrap()
    if args.drift:
        measure_drift()


if __name__ == "__main__":
    main()
