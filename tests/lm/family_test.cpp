// The family descriptions (lm/family.h): the table is consistent, and the loader puts tensors where
// the descriptions say (fused biases in their fused slots, an untied head where the file has one).
#include "lm/family.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "lm/model.h"
#include "test_support.h"

namespace remedi::lm {
namespace {

TEST(FamilyDescriptions, NamesAndTablesAreConsistent) {
  std::set<std::string_view> names, model_types, architectures;
  for (const FamilyDescription* family : families()) {
    SCOPED_TRACE(std::string(family->name));
    EXPECT_TRUE(names.insert(family->name).second);
    EXPECT_EQ(&family_description(Family{family->name}), family);
    EXPECT_FALSE(family->hf.empty());
    for (const HfModelType& model_type : family->hf) {
      EXPECT_TRUE(model_types.insert(model_type.name).second);
    }
    if (!family->gguf_architecture.empty()) {
      EXPECT_TRUE(architectures.insert(family->gguf_architecture).second);
    }
    std::set<Slot> slots;
    for (const TensorSpec& row : family->tensors) {
      // parameter_count reads the HF names
      EXPECT_FALSE(row.hf.empty()) << static_cast<int>(row.slot);
      slots.insert(row.slot);
    }
    EXPECT_TRUE(slots.count(Slot::TokenEmbedding));
    EXPECT_TRUE(slots.count(Slot::QkvWeight));
    EXPECT_TRUE(slots.count(Slot::OutWeight));
    EXPECT_TRUE(slots.count(Slot::DownWeight));
    EXPECT_TRUE(slots.count(Slot::FinalNormWeight));
    const bool gated = family->block.mlp == Mlp::Gated;
    EXPECT_EQ(slots.count(Slot::GateUpWeight), gated ? 1U : 0U);
    EXPECT_EQ(slots.count(Slot::UpWeight), gated ? 0U : 1U);
  }
  for (const Family family : {Family::GPT2, Family::GPTJ, Family::NeoX, Family::Llama}) {
    EXPECT_EQ(family_description(family).name, family.name);
  }
  EXPECT_THROW(family_description(Family{"bert"}), std::invalid_argument);
}

// A copy of fixture `name` with config.json keys replaced and tensors added.
class CheckpointCopy : public ::testing::Test {
 protected:
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  std::string write(const std::string& name, const nlohmann::json& config_changes,
                    const std::vector<std::pair<std::string, torch::Tensor>>& added) {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
    dir_ = test::temp_dir("family-test");
    const std::string source = test::fixture("lm/" + name);
    nlohmann::json config = test::read_json(source + "/config.json");
    config.update(config_changes);
    test::write_file(dir_ + "/config.json", config.dump());
    const auto checkpoint = io::SafetensorsFile::open(source + "/model.safetensors");
    std::vector<io::TensorToWrite> tensors;
    for (const io::TensorView& view : checkpoint.tensors())
      tensors.push_back({view.name, view.dtype, view.shape, view.bytes});
    for (const auto& [tensor_name, value] : added) {
      tensors.push_back({tensor_name, io::DType::F32, value.sizes().vec(),
                         std::span<const std::byte>(static_cast<const std::byte*>(value.data_ptr()),
                                                    static_cast<std::size_t>(value.nbytes()))});
    }
    io::write_safetensors(dir_ + "/model.safetensors", tensors);
    return dir_;
  }

