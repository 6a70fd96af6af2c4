// Continuous batching for `remedi serve`: one thread owns the model and runs every request's tokens.
//
// Each active request is a row of one KV cache (lm/model.h), rows left-padded to a common length.
// Between two decode steps the thread admits waiting requests (up to max_batch rows): it runs the
// new prompts in one left-padded forward, each row with its own request's edits as interventions
// (METHOD §6.3: edits act on the prompt pass; later steps attend to the edited prompt's cached keys
// and values), samples their first tokens, and appends their caches to the batch's. A decode step then feeds
// every row's last token at once, whatever its edits, so requests with different edits share each step; a
// finished or cancelled row leaves the cache at once and its slot goes to the next waiting request. Sampling
// is per row (its own seeded generator, temperature, top-k, top-p), so a request gets the same tokens whether
// it runs alone or among others (up to floating-point summation order in the batched step).
//
// Editors are loaded once per (type, layer) from the editors directory; directions are cached per
// (editor type, layer, entity, context, attribute): the editor reads the entity alone and the
// context (remedi/precompute.h), not the prompt, so one direction serves every prompt.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lm/loaded_model.h"
#include "serve/api.h"

namespace remedi::serve {

// One request in the scheduler. The callbacks run on the scheduler's thread, in this order:
// on_delta for each new piece of text (only when set: streaming), then exactly one of on_done or
// on_error. on_delta returning false (the client has gone) cancels the request, as does `cancelled`.
struct Job {
  CompletionRequest request;
  std::function<bool(const std::string& delta, const std::vector<StepInfo>& steps)> on_delta;
  std::function<void(const CompletionResult& result)> on_done;
  std::function<void(const ApiError& error)> on_error;
  std::atomic<bool> cancelled{false};
};

struct SchedulerOptions {
  std::int64_t max_batch = 16;   // rows decoded together at most
  std::string editors_dir;       // empty: requests with edits are refused
  std::int64_t edit_top = 10;    // next tokens listed by return_edit
  std::size_t max_queue = 1024;  // waiting requests at most (more: 503)
};

// Counters since start, for /metrics and tests.
struct SchedulerStats {
  std::int64_t submitted = 0;
  std::int64_t completed = 0;
  std::int64_t failed = 0;
  std::int64_t cancelled = 0;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t decode_steps = 0;
  std::int64_t decode_rows = 0;        // summed over steps (mean batch = decode_rows / decode_steps)
  std::int64_t max_rows = 0;           // the largest decode step
  std::vector<std::int64_t> batch_le;  // decode steps with at most batch_bounds[i] rows (cumulative)
  std::int64_t active = 0;             // rows now
  std::int64_t queued = 0;             // waiting now
  std::int64_t direction_cache_hits = 0;
  std::int64_t direction_cache_misses = 0;
};
inline const std::vector<std::int64_t> batch_bounds = {1, 2, 4, 8, 16, 32, 64, 128};

class Scheduler {
 public:
  Scheduler(lm::LoadedModel model, SchedulerOptions options);
  ~Scheduler();  // drains
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Checks what needs the model (the prompt fits the context with max_tokens after it; the edits'
  // editors exist) and queues the job. Throws ApiError: 400 naming the field, 503 when draining or
  // when the queue is full.
  void submit(const std::shared_ptr<Job>& job);
  // Stops taking jobs, finishes the queued and active ones, and stops the thread.
  void drain();
  SchedulerStats stats() const;
  const lm::LoadedModel& model() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace remedi::serve
