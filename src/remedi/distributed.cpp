#include "remedi/distributed.h"

#include <torch/torch.h>

// The wheel has the Gloo backend compiled in but not Gloo's headers: src/remedi/gloo_decl declares
// the names this header needs (see the comment there). USE_C10D_GLOO is set for this unit only.
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <limits>

#include "util/error.h"

namespace remedi::dist {

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value == nullptr || *value == '\0' ? fallback : std::string(value);
}

int env_int(const char* name, int fallback, int low, int high) {
  const std::string text = env_or(name, "");
  if (text.empty()) return fallback;
  std::size_t used = 0;
  long value = 0;
  try {
    value = std::stol(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || value < low || value > high) {
    throw Error(
        "<environment>", name,
        "'" + text + "' is not a whole number in " + std::to_string(low) + ".." + std::to_string(high));
  }
  return static_cast<int>(value);
}

// The first line of a c10d/Gloo message (they append C++ stack traces on the following lines).
std::string first_line(const std::string& text) {
  const std::string line = text.substr(0, text.find('\n'));
  return line.size() > 400 ? line.substr(0, 400) + "..." : line;
}

std::string seconds_text(std::chrono::milliseconds timeout) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) + " s";
}

}  // namespace

Environment read_environment() {
  Environment e;
  e.world_size = env_int("WORLD_SIZE", 1, 1, 1 << 20);
  e.rank = env_int("RANK", 0, 0, e.world_size - 1);
  e.local_rank = env_int("LOCAL_RANK", 0, 0, e.world_size - 1);
  e.master_addr = env_or("MASTER_ADDR", e.master_addr);
  e.master_port = env_int("MASTER_PORT", e.master_port, 1, std::numeric_limits<std::uint16_t>::max());
  e.agent_store = env_or("TORCHELASTIC_USE_AGENT_STORE", "") == "True";
  e.restart_count = env_int("TORCHELASTIC_RESTART_COUNT", 0, 0, std::numeric_limits<int>::max());
  return e;
}

void check_backend(const std::string& backend) {
  if (backend == "gloo") return;
  if (backend == "nccl") {
    throw Error("<argument>", "--dist-backend",
                "nccl is not available in this build (the PyPI wheel ships no NCCL headers); use gloo, "
                "which also reduces CUDA tensors through the CPU (docs/DISTRIBUTED.md)");
  }
  throw Error("<argument>", "--dist-backend", "'" + backend + "' is not one of gloo, nccl");
}

struct Group::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
};

std::shared_ptr<Group> Group::from_environment(const Options& options) {
  check_backend(options.backend);
  const Environment environment = read_environment();
  if (environment.world_size == 1) return nullptr;
  return std::make_shared<Group>(environment, options);
}

Group::Group(const Environment& environment, const Options& options)
    : environment_(environment), options_(options), impl_(std::make_unique<Impl>()) {
  const std::string where =
      "rank " + std::to_string(environment.rank) + " of " + std::to_string(environment.world_size) + ": ";
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(environment.master_port);
    // Under torchrun the agent serves the store; otherwise rank 0 does.
    store_options.isServer = environment.rank == 0 && !environment.agent_store;
    store_options.numWorkers = static_cast<std::size_t>(environment.world_size);
    store_options.waitWorkers = false;
    store_options.timeout = options.timeout;
    const auto tcp = c10::make_intrusive<c10d::TCPStore>(environment.master_addr, store_options);
    impl_->store =
        c10::make_intrusive<c10d::PrefixStore>("remedi/" + std::to_string(environment.restart_count), tcp);
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(options.timeout);
    // This host's address as its peers can reach it: the loopback for a single-node job, else the
    // address the host name resolves to (Gloo's default device).
    const bool local = environment.master_addr == "127.0.0.1" || environment.master_addr == "localhost";
    gloo_options->devices.push_back(local ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                          : c10d::ProcessGroupGloo::createDefaultDevice());
    impl_->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, environment.rank,
                                                                 environment.world_size, gloo_options);
  } catch (const std::exception& e) {
    throw Failure(where + "could not join the process group at " + environment.master_addr + ":" +
                  std::to_string(environment.master_port) + " within " + seconds_text(options.timeout) +
                  " (--dist-timeout): " + first_line(e.what()));
  }
}

