// GGUF v3 writer: metadata of every type (arrays included) and tensors of any type GGUF holds, in
// the layout io/gguf.h reads back (ggml-org/ggml docs/gguf.md): header, key-values in the given
// order, tensor infos, then the data section with every tensor at a multiple of the alignment
// (`general.alignment` when the metadata has it, else 32). The file is written atomically.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "io/gguf.h"
#include "io/tensor_view.h"

namespace remedi::io {

struct GgufTensorToWrite {
  std::string name;
  DType dtype = DType::F32;         // any type with a GGML id (see ggml_type_of)
  std::vector<std::int64_t> shape;  // row-major, outermost first, 1 to 4 dims (stored reversed as ne)
  std::span<const std::byte> data;  // exactly shape x dtype bytes, unless `fill` is set
  // When set, called once with a zeroed buffer of exactly shape x dtype bytes to fill, while the
  // file is written, in tensor order: only one filled tensor is in memory at a time.
  std::function<void(std::span<std::byte>)> fill;
};

using GgufMetadata = std::vector<std::pair<std::string, GgufValue>>;

// Writes `path` as GGUF v3 (temporary file in the same folder, then rename). Throws
// remedi::Error(path, key or tensor name, reason) for a duplicate key or tensor name, a value whose
// content does not match its type (an array element of another type, a u8 above 255, ...), a bad
// general.alignment, a shape with 0 or more than 4 dims, a zero or negative dimension, a type GGUF
// cannot hold, an innermost dimension that is not a whole number of blocks, or `data` of the wrong
// size; nothing is left at `path` then.
void write_gguf(const std::string& path, const GgufMetadata& metadata,
                const std::vector<GgufTensorToWrite>& tensors);

}  // namespace remedi::io
