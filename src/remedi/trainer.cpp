#include "remedi/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "eval/early_stopping.h"
#include "lm/model.h"
#include "lm/weights.h"
#include "remedi/distributed.h"
#include "remedi/editor.h"
#include "remedi/precompute.h"
#include "tok/tokenizer.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/progress.h"

namespace remedi {

namespace {

using Clock = std::chrono::steady_clock;

std::vector<torch::Tensor> parameters(Editor& editor) { return editor.parameters(/*recurse=*/true); }

std::vector<torch::Tensor> snapshot(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> copies;
  for (const torch::Tensor& p : params) copies.push_back(p.detach().clone());
  return copies;
}

void restore(const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& values) {
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < params.size(); ++i) params[i].copy_(values[i]);
}

EditBatch* essence_of(TrainingSplit& split, std::size_t index) {
  return split.essence.empty() ? nullptr : &split.essence[index];
}

// One step of a pass: a whole batch (one process) or this rank's part of one (data parallel; no
// batch when the rank has no row of it).
struct Step {
  EditBatch* batch = nullptr;
  EditBatch* essence = nullptr;
  const BatchShare* share = nullptr;
  std::int64_t rows = 0;  // of the whole batch
};

std::size_t step_count(const TrainingSplit& split) {
  return split.parts.empty() ? split.batches.size() : split.parts.size();
}

Step step_of(TrainingSplit& split, std::size_t index) {
  if (split.parts.empty()) {
    return {&split.batches[index], essence_of(split, index), nullptr, split.batches[index].size()};
  }
  const TrainingSplit::Part& part = split.parts[index];
  if (part.batch < 0) return {nullptr, nullptr, &part.share, part.share.rows};
  const auto local = static_cast<std::size_t>(part.batch);
  return {&split.batches[local], essence_of(split, local), &part.share, part.share.rows};
}

// The names of the terms remedi_loss reports for `weights`, "total" last.
std::vector<std::string> term_names(const LossWeights& weights) {
  std::vector<std::string> names;
  if (weights.mediated) names.emplace_back("mediated");
  if (weights.unmediated) names.emplace_back("unmediated");
  if (weights.kl) names.emplace_back("kl");
  if (weights.norm) names.emplace_back("norm");
  if (weights.essence) names.emplace_back("essence");
  names.emplace_back("total");
  return names;
}

// The step's loss. Data parallel: `total` is this rank's share (what its backward needs) and `terms`
// the whole batch's, summed over the ranks (a collective: every rank calls it for every step).
LossResult step_loss(const lm::CausalLM& model, Editor& editor, const Step& step,
                     const TrainOptions& options) {
  LossResult loss;
  if (step.batch != nullptr) {
    loss = remedi_loss(model, editor, *step.batch, step.essence, options.weights, options.mode, step.share);
  }
  if (options.group == nullptr) return loss;
  const std::vector<std::string> names = term_names(options.weights);
  std::vector<torch::Tensor> values{torch::zeros({static_cast<std::int64_t>(names.size())}, torch::kFloat64)};
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto it = loss.terms.find(names[i]);
    if (it != loss.terms.end()) values[0][static_cast<std::int64_t>(i)] = it->second;
  }
  options.group->all_reduce_sum(values);
  for (std::size_t i = 0; i < names.size(); ++i) {
    loss.terms[names[i]] = values[0][static_cast<std::int64_t>(i)].item<double>();
  }
  return loss;
}

// Sums the editor's gradients over the ranks: one all-reduce of every gradient flattened, with one
// flag per parameter appended so that a parameter without a gradient on every rank stays without one
// (AdamW skips it, as one process does).
void reduce_gradients(dist::Group& group, const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> pieces;
  std::vector<float> flags;
  for (const torch::Tensor& p : params) {
    const torch::Tensor& grad = p.grad();
    pieces.push_back(grad.defined() ? grad.reshape(-1).to(torch::kFloat32)
                                    : torch::zeros({p.numel()}, p.options().dtype(torch::kFloat32)));
    flags.push_back(grad.defined() ? 1.0F : 0.0F);
  }
  const torch::Device device = params.empty() ? torch::Device(torch::kCPU) : params[0].device();
  pieces.push_back(torch::tensor(flags, torch::kFloat32).to(device));
  std::vector<torch::Tensor> buffer{torch::cat(pieces)};
  group.all_reduce_sum(buffer);
  torch::NoGradGuard no_grad;
  std::int64_t offset = 0;
  const std::int64_t flag_offset = buffer[0].numel() - static_cast<std::int64_t>(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    torch::Tensor p = params[i];
    const torch::Tensor sum = buffer[0].narrow(0, offset, p.numel()).view_as(p).to(p.scalar_type());
    offset += p.numel();
    if (buffer[0][flag_offset + static_cast<std::int64_t>(i)].item<float>() > 0) {
      p.mutable_grad() = sum.clone();
    } else {
      p.mutable_grad() = torch::Tensor();
    }
  }
}

