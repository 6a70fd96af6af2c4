#include "serve/scheduler.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <tuple>
#include <utility>

#include "remedi/edit.h"
#include "remedi/editor.h"
#include "remedi/editor_file.h"
#include "tok/spans.h"
#include "util/error.h"

namespace remedi::serve {

namespace {

constexpr std::size_t kDirectionCacheSize = 4096;
const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD: decode's mark for an incomplete character

// A request being decoded: one row of the batch cache.
struct Row {
  std::shared_ptr<Job> job;
  std::vector<std::int64_t> ids;  // generated, without a final stop token
  std::vector<StepInfo> steps;    // every step (for the response's logprobs)
  std::vector<StepInfo> unsent;   // steps whose text has not been streamed yet
  std::size_t sent = 0;           // bytes of text streamed
  at::Generator generator;
  std::int64_t prompt_tokens = 0;
  std::int64_t generated = 0;  // tokens sampled, a stop token included
  std::int64_t last = 0;       // the token the next step feeds
  std::set<std::int64_t> stop_ids;
  std::optional<EditReport> edit;
};

// (B, n_kv, T, D) keys or values, or a (B, T) mask: `left` zero columns in front along the time axis.
torch::Tensor pad_left(const torch::Tensor& t, std::int64_t left, std::int64_t time_dim) {
  if (left == 0) return t;
  std::vector<std::int64_t> shape = t.sizes().vec();
  shape[static_cast<std::size_t>(time_dim)] = left;
  return torch::cat({torch::zeros(shape, t.options()), t}, time_dim);
}

// Appends `add`'s rows to `into`, both trimmed to their lengths and left-padded to the longer.
void append_rows(lm::KVCache& into, const lm::KVCache& add) {
  const std::int64_t a = into.length();
  const std::int64_t b = add.length();
  const std::int64_t length = std::max(a, b);
  if (into.keys.empty()) {
    into.keys.resize(add.keys.size());
    into.values.resize(add.values.size());
  }
  for (std::size_t l = 0; l < add.keys.size(); ++l) {
    const torch::Tensor k = pad_left(add.keys[l].narrow(2, 0, b), length - b, 2);
    const torch::Tensor v = pad_left(add.values[l].narrow(2, 0, b), length - b, 2);
    if (a == 0) {
      into.keys[l] = k.contiguous();
      into.values[l] = v.contiguous();
    } else {
      into.keys[l] = torch::cat({pad_left(into.keys[l].narrow(2, 0, a), length - a, 2), k}, 0);
      into.values[l] = torch::cat({pad_left(into.values[l].narrow(2, 0, a), length - a, 2), v}, 0);
    }
  }
  const torch::Tensor mask = pad_left(add.attention_mask, length - b, 1);
  into.attention_mask = a == 0 ? mask : torch::cat({pad_left(into.attention_mask, length - a, 1), mask}, 0);
  into.next_position = a == 0 ? add.next_position : torch::cat({into.next_position, add.next_position}, 0);
}

// Keeps rows `keep` (sorted) of `cache` and drops the leading columns no kept row uses.
void keep_rows(lm::KVCache& cache, const std::vector<std::int64_t>& keep) {
  if (keep.empty()) {
    cache = lm::KVCache{};
    return;
  }
  const torch::Device device = cache.attention_mask.device();
  const torch::Tensor index = torch::tensor(keep, torch::TensorOptions().dtype(torch::kInt64)).to(device);
  const torch::Tensor mask = cache.attention_mask.index_select(0, index);
  const std::int64_t length = mask.size(1);
  const torch::Tensor used = mask.sum(0).gt(0).nonzero();
  const std::int64_t first = used.numel() > 0 ? used[0][0].item<std::int64_t>() : 0;
  for (std::size_t l = 0; l < cache.keys.size(); ++l) {
    cache.keys[l] = cache.keys[l].narrow(2, first, length - first).index_select(0, index);
    cache.values[l] = cache.values[l].narrow(2, first, length - first).index_select(0, index);
  }
  cache.attention_mask = mask.narrow(1, first, length - first).contiguous();
  cache.next_position = cache.next_position.index_select(0, index);
}

// One token from a row's float32 CPU logits (V) under the request's sampling.
std::int64_t sample(const torch::Tensor& logits, const Sampling& s, at::Generator& generator) {
  if (s.temperature == 0 || s.top_k == 1) return logits.argmax().item<std::int64_t>();
  torch::Tensor values = logits / s.temperature;
  torch::Tensor ids;
  if (s.top_k > 0) {
    std::tie(values, ids) = values.topk(std::min<std::int64_t>(s.top_k, values.size(0)));
  } else if (s.top_p < 1) {
    std::tie(values, ids) = values.sort(/*dim=*/0, /*descending=*/true);
  }
  if (s.top_p < 1) {
    // Nucleus: the most likely tokens whose probabilities reach top_p (the first one always kept).
    const torch::Tensor p = torch::softmax(values, 0);
    const torch::Tensor before = p.cumsum(0) - p;
    values = values.masked_fill(before.ge(s.top_p), -std::numeric_limits<float>::infinity());
  }
  const torch::Tensor pick = torch::multinomial(torch::softmax(values, 0), 1, false, generator);
  return ids.defined() ? ids[pick.item<std::int64_t>()].item<std::int64_t>() : pick.item<std::int64_t>();
}

std::size_t utf8_boundary(const std::string& text, std::size_t at) {
  while (at > 0 && at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0U) == 0x80U) --at;
  return at;
}

}  // namespace