Group::~Group() = default;

namespace {

// Runs one collective and waits for it; any error becomes a one-line Failure.
template <typename Start>
void collective(const Group& group, const char* what, Start start) {
  try {
    const c10::intrusive_ptr<c10d::Work> work = start();
    work->wait();
  } catch (const std::exception& e) {
    throw Failure("rank " + std::to_string(group.rank()) + " of " + std::to_string(group.size()) + ": " +
                  what + " failed: another rank died or did not answer within " +
                  seconds_text(group.timeout()) + " (--dist-timeout): " + first_line(e.what()));
  }
}

}  // namespace

void Group::all_reduce_sum(std::vector<torch::Tensor>& tensors) {
  if (tensors.empty()) return;
  // Gloo reduces CPU tensors: CUDA ones travel through host copies.
  std::vector<torch::Tensor> host;
  for (const torch::Tensor& t : tensors) host.push_back(t.is_cuda() ? t.cpu() : t.contiguous());
  c10d::AllreduceOptions reduce;
  reduce.reduceOp = c10d::ReduceOp(c10d::ReduceOp::SUM);
  collective(*this, "all-reduce", [&] { return impl_->backend->allreduce(host, reduce); });
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (!host[i].is_same(tensors[i])) tensors[i].copy_(host[i]);
  }
}

void Group::all_reduce_max(torch::Tensor& tensor) {
  std::vector<torch::Tensor> host{tensor.is_cuda() ? tensor.cpu() : tensor.contiguous()};
  c10d::AllreduceOptions reduce;
  reduce.reduceOp = c10d::ReduceOp(c10d::ReduceOp::MAX);
  collective(*this, "all-reduce", [&] { return impl_->backend->allreduce(host, reduce); });
  if (!host[0].is_same(tensor)) tensor.copy_(host[0]);
}

std::vector<std::string> Group::all_gather(const std::string& bytes) {
  const auto ranks = static_cast<std::size_t>(size());
  // The sizes first, then every part padded to the longest (Gloo gathers equal shapes).
  std::vector<torch::Tensor> sizes{torch::zeros({size()}, torch::kInt64)};
  sizes[0][rank()] = static_cast<std::int64_t>(bytes.size());
  all_reduce_sum(sizes);
  const std::int64_t longest = std::max<std::int64_t>(1, sizes[0].max().item<std::int64_t>());
  torch::Tensor mine = torch::zeros({longest}, torch::kUInt8);
  std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(mine.data_ptr<std::uint8_t>()));
  std::vector<std::vector<torch::Tensor>> parts(1);
  for (std::size_t r = 0; r < ranks; ++r) parts[0].push_back(torch::empty({longest}, torch::kUInt8));
  std::vector<torch::Tensor> input{mine};
  collective(*this, "all-gather", [&] { return impl_->backend->allgather(parts, input); });
  std::vector<std::string> result;
  for (std::size_t r = 0; r < ranks; ++r) {
    const auto* begin = reinterpret_cast<const char*>(parts[0][r].data_ptr<std::uint8_t>());
    result.emplace_back(
        begin, static_cast<std::size_t>(sizes[0][static_cast<std::int64_t>(r)].item<std::int64_t>()));
  }
  return result;
}

void Group::barrier() {
  c10d::BarrierOptions options;
  options.timeout = options_.timeout;
  collective(*this, "barrier", [&] { return impl_->backend->barrier(options); });
}

std::pair<std::size_t, std::size_t> shard(std::size_t count, int rank, int ranks) {
  const auto r = static_cast<std::size_t>(rank);
  const auto n = static_cast<std::size_t>(std::max(1, ranks));
  const std::size_t base = count / n;
  const std::size_t extra = count % n;
  const std::size_t begin = r * base + std::min(r, extra);
  return {begin, begin + base + (r < extra ? 1 : 0)};
}

}  // namespace remedi::dist
