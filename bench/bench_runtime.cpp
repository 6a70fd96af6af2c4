// Runtime benchmarks on a model (default: the SmolLM2 GGUF). One measurement per process, so that
// each reports its own peak RSS:
//   bench_runtime load       [--model M] [--dtype fp32|bf16|q8_0|q4_0|q4_1]   model load time
//   bench_runtime prompt     [--model M] [--batch 16 --tokens 32]  prompt processing GFLOP/s vs sgemm peak
//   bench_runtime generate   [--model M] [--dtype fp32|bf16|q8_0|q4_0|q4_1] [--new-tokens 128]  tokens/s vs
//   bandwidth bound bench_runtime sample     [--model M] [--batch 16 --tokens 16 --new-tokens 84]  batched
//   top-k 5 sampling
//                            (the evaluations' generation): seconds per decoding step, tokens/s
//   bench_runtime stop-early [--model M] [--layer 2]   forward to layer 2 vs full forward
//   bench_runtime edit       [--model M] [--dtype …] [--layer 2 --tokens 16 --new-tokens 128]  greedy
//   decoding
//                            with an edit applied vs without, interleaved
// Every mode takes --device cpu|cuda|cuda:N (default cpu). scripts/bench-runtime.sh runs them all. Every run
// prints the BLAS, the CPU kernels and the thread count.
#include <sys/resource.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <stdexcept>
#include <string>

#include "lm/generate.h"
#include "lm/model.h"
#include "lm/model_path.h"
#include "lm/threads.h"

namespace {

using Clock = std::chrono::steady_clock;
using remedi::lm::CausalLM;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

struct Args {
  std::string mode;
  std::string model = "smollm2";
  std::string dtype = "fp32";
  std::string device = "cpu";
  std::int64_t batch = 16;
  std::int64_t tokens = 32;
  std::int64_t new_tokens = 128;
  std::int64_t layer = 2;
  int repeats = 5;
};

Args parse(int argc, char** argv) {
  Args args;
  if (argc < 2)
    throw std::runtime_error("usage: bench_runtime load|prompt|generate|sample|edit|stop-early [options]");
  args.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const std::string value = argv[i + 1];
    if (key == "--model")
      args.model = value;
    else if (key == "--dtype")
      args.dtype = value;
    else if (key == "--device")
      args.device = value;
    else if (key == "--batch")
      args.batch = std::stoll(value);
    else if (key == "--tokens")
      args.tokens = std::stoll(value);
    else if (key == "--new-tokens")
      args.new_tokens = std::stoll(value);
    else if (key == "--layer")
      args.layer = std::stoll(value);
    else if (key == "--repeats")
      args.repeats = std::stoi(value);
    else
      throw std::runtime_error("unknown option " + key);
  }
  return args;
}

// Best-of-5 rate of an fp32 product of square n x n matrices through `multiply`.
template <typename Multiply>
double gemm_gflops(const Multiply& multiply) {
  const std::int64_t n = 2048;
  const torch::Tensor a = torch::randn({n, n});
  const torch::Tensor b = torch::randn({n, n});
  torch::Tensor c = multiply(a, b);
  double best = 1e30;
  for (int i = 0; i < 5; ++i) {
    const auto start = Clock::now();
    c = multiply(a, b);
    best = std::min(best, seconds_since(start));
  }
  return 2.0 * static_cast<double>(n * n * n) / best / 1e9;
}

// The fp32 sgemm rate this process reaches through libtorch (torch::mm: MKL in the x86-64 wheel),
// 2048 x 2048, best of 5: the yardstick of the prompt-processing rate.
double sgemm_peak_gflops() {
  const double blas =
      gemm_gflops([](const torch::Tensor& a, const torch::Tensor& b) { return torch::mm(a, b); });
  std::cout << "sgemm_gflops torch::mm " << blas << "\n";
  return blas;
}

// Bytes read per second by a streaming sum over 1 GiB of floats (larger than the caches) with this
// process's threads, best of 5: the rate at which a decode step could read weights from memory. (A
// copy's read + write rate is not that bound: on the project's machine it came out at a third of it.)
double read_bandwidth_gbs() {
  const std::int64_t count = std::int64_t{1} << 28;
  const torch::Tensor buffer = torch::ones({count});
  double best = 1e30;
  float total = 0;
  for (int i = 0; i < 5; ++i) {
    const auto start = Clock::now();
    total += buffer.sum().item<float>();
    best = std::min(best, seconds_since(start));
  }
  if (total <= 0) throw std::runtime_error("read_bandwidth_gbs: the sum is wrong");
  return 4.0 * static_cast<double>(count) / best / 1e9;
}