struct Scheduler::Impl {
  lm::LoadedModel model;
  SchedulerOptions options;

  mutable std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::shared_ptr<Job>> queue;
  bool draining = false;
  SchedulerStats stats;

  std::mutex editors_mutex;
  std::map<std::pair<std::string, std::int64_t>, std::shared_ptr<Editor>> editors;  // (type, layer)
  std::map<std::tuple<std::string, std::int64_t, std::string, std::string, std::string>, torch::Tensor>
      directions;

  std::vector<Row> rows;
  lm::KVCache cache;
  std::thread thread;

  Impl(lm::LoadedModel m, SchedulerOptions o) : model(std::move(m)), options(std::move(o)) {
    stats.batch_le.assign(batch_bounds.size(), 0);
  }

  std::shared_ptr<Editor> editor(const EditSpec& edit, const std::string& field) {
    if (options.editors_dir.empty()) {
      throw ApiError(400, "edits", "the server was started without an editors directory (-e)");
    }
    const std::lock_guard<std::mutex> lock(editors_mutex);
    auto& slot = editors[{edit.editor, edit.layer}];
    if (!slot) {
      try {
        slot = load_editor(options.editors_dir, edit.editor, edit.layer, model.lm());
      } catch (const Error& e) {
        editors.erase({edit.editor, edit.layer});
        throw ApiError(400, field + (edit.layer >= 0 ? ".layer" : ".editor"), e.what());
      }
      slot->eval();
    }
    return slot;
  }

  // A completion prompt gets the BOS/EOS the tokenizer adds (as HF's tokenizer(prompt) does); a chat
  // prompt is the template's text, which already begins with the BOS token's text.
  tok::Encoding prompt_encoding(const CompletionRequest& r) const {
    return model.tok().encode(r.prompt, /*add_special_tokens=*/!r.chat);
  }

  void check(const Job& job) {
    const CompletionRequest& r = job.request;
    const std::int64_t context = model.lm().config().max_positions;
    const auto prompt_tokens = static_cast<std::int64_t>(prompt_encoding(r).ids.size());
    if (context > 0 && prompt_tokens > context) {
      throw ApiError(400, r.chat ? "messages" : "prompt",
                     "is " + std::to_string(prompt_tokens) + " tokens, more than the model's context of " +
                         std::to_string(context));
    }
    if (context > 0 && prompt_tokens + r.sampling.max_tokens > context) {
      throw ApiError(400, "max_tokens",
                     std::to_string(r.sampling.max_tokens) + " new tokens after a prompt of " +
                         std::to_string(prompt_tokens) + " exceed the model's context of " +
                         std::to_string(context));
    }
    const std::int64_t vocab = model.lm().config().vocab_size;
    if (r.sampling.top_k > vocab)
      throw ApiError(400, "top_k", "more than the vocabulary of " + std::to_string(vocab));
    for (std::size_t i = 0; i < r.edits.size(); ++i) editor(r.edits[i], "edits[" + std::to_string(i) + "]");
  }

