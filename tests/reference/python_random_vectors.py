"""Prints the Python `random` draws that tests/data/python_random_test.cpp asserts (CPython 3.11)."""
import random

rng = random.Random(123456)
print("getrandbits(32) x5:", [rng.getrandbits(32) for _ in range(5)])
rng = random.Random(123456)
print("getrandbits(7), getrandbits(40), getrandbits(64):", rng.getrandbits(7), rng.getrandbits(40), rng.getrandbits(64))
rng = random.Random(123456)
items = list(range(10))
rng.shuffle(items)
print("shuffle(range(10)):", items)
rng = random.Random(2**40 + 5)
print("seed 2**40+5, getrandbits(32) x3:", [rng.getrandbits(32) for _ in range(3)])
rng = random.Random(123456)
print("sample(range(10), 3):", rng.sample(range(10), 3))
print("then sample(range(1000), 5):", rng.sample(range(1000), 5))
print("then sample(range(30), 8):", rng.sample(range(30), 8))
print("then sample(range(100), 8):", rng.sample(range(100), 8))
