// The HTTP side of `remedi serve` (cpp-httplib): routes, authentication, streaming, metrics, and
// draining on shutdown, in front of a Scheduler (serve/scheduler.h) that does the model work.
//
//   POST /v1/completions, POST /v1/chat/completions   OpenAI shapes (serve/api.h), `stream` as
//                                                     server-sent events ending with `data: [DONE]`
//   GET  /v1/models                                   the one model served
//   GET  /health                                      {"status": "ok"} (503 while draining)
//   GET  /metrics                                     Prometheus text: requests by endpoint and
//                                                     status, tokens, decode batch sizes, latencies
//   GET  /                                            the playground page (serve/playground.h)
//
// Every refusal is a JSON error object naming the field (serve/api.h's ApiError): 400 for bad
// input (an oversized body too), 401 without `Authorization: Bearer <api key>` when a key is set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "serve/api.h"
#include "serve/scheduler.h"

namespace remedi::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                 // 0: any free port (bind() returns it)
  std::string api_key;             // empty: no authentication
  std::string model_id;            // the name /v1/models lists and responses carry
  std::size_t max_body = 1 << 20;  // bytes
  int threads = 128;               // connections served at once (a keep-alive client holds one)
  ChatTemplate chat_template;      // for /v1/chat/completions
};

class Server {
 public:
  Server(Scheduler& scheduler, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket; returns the port. Throws remedi::Error naming --host/--port.
  int bind();
  // Serves until stop(); returns then.
  void run();
  // From any thread: refuse new requests (503), let the scheduler finish the ones in flight, then
  // stop listening so that run() returns.
  void stop();
  std::string metrics_text() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace remedi::serve