  // Interventions (batch of 1) that apply the job's edits to its prompt.
  std::vector<lm::Intervention> interventions(const Job& job, const tok::Encoding& encoding,
                                              std::vector<std::string>& attributes) {
    const CompletionRequest& r = job.request;
    const lm::CausalLM& lm = model.lm();
    std::vector<lm::Intervention> out;
    std::vector<EditRequest> missing;
    std::vector<std::size_t> missing_at;
    std::vector<torch::Tensor> found(r.edits.size());
    std::vector<std::shared_ptr<Editor>> editors_of;
    for (std::size_t i = 0; i < r.edits.size(); ++i) {
      const EditSpec& e = r.edits[i];
      const std::string field = "edits[" + std::to_string(i) + "]";
      editors_of.push_back(editor(e, field));
      attributes.push_back(e.attribute.empty() ? default_attribute(e.entity, e.context) : e.attribute);
      const auto key = std::make_tuple(e.editor, editors_of.back()->config().layer, e.entity, e.context,
                                       attributes.back());
      const auto hit = directions.find(key);
      if (hit != directions.end()) {
        found[i] = hit->second;
        ++stats_hits;
        continue;
      }
      ++stats_misses;
      EditRequest request;
      request.prompt = r.prompt;
      request.entity = e.entity;
      request.context = e.context;
      request.attribute = attributes.back();
      request.editor = editors_of.back();
      missing.push_back(std::move(request));
      missing_at.push_back(i);
    }
    if (!missing.empty()) {
      std::vector<std::string> names;
      for (const std::size_t i : missing_at) names.push_back("edits[" + std::to_string(i) + "].");
      const PreparedEdits prepared = prepare_edits(model, missing, names);
      if (directions.size() + missing.size() > kDirectionCacheSize) directions.clear();
      for (std::size_t j = 0; j < missing.size(); ++j) {
        const std::size_t i = missing_at[j];
        found[i] = prepared.directions[static_cast<std::int64_t>(j)].clone();
        const EditSpec& e = r.edits[i];
        directions[{e.editor, editors_of[i]->config().layer, e.entity, e.context, attributes[i]}] = found[i];
      }
    }
    for (std::size_t i = 0; i < r.edits.size(); ++i) {
      const EditSpec& e = r.edits[i];
      tok::TokenRange range;
      try {
        range = tok::token_range(encoding.offsets, r.prompt, e.entity, 0);
      } catch (const Error& error) {
        throw ApiError(400, "edits[" + std::to_string(i) + "].entity", error.reason());
      }
      if (editors_of[i]->config().edit_last_entity_token) range = tok::last_token(range);
      const torch::Tensor ranges =
          torch::tensor({range.begin, range.end}, torch::TensorOptions().dtype(torch::kInt64)).view({1, 2});
      out.push_back({editors_of[i]->config().layer, found[i].view({1, -1}).to(lm.device()),
                     ranges.to(lm.device()), e.alpha, e.beta});
    }
    return out;
  }
  std::int64_t stats_hits = 0;
  std::int64_t stats_misses = 0;

  std::vector<TokenInfo> top_tokens(const torch::Tensor& logp, std::int64_t k) const {
    const auto [values, ids] = logp.topk(std::min<std::int64_t>(k, logp.size(0)));
    std::vector<TokenInfo> out;
    for (std::int64_t j = 0; j < values.size(0); ++j) {
      const std::int64_t id = ids[j].item<std::int64_t>();
      out.push_back({id, model.tok().decode({id}), values[j].item<double>()});
    }
    return out;
  }

  void finish(Row& row, const std::string& reason, const std::string& text) {
    if (row.job->on_delta && text.size() > row.sent) {
      row.job->on_delta(text.substr(row.sent), row.unsent);
      row.unsent.clear();
    }
    CompletionResult result;
    result.text = text;
    result.finish_reason = reason;
    result.steps = std::move(row.steps);
    result.prompt_tokens = row.prompt_tokens;
    result.completion_tokens = row.generated;
    result.edit = row.edit;
    {
      const std::lock_guard<std::mutex> lock(mutex);
      ++stats.completed;
      stats.completion_tokens += row.generated;
    }
    row.job->on_done(result);
  }

