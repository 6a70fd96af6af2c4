#include "lm/weights.h"

#include <torch/torch.h>

#include <sstream>

#include "util/error.h"

namespace remedi::lm {

namespace {

std::string shape_string(c10::IntArrayRef shape) {
  std::ostringstream out;
  out << "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

}  // namespace

torch::Tensor expect_shape(const TensorSource& source, const std::string& name, torch::Tensor tensor,
                           std::vector<std::int64_t> shape) {
  if (tensor.sizes() != c10::IntArrayRef(shape)) {
    throw Error(source.path(), name,
                "shape " + shape_string(tensor.sizes()) + " does not match the config, expected " +
                    shape_string(shape));
  }
  return tensor;
}

torch::Tensor load_checked(const TensorSource& source, const std::string& name,
                           std::vector<std::int64_t> shape) {
  return expect_shape(source, name, source.get(name), std::move(shape));
}

}  // namespace remedi::lm
