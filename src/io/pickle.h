// A reader for the data subset of Python's pickle format (protocols 2-5): None, bools, ints
// (including LONG1/LONG4 up to 64 bits), floats, str, bytes, lists, tuples, dicts and sets, with the
// memo. It exists for Bias in Bios, whose only distribution is `BIOS.pkl` (a pickled list of dicts),
// and for the original's torch.save state dicts. Its input is untrusted (fuzz/fuzz_pickle.cpp).
// Opcodes that build arbitrary objects (GLOBAL, STACK_GLOBAL, REDUCE, BUILD, INST, OBJ, NEWOBJ,
// PERSID, EXT*) are rejected, so reading a file can never run code (PickleOptions::torch_tensors
// admits a fixed list of torch globals, interpreted here, never called). Protocols 0 and 1 (text
// opcodes) are rejected with a hint to re-save the file.
//
// Values become JSON: tuples, lists and sets -> arrays, dicts -> objects (str, int and bool keys
// become strings; other keys are an error), bytes -> arrays of byte values.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <functional>
#include <span>
#include <string>

namespace remedi::io {

// Dicts keep their pickled key order.
using PickleValue = nlohmann::ordered_json;

// Called for each item of the top-level list as soon as it is complete; return false to stop reading.
using PickleListVisitor = std::function<bool(PickleValue item)>;

// Reads a pickle whose top-level object is a list, streaming its items to `visit` (the list itself
// is never held whole). Throws remedi::Error(file, "byte N", ...) on malformed or unsupported data.
void read_pickle_list(std::span<const std::byte> bytes, const std::string& file,
                      const PickleListVisitor& visit);
void read_pickle_list_file(const std::string& path, const PickleListVisitor& visit);

struct PickleOptions {
  // Also read the object opcodes torch.save writes for a dict of tensors (`data.pkl` of a .pth
  // archive): GLOBAL limited to collections.OrderedDict, torch._utils._rebuild_tensor_v2 /
  // _rebuild_parameter and the Float/Half/BFloat16/Double storage classes, REDUCE of those,
  // BINPERSID storage references and BUILD (ignored). Nothing is called. A tensor becomes
  // {"__torch_tensor__": {"storage": key, "dtype": "float32", "offset": n, "shape": [...],
  // "stride": [...]}}; its bytes are the archive's `data/<key>` record.
  bool torch_tensors = false;
};

// The whole pickle as one JSON value (any top-level type).
PickleValue read_pickle(std::span<const std::byte> bytes, const std::string& file,
                        const PickleOptions& options = {});

}  // namespace remedi::io