  // Takes the row's next token from its logits (V, float32, CPU); returns true when the row is done.
  bool advance(Row& row, const torch::Tensor& logits) {
    const CompletionRequest& r = row.job->request;
    const std::int64_t id = sample(logits, r.sampling, row.generator);
    ++row.generated;
    if (row.stop_ids.count(id) != 0) {
      finish(row, "stop", model.tok().decode(row.ids, /*skip_special_tokens=*/true));
      return true;
    }
    row.ids.push_back(id);
    row.last = id;
    if (r.sampling.logprobs >= 0) {
      const torch::Tensor logp = torch::log_softmax(logits, 0);
      StepInfo step{
          {id, model.tok().decode({id}), logp[id].item<double>()},
          r.sampling.logprobs > 0 ? top_tokens(logp, r.sampling.logprobs) : std::vector<TokenInfo>{}};
      row.steps.push_back(step);
      if (row.job->on_delta) row.unsent.push_back(std::move(step));
    }
    std::string text = model.tok().decode(row.ids, /*skip_special_tokens=*/true);
    std::size_t stop_at = std::string::npos;
    std::size_t longest_stop = 0;
    for (const std::string& s : r.sampling.stop) {
      stop_at = std::min(stop_at, text.find(s));
      longest_stop = std::max(longest_stop, s.size());
    }
    if (stop_at != std::string::npos) {
      finish(row, "stop", text.substr(0, stop_at));
      return true;
    }
    if (row.generated >= r.sampling.max_tokens) {
      finish(row, "length", text);
      return true;
    }
    if (row.job->on_delta) {
      // Stream what can no longer change: not an incomplete character, not a possible stop's start.
      std::size_t safe = text.size();
      while (safe >= kReplacement.size() &&
             text.compare(safe - kReplacement.size(), kReplacement.size(), kReplacement) == 0) {
        safe -= kReplacement.size();
      }
      if (longest_stop > 1)
        safe = utf8_boundary(text, safe > longest_stop - 1 ? safe - (longest_stop - 1) : 0);
      if (safe > row.sent) {
        const bool open = row.job->on_delta(text.substr(row.sent, safe - row.sent), row.unsent);
        row.unsent.clear();
        row.sent = safe;
        if (!open) row.job->cancelled = true;
      }
    }
    return false;
  }

  void fail(const std::shared_ptr<Job>& job, const ApiError& error) {
    {
      const std::lock_guard<std::mutex> lock(mutex);
      ++stats.failed;
    }
    job->on_error(error);
  }

  // A new job ready for its prompt pass.
  struct Pending {
    Row row;
    tok::Encoding encoding;
    std::vector<std::string> attributes;
    std::vector<lm::Intervention> edits;  // batch of 1, at columns of the unpadded prompt
  };

