// Running one job as several processes (docs/DISTRIBUTED.md): the process group that `torchrun` (or
// Slurm, or a hand-written launcher) describes in the environment, and the few collectives remedi
// needs on top of libtorch's c10d: a sum over ranks (editor gradients, loss terms), a gather of
// bytes (per-sample records) and a barrier. Every collective waits at most the group's timeout; a rank
// that died or hangs makes the others throw dist::Failure (one line) instead of waiting forever.
//
// One process started without WORLD_SIZE (or with WORLD_SIZE=1) has no group: Group::from_environment
// returns nullptr and every caller keeps its single-process path, unchanged.
//
//   auto group = dist::Group::from_environment({"gloo", std::chrono::seconds(300)});
//   const auto [begin, end] = dist::shard(rows.size(), dist::rank(group.get()), dist::size(group.get()));
//   ... work on rows [begin, end) ...
//   std::vector<std::string> parts = group->all_gather(serialise(my_records));  // in rank order
#pragma once

#include <torch/types.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace remedi::dist {

// A collective that failed: a peer died, hung past the timeout, or the rendezvous did not complete.
// The message is one line naming this rank and what happened.
class Failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string backend = "gloo";                // gloo (CPU tensors; CUDA ones are staged through the CPU)
  std::chrono::milliseconds timeout{300'000};  // rendezvous and every collective
};

// What the launcher put in the environment: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT,
// and torchrun's TORCHELASTIC_USE_AGENT_STORE (its agent already serves the store at MASTER_PORT) and
// TORCHELASTIC_RESTART_COUNT (keys of a restarted job must not meet the previous attempt's).
struct Environment {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool agent_store = false;
  int restart_count = 0;
};

// Throws remedi::Error naming the variable for a value that is not a number or out of range (RANK
// outside 0..WORLD_SIZE-1, say); WORLD_SIZE unset reads as 1.
Environment read_environment();

// "--dist-backend": throws remedi::Error for a backend this build cannot create (nccl: the wheel
// has no NCCL headers; see docs/DISTRIBUTED.md).
void check_backend(const std::string& backend);

class Group {
 public:
  // The group of the environment's job, or nullptr for one process (WORLD_SIZE unset or 1). Blocks
  // until every rank has joined (at most options.timeout). Throws Failure when the rendezvous fails.
  static std::shared_ptr<Group> from_environment(const Options& options);
  Group(const Environment& environment, const Options& options);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  int rank() const { return environment_.rank; }
  int size() const { return environment_.world_size; }
  int local_rank() const { return environment_.local_rank; }
  bool root() const { return environment_.rank == 0; }
  std::chrono::milliseconds timeout() const { return options_.timeout; }

  // In place: every tensor becomes its sum over the ranks (same shapes and dtypes on every rank; on
  // the CPU or a CUDA device). Every rank receives the same result, bit for bit (Gloo reduces each
  // chunk once and then broadcasts it).
  void all_reduce_sum(std::vector<torch::Tensor>& tensors);
  // In place: the maximum over the ranks.
  void all_reduce_max(torch::Tensor& tensor);
  // Every rank's `bytes`, in rank order, on every rank (sizes may differ between ranks).
  std::vector<std::string> all_gather(const std::string& bytes);
  // Returns once every rank has called it; throws Failure past the timeout.
  void barrier();

 private:
  struct Impl;
  Environment environment_;
  Options options_;
  std::unique_ptr<Impl> impl_;
};

// Rank and size of an optional group: 0 and 1 for none.
inline int rank(const Group* group) { return group == nullptr ? 0 : group->rank(); }
inline int size(const Group* group) { return group == nullptr ? 1 : group->size(); }
inline bool root(const Group* group) { return group == nullptr || group->root(); }

// Rows [begin, end) of `count` that rank `rank` of `ranks` takes: contiguous, in order, sizes differing
// by at most one (the first count % ranks ranks take one more), so concatenating the ranks' parts in
// rank order gives back 0..count.
std::pair<std::size_t, std::size_t> shard(std::size_t count, int rank, int ranks);

}  // namespace remedi::dist
