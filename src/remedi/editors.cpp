// The editor types of METHOD §6.2.
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>

#include "remedi/editor.h"
#include "util/error.h"

namespace remedi {

namespace {

// nn.Linear with PyTorch's default initialisation drawn from `generator`.
torch::nn::Linear seeded_linear(std::int64_t in, std::int64_t out, at::Generator& generator) {
  torch::nn::Linear linear(in, out);
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  torch::NoGradGuard no_grad;
  linear->weight.uniform_(-bound, bound, generator);
  linear->bias.uniform_(-bound, bound, generator);
  return linear;
}

// The inputs a linear or mlp editor concatenates: [entity] then [attribute].
torch::Tensor concat_inputs(const EditorConfig& config, const torch::Tensor& entity,
                            const torch::Tensor& attribute) {
  std::vector<torch::Tensor> parts;
  if (config.use_entity) parts.push_back(entity);
  if (config.use_attribute) parts.push_back(attribute);
  return parts.size() == 1 ? parts[0] : torch::cat(parts, -1);
}

std::int64_t input_count(const EditorConfig& config) {
  return (config.use_entity ? 1 : 0) + (config.use_attribute ? 1 : 0);
}

// d = W x + b, or d = W2 (W1 x + b1) + b2 with rank r.
class LinearEditor : public Editor {
 public:
  LinearEditor(const EditorConfig& config, at::Generator& generator) : Editor(config) {
    const std::int64_t in = input_count(config) * config.hidden_size;
    if (config.rank > 0) {  // keys w.0.*, w.1.*
      ranked_ = register_module(
          "w", torch::nn::Sequential(seeded_linear(in, config.rank, generator),
                                     seeded_linear(config.rank, config.hidden_size, generator)));
    } else {  // keys w.weight, w.bias
      full_ = register_module("w", seeded_linear(in, config.hidden_size, generator));
    }
  }
  torch::Tensor forward(const torch::Tensor& entity, const torch::Tensor& attribute) override {
    const torch::Tensor x = concat_inputs(config(), entity, attribute);
    return config().rank > 0 ? ranked_->forward(x) : full_->forward(x);
  }

 private:
  torch::nn::Linear full_{nullptr};
  torch::nn::Sequential ranked_{nullptr};
};

// d = (W_e e + b_e) + (W_a a + b_a): a sum of two affine maps, not a bilinear form.
class BiaffineEditor : public Editor {
 public:
  BiaffineEditor(const EditorConfig& config, at::Generator& generator)
      : Editor(config),
        entity_map_(
            register_module("w_entity", seeded_linear(config.hidden_size, config.hidden_size, generator))),
        attribute_map_(register_module("w_attribute",
                                       seeded_linear(config.hidden_size, config.hidden_size, generator))) {}
  torch::Tensor forward(const torch::Tensor& entity, const torch::Tensor& attribute) override {
    return entity_map_->forward(entity) + attribute_map_->forward(attribute);
  }

 private:
  torch::nn::Linear entity_map_{nullptr};
  torch::nn::Linear attribute_map_{nullptr};
};

// d = W2 LeakyReLU(W1 x + b1) + b2 (negative slope 0.01).
class MlpEditor : public Editor {
 public:
  MlpEditor(const EditorConfig& config, at::Generator& generator) : Editor(config) {
    const std::int64_t in = input_count(config) * config.hidden_size;
    mlp_ = register_module(
        "mlp", torch::nn::Sequential(seeded_linear(in, config.hidden_size, generator),
                                     torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.01)),
                                     seeded_linear(config.hidden_size, config.hidden_size, generator)));
  }
  torch::Tensor forward(const torch::Tensor& entity, const torch::Tensor& attribute) override {
    return mlp_->forward(concat_inputs(config(), entity, attribute));
  }

 private:
  torch::nn::Sequential mlp_{nullptr};
};

// d ~ N(mean, diag(variance)) per sample, fitted to entity deltas (METHOD §5.4, Q13: the original
// cannot run; this is its evident intent). `variance` is the per-dimension variance (H), not the
// original's H x H buffer.
class RandomEditor : public Editor {
 public:
  RandomEditor(const EditorConfig& config, std::uint64_t seed)
      : Editor(config),
        generator_(at::detail::createCPUGenerator(seed)),
        mean_(register_buffer("mean", torch::zeros({config.hidden_size}))),
        variance_(register_buffer("variance", torch::ones({config.hidden_size}))) {}
  torch::Tensor forward(const torch::Tensor& entity, const torch::Tensor& attribute) override {
    const torch::Tensor& like = attribute.defined() ? attribute : entity;
    torch::Tensor noise = torch::empty({like.size(0), config().hidden_size}, torch::kFloat32);
    noise.normal_(0.0, 1.0, generator_);
    return mean_ + noise.to(mean_.device()) * variance_.sqrt();
  }
  bool needs_fit() const override { return true; }
  void fit(const torch::Tensor& entity_deltas) override {
    torch::NoGradGuard no_grad;
    const torch::Tensor deltas = entity_deltas.to(mean_.device(), torch::kFloat32);
    mean_.copy_(deltas.mean(0));
    variance_.copy_(deltas.size(0) > 1 ? deltas.var(0, /*unbiased=*/true) : torch::zeros_like(variance_));
  }

