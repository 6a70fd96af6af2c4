// TensorSource implementations over the io readers (internal to src/lm).
#pragma once

#include <memory>
#include <string>

#include "lm/weights.h"

namespace remedi::io {
class GgufFile;
}

namespace remedi::lm {

// Every tensor of an HF checkpoint (folder, single file or shard index).
std::unique_ptr<TensorSource> open_safetensors_source(const std::string& path);
// The tensors of an opened GGUF file (the file must outlive the source).
std::unique_ptr<TensorSource> gguf_source(const io::GgufFile& gguf);

}  // namespace remedi::lm
