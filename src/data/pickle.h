// A reader for the data subset of Python's pickle format (protocols 2-5): None, bools, ints
// (including LONG1/LONG4 up to 64 bits), floats, str, bytes, lists, tuples, dicts and sets, with the
// memo. It exists for Bias in Bios, whose only distribution is `BIOS.pkl` (a pickled list of dicts).
// Opcodes that build arbitrary objects (GLOBAL, STACK_GLOBAL, REDUCE, BUILD, INST, OBJ, NEWOBJ,
// PERSID, EXT*) are rejected, so reading a file can never run code. Protocols 0 and 1 (text
// opcodes) are rejected with a hint to re-save the file.
//
// Values become JSON: tuples, lists and sets -> arrays, dicts -> objects (str, int and bool keys
// become strings; other keys are an error), bytes -> arrays of byte values.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>

#include "data/sample.h"

namespace remedi::data {

// Called for each item of the top-level list as soon as it is complete; return false to stop reading.
using PickleListVisitor = std::function<bool(Json item)>;

// Reads a pickle whose top-level object is a list, streaming its items to `visit` (the list itself
// is never held whole). Throws remedi::Error(file, "byte N", ...) on malformed or unsupported data.
void read_pickle_list(std::span<const std::byte> bytes, const std::string& file,
                      const PickleListVisitor& visit);
void read_pickle_list_file(const std::string& path, const PickleListVisitor& visit);

// The whole pickle as one JSON value (any top-level type).
Json read_pickle(std::span<const std::byte> bytes, const std::string& file);

}  // namespace remedi::data