  // Runs the new jobs' prompts in one forward (left-padded; each row gets only its own edits: an
  // intervention's other rows have empty ranges), samples their first tokens, and appends to the
  // batch the rows that are not done at once.
  void admit(const std::vector<std::shared_ptr<Job>>& jobs) {
    const lm::CausalLM& lm = model.lm();
    std::vector<Pending> pending;
    for (const auto& job : jobs) {
      if (job->cancelled) {  // its client went away while it waited
        {
          const std::lock_guard<std::mutex> lock(mutex);
          ++stats.cancelled;
        }
        job->on_error(ApiError(499, "", "the client closed the request"));
        continue;
      }
      const CompletionRequest& r = job->request;
      Pending p;
      p.row.job = job;
      p.encoding = prompt_encoding(r);
      p.row.prompt_tokens = static_cast<std::int64_t>(p.encoding.ids.size());
      p.row.generator = at::make_generator<at::CPUGeneratorImpl>(r.sampling.seed ? *r.sampling.seed
                                                                                 : std::random_device{}());
      p.row.stop_ids.insert(model.tok().eos_id());
      if (r.chat && !r.end_of_turn.empty()) {
        if (const auto end = model.tok().token_id(r.end_of_turn)) p.row.stop_ids.insert(*end);
      }
      try {
        p.edits = interventions(*job, p.encoding, p.attributes);
      } catch (const ApiError& e) {
        fail(job, e);
        continue;
      } catch (const Error& e) {
        fail(job, ApiError(400, e.field(), e.what()));
        continue;
      }
      pending.push_back(std::move(p));
    }
    if (pending.empty()) return;

    const auto g = static_cast<std::int64_t>(pending.size());
    std::int64_t width = 0;
    for (const Pending& p : pending) width = std::max(width, p.row.prompt_tokens);
    const auto long_options = torch::TensorOptions().dtype(torch::kInt64);
    torch::Tensor ids = torch::full({g, width}, model.tok().pad_id(), long_options);
    torch::Tensor mask = torch::zeros({g, width}, long_options);
    lm::ForwardOptions forward;
    forward.logits = lm::LogitsAt::Last;
    lm::KVCache added;
    forward.cache = &added;
    for (std::int64_t i = 0; i < g; ++i) {
      const Pending& p = pending[static_cast<std::size_t>(i)];
      const std::int64_t pad = width - p.row.prompt_tokens;
      ids[i].narrow(0, pad, p.row.prompt_tokens).copy_(torch::tensor(p.encoding.ids, long_options));
      mask[i].narrow(0, pad, p.row.prompt_tokens).fill_(1);
      for (const lm::Intervention& e : p.edits) {
        torch::Tensor ranges = torch::zeros({g, 2}, long_options);
        ranges[i].copy_(e.ranges[0].cpu() + pad);
        forward.interventions.push_back(
            {e.layer, e.directions.expand({g, -1}).contiguous(), ranges.to(lm.device()), e.alpha, e.beta});
      }
    }
    torch::Tensor logits;
    try {
      logits = lm.forward({ids.to(lm.device()), mask.to(lm.device())}, forward)
                   .logits.to(torch::kCPU, torch::kFloat32);
      for (Pending& p : pending) {
        if (!p.row.job->request.return_edit) continue;
        // The unedited prompt alone, for the report's "before".
        lm::ForwardOptions plain;
        plain.logits = lm::LogitsAt::Last;
        const torch::Tensor alone = torch::tensor(p.encoding.ids, long_options).view({1, -1}).to(lm.device());
        const torch::Tensor before =
            lm.forward({alone, torch::Tensor()}, plain).logits[0].to(torch::kCPU, torch::kFloat32);
        p.row.edit =
            EditReport{p.attributes, top_tokens(torch::log_softmax(before, 0), options.edit_top), {}};
      }
    } catch (const std::exception& e) {
      for (const Pending& p : pending)
        fail(p.row.job, ApiError(500, "", std::string("internal error: ") + e.what(), "server_error"));
      return;
    }
    std::vector<std::int64_t> keep;
    for (std::int64_t i = 0; i < g; ++i) {
      Row& row = pending[static_cast<std::size_t>(i)].row;
      const torch::Tensor row_logits = logits[i];
      if (row.edit) row.edit->after = top_tokens(torch::log_softmax(row_logits, 0), options.edit_top);
      {
        const std::lock_guard<std::mutex> lock(mutex);
        stats.prompt_tokens += row.prompt_tokens;
      }
      if (row.job->request.sampling.max_tokens == 0) {
        finish(row, "length", "");
        continue;
      }
      if (!advance(row, row_logits)) keep.push_back(i);
    }
    if (keep.empty()) return;
    keep_rows(added, keep);
    append_rows(cache, added);
    for (const std::int64_t i : keep) rows.push_back(std::move(pending[static_cast<std::size_t>(i)].row));
  }