// Whether a training step's batches keep their keys and values before the edit across epochs, within
// TrainOptions::prefix_cache_bytes (`kept`: the bytes kept so far). Before a batch's first training
// step: offered while the budget is not spent.
void offer_prefix_cache(const Step& step, std::int64_t budget, std::int64_t kept) {
  for (EditBatch* batch : {step.batch, step.essence}) {
    if (batch != nullptr) batch->keep_prefix_keys_values = kept < budget;
  }
}

// After that step: kept while its bytes fit the budget (and counted), else dropped for good.
void settle_prefix_cache(const Step& step, std::int64_t budget, std::int64_t& kept) {
  for (EditBatch* batch : {step.batch, step.essence}) {
    if (batch == nullptr) continue;
    const std::int64_t bytes = batch->prefix_cache_bytes();
    if (kept + bytes > budget) {
      batch->drop_prefix_cache();
    } else {
      kept += bytes;
    }
  }
}

std::string format_loss(double value) {
  std::ostringstream out;
  out.precision(4);
  out << "loss " << value;
  return out.str();
}

nlohmann::json epoch_json(const EpochRecord& r) {
  return {{"epoch", r.epoch},
          {"train_loss", r.train_loss},
          {"validation_loss", r.validation_loss},
          {"validation_terms", r.validation_terms},
          {"improved", r.improved},
          {"seconds", r.seconds}};
}

EpochRecord epoch_from_json(const nlohmann::json& j) {
  EpochRecord r;
  r.epoch = j.at("epoch").get<std::int64_t>();
  r.train_loss = j.at("train_loss").get<double>();
  r.validation_loss = j.at("validation_loss").get<double>();
  r.validation_terms = j.at("validation_terms").get<std::map<std::string, double>>();
  r.improved = j.at("improved").get<bool>();
  r.seconds = j.at("seconds").get<double>();
  return r;
}

// One file: editor parameters, best parameters, AdamW state, and the loop's state as JSON.
struct Checkpoint {
  std::int64_t epoch = -1;  // last completed epoch
  double tracker_best = 0;
  std::int64_t tracker_bad_epochs = 0;
  bool finished = false;
  std::vector<EpochRecord> history;
  double train_seconds = 0;
  std::int64_t train_samples = 0;
  nlohmann::json arguments;  // TrainOptions::arguments of the run that wrote it
};

void save_checkpoint(const std::string& path, const Checkpoint& state,
                     const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& best,
                     torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive archive;
  for (std::size_t i = 0; i < params.size(); ++i) {
    archive.write("editor_" + std::to_string(i), params[i].detach());
    archive.write("best_" + std::to_string(i), best[i]);
  }
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  nlohmann::json meta = {{"epoch", state.epoch},
                         {"tracker_best", state.tracker_best},
                         {"tracker_bad_epochs", state.tracker_bad_epochs},
                         {"finished", state.finished},
                         {"train_seconds", state.train_seconds},
                         {"train_samples", state.train_samples},
                         {"arguments", state.arguments},
                         {"history", nlohmann::json::array()}};
  for (const EpochRecord& r : state.history) meta["history"].push_back(epoch_json(r));
  archive.write("meta", c10::IValue(meta.dump()));
  const std::filesystem::path target(path);
  create_folders(target.parent_path().string());  // nothing for a bare file name
  // Serialised in memory (a few MB), then written through AtomicOutputFile: a full disk or any other
  // write error becomes a remedi::Error naming the file, and no partial temporary file stays behind.
  std::ostringstream bytes;
  archive.save_to(bytes);
  AtomicOutputFile out(path);
  out.write(bytes.view());
  out.commit();
}

