// The continuous-batching scheduler of `remedi serve` (serve/scheduler.h) on a tiny random model with
// random editors saved at two layers: requests with different edits, joining while others decode,
// each get the tokens they get alone, and one edited request gets what `remedi edit`'s library call
// (prepare_edits + generate_tokens) gives.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "remedi/edit.h"
#include "remedi/editor.h"
#include "remedi/editor_file.h"
#include "serve/scheduler.h"
#include "tiny_model.h"

namespace remedi::serve {
namespace {

// A folder with random linear editors at layers 0 and 1 of `model`.
std::string tiny_editors(const lm::LoadedModel& model) {
  const std::string dir = test::temp_dir("serve-editors");
  for (const std::int64_t layer : {0, 1}) {
    EditorConfig config;
    config.layer = layer;
    config.hidden_size = model.lm().config().hidden_size;
    std::shared_ptr<Editor> editor = make_editor(config, 10 + static_cast<std::uint64_t>(layer));
    // A new linear editor starts at zero (no edit); random weights make every edit count.
    torch::manual_seed(static_cast<std::uint64_t>(layer));
    torch::NoGradGuard no_grad;
    for (torch::Tensor& p : editor->parameters()) p.normal_(0, 0.05);
    save_editor(*editor, editor_folder(dir, "linear", layer), model.lm());
  }
  return dir;
}

// Collects a job's outcome for the test thread.
struct Waiter {
  std::mutex mutex;
  std::condition_variable ready;
  std::optional<CompletionResult> result;
  std::optional<std::string> error;
  std::string streamed;

  std::shared_ptr<Job> job(const CompletionRequest& request, bool stream = false) {
    auto job = std::make_shared<Job>();
    job->request = request;
    if (stream) {
      job->on_delta = [this](const std::string& delta, const std::vector<StepInfo>&) {
        streamed += delta;
        return true;
      };
    }
    job->on_done = [this](const CompletionResult& r) {
      const std::lock_guard<std::mutex> lock(mutex);
      result = r;
      ready.notify_all();
    };
    job->on_error = [this](const ApiError& e) {
      const std::lock_guard<std::mutex> lock(mutex);
      error = e.what();
      ready.notify_all();
    };
    return job;
  }
  CompletionResult wait() {
    std::unique_lock<std::mutex> lock(mutex);
    ready.wait(lock, [&] { return result || error; });
    EXPECT_FALSE(error) << *error;
    return result.value_or(CompletionResult{});
  }
};

CompletionRequest greedy(const std::string& prompt, std::int64_t max_tokens) {
  CompletionRequest r;
  r.prompt = prompt;
  r.sampling.max_tokens = max_tokens;
  r.sampling.temperature = 0;
  r.sampling.logprobs = 0;
  return r;
}

std::vector<std::int64_t> ids_of(const CompletionResult& r) {
  std::vector<std::int64_t> ids;
  for (const StepInfo& s : r.steps) ids.push_back(s.token.id);
  return ids;
}

std::vector<CompletionRequest> mixed_requests() {
  const std::vector<std::string> cities = {"paris",  "rome",   "berlin", "madrid",
                                           "lisbon", "athens", "oslo",   "cairo"};
  std::vector<CompletionRequest> out;
  for (std::size_t i = 0; i < cities.size(); ++i) {
    CompletionRequest r = greedy("the city of " + cities[i] + " is in the country of",
                                 6 + static_cast<std::int64_t>(i % 3) * 4);
    if (i % 4 != 3) {  // every fourth request runs unedited
      EditSpec e;
      e.entity = cities[i];
      e.context = cities[i] + " is in " + cities[(i + 3) % cities.size()];
      e.layer = static_cast<std::int64_t>(i % 2);
      e.alpha = 2.0 + static_cast<double>(i);
      r.edits.push_back(e);
    }
    if (i == 2) {  // two edits on one prompt
      EditSpec e;
      e.entity = "country";
      e.context = "country means a town";
      e.layer = 1;
      r.edits.push_back(e);
    }
    out.push_back(r);
  }
  return out;
}

TEST(ServeScheduler, BatchedRequestsWithDifferentEditsEqualEachAlone) {
  const lm::LoadedModel model = test::tiny_model("gpt2");
  SchedulerOptions options;
  options.editors_dir = tiny_editors(model);
  options.max_batch = 3;  // fewer rows than requests: later ones join while earlier ones decode
  const std::vector<CompletionRequest> requests = mixed_requests();

  std::vector<CompletionResult> alone;
  {
    Scheduler scheduler(model, options);
    for (const CompletionRequest& r : requests) {
      Waiter w;
      scheduler.submit(w.job(r));
      alone.push_back(w.wait());
    }
  }
  Scheduler scheduler(model, options);
  std::vector<std::unique_ptr<Waiter>> waiters;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    waiters.push_back(std::make_unique<Waiter>());
    scheduler.submit(waiters.back()->job(requests[i], /*stream=*/i % 2 == 0));
  }
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const CompletionResult together = waiters[i]->wait();
    EXPECT_EQ(ids_of(together), ids_of(alone[i])) << "request " << i;
    EXPECT_EQ(together.text, alone[i].text) << "request " << i;
    EXPECT_EQ(together.finish_reason, alone[i].finish_reason);
    if (i % 2 == 0) {
      EXPECT_EQ(waiters[i]->streamed, together.text) << "request " << i;
    }
  }
  const SchedulerStats stats = scheduler.stats();
  EXPECT_EQ(stats.completed, static_cast<std::int64_t>(requests.size()));
  EXPECT_EQ(stats.max_rows, 3);
  EXPECT_GT(stats.direction_cache_misses, 0);
  std::filesystem::remove_all(options.editors_dir);
}

