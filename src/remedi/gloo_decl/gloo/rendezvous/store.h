// Declarations standing in for the Gloo headers that torch/csrc/distributed/c10d/ProcessGroupGloo.hpp
// includes. The PyPI wheel ships that header and the compiled Gloo backend (in libtorch_cpu.so) but
// not Gloo's own headers. remedi/distributed.cpp, the only unit that includes ProcessGroupGloo.hpp,
// only constructs the backend through its out-of-line constructor and calls it through c10d::Backend's
// virtual interface, so it needs Gloo's type names and the few members that the header's inline code
// names, never their layout: the Gloo objects live behind shared_ptr/unique_ptr members whose size does
// not depend on the pointee. Nothing here is defined or called; do not include it anywhere else.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace gloo {

class Context {
 public:
  void setTimeout(std::chrono::milliseconds timeout);  // named by ProcessGroupGloo::setTimeout (never called)
};

namespace transport {
class Device;
class UnboundBuffer;
}  // namespace transport

namespace rendezvous {
// The interface that ProcessGroupGloo::GlooStore overrides.
class Store {
 public:
  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  virtual ~Store() = default;
  virtual void set(const std::string& key, const std::vector<char>& value) = 0;
  virtual std::vector<char> get(const std::string& key) = 0;
  virtual void wait(const std::vector<std::string>& keys) = 0;
  virtual void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) = 0;
};
}  // namespace rendezvous

}  // namespace gloo