Checkpoint load_checkpoint(const std::string& path, const std::vector<torch::Tensor>& params,
                           std::vector<torch::Tensor>& best, torch::optim::Optimizer& optimizer) {
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error& e) {
    throw Error(path, "", "not a readable training checkpoint");
  }
  Checkpoint state;
  c10::IValue meta_value;
  if (!archive.try_read("meta", meta_value) || !meta_value.isString()) throw Error(path, "meta", "missing");
  // The loop's state is JSON of our own, but the file may be damaged or edited: any missing key or
  // wrong type is a one-line error naming the checkpoint, and counts out of range are refused before
  // they steer the loop (a negative patience count, an epoch whose successor overflows).
  try {
    const nlohmann::json meta = nlohmann::json::parse(meta_value.toStringRef());
    state.epoch = meta.at("epoch").get<std::int64_t>();
    state.tracker_best = meta.at("tracker_best").get<double>();
    state.tracker_bad_epochs = meta.at("tracker_bad_epochs").get<std::int64_t>();
    state.finished = meta.at("finished").get<bool>();
    for (const nlohmann::json& r : meta.at("history")) state.history.push_back(epoch_from_json(r));
    // Absent from checkpoints written before they were recorded.
    state.train_seconds = meta.value("train_seconds", 0.0);
    state.train_samples = meta.value("train_samples", std::int64_t{0});
    state.arguments = meta.value("arguments", nlohmann::json());
  } catch (const nlohmann::json::exception& e) {
    throw Error(path, "meta", std::string("malformed: ") + e.what());
  }
  if (state.epoch < -1 || state.epoch >= std::numeric_limits<std::int32_t>::max() ||
      state.tracker_bad_epochs < 0 || state.train_samples < 0) {
    throw Error(path, "meta", "malformed: epoch, tracker_bad_epochs or train_samples out of range");
  }
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < params.size(); ++i) {
    torch::Tensor value;
    torch::Tensor best_value;
    if (!archive.try_read("editor_" + std::to_string(i), value) ||
        !archive.try_read("best_" + std::to_string(i), best_value) ||
        !value.sizes().equals(params[i].sizes()) || !best_value.sizes().equals(params[i].sizes())) {
      throw Error(path, "editor_" + std::to_string(i), "missing or shaped for another editor");
    }
    params[i].copy_(value);
    best[i] = best_value.to(params[i].device()).clone();
  }
  torch::serialize::InputArchive optimizer_archive;
  if (!archive.try_read("optimizer", optimizer_archive)) throw Error(path, "optimizer", "missing");
  try {
    optimizer.load(optimizer_archive);
  } catch (const c10::Error&) {
    throw Error(path, "optimizer", "not the state of this editor's optimizer");
  }
  return state;
}

// Refuses to resume a checkpoint whose run was asked something else: "lr (checkpoint 0.001, now 0.01)".
void check_same_arguments(const std::string& path, const nlohmann::json& recorded,
                          const nlohmann::json& now) {
  if (!recorded.is_object() || !now.is_object()) return;
  std::string differ;
  nlohmann::json keys = recorded;
  keys.update(now);
  for (const auto& [key, unused] : keys.items()) {
    const nlohmann::json before = recorded.value(key, nlohmann::json());
    const nlohmann::json after = now.value(key, nlohmann::json());
    if (before == after) continue;
    differ +=
        (differ.empty() ? "" : ", ") + key + " (checkpoint " + before.dump() + ", now " + after.dump() + ")";
  }
  if (!differ.empty()) {
    throw Error(path, "arguments",
                "written by a run with other arguments: " + differ +
                    "; resume with the same arguments, or delete the checkpoint to start again");
  }
}

