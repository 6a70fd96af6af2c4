// What the lower-precision paths change in the default model's output, against fp32 (issue 20): for
// the first N CounterFact prompts (default 100), one at a time, the next-token distribution and a
// greedy continuation under each of bf16, q8_0, q4_0 and q4_1 weights.
//   bench_quantized_quality [--model smollm2] [--prompts 100] [--new-tokens 20]
// Per format: top-1 agreement of the next token, the share of fp32's top-10 ids also in the format's
// top-10, the largest |difference| of log-probability over fp32's top-10 ids (first step), the share
// of prompts whose greedy continuation is identical and the mean number of leading tokens that agree.
// The shipped SmolLM2 file is Q4_1: fp32 holds exactly its dequantized weights, so q4_1 differs from
// fp32 only by arithmetic, and q8_0 / q4_0 re-quantize those weights.
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "data/counterfact.h"
#include "data/datasets.h"
#include "evaluate/setup.h"
#include "lm/generate.h"
#include "lm/loaded_model.h"
#include "lm/threads.h"

namespace {

using remedi::lm::Batch;
using remedi::lm::LoadedModel;

struct Output {
  torch::Tensor log_probs;  // (V) float32: log-softmax of the next-token logits
  torch::Tensor greedy;     // (N) int64: the greedy continuation
};

Output run(const LoadedModel& model, const std::vector<std::int64_t>& ids, std::int64_t new_tokens) {
  const Batch batch{torch::tensor(ids, torch::kInt64).unsqueeze(0), torch::Tensor()};
  remedi::lm::ForwardOptions forward;
  forward.logits = remedi::lm::LogitsAt::Last;
  Output out;
  out.log_probs = torch::log_softmax(model.lm().forward(batch, forward).logits[0], -1);
  remedi::lm::GenerateOptions generate;
  generate.max_new_tokens = new_tokens;
  out.greedy = remedi::lm::generate(model.lm(), batch, generate).tokens[0];
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string model_name = "smollm2";
    std::int64_t prompts = 100;
    std::int64_t new_tokens = 20;
    for (int i = 1; i + 1 < argc; i += 2) {
      const std::string key = argv[i];
      if (key == "--model")
        model_name = argv[i + 1];
      else if (key == "--prompts")
        prompts = std::stoll(argv[i + 1]);
      else if (key == "--new-tokens")
        new_tokens = std::stoll(argv[i + 1]);
      else
        throw std::runtime_error("unknown option " + key);
    }
    remedi::lm::configure_threads();
    torch::NoGradGuard no_grad;
    const auto samples = remedi::data::load_counterfact(
        remedi::data::default_dataset_path("counterfact", remedi::evaluate::data_dir()));
    prompts = std::min<std::int64_t>(prompts, static_cast<std::int64_t>(samples.size()));

    const LoadedModel reference = remedi::lm::load_model(model_name, remedi::lm::load_options("cpu", "fp32"));
    std::vector<std::vector<std::int64_t>> ids;
    std::vector<Output> expected;
    for (std::int64_t p = 0; p < prompts; ++p) {
      ids.push_back(reference.tok().encode(samples[static_cast<std::size_t>(p)].prompt).ids);
      expected.push_back(run(reference, ids.back(), new_tokens));
    }
    std::cout << "model " << reference.path << "\nprompts " << prompts << " (CounterFact rows 0.."
              << prompts - 1 << ")\nnew_tokens " << new_tokens << "\nthreads " << torch::get_num_threads()
              << "\n"
              << "format top1_agree top10_overlap max_abs_dlogprob_top10 mean_abs_dlogprob_top10 "
                 "greedy_identical mean_agreeing_prefix\n";
    for (const std::string dtype : {"bf16", "q8_0", "q4_0", "q4_1"}) {
      const LoadedModel model = remedi::lm::load_model(model_name, remedi::lm::load_options("cpu", dtype));
      double top1 = 0, overlap = 0, max_delta = 0, sum_delta = 0, identical = 0, prefix = 0;
      for (std::int64_t p = 0; p < prompts; ++p) {
        const Output& want = expected[static_cast<std::size_t>(p)];
        const Output got = run(model, ids[static_cast<std::size_t>(p)], new_tokens);
        const torch::Tensor want_top = std::get<1>(want.log_probs.topk(10));
        const torch::Tensor got_top = std::get<1>(got.log_probs.topk(10));
        top1 += want_top[0].item<std::int64_t>() == got_top[0].item<std::int64_t>() ? 1 : 0;
        overlap += torch::isin(want_top, got_top).sum().item<double>() / 10.0;
        const torch::Tensor delta =
            (want.log_probs.index({want_top}) - got.log_probs.index({want_top})).abs();
        max_delta = std::max(max_delta, delta.max().item<double>());
        sum_delta += delta.mean().item<double>();
        const torch::Tensor same = want.greedy == got.greedy;
        identical += same.all().item<bool>() ? 1 : 0;
        // leading tokens that agree: the cumulative product of the agreement flags, summed
        prefix += same.to(torch::kInt64).cumprod(0).sum().item<double>();
      }
      const double n = static_cast<double>(prompts);
      std::printf("%s %.1f%% %.1f%% %.4f %.4f %.1f%% %.2f\n", dtype.c_str(), 100 * top1 / n,
                  100 * overlap / n, max_delta, sum_delta / n, 100 * identical / n, prefix / n);
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_quantized_quality: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