  std::string dir_;
};

// Llama's q/k/v biases land in qkv_bias and its gate/up biases in gate_up_bias, in the order the
// block slices them; with zero biases the model computes what it computes without them.
TEST_F(CheckpointCopy, LlamaBiasesFillTheFusedBiasSlots) {
  torch::NoGradGuard no_grad;
  const auto plain = CausalLM::load(test::fixture("lm/llama_gqa"));
  const ModelConfig& c = plain->config();
  const std::int64_t q = c.n_head * c.head_dim;
  const std::int64_t kv = c.n_kv_head * c.head_dim;
  const std::int64_t inner = c.intermediate_size;
  for (const bool zero : {false, true}) {
    SCOPED_TRACE(zero ? "zero biases" : "random biases");
    torch::manual_seed(7);
    std::vector<std::pair<std::string, torch::Tensor>> biases;
    for (std::int64_t l = 0; l < c.n_layer; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      for (const auto& [part, size] :
           std::vector<std::pair<std::string, std::int64_t>>{{"self_attn.q_proj", q},
                                                             {"self_attn.k_proj", kv},
                                                             {"self_attn.v_proj", kv},
                                                             {"self_attn.o_proj", c.hidden_size},
                                                             {"mlp.gate_proj", inner},
                                                             {"mlp.up_proj", inner},
                                                             {"mlp.down_proj", c.hidden_size}}) {
        biases.emplace_back(p + part + ".bias", zero ? torch::zeros({size}) : torch::randn({size}));
      }
    }
    const auto model =
        CausalLM::load(write("llama_gqa", {{"attention_bias", true}, {"mlp_bias", true}}, biases));
    for (std::int64_t l = 0; l < c.n_layer; ++l) {
      const LayerWeights& w = model->weights().layers[static_cast<std::size_t>(l)];
      const auto bias = [&](std::size_t i) { return biases[static_cast<std::size_t>(l) * 7 + i].second; };
      EXPECT_TRUE(torch::equal(w.qkv_bias, torch::cat({bias(0), bias(1), bias(2)})));
      EXPECT_TRUE(torch::equal(w.out_bias, bias(3)));
      EXPECT_TRUE(torch::equal(w.gate_up_bias, torch::cat({bias(4), bias(5)})));
      EXPECT_TRUE(torch::equal(w.down_bias, bias(6)));
      EXPECT_FALSE(w.up_weight.defined());
      EXPECT_FALSE(w.up_bias.defined());
    }
    const torch::Tensor ids = torch::arange(1, 9).view({1, 8});
    const torch::Tensor logits = model->forward({ids, torch::Tensor()}).logits;
    const torch::Tensor expected = plain->forward({ids, torch::Tensor()}).logits;
    EXPECT_EQ(torch::allclose(logits, expected, 0, 1e-5), zero);
  }
}

// An untied GPT-2 (tie_word_embeddings false) uses its own lm_head.weight, as transformers does.
TEST_F(CheckpointCopy, UntiedGpt2ReadsItsHead) {
  torch::NoGradGuard no_grad;
  const auto tied = CausalLM::load(test::fixture("lm/gpt2"));
  const torch::Tensor head = torch::randn(tied->weights().token_embedding.sizes());
  const auto untied =
      CausalLM::load(write("gpt2", {{"tie_word_embeddings", false}}, {{"lm_head.weight", head}}));
  EXPECT_TRUE(torch::equal(untied->weights().lm_head_weight, head));
  EXPECT_TRUE(tied->weights().lm_head_weight.is_same(tied->weights().token_embedding));
}

// transformers ties only the weight of GPT-J's head: a tied GPT-J keeps lm_head.bias, counted once.
TEST_F(CheckpointCopy, TiedGptJKeepsItsHeadBias) {
  torch::NoGradGuard no_grad;
  const auto untied = CausalLM::load(test::fixture("lm/gptj"));
  const auto tied = CausalLM::load(write("gptj", {{"tie_word_embeddings", true}}, {}));
  const ModelConfig& c = tied->config();
  EXPECT_TRUE(tied->weights().lm_head_weight.is_same(tied->weights().token_embedding));
  EXPECT_TRUE(torch::equal(tied->weights().lm_head_bias, untied->weights().lm_head_bias));
  EXPECT_EQ(parameter_count(c), parameter_count(untied->config()) - c.vocab_size * c.hidden_size);
}

}  // namespace
}  // namespace remedi::lm