  void step() {
    const lm::CausalLM& lm = model.lm();
    std::vector<std::int64_t> last;
    for (const Row& row : rows) last.push_back(row.last);
    const auto b = static_cast<std::int64_t>(rows.size());
    const torch::Tensor input =
        torch::tensor(last, torch::TensorOptions().dtype(torch::kInt64)).view({b, 1}).to(lm.device());
    lm::ForwardOptions forward;
    forward.logits = lm::LogitsAt::Last;
    forward.cache = &cache;
    const torch::Tensor logits =
        lm.forward({input, torch::Tensor()}, forward).logits.to(torch::kCPU, torch::kFloat32);
    {
      const std::lock_guard<std::mutex> lock(mutex);
      ++stats.decode_steps;
      stats.decode_rows += b;
      stats.max_rows = std::max(stats.max_rows, b);
      for (std::size_t i = 0; i < batch_bounds.size(); ++i) {
        if (b <= batch_bounds[i]) ++stats.batch_le[i];
      }
    }
    std::vector<bool> done(rows.size(), false);
    for (std::size_t i = 0; i < rows.size(); ++i)
      done[i] = advance(rows[i], logits[static_cast<std::int64_t>(i)]);
    remove(done);
  }

  void remove(const std::vector<bool>& done) {
    std::vector<std::int64_t> keep;
    std::vector<Row> kept;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (!done[i]) {
        keep.push_back(static_cast<std::int64_t>(i));
        kept.push_back(std::move(rows[i]));
      }
    }
    if (kept.size() != rows.size()) keep_rows(cache, keep);
    rows = std::move(kept);
  }

  void drop_cancelled() {
    std::vector<bool> done(rows.size(), false);
    bool any = false;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (rows[i].job->cancelled) {
        done[i] = any = true;
        {
          const std::lock_guard<std::mutex> lock(mutex);
          ++stats.cancelled;
        }
        rows[i].job->on_error(ApiError(499, "", "the client closed the request"));
      }
    }
    if (any) remove(done);
  }

  void loop() {
    torch::NoGradGuard no_grad;
    for (;;) {
      std::vector<std::shared_ptr<Job>> admitted;
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return !queue.empty() || !rows.empty() || draining; });
        if (queue.empty() && rows.empty() && draining) return;
        while (!queue.empty() &&
               static_cast<std::int64_t>(rows.size() + admitted.size()) < options.max_batch) {
          admitted.push_back(std::move(queue.front()));
          queue.pop_front();
        }
        stats.queued = static_cast<std::int64_t>(queue.size());
      }
      if (!admitted.empty()) admit(admitted);
      drop_cancelled();
      if (!rows.empty()) {
        try {
          step();
        } catch (const std::exception& e) {
          // A step that throws leaves the cache in an unknown state: fail every row rather than crash.
          for (Row& row : rows)
            fail(row.job, ApiError(500, "", std::string("internal error: ") + e.what(), "server_error"));
          rows.clear();
          cache = lm::KVCache{};
        }
      }
      const std::lock_guard<std::mutex> lock(mutex);
      stats.active = static_cast<std::int64_t>(rows.size());
      stats.direction_cache_hits = stats_hits;
      stats.direction_cache_misses = stats_misses;
    }
  }
};

Scheduler::Scheduler(lm::LoadedModel model, SchedulerOptions options)
    : impl_(std::make_unique<Impl>(std::move(model), std::move(options))) {
  if (impl_->options.max_batch < 1) throw Error("<argument>", "--max-batch", "must be >= 1");
  impl_->thread = std::thread([this] { impl_->loop(); });
}

Scheduler::~Scheduler() { drain(); }

void Scheduler::submit(const std::shared_ptr<Job>& job) {
  {
    const std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->draining) throw ApiError(503, "", "the server is shutting down", "server_error");
    if (impl_->queue.size() >= impl_->options.max_queue) {
      throw ApiError(503, "", "too many waiting requests", "server_error");
    }
  }
  impl_->check(*job);
  {
    const std::lock_guard<std::mutex> lock(impl_->mutex);
    ++impl_->stats.submitted;
    impl_->queue.push_back(job);
    impl_->stats.queued = static_cast<std::int64_t>(impl_->queue.size());
  }
  impl_->wake.notify_one();
}

void Scheduler::drain() {
  {
    const std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->draining = true;
  }
  impl_->wake.notify_one();
  if (impl_->thread.joinable()) impl_->thread.join();
}

SchedulerStats Scheduler::stats() const {
  const std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->stats;
}

const lm::LoadedModel& Scheduler::model() const { return impl_->model; }

}  // namespace remedi::serve
