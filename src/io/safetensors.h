// safetensors reader (one file or HF shards via model.safetensors.index.json) and writer.
// Format: 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape,
// data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the data buffer. Validation in
// open(): header length within the file, JSON well formed, known dtypes, offsets inside the data
// buffer, end - begin = shape x dtype size, no two tensors overlapping (gaps are tolerated).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "io/tensor_view.h"
#include "util/mapped_file.h"

namespace remedi::io {

class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::string& path);

  const std::string& path() const { return file_.path(); }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::vector<TensorView>& tensors() const { return tensors_; }  // sorted by data offset
  const TensorView* find_tensor(const std::string& name) const;
  const TensorView& tensor(const std::string& name) const;

 private:
  explicit SafetensorsFile(MappedFile file) : file_(std::move(file)) {}

  MappedFile file_;
  std::map<std::string, std::string> metadata_;
  std::vector<TensorView> tensors_;
  std::map<std::string, std::size_t> index_;
};

// All tensors of an HF checkpoint folder: `model.safetensors`, or the shards listed by
// `model.safetensors.index.json` (weight_map: tensor name -> shard file). A tensor listed in the
// index must exist in its shard, and no name may appear in two shards.
class SafetensorsCheckpoint {
 public:
  // `path` is a folder, a single .safetensors file, or an index .json file.
  static SafetensorsCheckpoint open(const std::string& path);

  std::vector<const TensorView*> tensors() const;  // every tensor, shard order then file order
  const TensorView* find_tensor(const std::string& name) const;
  const TensorView& tensor(const std::string& name) const;  // throws naming the checkpoint
  // The file that holds `name` (for error messages).
  const std::string& file_of(const std::string& name) const;

 private:
  std::string path_;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  std::map<std::string, std::size_t> shard_of_;
};

// One tensor to write. `data` holds exactly shape x dtype bytes, little-endian.
struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;  // plain types only (no GGML quantizations)
  std::vector<std::int64_t> shape;
  std::span<const std::byte> data;
};

// Writes a safetensors file atomically (temporary file in the same folder, then rename), so a
// failure never leaves a half-written file at `path`. Tensors are stored in the given order,
// 8-byte aligned header as the format recommends.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace remedi::io