// Appends the batch of samples [begin, end) to `split`, and its essence prompts' batch when asked.
void add_batch(TrainingSplit& split, const tok::Tokenizer& tokenizer,
               const std::vector<data::MediationSample>& samples, const EditorInputs& inputs,
               std::size_t begin, std::size_t end, const EditorConfig& editor, std::int64_t max_length,
               bool with_essence) {
  EditBatchOptions options;
  options.max_length = max_length;
  options.refuse_truncated = true;  // where the evaluations keep the original's truncation
  split.batches.push_back(make_sample_batch(tokenizer, samples, inputs, begin, end, editor, options));
  if (with_essence) {
    std::vector<std::string> prompts;
    for (std::size_t i = begin; i < end; ++i) prompts.push_back(essence_prompt(samples[i].entity));
    options.refuse_truncated = false;
    split.essence.push_back(
        make_sample_batch(tokenizer, samples, inputs, begin, end, editor, options, &prompts));
  }
}

}  // namespace

TrainingSplit make_training_split(const tok::Tokenizer& tokenizer,
                                  const std::vector<data::MediationSample>& samples,
                                  const EditorInputs& inputs, const EditorConfig& editor,
                                  std::int64_t batch_size, std::int64_t max_length, bool with_essence) {
  if (batch_size <= 0) throw Error("<argument>", "--batch-size", "must be positive");
  TrainingSplit split;
  const auto step = static_cast<std::size_t>(batch_size);
  for (std::size_t begin = 0; begin < samples.size(); begin += step) {
    const std::size_t end = std::min(samples.size(), begin + step);
    add_batch(split, tokenizer, samples, inputs, begin, end, editor, max_length, with_essence);
  }
  return split;
}

std::vector<std::size_t> shard_rows(std::size_t count, std::int64_t batch_size, int rank, int ranks) {
  if (batch_size <= 0) throw Error("<argument>", "--batch-size", "must be positive");
  std::vector<std::size_t> rows;
  const auto step = static_cast<std::size_t>(batch_size);
  for (std::size_t begin = 0; begin < count; begin += step) {
    const auto [low, high] = dist::shard(std::min(step, count - begin), rank, ranks);
    for (std::size_t i = low; i < high; ++i) rows.push_back(begin + i);
  }
  return rows;
}

TrainingSplit make_sharded_training_split(const tok::Tokenizer& tokenizer,
                                          const std::vector<data::MediationSample>& samples,
                                          const std::vector<std::size_t>& rows, const EditorInputs& inputs,
                                          const EditorConfig& editor, std::int64_t batch_size,
                                          std::int64_t max_length, bool with_essence, dist::Group& group) {
  if (rows != shard_rows(samples.size(), batch_size, group.rank(), group.size())) {
    throw Error("<training>", "rows", "not this rank's shard of the split");
  }
  std::vector<data::MediationSample> local;
  for (const std::size_t i : rows) local.push_back(samples[i]);
  const auto step = static_cast<std::size_t>(batch_size);
  const auto batches = static_cast<std::int64_t>((samples.size() + step - 1) / step);
  // Per whole batch: how many of its rows have a KL position, and the last such row (an index into
  // the split), summed and maximised over the ranks.
  std::vector<torch::Tensor> kl_rows{torch::zeros({batches}, torch::kInt64)};
  torch::Tensor last_kl_row = torch::full({batches}, -1, torch::kInt64);
  std::vector<std::size_t> first_row;  // per whole batch: the split index of this rank's first row
  TrainingSplit split;
  split.global_samples = static_cast<std::int64_t>(samples.size());
  std::size_t next = 0;  // into `local`
  for (std::int64_t b = 0; b < batches; ++b) {
    const std::size_t begin = static_cast<std::size_t>(b) * step;
    const std::size_t count = std::min(step, samples.size() - begin);
    const auto [low, high] = dist::shard(count, group.rank(), group.size());
    TrainingSplit::Part part;
    part.share.rows = static_cast<std::int64_t>(count);
    first_row.push_back(begin + low);
    if (high > low) {
      part.batch = static_cast<std::int64_t>(split.batches.size());
      const std::size_t end = next + (high - low);
      add_batch(split, tokenizer, local, inputs, next, end, editor, max_length, with_essence);
      // A row has a KL position when its prompt goes on past the entity (remedi_loss's read.count > 1).
      const torch::Tensor has_kl = split.batches.back().lengths > split.batches.back().entity_ends;
      kl_rows[0][b] = has_kl.sum();
      for (std::int64_t r = has_kl.size(0) - 1; r >= 0; --r) {
        if (has_kl[r].item<bool>()) {
          last_kl_row[b] = static_cast<std::int64_t>(begin + low) + r;
          break;
        }
      }
      next = end;
    }
    split.parts.push_back(part);
  }
  group.all_reduce_sum(kl_rows);
  group.all_reduce_max(last_kl_row);
  for (std::int64_t b = 0; b < batches; ++b) {
    TrainingSplit::Part& part = split.parts[static_cast<std::size_t>(b)];
    part.share.kl_rows = kl_rows[0][b].item<std::int64_t>();
    if (part.batch < 0) continue;
    const std::int64_t first = static_cast<std::int64_t>(first_row[static_cast<std::size_t>(b)]);
    const std::int64_t last = last_kl_row[b].item<std::int64_t>();
    if (last >= first && last < first + split.batches[static_cast<std::size_t>(part.batch)].size()) {
      part.share.last_kl_row = last - first;
    }
  }
  return split;
}

