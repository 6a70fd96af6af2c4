#include "lm/tensor_sources.h"

#include <torch/torch.h>

#include "io/gguf.h"
#include "io/safetensors.h"
#include "util/error.h"

namespace remedi::lm {

namespace {

torch::Tensor view_to_float(const io::TensorView& view, const std::string& file) {
  if (!io::dtype_is_float_like(view.dtype)) {
    throw Error(file, view.name,
                "has dtype " + std::string(io::dtype_name(view.dtype)) + ", expected a float type");
  }
  torch::Tensor out = torch::empty(view.shape, torch::kFloat32);
  io::to_f32(view, std::span<float>(out.data_ptr<float>(), static_cast<std::size_t>(out.numel())), file);
  return out;
}

class SafetensorsSource final : public TensorSource {
 public:
  explicit SafetensorsSource(const std::string& path)
      : path_(path), checkpoint_(io::SafetensorsCheckpoint::open(path)) {}
  bool is_gguf() const override { return false; }
  bool has(const std::string& name) const override { return checkpoint_.find_tensor(name) != nullptr; }
  torch::Tensor get(const std::string& name) const override {
    return view_to_float(checkpoint_.tensor(name), checkpoint_.file_of(name));
  }
  std::string path() const override { return path_; }

 private:
  std::string path_;
  io::SafetensorsCheckpoint checkpoint_;
};

class GgufSource final : public TensorSource {
 public:
  explicit GgufSource(const io::GgufFile& gguf) : gguf_(gguf) {}
  bool is_gguf() const override { return true; }
  bool has(const std::string& name) const override { return gguf_.find_tensor(name) != nullptr; }
  torch::Tensor get(const std::string& name) const override {
    return view_to_float(gguf_.tensor(name), gguf_.path());
  }
  std::string path() const override { return gguf_.path(); }

 private:
  const io::GgufFile& gguf_;
};

}  // namespace

std::unique_ptr<TensorSource> open_safetensors_source(const std::string& path) {
  return std::make_unique<SafetensorsSource>(path);
}

std::unique_ptr<TensorSource> gguf_source(const io::GgufFile& gguf) {
  return std::make_unique<GgufSource>(gguf);
}

}  // namespace remedi::lm
