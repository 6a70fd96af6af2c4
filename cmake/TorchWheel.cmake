# libtorch from the PyTorch wheel installed in a Python environment (by default the project's
# .venv, made by scripts/setup.sh from requirements.txt): the same libtorch that `import torch`
# loads, so the CLI, the tests, the benchmarks and a Python module share one copy.
#
# Defines the interface target remedi::torch (headers as system headers, libtorch_cpu and libc10,
# with an rpath to the wheel's lib folder so nothing needs LD_LIBRARY_PATH) and the
# variables REMEDI_TORCH_PREFIX, REMEDI_TORCH_VERSION and REMEDI_TORCH_CUDA (ON when the wheel has
# libtorch_cuda.so).
#
# Why not find_package(Torch): the wheel's TorchConfig.cmake wants a CUDA toolkit (nvcc, a CUDA
# language that CMake can enable) whenever the wheel was built with CUDA, as PyPI's Linux wheel is,
# although nothing here compiles CUDA code. remedi links only the CPU part; the CUDA backend
# (libtorch_cuda.so, which finds the nvidia-* wheels' libraries through its own rpath) is loaded at
# run time when a CUDA device is asked for (lm::load_cuda_backend), so CPU runs do not carry the
# CUDA libraries' ~260 MB of resident memory.
# Under scikit-build-core (pip install .): the interpreter installing the package.
if(SKBUILD AND Python_EXECUTABLE)
  set(REMEDI_PYTHON "${Python_EXECUTABLE}" CACHE FILEPATH "Python interpreter whose torch package provides libtorch")
endif()
set(REMEDI_PYTHON "${CMAKE_SOURCE_DIR}/.venv/bin/python" CACHE FILEPATH
    "Python interpreter whose torch package provides libtorch")
set(REMEDI_TORCH_PREFIX "" CACHE PATH "The torch package folder (…/site-packages/torch); found through REMEDI_PYTHON when empty")

if(NOT REMEDI_TORCH_PREFIX)
  if(NOT EXISTS "${REMEDI_PYTHON}")
    message(FATAL_ERROR "remedi: ${REMEDI_PYTHON} does not exist: run scripts/setup.sh (it makes .venv "
                        "with the pinned torch), or pass -DREMEDI_PYTHON=/path/to/python with torch installed, "
                        "or -DREMEDI_TORCH_PREFIX=/path/to/site-packages/torch")
  endif()
  execute_process(
    # -I: ignore PYTHONPATH and the like, which pip's isolated build environment sets to hide the
    # environment's own packages (torch among them) from the build.
    COMMAND "${REMEDI_PYTHON}" -I -c "import os, torch; print(os.path.dirname(torch.__file__))"
    OUTPUT_VARIABLE _remedi_torch_prefix OUTPUT_STRIP_TRAILING_WHITESPACE
    ERROR_VARIABLE _remedi_torch_error RESULT_VARIABLE _remedi_torch_result)
  if(NOT _remedi_torch_result EQUAL 0)
    message(FATAL_ERROR "remedi: ${REMEDI_PYTHON} cannot import torch: ${_remedi_torch_error}")
  endif()
  set(REMEDI_TORCH_PREFIX "${_remedi_torch_prefix}" CACHE PATH "The torch package folder" FORCE)
endif()

set(_remedi_torch_lib "${REMEDI_TORCH_PREFIX}/lib")
foreach(_name torch torch_cpu c10)
  if(NOT EXISTS "${_remedi_torch_lib}/lib${_name}.so")
    message(FATAL_ERROR "remedi: ${_remedi_torch_lib}/lib${_name}.so does not exist: "
                        "${REMEDI_TORCH_PREFIX} is not a PyTorch wheel's torch folder")
  endif()
endforeach()

# The version from the headers (torch/headeronly/version.h since 2.9, torch/version.h before), so a
# prefix given by hand needs no Python.
set(REMEDI_TORCH_VERSION "")
foreach(_header headeronly/version.h csrc/api/include/torch/version.h)
  set(_path "${REMEDI_TORCH_PREFIX}/include/torch/${_header}")
  if(NOT REMEDI_TORCH_VERSION AND EXISTS "${_path}")
    file(STRINGS "${_path}" _lines REGEX "#define TORCH_VERSION_(MAJOR|MINOR|PATCH) [0-9]+")
    if(_lines)
      string(REGEX REPLACE ".*MAJOR ([0-9]+).*MINOR ([0-9]+).*PATCH ([0-9]+).*" "\\1.\\2.\\3"
             REMEDI_TORCH_VERSION "${_lines}")
    endif()
  endif()
endforeach()
if(REMEDI_TORCH_VERSION VERSION_LESS 2.0)
  message(FATAL_ERROR "remedi: torch ${REMEDI_TORCH_VERSION} at ${REMEDI_TORCH_PREFIX}: 2.x needed")
endif()
set(REMEDI_TORCH_CUDA OFF)
if(EXISTS "${_remedi_torch_lib}/libtorch_cuda.so")
  set(REMEDI_TORCH_CUDA ON)
endif()

add_library(remedi_torch INTERFACE)
add_library(remedi::torch ALIAS remedi_torch)
# Build-tree paths only: the installed package (cmake/remedi-config.cmake.in) sets them again on its
# imported remedi::torch from the wheel folder recorded at install time.
set_target_properties(remedi_torch PROPERTIES EXPORT_NAME torch)
target_include_directories(remedi_torch SYSTEM INTERFACE
  $<BUILD_INTERFACE:${REMEDI_TORCH_PREFIX}/include>
  $<BUILD_INTERFACE:${REMEDI_TORCH_PREFIX}/include/torch/csrc/api/include>)
# PyPI's wheels since torch 2.7 use the C++11 ABI of libstdc++ (manylinux_2_28), as GCC does by default.
target_compile_definitions(remedi_torch INTERFACE _GLIBCXX_USE_CXX11_ABI=1)
target_link_libraries(remedi_torch INTERFACE $<BUILD_INTERFACE:${_remedi_torch_lib}/libtorch_cpu.so>
                                             $<BUILD_INTERFACE:${_remedi_torch_lib}/libc10.so> ${CMAKE_DL_LIBS})
# Installed programs find the wheel's libraries where the build found them.
set(CMAKE_INSTALL_RPATH "${_remedi_torch_lib}")
message(STATUS "remedi: libtorch ${REMEDI_TORCH_VERSION} from ${REMEDI_TORCH_PREFIX} (CUDA: ${REMEDI_TORCH_CUDA})")
