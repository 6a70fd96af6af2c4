#include "remedi/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "eval/early_stopping.h"
#include "lm/model.h"
#include "lm/weights.h"
#include "remedi/editor.h"
#include "remedi/precompute.h"
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
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path());
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
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < params.size(); ++i) {
    torch::Tensor value;
    torch::Tensor best_value;
    if (!archive.try_read("editor_" + std::to_string(i), value) ||
        !archive.try_read("best_" + std::to_string(i), best_value) ||
        !value.sizes().equals(params[i].sizes())) {
      throw Error(path, "editor_" + std::to_string(i), "missing or shaped for another editor");
    }
    params[i].copy_(value);
    best[i] = best_value.to(params[i].device()).clone();
  }
  torch::serialize::InputArchive optimizer_archive;
  if (!archive.try_read("optimizer", optimizer_archive)) throw Error(path, "optimizer", "missing");
  optimizer.load(optimizer_archive);
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
    split.batches.push_back(make_sample_batch(tokenizer, samples, inputs, begin, end, editor, max_length));
    if (with_essence) {
      std::vector<std::string> prompts;
      for (std::size_t i = begin; i < end; ++i) prompts.push_back(essence_prompt(samples[i].entity));
      split.essence.push_back(
          make_sample_batch(tokenizer, samples, inputs, begin, end, editor, max_length, &prompts));
    }
  }
  return split;
}

std::int64_t TrainingSplit::samples() const {
  std::int64_t count = 0;
  for (const EditBatch& batch : batches) count += batch.size();
  return count;
}

double evaluate_loss(const lm::CausalLM& model, Editor& editor, TrainingSplit& split,
                     const TrainOptions& options, std::map<std::string, double>* terms) {
  torch::NoGradGuard no_grad;
  double sum = 0;
  std::map<std::string, double> term_sums;
  for (std::size_t i = 0; i < split.batches.size(); ++i) {
    const LossResult loss =
        remedi_loss(model, editor, split.batches[i], essence_of(split, i), options.weights, options.mode);
    sum += loss.terms.at("total");
    for (const auto& [name, value] : loss.terms) term_sums[name] += value;
  }
  const auto count = static_cast<double>(std::max<std::size_t>(1, split.batches.size()));
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
  if (train.batches.empty()) throw Error("<argument>", "--train-size", "no training batches");
  if (validation.batches.empty()) throw Error("<argument>", "--hold-out", "no validation batches");
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
      for (std::size_t i = 0; i < train.batches.size(); ++i) {
        double value = 0;
        if (epoch == 0) {
          torch::NoGradGuard no_grad;
          value = remedi_loss(model, editor, train.batches[i], essence_of(train, i), options.weights,
                              options.mode)
                      .terms.at("total");
        } else {
          optimizer.zero_grad();
          const LossResult loss = remedi_loss(model, editor, train.batches[i], essence_of(train, i),
                                              options.weights, options.mode);
          if (!std::isfinite(loss.terms.at("total"))) {
            // Stepping on it would make every weight NaN; the last checkpoint is still good.
            throw Error(options.label.empty() ? "<training>" : options.label,
                        "epoch " + std::to_string(epoch) + " batch " + std::to_string(i),
                        "the loss is not finite (" + format_loss(loss.terms.at("total")) +
                            "): lower --lr, or check the data");
          }
          loss.total.backward();
          optimizer.step();
          value = loss.terms.at("total");
        }
        sum += value;
        bar.advance(train.batches[i].size(), format_loss(sum / static_cast<double>(i + 1)));
      }
      if (epoch > 0) {
        report.train_seconds += seconds_since(pass_start);
        report.train_samples += train.samples();
      }
      record.train_loss = sum / static_cast<double>(train.batches.size());
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
    if (!options.checkpoint_path.empty())
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
