// remedi._core: the module, its exception and the command line (`python -m remedi`).
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "../../apps/remedi/commands.h"
#include "bindings.h"
#include "lm/threads.h"
#include "util/error.h"

namespace remedi::python {

py::object to_python(const nlohmann::json& value) {
  return py::module_::import("json").attr("loads")(value.dump());
}

void bind_commands(py::module_& m) {
  m.def(
      "cli",
      [](std::vector<std::string> args, std::vector<std::string> self) {
        std::vector<char*> argv;
        for (std::string& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);
        py::gil_scoped_release release;
        return cli::run(static_cast<int>(args.size()), argv.data(), std::move(self));
      },
      py::arg("argv"), py::arg("self_command"),
      "Runs the remedi command line on argv (argv[0] is the program's name); returns the exit code.");
  m.def("blas_description", &lm::blas_description);
}

}  // namespace remedi::python

PYBIND11_MODULE(_core, m) {
  namespace py = pybind11;
  m.doc() = "remedi's C++ library (the public API of include/remedi/remedi.h); use the remedi package.";
  m.attr("__version__") = REMEDI_VERSION;
  m.attr("torch_version") = REMEDI_TORCH_VERSION;  // the torch whose libtorch this module links
  // remedi::Error (a bad file, field or argument: one line naming it) is remedi.Error, a ValueError.
  py::register_exception<remedi::Error>(m, "Error", PyExc_ValueError);
  remedi::python::bind_model(m);
  remedi::python::bind_edits(m);
  remedi::python::bind_runs(m);
  remedi::python::bind_commands(m);
}
