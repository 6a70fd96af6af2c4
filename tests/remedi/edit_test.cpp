// Edits on prompts (remedi/edit.h) on a tiny random model: a batch of different requests (editors,
// layers, alpha, unedited rows) gives each row what that row gives alone, and an edited row equals a
// forward with the editor's direction added by hand at the entity's last token.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "io/expect_error.h"
#include "lm/generate.h"
#include "remedi/edit.h"
#include "remedi/editor.h"
#include "remedi/precompute.h"
#include "tiny_model.h"
#include "tok/spans.h"
#include "util/error.h"

namespace remedi {
namespace {

std::shared_ptr<Editor> tiny_editor(const lm::LoadedModel& model, std::int64_t layer, std::uint64_t seed) {
  EditorConfig config;
  config.layer = layer;
  config.hidden_size = model.lm().config().hidden_size;
  std::shared_ptr<Editor> editor = make_editor(config, seed);
  editor->eval();
  return editor;
}

EditRequest request(const std::string& prompt, const std::string& entity, const std::string& context,
                    std::shared_ptr<Editor> editor, double alpha = 1.0) {
  EditRequest r;
  r.prompt = prompt;
  r.entity = entity;
  r.context = context;
  r.editor = std::move(editor);
  r.alpha = alpha;
  return r;
}

// Next-token probabilities (V) of one prompt alone, with `direction` times alpha added to block
// `layer`'s output at the entity's last token (undefined direction: unedited).
torch::Tensor by_hand(const lm::LoadedModel& model, const EditRequest& r, const torch::Tensor& direction,
                      std::int64_t layer) {
  torch::NoGradGuard no_grad;
  const tok::Encoding encoding = model.tok().encode(r.prompt);
  const torch::Tensor ids = torch::tensor(encoding.ids, torch::kInt64).unsqueeze(0);
  lm::ForwardOptions options;
  options.logits = lm::LogitsAt::Last;
  if (direction.defined()) {
    const tok::TokenRange entity = tok::token_range(encoding.offsets, r.prompt, r.entity);
    options.interventions.push_back({layer, direction.view({1, -1}),
                                     torch::tensor({entity.end - 1, entity.end}).view({1, 2}), r.alpha, 1.0});
  }
  return torch::softmax(model.lm().forward({ids, torch::Tensor()}, options).logits[0], -1);
}

// The editor's direction for `r`, from its inputs precomputed one sample at a time.
torch::Tensor direction_of(const lm::LoadedModel& model, Editor& editor, const EditRequest& r) {
  torch::NoGradGuard no_grad;
  data::MediationSample s;
  s.id = "x";
  s.entity = r.entity;
  s.context = r.context;
  s.attribute = default_attribute(r.entity, r.context);
  s.prompt = r.prompt;
  PrecomputeOptions options;
  options.layer = editor.config().layer;
  const EditorInputs inputs = precompute_editor_inputs(model.lm(), model.tok(), {s}, options);
  return editor.forward(inputs.entity_last, inputs.attribute_average)[0];
}

TEST(Edit, DefaultAttributeIsTheContextAfterTheEntity) {
  EXPECT_EQ(default_attribute("Dolomiten", "Dolomiten is written in Russian"), "is written in Russian");
  EXPECT_EQ(default_attribute("Paris", "Paris, the capital of Italy"), "the capital of Italy");
  // The last mention counts; without the entity, or with nothing after it, the whole context.
  EXPECT_EQ(default_attribute("A", "A likes A: cats"), "cats");
  EXPECT_EQ(default_attribute("Nobody", "X is a dentist"), "X is a dentist");
  EXPECT_EQ(default_attribute("dentist", "X is a dentist"), "X is a dentist");
}

TEST(Edit, BatchOfDifferentEditsEqualsEachRowByHand) {
  const lm::LoadedModel model = test::tiny_model("gpt2");
  const auto layer1 = tiny_editor(model, 1, 7);
  const auto layer2 = tiny_editor(model, 2, 8);
  const std::vector<EditRequest> requests = {
      request("The mother tongue of Danielle is", "Danielle", "Danielle speaks English", layer1),
      request("Paris is a city in", "Paris", "Paris is the capital of Italy", layer2),
      request("Tom plays", "Tom", "Tom plays the piano", nullptr),  // unedited row
      request("Where does Anna live? Anna", "Anna", "Anna lives in Oslo", layer1, 2.5)};
  const PreparedEdits edits = prepare_edits(model, requests);
  ASSERT_EQ(edits.size(), 4);
  EXPECT_EQ(edits.prompts.batch.input_ids.size(0), 4);
  EXPECT_EQ(edits.attributes[1], "is the capital of Italy");
  // (layer 1, alpha 1), (layer 1, alpha 2.5), (layer 2, alpha 1).
  EXPECT_EQ(edits.interventions.size(), 3U);
  EXPECT_TRUE(torch::all(edits.directions[2] == 0).item<bool>());

  const auto edited = top_next_tokens(model, edits, 5);
  const auto unedited = top_next_tokens(model, edits, 5, /*edited=*/false);
  for (std::size_t row = 0; row < requests.size(); ++row) {
    const EditRequest& r = requests[row];
    const torch::Tensor direction = r.editor ? direction_of(model, *r.editor, r) : torch::Tensor();
    if (direction.defined()) {
      EXPECT_TRUE(torch::allclose(edits.directions[static_cast<std::int64_t>(row)], direction, 1e-5, 1e-6))
          << "row " << row;
    }
    const std::int64_t layer = r.editor ? r.editor->config().layer : 0;
    const torch::Tensor expected = by_hand(model, r, direction, layer);
    const torch::Tensor plain = by_hand(model, r, torch::Tensor(), 0);
    for (std::size_t k = 0; k < 5; ++k) {
      const TokenProbability& e = edited[row][k];
      EXPECT_NEAR(e.probability, expected[e.id].item<double>(), 1e-5) << "row " << row << " k " << k;
      const TokenProbability& u = unedited[row][k];
      EXPECT_NEAR(u.probability, plain[u.id].item<double>(), 1e-5) << "row " << row << " k " << k;
    }
    EXPECT_EQ(edited[row][0].id, expected.argmax().item<std::int64_t>()) << "row " << row;
  }
  // The edits change the edited rows and leave the unedited one alone.
  EXPECT_NE(edited[0][0].probability, unedited[0][0].probability);
  EXPECT_EQ(edited[2][0].id, unedited[2][0].id);
  EXPECT_DOUBLE_EQ(edited[2][0].probability, unedited[2][0].probability);
}

TEST(Edit, GeneratedTokensEqualGenerationWithTheEditPlacedByHand) {
  const lm::LoadedModel model = test::tiny_model("llama_gqa");
  const auto editor = tiny_editor(model, 1, 3);
  const EditRequest r = request("Rome is the capital of", "Rome", "Rome is in Spain", editor);
  const PreparedEdits edits = prepare_edits(model, {r});
  lm::GenerateOptions options;
  options.max_new_tokens = 6;
  const std::vector<std::int64_t> got = generate_tokens(model, edits, options).front();

  const tok::Encoding encoding = model.tok().encode(r.prompt);
  const tok::TokenRange entity = tok::token_range(encoding.offsets, r.prompt, r.entity);
  lm::GenerateOptions by_hand = options;
  by_hand.interventions.push_back({1, direction_of(model, *editor, r).view({1, -1}),
                                   torch::tensor({entity.end - 1, entity.end}).view({1, 2})});
  const torch::Tensor expected =
      lm::generate(model.lm(), {torch::tensor(encoding.ids, torch::kInt64).unsqueeze(0), torch::Tensor()},
                   by_hand)
          .tokens[0];
  ASSERT_EQ(got.size(), 6U);
  for (std::size_t t = 0; t < got.size(); ++t)
    EXPECT_EQ(got[t], expected[static_cast<std::int64_t>(t)].item<std::int64_t>());
}

TEST(Edit, ContinuePromptsIsTopTokensAndGenerationInOnePass) {
  const lm::LoadedModel model = test::tiny_model("gpt2");
  const auto editor = tiny_editor(model, 1, 5);
  const PreparedEdits edits = prepare_edits(
      model, {request("Paris is a city in", "Paris", "Paris is the capital of Italy", editor),
              request("Where does Anna live? Anna", "Anna", "Anna lives in Oslo", editor, 3.0)});
  lm::GenerateOptions options;
  options.max_new_tokens = 5;
  for (const bool edited : {true, false}) {
    SCOPED_TRACE(edited ? "edited" : "unedited");
    const std::vector<Continuation> got = continue_prompts(model, edits, 4, options, edited);
    const auto top = top_next_tokens(model, edits, 4, edited);
    const auto tokens = generate_tokens(model, edits, options, edited);
    ASSERT_EQ(got.size(), 2U);
    for (std::size_t row = 0; row < got.size(); ++row) {
      EXPECT_EQ(got[row].tokens, tokens[row]) << "row " << row;
      ASSERT_EQ(got[row].top.size(), 4U);
      for (std::size_t k = 0; k < 4; ++k) {
        EXPECT_EQ(got[row].top[k].id, top[row][k].id) << "row " << row << " k " << k;
        EXPECT_NEAR(got[row].top[k].probability, top[row][k].probability, 1e-6)
            << "row " << row << " k " << k;
      }
    }
  }
  // With nothing to generate, the top tokens still come (from a pass of their own).
  options.max_new_tokens = 0;
  const std::vector<Continuation> none = continue_prompts(model, edits, 3, options);
  EXPECT_TRUE(none[0].tokens.empty());
  EXPECT_EQ(none[1].top[0].id, top_next_tokens(model, edits, 1)[1][0].id);
}

TEST(Edit, ANonFiniteDirectionIsRefused) {
  const lm::LoadedModel model = test::tiny_model("gpt2");
  const auto editor = tiny_editor(model, 1, 5);
  {
    torch::NoGradGuard no_grad;
    for (torch::Tensor& p : editor->parameters()) p.fill_(1e38);
  }
  const EditRequest good = request("Paris is a city in", "Paris", "Paris is the capital of Italy", nullptr);
  const EditRequest bad = request("Paris is a city in", "Paris", "Paris is the capital of Italy", editor);
  test::expect_error(
      [&] {
        prepare_edits(model, {good, bad});
      },
      "<argument>", "request 1 direction", "the editor's direction is not finite (NaN or infinite)");
}

TEST(Edit, BadRequestsNameTheRowAndField) {
  const lm::LoadedModel model = test::tiny_model("gpt2");
  const auto editor = tiny_editor(model, 1, 1);
  const auto message = [&](const std::vector<EditRequest>& requests) {
    try {
      prepare_edits(model, requests);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const EditRequest good = request("Tom plays", "Tom", "Tom plays the piano", editor);
  EXPECT_NE(message({good, request("Anna sings", "Tom", "Tom plays chess", editor)})
                .find("request 1 prompt: does not contain the entity 'Tom'"),
            std::string::npos);
  EditRequest bad_attribute = good;
  bad_attribute.attribute = "plays chess";
  EXPECT_NE(message({bad_attribute}).find("request 0 attribute: 'plays chess' is not part of the context"),
            std::string::npos);
  // 200 tokens do not fit the model's 128 positions: refused, not cut.
  std::string long_prompt = "Tom";
  for (int i = 0; i < 200; ++i) long_prompt += " x";
  EXPECT_NE(message({request(long_prompt, "Tom", "Tom plays", editor)})
                .find("more than the model's context of 128"),
            std::string::npos);
  // A context whose attribute lies past the model's 128 positions names the request's context.
  std::string long_context = "Tom";
  for (int i = 0; i < 200; ++i) long_context += " x";
  long_context += " plays the piano";
  EditRequest cut = request("Tom plays", "Tom", long_context, editor);
  cut.attribute = "plays the piano";
  EXPECT_NE(message({good, cut}).find("<argument>: request 1 context: the context has "), std::string::npos)
      << message({good, cut});
  EXPECT_THROW(top_next_tokens(model, prepare_edits(model, {good}), 301), Error);
}

}  // namespace
}  // namespace remedi
