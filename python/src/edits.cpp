// Editors and edits: load_editor, saved_layers, EditRequest, prepare_edits, top_next_tokens
// (remedi/editor.h, remedi/editor_file.h, remedi/edit.h).
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bindings.h"
#include "evaluate/setup.h"
#include "lm/loaded_model.h"
#include "remedi/edit.h"
#include "remedi/editor.h"
#include "remedi/editor_file.h"
#include "tok/spans.h"
#include "tok/tokenizer.h"

namespace remedi::python {

namespace {

py::dict config_dict(const EditorConfig& c) {
  py::dict out;
  out["type"] = c.type;
  out["layer"] = c.layer;
  out["hidden_size"] = c.hidden_size;
  out["use_entity"] = c.use_entity;
  out["use_attribute"] = c.use_attribute;
  out["rank"] = c.rank;
  out["input_last_entity_token"] = c.input_last_entity_token;
  out["edit_last_entity_token"] = c.edit_last_entity_token;
  return out;
}

}  // namespace

void bind_edits(py::module_& m) {
  py::class_<Editor, std::shared_ptr<Editor>>(m, "Editor", "A trained REMEDI editor (remedi/editor.h).")
      .def_property_readonly("type", [](const Editor& e) { return e.config().type; })
      .def_property_readonly("layer", [](const Editor& e) { return e.config().layer; })
      .def_property_readonly("config", [](const Editor& e) { return config_dict(e.config()); })
      .def("state_dict",
           [](const Editor& e) {
             py::dict out;
             for (const auto& [name, tensor] : editor_state(e)) out[py::str(name)] = tensor;
             return out;
           })
      .def(
          "forward",
          [](Editor& e, const std::optional<torch::Tensor>& entity,
             const std::optional<torch::Tensor>& attribute) {
            torch::NoGradGuard no_grad;
            return e.forward(entity.value_or(torch::Tensor()), attribute.value_or(torch::Tensor()));
          },
          py::arg("entity") = py::none(), py::arg("attribute") = py::none(),
          "(B, H) float32 entity / attribute representations -> (B, H) directions.")
      .def("__repr__", [](const Editor& e) {
        return "Editor(type='" + e.config().type + "', layer=" + std::to_string(e.config().layer) + ")";
      });

  m.def(
      "load_editor",
      [](const lm::LoadedModel& model, const std::string& path, const std::string& type, std::int64_t layer) {
        py::gil_scoped_release release;
        return type.empty() ? load_editor(path, model.lm()) : load_editor(path, type, layer, model.lm());
      },
      py::arg("model"), py::arg("path"), py::arg("type") = "linear", py::arg("layer") = -1);
  m.def(
      "load_editor_for",
      [](const std::string& folder, std::int64_t n_layer, std::int64_t hidden_size,
         const std::string& fingerprint, const std::string& model_path, const std::string& device) {
        return load_editor(
            folder, EditorTarget{n_layer, hidden_size, fingerprint, model_path, torch::Device(device)});
      },
      py::arg("folder"), py::arg("n_layer"), py::arg("hidden_size"), py::arg("fingerprint"),
      py::arg("model_path"), py::arg("device") = "cpu",
      "An editor folder loaded for a model the C++ runtime does not hold (remedi.hf).");
  m.def(
      "model_fingerprint",
      [](const std::string& family, std::int64_t n_layer, std::int64_t hidden_size, std::int64_t vocab_size,
         const torch::Tensor& embedding) {
        return model_fingerprint(family, n_layer, hidden_size, vocab_size, embedding);
      },
      py::arg("family"), py::arg("n_layer"), py::arg("hidden_size"), py::arg("vocab_size"),
      py::arg("token_embedding"));
  m.def(
      "token_range",
      [](const std::vector<std::pair<std::int64_t, std::int64_t>>& offsets, const std::string& text,
         const std::string& substring, int occurrence) {
        std::vector<tok::Offset> spans;
        for (const auto& [start, end] : offsets) spans.push_back({start, end});
        const tok::TokenRange range = tok::token_range(spans, text, substring, occurrence);
        return std::make_pair(range.begin, range.end);
      },
      py::arg("offsets"), py::arg("text"), py::arg("substring"), py::arg("occurrence") = 0,
      "[begin, end) of the tokens (by their code-point offsets) covering an occurrence of substring "
      "(tok/spans.h).");
  m.def("editors_dir", &evaluate::editors_dir, py::arg("name_or_path"),
        "A folder, or the name of an editor shipped in data/editors (e.g. smollm2-counterfact).");
  m.def("data_dir", &evaluate::data_dir);
  m.def("saved_layers", &saved_layers, py::arg("editors_dir"), py::arg("type") = "linear");
  m.def("default_attribute", &default_attribute, py::arg("entity"), py::arg("context"));

  py::class_<EditRequest>(m, "EditRequest", "One prompt and the edit applied to it (remedi/edit.h).")
      .def(py::init([](std::string prompt, std::string entity, std::string context, std::string attribute,
                       std::shared_ptr<Editor> editor, double alpha, double beta, int occurrence) {
             return EditRequest{std::move(prompt),
                                std::move(entity),
                                std::move(context),
                                std::move(attribute),
                                std::move(editor),
                                alpha,
                                beta,
                                occurrence};
           }),
           py::arg("prompt"), py::arg("entity") = "", py::arg("context") = "", py::arg("attribute") = "",
           py::arg("editor") = nullptr, py::arg("alpha") = 1.0, py::arg("beta") = 1.0,
           py::arg("entity_occurrence") = 0)
      .def_readwrite("prompt", &EditRequest::prompt)
      .def_readwrite("entity", &EditRequest::entity)
      .def_readwrite("context", &EditRequest::context)
      .def_readwrite("attribute", &EditRequest::attribute)
      .def_readwrite("editor", &EditRequest::editor)
      .def_readwrite("alpha", &EditRequest::alpha)
      .def_readwrite("beta", &EditRequest::beta)
      .def_readwrite("entity_occurrence", &EditRequest::entity_occurrence);

  py::class_<PreparedEdits>(m, "PreparedEdits",
                            "Left-padded prompts with each row's direction and where it is added.")
      .def_property_readonly("input_ids", [](const PreparedEdits& p) { return p.prompts.batch.input_ids; })
      .def_property_readonly("attention_mask",
                             [](const PreparedEdits& p) { return p.prompts.batch.attention_mask; })
      .def_property_readonly("lengths", [](const PreparedEdits& p) { return p.prompts.lengths; })
      .def_readonly("attributes", &PreparedEdits::attributes)
      .def_readonly("directions", &PreparedEdits::directions)
      .def_readonly("interventions", &PreparedEdits::interventions)
      .def("__len__", &PreparedEdits::size);

  m.def(
      "prepare_edits",
      [](const lm::LoadedModel& model, const std::vector<EditRequest>& requests) {
        py::gil_scoped_release release;
        return prepare_edits(model, requests);
      },
      py::arg("model"), py::arg("requests"));
  m.def(
      "top_next_tokens",
      [](const lm::LoadedModel& model, const PreparedEdits& edits, std::int64_t k, bool edited) {
        std::vector<std::vector<TokenProbability>> top;
        {
          py::gil_scoped_release release;
          top = top_next_tokens(model, edits, k, edited);
        }
        std::vector<std::vector<std::pair<std::int64_t, double>>> out;
        for (const auto& row : top) {
          out.emplace_back();
          for (const TokenProbability& t : row) out.back().emplace_back(t.id, t.probability);
        }
        return out;
      },
      py::arg("model"), py::arg("edits"), py::arg("k") = 10, py::arg("edited") = true);
}

}  // namespace remedi::python
