// Runs over data sets: train (remedi/train_run.h), the evaluations (evaluate/*.h) and loading data
// sets (evaluate::load_samples). Options come as keyword arguments named as the CLI's flags (with _
// for -), results as the dicts the CLI prints.
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bindings.h"
#include "data/datasets.h"
#include "data/sample.h"
#include "evaluate/bias_cls.h"
#include "evaluate/bias_gen.h"
#include "evaluate/directions.h"
#include "evaluate/entailment.h"
#include "evaluate/fact_cls.h"
#include "evaluate/fact_gen.h"
#include "evaluate/fact_mediation.h"
#include "evaluate/setup.h"
#include "lm/loaded_model.h"
#include "remedi/train_run.h"

namespace remedi::python {

namespace {

using evaluate::EvalOptions;

// The data set keywords every run shares: dataset, file, rows, cmudict, data_seed (options.data).
template <class Options>
void add_data(KeywordTable<Options>& table) {
  table.template add<std::string>("dataset", [](Options& o) -> std::string& { return o.data.dataset; })
      .template add<std::string>("file", [](Options& o) -> std::string& { return o.data.file; })
      .template add<std::string>("rows", [](Options& o) -> std::string& { return o.data.split; })
      .template add<std::string>("cmudict", [](Options& o) -> std::string& { return o.data.cmudict; })
      .template add<std::uint64_t>("data_seed", [](Options& o) -> std::uint64_t& { return o.data.seed; });
}

// EvalOptions' keywords (the flags every `remedi eval` command shares).
template <class Options>
KeywordTable<Options> eval_table(const std::string& function) {
  KeywordTable<Options> table(function);
  add_data(table);
  table.member("name", &EvalOptions::name)
      .member("editors", &EvalOptions::editors)
      .member("type", &EvalOptions::type)
      .member("layers", &EvalOptions::layers)
      .member("small", &EvalOptions::small)
      .member("attribute_no_entity", &EvalOptions::attribute_no_entity)
      .member("batch_size", &EvalOptions::batch_size)
      .member("results_dir", &EvalOptions::results)
      .member("quiet", &EvalOptions::quiet);
  return table;
}

template <class Options>
KeywordTable<Options> classification_table(const std::string& function) {
  KeywordTable<Options> table = eval_table<Options>(function);
  using evaluate::ClassificationOptions;
  table.member("entity_layers", &ClassificationOptions::entity_layers)
      .member("control_task", &ClassificationOptions::control_task)
      .member("control_model", &ClassificationOptions::control_model)
      .member("no_normalize", &ClassificationOptions::no_normalize)
      .member("similarity", &ClassificationOptions::similarity);
  return table;
}

// The model the evaluation runs on is recorded in its args file as the CLI records -m, --device, --dtype.
template <class Options>
Options eval_options(const lm::LoadedModel& model, const KeywordTable<Options>& table,
                     const py::dict& keywords) {
  Options options;
  options.model = model.path;
  options.device = model.lm().device().str();
  options.dtype = model.lm().dtype() == torch::kFloat32    ? "fp32"
                  : model.lm().dtype() == torch::kBFloat16 ? "bf16"
                                                           : "fp16";
  table.apply(options, keywords);
  return options;
}

// Runs `run` without the GIL and converts its summary.
template <class Run>
py::object run_released(Run run) {
  nlohmann::json summary;
  {
    py::gil_scoped_release release;
    summary = run();
  }
  return to_python(summary);
}

py::dict sample_dict(const data::MediationSample& sample) {
  return to_python(data::sample_to_json(sample)).cast<py::dict>();
}

}  // namespace

void bind_runs(py::module_& m) {
  // --- training ---
  m.def(
      "train",
      [](const lm::LoadedModel& model, const std::optional<py::function>& progress,
         const py::kwargs& keywords) {
        KeywordTable<TrainRunOptions> table("remedi.train");
        add_data(table);
        table.member("name", &TrainRunOptions::name)
            .member("train_size", &TrainRunOptions::train_size)
            .member("layers", &TrainRunOptions::layers)
            .member("editor_types", &TrainRunOptions::types)
            .member("lam_m", &TrainRunOptions::lam_m)
            .member("lam_u", &TrainRunOptions::lam_u)
            .member("lam_kl", &TrainRunOptions::lam_kl)
            .member("lam_norm", &TrainRunOptions::lam_norm)
            .member("lam_ess", &TrainRunOptions::lam_ess)
            .member("lr", &TrainRunOptions::lr)
            .member("adam_eps", &TrainRunOptions::adam_eps)
            .member("batch_size", &TrainRunOptions::batch_size)
            .member("max_epochs", &TrainRunOptions::max_epochs)
            .member("patience", &TrainRunOptions::patience)
            .member("hold_out", &TrainRunOptions::hold_out)
            .member("use_entity", &TrainRunOptions::use_entity)
            .member("use_all_entity_tokens", &TrainRunOptions::use_all_entity_tokens)
            .member("attribute_no_entity", &TrainRunOptions::attribute_no_entity)
            .member("rank", &TrainRunOptions::rank)
            .member("seed", &TrainRunOptions::seed)
            .member("results_dir", &TrainRunOptions::results)
            .member("cache_dir", &TrainRunOptions::cache_dir)
            .member("prefix_cache_mib", &TrainRunOptions::prefix_cache_mib)
            .member("resume", &TrainRunOptions::resume)
            .member("clear_results_dir", &TrainRunOptions::clear)
            .member("reference_mode", &TrainRunOptions::reference_mode)
            .member("faithful", &TrainRunOptions::faithful)
            .member("quiet", &TrainRunOptions::quiet);
        TrainRunOptions options;
        options.model = model.path;
        options.device = model.lm().device().str();
        table.apply(options, keywords);
        check_train_run_options(options);
        // Events reach Python with the GIL held; an exception the callback raises stops the run.
        TrainRunProgress on_event;
        if (progress) {
          on_event = [&progress](const TrainRunEvent& event) {
            static const char* const kinds[] = {"started", "skipped", "epoch", "saved"};
            py::gil_scoped_acquire acquire;
            py::dict e;
            e["kind"] = kinds[static_cast<int>(event.kind)];
            e["type"] = event.type;
            e["layer"] = event.layer;
            e["epoch"] = event.epoch;
            e["folder"] = event.folder;
            (*progress)(e);
          };
        }
        return run_released([&] { return train_run_summary_json(train_editors(model, options, on_event)); });
      },
      py::arg("model"), py::kw_only(), py::arg("progress") = py::none());

  // --- the evaluations ---
  m.def(
      "fact_gen",
      [](const lm::LoadedModel& model, const py::kwargs& keywords) {
        auto table = eval_table<evaluate::FactGenOptions>("remedi.evaluate.fact_gen");
        table.member("benchmarks", &evaluate::FactGenOptions::benchmarks)
            .member("baseline", &evaluate::FactGenOptions::baseline)
            .member("max_length", &evaluate::FactGenOptions::max_length);
        const auto options = eval_options(model, table, keywords);
        evaluate::check_fact_gen_options(options);
        return run_released([&] { return evaluate::fact_gen(model, options).summary(); });
      },
      py::arg("model"));
  m.def(
      "fact_cls",
      [](const lm::LoadedModel& model, const py::kwargs& keywords) {
        const auto options = eval_options(
            model, classification_table<evaluate::ClassificationOptions>("remedi.evaluate.fact_cls"),
            keywords);
        return run_released([&] { return evaluate::fact_cls(model, options).summary(); });
      },
      py::arg("model"));
  m.def(
      "fact_mediation",
      [](const lm::LoadedModel& model, const py::kwargs& keywords) {
        const auto options =
            eval_options(model, eval_table<EvalOptions>("remedi.evaluate.fact_mediation"), keywords);
        return run_released([&] { return evaluate::fact_mediation(model, options).metrics; });
      },
      py::arg("model"));
  m.def(
      "bias_gen",
      [](const lm::LoadedModel& model, const py::kwargs& keywords) {
        auto table = eval_table<evaluate::BiasGenOptions>("remedi.evaluate.bias_gen");
        table.member("decontextualized", &evaluate::BiasGenOptions::decontextualized)
            .member("max_length", &evaluate::BiasGenOptions::max_length)
            .member("max_new_tokens", &evaluate::BiasGenOptions::max_new_tokens)
            .member("run_editors", &evaluate::BiasGenOptions::run_editors);
        const auto options = eval_options(model, table, keywords);
        return run_released([&] { return evaluate::bias_gen(model, options).summary(options.type); });
      },
      py::arg("model"));
  m.def(
      "bias_cls",
      [](const lm::LoadedModel& model, const py::kwargs& keywords) {
        auto table = classification_table<evaluate::BiasClsOptions>("remedi.evaluate.bias_cls");
        table.member("symmetric", &evaluate::BiasClsOptions::symmetric);
        const auto options = eval_options(model, table, keywords);
        return run_released([&] { return evaluate::bias_cls(model, options).summary(); });
      },
      py::arg("model"));
  m.def(
      "entailment",
      [](const lm::LoadedModel& model, const py::kwargs& keywords) {
        auto table = eval_table<evaluate::EntailmentOptions>("remedi.evaluate.entailment");
        table.member("baseline", &evaluate::EntailmentOptions::baseline)
            .member("target_first_occurrence", &evaluate::EntailmentOptions::target_first_occurrence);
        const auto options = eval_options(model, table, keywords);
        return run_released([&] { return evaluate::entailment(model, options).summary(options.type); });
      },
      py::arg("model"));
  m.def(
      "generate_directions",
      [](const lm::LoadedModel& model, const py::kwargs& keywords) {
        auto table = eval_table<evaluate::DirectionsOptions>("remedi.evaluate.generate_directions");
        table.member("size", &evaluate::DirectionsOptions::size);
        const auto options = eval_options(model, table, keywords);
        return run_released(
            [&] { return evaluate::generate_directions(model, options).summary(options.type); });
      },
      py::arg("model"));

  // --- data sets ---
  m.def("dataset_names", &data::dataset_names);
  m.def(
      "load_dataset",
      [](const std::string& name, const std::string& rows, const std::string& file,
         const std::string& cmudict, std::uint64_t seed) {
        std::vector<data::MediationSample> samples;
        {
          py::gil_scoped_release release;
          samples = evaluate::load_samples({name, file, rows, cmudict, seed});
        }
        py::list out;
        for (const data::MediationSample& sample : samples) out.append(sample_dict(sample));
        return out;
      },
      py::arg("name"), py::arg("rows") = "", py::arg("file") = "", py::arg("cmudict") = "",
      py::arg("seed") = 123456);
}

}  // namespace remedi::python
