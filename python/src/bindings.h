// remedi._core, the Python extension: pieces the binding units share. Each unit binds one room of the
// library (docs/PYTHON.md lists the Python API; remedi/__init__.py wraps these in Pythonic classes).
#pragma once

#include <torch/extension.h>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace remedi::python {

namespace py = pybind11;

void bind_model(py::module_& m);     // model.cpp: Model, Encoding, Intervention, forward, generate
void bind_edits(py::module_& m);     // edits.cpp: Editor, EditRequest, PreparedEdits, prepare_edits
void bind_runs(py::module_& m);      // runs.cpp: train, the evaluations, datasets
void bind_commands(py::module_& m);  // module.cpp: the command line

// A JSON value as the Python object json.loads would give.
py::object to_python(const nlohmann::json& value);

// Keyword arguments -> an options struct, one entry per keyword. A keyword the table lacks is a
// TypeError naming it (as Python's own calls say "unexpected keyword argument"), a value of the wrong
// type a TypeError naming the keyword and the type expected.
template <class Options>
class KeywordTable {
 public:
  explicit KeywordTable(std::string function) : function_(std::move(function)) {}

  // `name` sets the member the accessor returns (a member of a nested struct, e.g. options.data.rows).
  template <class Value, class Accessor>
  KeywordTable& add(const std::string& name, Accessor accessor) {
    setters_[name] = [function = function_, name, accessor](Options& options, const py::handle& value) {
      try {
        accessor(options) = value.cast<Value>();
      } catch (const py::cast_error&) {
        throw py::type_error(function + "(): " + name + ": expected " + py::type_id<Value>() + ", got " +
                             std::string(py::str(py::type::of(value).attr("__name__"))));
      }
    };
    return *this;
  }
  template <class Value, class Base>
  KeywordTable& member(const std::string& name, Value Base::*field) {
    return add<Value>(name, [field](Options& options) -> Value& { return options.*field; });
  }

  void apply(Options& options, const py::dict& keywords) const {
    for (const auto& [key, value] : keywords) {
      const std::string name = py::str(key);
      const auto found = setters_.find(name);
      if (found == setters_.end()) {
        throw py::type_error(function_ + "() got an unexpected keyword argument '" + name + "'");
      }
      found->second(options, value);
    }
  }

 private:
  std::string function_;
  std::map<std::string, std::function<void(Options&, const py::handle&)>> setters_;
};

}  // namespace remedi::python
