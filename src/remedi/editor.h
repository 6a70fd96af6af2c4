// REMEDI editors (METHOD §6.1-6.2): small networks that map the LM's representation of an attribute
// (and optionally of the entity) at layer l to a direction d in R^H, added to the entity's hidden
// state at layer l. Registered by name; every type is a torch::nn::Module whose parameter and buffer
// names are the original's state-dict keys (METHOD §6.5), so files map one to one.
//
// Parameters always live in float32 on the LM's device, whatever the LM's dtype: directions are
// cast to the LM dtype where they are added (lm::apply_intervention). This keeps fp32 master
// weights for a bf16/fp16 LM instead of the original's updates in half precision (docs/DEVIATIONS.md).
#pragma once

#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace remedi {

struct EditorConfig {
  std::string type = "linear";
  std::int64_t layer = 0;        // edit layer l
  std::int64_t hidden_size = 0;  // H of the LM
  // linear / mlp inputs: [entity] if use_entity, then [attribute] if use_attribute (at least one).
  bool use_entity = false;
  bool use_attribute = true;
  std::int64_t rank = 0;  // linear only: 0 = full-rank affine map, r > 0 = two maps through R^r
  // Entity input: the entity string's last token hidden state (true) or its mean (false).
  bool input_last_entity_token = true;
  // Add the direction at the prompt's last entity token (true) or at every entity token (false).
  bool edit_last_entity_token = true;
};

class Editor : public torch::nn::Module {
 public:
  explicit Editor(EditorConfig config) : config_(std::move(config)) {}

  // entity, attribute: (B, H) float32 (the one an editor does not use may be undefined).
  // Returns the directions (B, H) float32.
  virtual torch::Tensor forward(const torch::Tensor& entity, const torch::Tensor& attribute) = 0;

  // The random editor fits its Gaussian to entity deltas (METHOD §5.4, Q13); others have nothing to fit.
  virtual bool needs_fit() const { return false; }
  virtual void fit(const torch::Tensor& /*entity_deltas*/) {}

  const EditorConfig& config() const { return config_; }

 private:
  EditorConfig config_;
};

// "linear", "biaffine", "mlp", "random", "scalar", "identity", "null".
const std::vector<std::string>& editor_types();

// Builds an editor; affine maps are initialised as PyTorch's nn.Linear default (weights and biases
// uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)]) from a generator seeded with `seed`, so the same
// seed gives the same bits. Throws remedi::Error("<argument>", "--editor-types", ...) for an unknown
// type or an invalid option combination.
std::shared_ptr<Editor> make_editor(const EditorConfig& config, std::uint64_t seed);

// Parameters and buffers by state-dict name (e.g. "w.weight"), in registration order.
std::vector<std::pair<std::string, torch::Tensor>> editor_state(const Editor& editor);

}  // namespace remedi
