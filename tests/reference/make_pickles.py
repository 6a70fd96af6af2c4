"""Writes the pickle fixtures of tests/io/pickle_test.cpp: a BIOS.pkl-shaped list pickled with
protocols 2-5 (tests/fixtures/data/bios_protocol{2,3,4,5}.pkl), a file mixing every supported type
(mixed.pkl) and its expected JSON (mixed.json), and a pickle that would build an object
(global.pkl), which the reader must refuse."""
import collections
import json
import pickle
import sys
from pathlib import Path

out = Path(sys.argv[1])
title = "software_engineer"  # one str object shared by two entries: the pickler writes a memo GET
bios = [
    {
        "path": "crawl/1",
        "raw": "Mary Ann Smith is a software engineer. She writes code in Rust. Dr. Smith lives in Ohio.",
        "name": ("Mary", "Ann", "Smith"),
        "raw_title": "Software Engineer",
        "gender": "F",
        "start_pos": 38,
        "title": title,
        "URI": "http://example.com/1",
        "bio": "_ writes code in Rust. _ lives in Ohio.",
    },
    {
        "path": "crawl/2",
        "raw": "Jos\u00e9 P\u00e9rez is a nurse. He has cared for patients in Madrid and Lisbon for twenty years.",
        "name": ("Jos\u00e9", "", "P\u00e9rez"),
        "raw_title": "Nurse",
        "gender": "M",
        "start_pos": 24,
        "title": title,
        "URI": "http://example.com/2",
        "bio": "_ has cared for patients in Madrid and Lisbon for twenty years.",
    },
]
for protocol in (2, 3, 4, 5):
    (out / f"bios_protocol{protocol}.pkl").write_bytes(pickle.dumps(bios, protocol=protocol))

shared = [1, 2]
mixed = {
    "none": None,
    "true": True,
    "false": False,
    "small": 7,
    "int16": 40000,
    "negative": -5,
    "int32": -2_000_000_000,
    "long": 2**40,
    "negative_long": -(2**40),
    "float": 2.5,
    "text": "caf\u00e9 \u2603",
    "bytes": b"\x00\xff",
    "tuple": (1, "a", None),
    "empty_tuple": (),
    "list": [shared, shared],
    "nested": {"x": [{"y": 1.0}]},
    "set": {3},
    "frozenset": frozenset({4}),
    5: "int key",
}
(out / "mixed.pkl").write_bytes(pickle.dumps(mixed, protocol=4))
expected = {("5" if k == 5 else k): v for k, v in mixed.items()}
expected["bytes"] = [0, 255]
expected["set"] = [3]
expected["frozenset"] = [4]
(out / "mixed.json").write_text(json.dumps(expected, ensure_ascii=False) + "\n")
(out / "global.pkl").write_bytes(pickle.dumps([collections.OrderedDict(a=1)], protocol=4))
