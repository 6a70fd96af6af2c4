#include "remedi/precompute.h"

#include <torch/torch.h>

#include <filesystem>

#include "data/derived.h"
#include "io/safetensors.h"
#include "lm/batching.h"
#include "lm/model.h"
#include "remedi/editor_file.h"
#include "tok/spans.h"
#include "tok/tokenizer.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/hash.h"
#include "util/progress.h"

namespace remedi {

namespace {

// Block output `layer` of right-padded `texts`, (B, T, H) float32.
torch::Tensor layer_output(const lm::CausalLM& model, const lm::EncodedBatch& encoded, std::int64_t layer) {
  lm::ForwardOptions options;
  options.stop_after_layer = layer;
  options.capture_layers = {layer};
  options.logits = lm::LogitsAt::None;
  return model.forward(encoded.batch, options).hidden.at(layer).to(torch::kCPU, torch::kFloat32);
}

// Mean of rows [range.begin, range.end) of hidden (T, H) -> (H).
torch::Tensor pooled(const torch::Tensor& hidden, tok::TokenRange range) {
  return hidden.slice(0, range.begin, range.end).mean(0);
}

std::string cache_path(const lm::CausalLM& model, const std::vector<data::MediationSample>& samples,
                       const PrecomputeOptions& options) {
  std::uint64_t hash = fnv1a_field(kFnvOffset, model_fingerprint(model));
  hash = fnv1a_field(hash, std::to_string(options.layer));
  for (const data::MediationSample& sample : samples) {
    hash = fnv1a_field(fnv1a_field(fnv1a_field(hash, sample.entity), sample.context), sample.attribute);
  }
  return (std::filesystem::path(options.cache_dir) / ("editor-inputs-" + hex64(hash) + ".safetensors"))
      .string();
}

const std::vector<std::pair<std::string, torch::Tensor EditorInputs::*>>& input_fields() {
  static const std::vector<std::pair<std::string, torch::Tensor EditorInputs::*>> fields = {
      {"entity.entity.hiddens.last", &EditorInputs::entity_last},
      {"entity.entity.hiddens.average", &EditorInputs::entity_average},
      {"context.attribute.hiddens.last", &EditorInputs::attribute_last},
      {"context.attribute.hiddens.average", &EditorInputs::attribute_average}};
  return fields;
}

bool read_cache(const std::string& path, std::int64_t rows, std::int64_t hidden, EditorInputs& inputs) {
  if (!std::filesystem::exists(path)) return false;
  const io::SafetensorsFile file = io::SafetensorsFile::open(path);
  for (const auto& [name, member] : input_fields()) {
    const io::TensorView* view = file.find_tensor(name);
    if (view == nullptr || view->shape != std::vector<std::int64_t>{rows, hidden}) return false;
    torch::Tensor tensor = torch::empty({rows, hidden}, torch::kFloat32);
    io::to_f32(*view, std::span<float>(tensor.data_ptr<float>(), static_cast<std::size_t>(tensor.numel())),
               path);
    inputs.*member = tensor;
  }
  return true;
}

void write_cache(const std::string& path, const EditorInputs& inputs) {
  create_folders(std::filesystem::path(path).parent_path().string());
  std::vector<io::TensorToWrite> tensors;
  for (const auto& [name, member] : input_fields()) {
    const torch::Tensor& tensor = inputs.*member;
    tensors.push_back({name, io::DType::F32, tensor.sizes().vec(),
                       std::span<const std::byte>(static_cast<const std::byte*>(tensor.data_ptr()),
                                                  static_cast<std::size_t>(tensor.nbytes()))});
  }
  io::write_safetensors(path, tensors, {{"format", "remedi-editor-inputs"}});
}

std::string sample_field(const data::MediationSample& sample, const std::string& field) {
  return "sample " + sample.id + " " + field;
}

// Texts are cut to the model's context as the original does; the hidden states of the tokens kept
// are exact (the model is causal), so a cut matters only when it removes the span looked for, and
// then the error says so instead of the span search's "no token covers characters".
Error span_error(const data::MediationSample& sample, const std::string& field, const lm::EncodedBatch& batch,
                 std::size_t row, const std::string& text_name, const Error& e) {
  if (batch.full_lengths[row] > batch.lengths[row] && text_name == field) {
    return Error("<data>", sample_field(sample, field),
                 "has " + std::to_string(batch.full_lengths[row]) +
                     " tokens, more than the model's context of " + std::to_string(batch.lengths[row]));
  }
  if (batch.full_lengths[row] > batch.lengths[row]) {
    return Error("<data>", sample_field(sample, field),
                 "the " + text_name + " has " + std::to_string(batch.full_lengths[row]) + " tokens and the " +
                     field + " is not within the first " + std::to_string(batch.lengths[row]) +
                     " that the model's context holds");
  }
  return Error("<data>", sample_field(sample, field), e.reason());
}

}  // namespace

std::int64_t first_token_id(const tok::Tokenizer& tokenizer, const std::string& word,
                            const std::string& field) {
  const tok::Encoding encoding = tokenizer.encode(" " + word);
  if (encoding.ids.empty()) throw Error("<data>", field, "'" + word + "' tokenizes to nothing");
  return encoding.ids.front();
}

EditorInputs precompute_editor_inputs(const lm::CausalLM& model, const tok::Tokenizer& tokenizer,
                                      const std::vector<data::MediationSample>& samples,
                                      const PrecomputeOptions& options) {
  const auto rows = static_cast<std::int64_t>(samples.size());
  const std::int64_t hidden = model.config().hidden_size;
  EditorInputs inputs;
  std::string cache;
  if (!options.cache_dir.empty()) {
    cache = cache_path(model, samples, options);
    if (read_cache(cache, rows, hidden, inputs)) return inputs;
  }
  torch::NoGradGuard no_grad;
  for (const auto& field : input_fields())
    inputs.*field.second = torch::empty({rows, hidden}, torch::kFloat32);
  const std::int64_t max_length = model.config().max_positions;
  ProgressBar progress("precompute layer " + std::to_string(options.layer), rows, options.progress);
  for (std::int64_t begin = 0; begin < rows; begin += options.batch_size) {
    const std::int64_t end = std::min(rows, begin + options.batch_size);
    std::vector<std::string> entities;
    std::vector<std::string> contexts;
    for (std::int64_t i = begin; i < end; ++i) {
      entities.push_back(samples[static_cast<std::size_t>(i)].entity);
      contexts.push_back(samples[static_cast<std::size_t>(i)].context);
    }
    const lm::EncodedBatch entity_batch =
        lm::encode_batch(tokenizer, entities, lm::PaddingSide::Right, max_length);
    const lm::EncodedBatch context_batch =
        lm::encode_batch(tokenizer, contexts, lm::PaddingSide::Right, max_length);
    const torch::Tensor entity_hidden = layer_output(model, entity_batch, options.layer);
    const torch::Tensor context_hidden = layer_output(model, context_batch, options.layer);
    for (std::int64_t i = begin; i < end; ++i) {
      const data::MediationSample& sample = samples[static_cast<std::size_t>(i)];
      const auto row = static_cast<std::size_t>(i - begin);
      const auto locate = [&](const lm::EncodedBatch& batch, const std::string& text, const std::string& part,
                              const std::string& field, const std::string& text_name) {
        try {
          return tok::token_range(batch.encodings[row].offsets, text, part);
        } catch (const Error& e) {
          throw span_error(sample, field, batch, row, text_name, e);
        }
      };
      const tok::TokenRange entity_range =
          locate(entity_batch, sample.entity, sample.entity, "entity", "entity");
      const tok::TokenRange attribute_range =
          locate(context_batch, sample.context, sample.attribute, "attribute", "context");
      const torch::Tensor entity_row = entity_hidden[i - begin];
      const torch::Tensor context_row = context_hidden[i - begin];
      inputs.entity_last[i].copy_(entity_row[entity_range.end - 1]);
      inputs.entity_average[i].copy_(pooled(entity_row, entity_range));
      inputs.attribute_last[i].copy_(context_row[attribute_range.end - 1]);
      inputs.attribute_average[i].copy_(pooled(context_row, attribute_range));
    }
    progress.advance(end - begin);
  }
  if (!cache.empty()) write_cache(cache, inputs);
  return inputs;
}

torch::Tensor entity_deltas(const lm::CausalLM& model, const tok::Tokenizer& tokenizer,
                            const std::vector<data::MediationSample>& samples,
                            const PrecomputeOptions& options) {
  torch::NoGradGuard no_grad;
  const auto rows = static_cast<std::int64_t>(samples.size());
  torch::Tensor deltas = torch::empty({rows, model.config().hidden_size}, torch::kFloat32);
  for (std::int64_t begin = 0; begin < rows; begin += options.batch_size) {
    const std::int64_t end = std::min(rows, begin + options.batch_size);
    std::vector<std::string> texts;
    for (std::int64_t i = begin; i < end; ++i)
      texts.push_back(data::prompt_in_context(samples[static_cast<std::size_t>(i)]));
    const lm::EncodedBatch batch =
        lm::encode_batch(tokenizer, texts, lm::PaddingSide::Right, model.config().max_positions);
    const torch::Tensor hidden = layer_output(model, batch, options.layer);
    for (std::int64_t i = begin; i < end; ++i) {
      const data::MediationSample& sample = samples[static_cast<std::size_t>(i)];
      const auto row = static_cast<std::size_t>(i - begin);
      const std::string& text = texts[row];
      try {
        const tok::TokenRange first = tok::token_range(batch.encodings[row].offsets, text, sample.entity, 0);
        const tok::TokenRange second = tok::token_range(batch.encodings[row].offsets, text, sample.entity, 1);
        deltas[i].copy_(pooled(hidden[i - begin], second) - pooled(hidden[i - begin], first));
      } catch (const Error& e) {
        throw span_error(sample, "entity", batch, row, "prompt in its context", e);
      }
    }
  }
  return deltas;
}

}  // namespace remedi