std::int64_t TrainingSplit::samples() const {
  if (!parts.empty()) return global_samples;
  std::int64_t count = 0;
  for (const EditBatch& batch : batches) count += batch.size();
  return count;
}

double evaluate_loss(const lm::CausalLM& model, Editor& editor, TrainingSplit& split,
                     const TrainOptions& options, std::map<std::string, double>* terms) {
  torch::NoGradGuard no_grad;
  double sum = 0;
  std::map<std::string, double> term_sums;
  for (std::size_t i = 0; i < step_count(split); ++i) {
    const LossResult loss = step_loss(model, editor, step_of(split, i), options);
    sum += loss.terms.at("total");
    for (const auto& [name, value] : loss.terms) term_sums[name] += value;
  }
  const auto count = static_cast<double>(std::max<std::size_t>(1, step_count(split)));
  if (terms != nullptr) {
    terms->clear();
    for (const auto& [name, value] : term_sums) (*terms)[name] = value / count;
  }
  return sum / count;
}

namespace {

// --reference-mode reproduces the original's computation (METHOD Q4): the LM's weights are trainable
// while the editor trains, so every backward also computes (and accumulates, never steps) their
// gradients. Restored to frozen, gradients dropped, when training ends.
class TrainableLm {
 public:
  TrainableLm(const lm::CausalLM& model, bool enabled) {
    if (!enabled) return;
    for (const torch::Tensor* t : model.weights().all()) add(*t);
  }
  TrainableLm(const TrainableLm&) = delete;
  TrainableLm& operator=(const TrainableLm&) = delete;
  ~TrainableLm() {
    for (torch::Tensor& t : tensors_) {
      t.mutable_grad() = torch::Tensor();
      t.set_requires_grad(false);
    }
  }

 private:
  void add(const torch::Tensor& t) {
    if (!t.defined() || t.requires_grad() || !t.is_floating_point()) return;  // tied head: once
    torch::Tensor handle = t;
    handle.set_requires_grad(true);
    tensors_.push_back(handle);
  }
  std::vector<torch::Tensor> tensors_;
};

}  // namespace