 private:
  at::Generator generator_;
  torch::Tensor mean_;
  torch::Tensor variance_;
};

// d = (w . a + c) a, attribute only (METHOD Q14).
class ScalarEditor : public Editor {
 public:
  ScalarEditor(const EditorConfig& config, at::Generator& generator)
      : Editor(config), scalar_(register_module("scalar", seeded_linear(config.hidden_size, 1, generator))) {}
  torch::Tensor forward(const torch::Tensor& /*entity*/, const torch::Tensor& attribute) override {
    return scalar_->forward(attribute) * attribute;
  }

 private:
  torch::nn::Linear scalar_{nullptr};
};

class IdentityEditor : public Editor {
 public:
  explicit IdentityEditor(const EditorConfig& config) : Editor(config) {}
  torch::Tensor forward(const torch::Tensor& /*entity*/, const torch::Tensor& attribute) override {
    return attribute;
  }
};

class NullEditor : public Editor {
 public:
  explicit NullEditor(const EditorConfig& config) : Editor(config) {}
  torch::Tensor forward(const torch::Tensor& entity, const torch::Tensor& attribute) override {
    const torch::Tensor& like = attribute.defined() ? attribute : entity;
    return torch::zeros({like.size(0), config().hidden_size}, like.options());
  }
};

}  // namespace

const std::vector<std::string>& editor_types() {
  static const std::vector<std::string> types = {"linear", "biaffine", "mlp", "random",
                                                 "scalar", "identity", "null"};
  return types;
}

std::shared_ptr<Editor> make_editor(const EditorConfig& config, std::uint64_t seed) {
  if (config.hidden_size <= 0) throw Error("<argument>", "hidden_size", "must be positive");
  if (config.rank < 0) throw Error("<argument>", "--rank", "must be >= 0");
  if (config.rank > 0 && config.type != "linear") {
    throw Error("<argument>", "--rank", "only the linear editor has a rank");
  }
  if ((config.type == "linear" || config.type == "mlp") && !config.use_entity && !config.use_attribute) {
    throw Error("<argument>", "--editor-types",
                config.type + " editor needs the entity or the attribute input");
  }
  if (config.use_entity && config.type != "linear" && config.type != "mlp" && config.type != "biaffine") {
    throw Error("<argument>", "--use-entity",
                "only linear and mlp editors take the entity as an extra input");
  }
  at::Generator generator = at::detail::createCPUGenerator(seed);
  std::shared_ptr<Editor> editor;
  if (config.type == "linear") {
    editor = std::make_shared<LinearEditor>(config, generator);
  } else if (config.type == "biaffine") {
    EditorConfig both = config;
    both.use_entity = true;
    both.use_attribute = true;
    editor = std::make_shared<BiaffineEditor>(both, generator);
  } else if (config.type == "mlp") {
    editor = std::make_shared<MlpEditor>(config, generator);
  } else if (config.type == "random") {
    editor = std::make_shared<RandomEditor>(config, seed);
  } else if (config.type == "scalar") {
    editor = std::make_shared<ScalarEditor>(config, generator);
  } else if (config.type == "identity") {
    editor = std::make_shared<IdentityEditor>(config);
  } else if (config.type == "null") {
    editor = std::make_shared<NullEditor>(config);
  } else {
    std::string known;
    for (const std::string& name : editor_types()) known += (known.empty() ? "" : ", ") + name;
    throw Error("<argument>", "--editor-types",
                "unknown editor type '" + config.type + "' (known: " + known + ")");
  }
  return editor;
}

std::vector<std::pair<std::string, torch::Tensor>> editor_state(const Editor& editor) {
  std::vector<std::pair<std::string, torch::Tensor>> state;
  for (const auto& item : editor.named_parameters(/*recurse=*/true))
    state.emplace_back(item.key(), item.value());
  for (const auto& item : editor.named_buffers(/*recurse=*/true))
    state.emplace_back(item.key(), item.value());
  return state;
}

}  // namespace remedi