// Multiply-accumulate FLOPs of one forward over batch x tokens with logits everywhere.
double forward_flops(const remedi::lm::ModelConfig& c, std::int64_t batch, std::int64_t tokens) {
  const double h = static_cast<double>(c.hidden_size);
  const double kv = static_cast<double>(c.n_kv_head * c.head_dim);
  const double inner = static_cast<double>(c.intermediate_size);
  const double mlp_matrices = c.family == remedi::lm::Family::Llama ? 3.0 : 2.0;
  const double per_token_layer = h * (h + 2 * kv) + h * h + mlp_matrices * h * inner;
  // attention scores and weighted values: 2 * T_context * H per token on average T/2 context
  const double attention = 2.0 * (static_cast<double>(tokens) / 2.0) * h;
  const double per_token =
      static_cast<double>(c.n_layer) * (per_token_layer + attention) + h * static_cast<double>(c.vocab_size);
  return 2.0 * per_token * static_cast<double>(batch * tokens);
}

torch::Tensor random_ids(const CausalLM& model, std::int64_t batch, std::int64_t tokens) {
  return torch::randint(0, model.config().vocab_size, {batch, tokens}, torch::kInt64);
}

// One timed decode as the sample and edit modes measure it: a run of the prompt pass and its first
// token alone, then the same prompt to `new_tokens`; the difference over the extra tokens is the
// decoding step.
struct DecodeTiming {
  double prompt_seconds = 0;  // prompt pass and first token
  double whole_seconds = 0;   // prompt pass and every new token
  std::int64_t steps = 0;     // tokens after the first
};
DecodeTiming time_decode(const CausalLM& model, const torch::Tensor& ids, remedi::lm::GenerateOptions options,
                         std::int64_t new_tokens) {
  DecodeTiming timing;
  options.max_new_tokens = 1;
  auto start = Clock::now();
  remedi::lm::generate(model, {ids, torch::Tensor()}, options);
  timing.prompt_seconds = seconds_since(start);
  options.max_new_tokens = new_tokens;
  start = Clock::now();
  timing.steps = remedi::lm::generate(model, {ids, torch::Tensor()}, options).tokens.size(1) - 1;
  timing.whole_seconds = seconds_since(start);
  return timing;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args args = parse(argc, argv);
    remedi::lm::configure_threads();
    torch::manual_seed(0);
    torch::NoGradGuard no_grad;
    std::cout << "mode " << args.mode << "\nBLAS " << remedi::lm::blas_description() << "\nthreads "
              << torch::get_num_threads() << "\n";
    const std::string path = remedi::lm::resolve_model_path(args.model);
    const remedi::lm::LoadOptions options = remedi::lm::load_options(args.device, args.dtype);
    auto start = Clock::now();
    const auto model = CausalLM::load(path, options);
    const double load_seconds = seconds_since(start);
    std::cout << "model " << path << "\ndevice " << args.device << "\ndtype " << args.dtype
              << "\nload_seconds " << load_seconds << "\n";
    if (options.quantized) std::cout << "quantized_kernel " << remedi::lm::quant_kernel_name() << "\n";

    if (args.mode == "prompt") {
      const double peak = sgemm_peak_gflops();
      const torch::Tensor ids = random_ids(*model, args.batch, args.tokens);
      model->forward({ids, torch::Tensor()});  // warm-up
      double best = 1e30;
      for (int i = 0; i < args.repeats; ++i) {
        start = Clock::now();
        model->forward({ids, torch::Tensor()});
        best = std::min(best, seconds_since(start));
      }
      const double gflops = forward_flops(model->config(), args.batch, args.tokens) / best / 1e9;
      std::cout << "batch " << args.batch << " x " << args.tokens << " tokens, logits at every position\n"
                << "forward_seconds " << best << "\nachieved_gflops " << gflops << "\nsgemm_peak_gflops "
                << peak << "\nratio_to_peak " << gflops / peak << "\n";
    } else if (args.mode == "generate") {
      const double bandwidth = read_bandwidth_gbs();
      remedi::lm::GenerateOptions generate_options;
      generate_options.max_new_tokens = args.new_tokens;
      const torch::Tensor ids = random_ids(*model, 1, 8);
      remedi::lm::generate(*model, {ids, torch::Tensor()}, generate_options);  // warm-up
      start = Clock::now();
      const auto result = remedi::lm::generate(*model, {ids, torch::Tensor()}, generate_options);
      const double elapsed = seconds_since(start);
      const double tokens_per_second = static_cast<double>(result.tokens.size(1)) / elapsed;
      const double bytes_per_token = static_cast<double>(model->weight_bytes_per_token());
      const double bound = bandwidth * 1e9 / bytes_per_token;
      std::cout << "new_tokens " << result.tokens.size(1) << "\ntokens_per_second " << tokens_per_second
                << "\nweight_bytes_per_token " << bytes_per_token << "\nread_bandwidth_gbs " << bandwidth
                << "\nbandwidth_bound_tokens_per_second " << bound << "\nratio_to_bound "
                << tokens_per_second / bound << "\n";
    } else if (args.mode == "sample") {
      // One batch as the generation benchmark runs it: a prompt pass, then one-token steps with the KV
      // cache, top-k 5 sampling. Decoding steps are timed apart from the prompt pass.
      remedi::lm::GenerateOptions generate_options;
      generate_options.max_new_tokens = 2;
      generate_options.top_k = 5;
      const torch::Tensor ids = random_ids(*model, args.batch, args.tokens);
      remedi::lm::generate(*model, {ids, torch::Tensor()}, generate_options);  // warm-up
      double prompt_only = 1e30;
      double whole = 1e30;
      std::int64_t steps = 0;
      for (int i = 0; i < args.repeats; ++i) {
        const DecodeTiming timing = time_decode(*model, ids, generate_options, args.new_tokens);
        prompt_only = std::min(prompt_only, timing.prompt_seconds);
        whole = std::min(whole, timing.whole_seconds);
        steps = timing.steps;
      }
      const double per_step = (whole - prompt_only) / static_cast<double>(steps);
      std::cout << "batch " << args.batch << " x " << args.tokens << " prompt tokens, " << steps + 1
                << " new tokens\nprompt_pass_seconds " << prompt_only << "\nseconds_per_step " << per_step
                << "\nnew_tokens_per_second " << static_cast<double>(args.batch) / per_step << "\n";
    } else if (args.mode == "edit") {
      // What an edit adds to greedy decoding at batch 1: the same prompt decoded with and without an
      // intervention (a random direction of the hidden states' size at --layer, over prompt positions
      // 2..4, as a REMEDI edit of a 3-token entity), runs interleaved so that load affects both alike.
      // Per step and prompt pass timed apart, best of --repeats each.
      const torch::Tensor ids = random_ids(*model, 1, args.tokens);
      remedi::lm::Intervention edit;
      edit.layer = args.layer;
      edit.directions = torch::randn({1, model->config().hidden_size}).to(model->dtype());
      edit.ranges = torch::tensor({2, 5}, torch::kInt64).view({1, 2});
      double prompt[2] = {1e30, 1e30};
      double whole[2] = {1e30, 1e30};
      std::int64_t steps = 0;
      for (int i = 0; i <= args.repeats; ++i) {  // run 0 warms up
        for (const int edited : {0, 1}) {
          remedi::lm::GenerateOptions run;
          if (edited == 1) run.interventions = {edit};
          const DecodeTiming timing = time_decode(*model, ids, run, args.new_tokens);
          steps = timing.steps;
          if (i > 0) {
            prompt[edited] = std::min(prompt[edited], timing.prompt_seconds);
            whole[edited] = std::min(whole[edited], timing.whole_seconds);
          }
        }
      }
      const auto per_step = [&](int edited) {
        return (whole[edited] - prompt[edited]) / static_cast<double>(steps);
      };
      std::cout << "prompt " << args.tokens << " tokens, " << steps + 1 << " new tokens, edit at layer "
                << args.layer << "\nprompt_pass_seconds unedited " << prompt[0] << " edited " << prompt[1]
                << "\nseconds_per_step unedited " << per_step(0) << " edited " << per_step(1)
                << "\nstep_cost_ratio_edited_to_unedited " << per_step(1) / per_step(0)
                << "\nwhole_ratio_edited_to_unedited " << whole[1] / whole[0] << "\n";
    } else if (args.mode == "stop-early") {
      const torch::Tensor ids = random_ids(*model, args.batch, args.tokens);
      remedi::lm::ForwardOptions partial;
      partial.stop_after_layer = args.layer;
      partial.capture_layers = {args.layer};
      model->forward({ids, torch::Tensor()});
      double full = 1e30;
      double early = 1e30;
      for (int i = 0; i < args.repeats; ++i) {
        start = Clock::now();
        model->forward({ids, torch::Tensor()});
        full = std::min(full, seconds_since(start));
        start = Clock::now();
        model->forward({ids, torch::Tensor()}, partial);
        early = std::min(early, seconds_since(start));
      }
      std::cout << "batch " << args.batch << " x " << args.tokens << "\nfull_forward_seconds " << full
                << "\nforward_to_layer_" << args.layer << "_seconds " << early << "\nspeedup " << full / early
                << "\n";
    } else if (args.mode != "load") {
      throw std::runtime_error("unknown mode " + args.mode);
    }
    std::cout << "peak_rss_mib " << peak_rss_mib() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "bench_runtime: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
