#include "evaluate/forward_checks.h"

#include <nlohmann/json.hpp>

#include <array>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.h"
#include "tiny_model.h"

namespace remedi::test {

const lm::LoadedModel& tiny_gpt2() {
  static const lm::LoadedModel model = tiny_model("gpt2");
  return model;
}

PlainForward plain_forward(const lm::LoadedModel& model, const std::string& text) {
  torch::NoGradGuard no_grad;
  PlainForward out;
  out.encoding = model.tok().encode(text);
  lm::ForwardOptions options;
  for (std::int64_t l = 0; l < model.lm().config().n_layer; ++l) options.capture_layers.push_back(l);
  options.logits = lm::LogitsAt::All;
  const lm::ForwardResult result = model.lm().forward(
      {torch::tensor(out.encoding.ids, torch::kInt64).unsqueeze(0), torch::Tensor()}, options);
  for (const auto& [layer, h] : result.hidden) out.hidden[layer] = h[0].to(torch::kFloat32);
  out.next_logp = torch::log_softmax(result.logits[0][-1].to(torch::kFloat32), -1);
  return out;
}

double next_word_logp(const lm::LoadedModel& model, const std::string& text, const std::string& word) {
  const std::int64_t id = model.tok().encode(" " + word).ids.front();
  return plain_forward(model, text).next_logp[id].item<double>();
}

torch::Tensor mean_over(const lm::LoadedModel& model, const std::string& text, const std::string& part,
                        std::int64_t layer) {
  const PlainForward f = plain_forward(model, text);
  const tok::TokenRange range = tok::token_range(f.encoding.offsets, text, part);
  return f.hidden.at(layer).slice(0, range.begin, range.end).mean(0);
}

torch::Tensor last_token_state(const lm::LoadedModel& model, const std::string& text, const std::string& part,
                               int occurrence, std::int64_t layer) {
  const PlainForward f = plain_forward(model, text);
  const tok::TokenRange range = tok::token_range(f.encoding.offsets, text, part, occurrence);
  return f.hidden.at(layer)[range.end - 1];
}

void tiny_run(evaluate::EvalOptions& options, const std::string& name, const std::string& folder,
              const std::vector<std::int64_t>& layers, const std::string& file, std::int64_t batch_size) {
  options.name = name;
  options.results = folder;
  options.type = "identity";
  options.layers = layers;
  options.data.file = file;
  options.data.split = "";
  options.batch_size = batch_size;
  options.quiet = true;
}

void Confusion::add(bool lm_wrong, bool predicted_wrong) {
  if (lm_wrong) {
    ++(predicted_wrong ? tp : fn);
  } else {
    ++(predicted_wrong ? fp : tn);
  }
}

void Confusion::expect_in(const nlohmann::json& metrics) const {
  EXPECT_EQ(metrics["confusion"], nlohmann::json({{"tp", tp}, {"fp", fp}, {"tn", tn}, {"fn", fn}}));
  const auto n = static_cast<double>(tp + fp + tn + fn);
  EXPECT_NEAR(metrics["accuracy"].get<double>(), static_cast<double>(tp + tn) / n, 1e-12);
  if (2 * tp + fp + fn > 0) {
    EXPECT_NEAR(metrics["f1"].get<double>(),
                2.0 * static_cast<double>(tp) / static_cast<double>(2 * tp + fp + fn), 1e-12);
  }
  EXPECT_EQ(metrics["lm_wrong"], tp + fn);
}

std::string write_tiny_counterfact(const std::string& folder) {
  // {subject, prompt, true object, new object, paraphrase}
  const std::vector<std::array<const char*, 5>> facts{
      {"Paris", "Paris is the capital of", "France", "Italy", "Paris is a city in"},
      {"Rome", "Rome is the capital of", "Italy", "Spain", "Rome lies in"},
      {"Messi", "Messi plays for", "Miami", "Ajax", "Messi is a player of"},
      {"Tokyo", "Tokyo is located in", "Japan", "Chile", "Tokyo is a town in"},
      {"Bach", "Bach was born in", "Germany", "Peru", "Bach is a native of"},
      {"Oslo", "Oslo is the capital of", "Norway", "Egypt", "Oslo sits in"},
      {"Kant", "Kant wrote in", "German", "Dutch", "Kant spoke"},
      {"Nile", "The Nile flows through", "Egypt", "Canada", "The Nile runs in"}};
  nlohmann::json records = nlohmann::json::array();
  for (std::size_t i = 0; i < facts.size(); ++i) {
    const auto& f = facts[i];
    records.push_back({{"case_id", i},
                       {"subject", f[0]},
                       {"prompt", f[1]},
                       {"ground_truth", f[2]},
                       {"target_new", f[3]},
                       {"rephrase_prompt", f[4]},
                       {"locality_prompt", "Lima is the capital of"},
                       {"locality_ground_truth", "Peru"}});
  }
  const std::string path = folder + "/counterfact-tiny.json";
  write_file(path, records.dump());
  return path;
}

std::string write_tiny_bios(const std::string& folder) {
  const std::string path = folder + "/bios.csv";
  write_file(path,
             "hard_text,profession,gender\n"
             "She treats many patients at the big hospital every single day. She works long nights at the "
             "busy city hospital ward.,nurse,Female\n"
             "He writes short verse about the sea and the old hills. He reads his new poems aloud at the "
             "small town library.,poet,Male\n"
             "She fixes teeth for all the families who live in town. She runs a busy clinic for the young "
             "and the old.,dentist,Female\n"
             "He paints large walls in the old part of the city. He shows his oil works at the old gallery "
             "each spring.,painter,Male\n"
             "He cares for the sick people in the ward at night. He helps the doctors in the children ward "
             "every week.,nurse,Male\n"
             "She loves rhymes and she writes them down every morning. She has published three small books "
             "of poems so far.,poet,Female\n"
             "He cleans teeth daily for the people of his village. He studied dental care at the state "
             "school for years.,dentist,Male\n"
             "She draws every day with bright colours on big canvas. She sells her canvas works at the "
             "summer fairs in town.,painter,Female\n");
  return path;
}

}  // namespace remedi::test