TEST(ServeScheduler, AnEditedRequestMatchesTheLibraryEdit) {
  const lm::LoadedModel model = test::tiny_model("gpt2");
  SchedulerOptions options;
  options.editors_dir = tiny_editors(model);
  Scheduler scheduler(model, options);
  CompletionRequest r = greedy("the city of paris is in the country of", 8);
  EditSpec e;
  e.entity = "paris";
  e.context = "paris is in spain";
  e.layer = 1;
  e.alpha = 4;
  r.edits = {e};
  r.return_edit = true;
  Waiter w;
  scheduler.submit(w.job(r));
  const CompletionResult served = w.wait();

  EditRequest request;
  request.prompt = r.prompt;
  request.entity = e.entity;
  request.context = e.context;
  request.alpha = e.alpha;
  request.editor = load_editor(options.editors_dir, "linear", 1, model.lm());
  request.editor->eval();
  const PreparedEdits edits = prepare_edits(model, {request});
  lm::GenerateOptions generate;
  generate.max_new_tokens = 8;
  generate.eos_id = model.tok().eos_id();
  const std::vector<Continuation> expected = continue_prompts(model, edits, 10, generate, /*edited=*/true);
  const std::vector<Continuation> unedited = continue_prompts(model, edits, 10, generate, /*edited=*/false);
  std::vector<std::int64_t> want = expected[0].tokens;
  if (!want.empty() && want.back() == model.tok().eos_id()) want.pop_back();
  EXPECT_EQ(ids_of(served), want);
  ASSERT_TRUE(served.edit.has_value());
  ASSERT_EQ(served.edit->after.size(), 10U);
  double change = 0;  // the random editor does move the distribution
  for (std::size_t k = 0; k < 10; ++k) {
    change += std::abs(std::exp(served.edit->after[k].logprob) - std::exp(served.edit->before[k].logprob));
    EXPECT_EQ(served.edit->after[k].id, expected[0].top[k].id);
    EXPECT_NEAR(std::exp(served.edit->after[k].logprob), expected[0].top[k].probability, 1e-5);
    EXPECT_EQ(served.edit->before[k].id, unedited[0].top[k].id);
  }
  EXPECT_GT(change, 1e-3);
  std::filesystem::remove_all(options.editors_dir);
}

TEST(ServeScheduler, RefusesWhatTheModelCannotDo) {
  const lm::LoadedModel model = test::tiny_model("gpt2");
  SchedulerOptions options;
  Scheduler scheduler(model, options);
  const auto param = [&](const CompletionRequest& r) {
    try {
      Waiter w;
      scheduler.submit(w.job(r));
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status(), 400);
      return e.param();
    }
    return std::string("<none>");
  };
  EXPECT_EQ(param(greedy(std::string(400, 'x'), 1)), "prompt");  // longer than the 128-token context
  EXPECT_EQ(param(greedy("a b c", 127)), "max_tokens");
  CompletionRequest edited = greedy("paris is", 2);
  edited.edits.push_back({"paris", "paris is big", "", 1, "linear", 1, 1});
  EXPECT_EQ(param(edited), "edits");  // no editors directory
}

TEST(ServeScheduler, StopsAtAStopStringAndSamplesReproducibly) {
  const lm::LoadedModel model = test::tiny_model("gpt2");
  Scheduler scheduler(model, {});
  CompletionRequest r = greedy("the city of paris is in", 12);
  Waiter first;
  scheduler.submit(first.job(r));
  const CompletionResult full = first.wait();
  ASSERT_GE(full.text.size(), 3U);
  r.sampling.stop = {full.text.substr(1, 2)};
  Waiter stopped;
  scheduler.submit(stopped.job(r, /*stream=*/true));
  const CompletionResult cut = stopped.wait();
  EXPECT_EQ(cut.finish_reason, "stop");
  EXPECT_EQ(cut.text, full.text.substr(0, full.text.find(r.sampling.stop[0])));
  EXPECT_EQ(stopped.streamed, cut.text);

  CompletionRequest sampled = greedy("the city of paris is in", 10);
  sampled.sampling.temperature = 0.9;
  sampled.sampling.top_p = 0.8;
  sampled.sampling.seed = 42;
  Waiter a;
  Waiter b;
  scheduler.submit(a.job(sampled));
  scheduler.submit(b.job(sampled));
  EXPECT_EQ(ids_of(a.wait()), ids_of(b.wait()));
}

}  // namespace
}  // namespace remedi::serve