TrainReport train_editor(const lm::CausalLM& model, Editor& editor, TrainingSplit& train,
                         TrainingSplit& validation, const TrainOptions& options) {
  if (step_count(train) == 0) throw Error("<argument>", "--train-size", "no training batches");
  if (step_count(validation) == 0) throw Error("<argument>", "--hold-out", "no validation batches");
  const bool writes = dist::root(options.group);  // data parallel: rank 0 alone writes the checkpoint
  editor.train();
  const TrainableLm trainable_lm(model, options.mode == ComputeMode::Reference);
  const std::vector<torch::Tensor> params = parameters(editor);
  torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(options.lr)
                                            .betas({0.9, 0.999})
                                            .eps(options.adam_eps)
                                            .weight_decay(options.weight_decay));
  std::vector<torch::Tensor> best = snapshot(params);
  eval::EarlyStopping tracker(static_cast<std::size_t>(options.patience));
  Checkpoint state;
  TrainReport report;
  if (options.resume && !options.checkpoint_path.empty() &&
      std::filesystem::exists(options.checkpoint_path)) {
    state = load_checkpoint(options.checkpoint_path, params, best, optimizer);
    check_same_arguments(options.checkpoint_path, state.arguments, options.arguments);
    tracker.restore(state.tracker_best, static_cast<std::size_t>(state.tracker_bad_epochs));
    report.resumed = true;
  }
  report.epochs = state.history;
  report.train_seconds = state.train_seconds;
  report.train_samples = state.train_samples;
  state.arguments = options.arguments;
  bool stop = state.finished;
  // Which training steps' batches were offered the prefix cache (offer_prefix_cache), and its bytes.
  std::vector<bool> offered(step_count(train), options.mode == ComputeMode::Reference);
  std::int64_t prefix_cache_kept = 0;
  for (std::int64_t epoch = state.epoch + 1; !stop && epoch <= options.max_epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    EpochRecord record;
    record.epoch = epoch;
    // Training pass; epoch 0 only measures the freshly initialised editor (METHOD §7.4).
    {
      ProgressBar bar(
          options.label + " epoch " + std::to_string(epoch) + "/" + std::to_string(options.max_epochs),
          train.samples(), options.progress);
      double sum = 0;
      const auto pass_start = Clock::now();
      const std::size_t steps = step_count(train);
      for (std::size_t i = 0; i < steps; ++i) {
        const Step step = step_of(train, i);
        double value = 0;
        if (epoch == 0) {
          torch::NoGradGuard no_grad;
          value = step_loss(model, editor, step, options).terms.at("total");
        } else {
          optimizer.zero_grad();
          if (!offered[i]) offer_prefix_cache(step, options.prefix_cache_bytes, prefix_cache_kept);
          const LossResult loss = step_loss(model, editor, step, options);
          if (!offered[i]) {
            settle_prefix_cache(step, options.prefix_cache_bytes, prefix_cache_kept);
            offered[i] = true;
          }
          // Data parallel: the whole batch's value, so every rank takes the same decision.
          if (!std::isfinite(loss.terms.at("total"))) {
            // Stepping on it would make every weight NaN; the last checkpoint is still good.
            throw Error(options.label.empty() ? "<training>" : options.label,
                        "epoch " + std::to_string(epoch) + " batch " + std::to_string(i),
                        "the loss is not finite (" + format_loss(loss.terms.at("total")) +
                            "): lower --lr, or check the data");
          }
          if (loss.total.defined()) loss.total.backward();
          if (options.group != nullptr) reduce_gradients(*options.group, params);
          optimizer.step();
          value = loss.terms.at("total");
        }
        sum += value;
        bar.advance(step.rows, format_loss(sum / static_cast<double>(i + 1)));
      }
      if (epoch > 0) {
        report.train_seconds += seconds_since(pass_start);
        report.train_samples += train.samples();
      }
      record.train_loss = sum / static_cast<double>(steps);
    }
    record.validation_loss = evaluate_loss(model, editor, validation, options, &record.validation_terms);
    stop = tracker.update(record.validation_loss);
    record.improved = tracker.improved();
    if (!stop && record.improved) best = snapshot(params);
    record.seconds = seconds_since(epoch_start);
    if (options.progress) {
      std::cerr << options.label << " epoch " << epoch << ": train " << record.train_loss << ", validation "
                << record.validation_loss << (record.improved ? " (best)" : "") << "\n";
    }
    report.epochs.push_back(record);
    state.epoch = epoch;
    state.tracker_best = tracker.best();
    state.tracker_bad_epochs = static_cast<std::int64_t>(tracker.bad_epochs());
    state.finished = stop || epoch == options.max_epochs;
    state.history = report.epochs;
    state.train_seconds = report.train_seconds;
    state.train_samples = report.train_samples;
    if (!options.checkpoint_path.empty() && writes)
      save_checkpoint(options.checkpoint_path, state, params, best, optimizer);
    if (options.after_epoch) options.after_epoch(epoch);
  }
  report.stopped_early = stop && !report.epochs.empty() && report.epochs.back().epoch < options.max_epochs;
  report.best_validation_loss = tracker.best();
  for (const EpochRecord& r : report.epochs) {
    if (r.improved) report.best_epoch = r.epoch;
  }
  if (options.restore_best) restore(params, best);
  editor.eval();
  return report;
}

}  // namespace remedi
