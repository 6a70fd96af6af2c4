// Models: load, tokenize, forward and generate (lm/loaded_model.h, lm/model.h, lm/generate.h).
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bindings.h"
#include "lm/batching.h"
#include "lm/config.h"
#include "lm/generate.h"
#include "lm/loaded_model.h"
#include "lm/model.h"
#include "remedi/editor_file.h"
#include "tok/tokenizer.h"
#include "util/error.h"

namespace remedi::python {

namespace {

// The inverse of lm::load_options: what load_model was given.
std::string dtype_name(const lm::CausalLM& model) {
  if (model.quantized()) return lm::quant_format_name(*model.quantized());
  const torch::ScalarType dtype = model.dtype();
  return dtype == torch::kBFloat16 ? "bf16" : dtype == torch::kFloat16 ? "fp16" : "fp32";
}

lm::LogitsAt parse_logits(const std::string& where) {
  if (where == "all") return lm::LogitsAt::All;
  if (where == "last") return lm::LogitsAt::Last;
  if (where == "none") return lm::LogitsAt::None;
  throw Error("<argument>", "logits", "'" + where + "' is not one of all, last, none");
}

lm::PaddingSide parse_side(const std::string& side) {
  if (side == "left") return lm::PaddingSide::Left;
  if (side == "right") return lm::PaddingSide::Right;
  throw Error("<argument>", "padding_side", "'" + side + "' is not left or right");
}

// (B, T) ids and mask -> the batch forward() takes, checked so that a bad tensor is a one-line error
// rather than an index error deep inside a block.
lm::Batch make_batch(const lm::LoadedModel& model, const torch::Tensor& input_ids,
                     const std::optional<torch::Tensor>& attention_mask) {
  if (input_ids.dim() != 2) {
    throw Error("<argument>", "input_ids",
                "must be (batch, tokens), got " + std::to_string(input_ids.dim()) + " dims");
  }
  if (input_ids.scalar_type() != torch::kInt64 && input_ids.scalar_type() != torch::kInt32) {
    throw Error("<argument>", "input_ids", "must hold integer token ids");
  }
  const torch::Tensor ids = input_ids.to(model.lm().device(), torch::kInt64);
  if (ids.numel() > 0) {
    const auto lowest = ids.min().item<std::int64_t>();
    const auto highest = ids.max().item<std::int64_t>();
    if (lowest < 0 || highest >= model.lm().config().vocab_size) {
      throw Error("<argument>", "input_ids",
                  "ids must lie in [0, " + std::to_string(model.lm().config().vocab_size) + "), got " +
                      std::to_string(lowest < 0 ? lowest : highest));
    }
  }
  const std::int64_t context = model.lm().config().max_positions;
  if (context > 0 && ids.size(1) > context) {
    throw Error(
        "<argument>", "input_ids",
        std::to_string(ids.size(1)) + " tokens, more than the model's context of " + std::to_string(context));
  }
  lm::Batch batch{ids, {}};
  if (attention_mask) {
    if (attention_mask->sizes() != input_ids.sizes()) {
      throw Error("<argument>", "attention_mask", "must have the shape of input_ids");
    }
    batch.attention_mask = attention_mask->to(model.lm().device(), torch::kInt64);
  }
  return batch;
}

}  // namespace

void bind_model(py::module_& m) {
  py::class_<tok::Encoding>(m, "Encoding", "Token ids and the code-point span [start, end) of each.")
      .def_readonly("ids", &tok::Encoding::ids)
      .def_property_readonly("offsets",
                             [](const tok::Encoding& e) {
                               std::vector<std::pair<std::int64_t, std::int64_t>> out;
                               for (const tok::Offset& o : e.offsets) out.emplace_back(o.start, o.end);
                               return out;
                             })
      .def("__len__", [](const tok::Encoding& e) { return e.ids.size(); })
      .def("__repr__",
           [](const tok::Encoding& e) { return "Encoding(" + std::to_string(e.ids.size()) + " ids)"; });

  py::class_<lm::Intervention>(m, "Intervention",
                               "At block `layer`, rows b and positions [ranges[b,0], ranges[b,1]): "
                               "h <- beta * h + alpha * directions[b].")
      .def(py::init([](std::int64_t layer, torch::Tensor directions, torch::Tensor ranges, double alpha,
                       double beta) {
             return lm::Intervention{layer, std::move(directions), std::move(ranges), alpha, beta};
           }),
           py::arg("layer"), py::arg("directions"), py::arg("ranges"), py::arg("alpha") = 1.0,
           py::arg("beta") = 1.0)
      .def_readwrite("layer", &lm::Intervention::layer)
      .def_readwrite("directions", &lm::Intervention::directions)
      .def_readwrite("ranges", &lm::Intervention::ranges)
      .def_readwrite("alpha", &lm::Intervention::alpha)
      .def_readwrite("beta", &lm::Intervention::beta);

  py::class_<lm::LoadedModel>(m, "Model", "A causal LM and its tokenizer (lm::LoadedModel).")
      .def_readonly("path", &lm::LoadedModel::path)
      .def_property_readonly(
          "family",
          [](const lm::LoadedModel& s) { return std::string(lm::family_name(s.lm().config().family)); })
      .def_property_readonly("n_layer", [](const lm::LoadedModel& s) { return s.lm().config().n_layer; })
      .def_property_readonly("hidden_size",
                             [](const lm::LoadedModel& s) { return s.lm().config().hidden_size; })
      .def_property_readonly("vocab_size",
                             [](const lm::LoadedModel& s) { return s.lm().config().vocab_size; })
      .def_property_readonly("context_length",
                             [](const lm::LoadedModel& s) { return s.lm().config().max_positions; })
      .def_property_readonly("device", [](const lm::LoadedModel& s) { return s.lm().device().str(); })
      .def_property_readonly("dtype", [](const lm::LoadedModel& s) { return dtype_name(s.lm()); })
      .def_property_readonly("eos_id", [](const lm::LoadedModel& s) { return s.tok().eos_id(); })
      .def_property_readonly("pad_id", [](const lm::LoadedModel& s) { return s.tok().pad_id(); })
      .def_property_readonly("fingerprint",
                             [](const lm::LoadedModel& s) { return model_fingerprint(s.lm()); })
      .def(
          "tokenize",
          [](const lm::LoadedModel& s, const std::string& text, bool add_special_tokens) {
            return s.tok().encode(text, add_special_tokens);
          },
          py::arg("text"), py::arg("add_special_tokens") = false)
      .def(
          "decode",
          [](const lm::LoadedModel& s, const std::vector<std::int64_t>& ids, bool skip_special) {
            return s.tok().decode(ids, skip_special);
          },
          py::arg("ids"), py::arg("skip_special_tokens") = false)
      .def("token_string", [](const lm::LoadedModel& s, std::int64_t id) { return s.tok().token_string(id); })
      .def(
          "encode_batch",
          [](const lm::LoadedModel& s, const std::vector<std::string>& texts, const std::string& side) {
            const lm::EncodedBatch encoded = lm::encode_batch(s.tok(), texts, parse_side(side));
            return py::make_tuple(encoded.batch.input_ids, encoded.batch.attention_mask);
          },
          py::arg("texts"), py::arg("padding_side") = "left")
      .def(
          "forward",
          [](const lm::LoadedModel& s, const torch::Tensor& input_ids,
             const std::optional<torch::Tensor>& attention_mask, const std::vector<std::int64_t>& capture,
             const std::vector<lm::Intervention>& interventions, const std::string& logits) {
            const lm::Batch batch = make_batch(s, input_ids, attention_mask);
            lm::ForwardOptions options;
            options.capture_layers = capture;
            for (const std::int64_t layer : capture) {
              if (layer < 0 || layer >= s.lm().config().n_layer) {
                throw Error("<argument>", "capture",
                            "layer " + std::to_string(layer) + " is not in [0, " +
                                std::to_string(s.lm().config().n_layer) + ")");
              }
            }
            options.interventions = interventions;
            options.logits = parse_logits(logits);
            lm::ForwardResult result;
            {
              py::gil_scoped_release release;
              torch::NoGradGuard no_grad;
              result = s.lm().forward(batch, options);
            }
            return py::make_tuple(result.logits, result.hidden);
          },
          py::arg("input_ids"), py::arg("attention_mask") = py::none(),
          py::arg("capture") = std::vector<std::int64_t>{},
          py::arg("interventions") = std::vector<lm::Intervention>{}, py::arg("logits") = "all")
      .def(
          "generate",
          [](const lm::LoadedModel& s, const torch::Tensor& input_ids,
             const std::optional<torch::Tensor>& attention_mask,
             const std::vector<lm::Intervention>& interventions, std::int64_t max_new_tokens,
             std::int64_t top_k, double temperature, std::uint64_t seed, std::int64_t logprobs) {
            lm::GenerateOptions options;
            options.max_new_tokens = max_new_tokens;
            options.top_k = top_k;
            options.temperature = temperature;
            options.seed = seed;
            options.eos_id = s.tok().eos_id();
            options.pad_id = s.tok().pad_id();
            options.logprobs = logprobs;
            options.interventions = interventions;
            const lm::Batch batch = make_batch(s, input_ids, attention_mask);
            lm::GenerateResult result;
            {
              py::gil_scoped_release release;
              torch::NoGradGuard no_grad;
              result = lm::generate(s.lm(), batch, options);
            }
            py::dict out;
            out["tokens"] = result.tokens;
            out["chosen_logprobs"] = result.chosen_logprobs;
            out["finished"] = result.finished;
            if (logprobs > 0) {
              out["top_ids"] = result.top_ids;
              out["top_logprobs"] = result.top_logprobs;
            }
            return out;
          },
          py::arg("input_ids"), py::arg("attention_mask") = py::none(),
          py::arg("interventions") = std::vector<lm::Intervention>{}, py::arg("max_new_tokens") = 20,
          py::arg("top_k") = 0, py::arg("temperature") = 1.0, py::arg("seed") = 123456,
          py::arg("logprobs") = 0);

  m.def(
      "load_model",
      [](const std::string& name_or_path, const std::string& device, const std::string& dtype) {
        const lm::LoadOptions options = lm::load_options(device, dtype);
        py::gil_scoped_release release;
        return lm::load_model(name_or_path, options);
      },
      py::arg("name_or_path") = "smollm2", py::arg("device") = "cpu", py::arg("dtype") = "fp32");
}

}  // namespace remedi::python
