// `remedi serve`: an OpenAI-compatible HTTP server with per-request knowledge edits (the `edits`
// extension), continuous batching and a playground page. The library does the work
// (serve/server.h, serve/scheduler.h, serve/api.h); this file reads the flags, loads the model, and
// turns SIGTERM / SIGINT into a drain: requests in flight finish, then the process exits 0.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "commands.h"
#include "common.h"
#include "lm/loaded_model.h"
#include "serve/api.h"
#include "serve/scheduler.h"
#include "serve/server.h"
#include "util/error.h"

namespace remedi::cli {

namespace {

int signal_pipe[2] = {-1, -1};

extern "C" void on_signal(int number) {
  const auto byte = static_cast<unsigned char>(number);
  // Nothing to do if the write fails: the pipe is only ever this one byte deep.
  [[maybe_unused]] const ssize_t written = write(signal_pipe[1], &byte, 1);
}

struct ServeArgs {
  std::string model = "smollm2";
  std::string editors;
  serve::ServerOptions server;
  std::int64_t max_batch = 16;
  std::string device = "cpu";
  std::string dtype = "fp32";
  std::string chat_template = "auto";
};

void run(const ServeArgs& flags) {
  ServeArgs args = flags;
  if (args.server.port < 0 || args.server.port > 65535)
    throw Error("<argument>", "--port", "must be 0..65535");
  if (args.max_batch < 1) throw Error("<argument>", "--max-batch", "must be >= 1");
  if (!args.editors.empty()) args.editors = editors_dir(args.editors);
  lm::LoadedModel model = lm::load_model(args.model, lm::load_options(args.device, args.dtype));
  try {
    args.server.chat_template = serve::detect_chat_template(model.path, args.chat_template);
    if (model.tok().bos_id() >= 0)
      args.server.chat_template.bos = model.tok().token_string(model.tok().bos_id());
  } catch (const serve::ApiError& e) {
    throw Error("<argument>", "--chat-template", e.what());
  }
  if (args.server.model_id.empty())
    args.server.model_id = std::filesystem::path(model.path).filename().string();
  serve::SchedulerOptions options;
  options.max_batch = args.max_batch;
  options.editors_dir = args.editors;
  serve::Scheduler scheduler(std::move(model), options);
  serve::Server server(scheduler, args.server);
  const int port = server.bind();
  // SIGTERM / SIGINT write their number to a pipe (all a handler may safely do, whichever thread
  // it interrupts); this thread reads it and drains the server.
  if (pipe(signal_pipe) != 0) throw Error("<serve>", "pipe", "cannot create the signal pipe");
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  std::thread waiter([&server] {
    unsigned char received = 0;
    while (read(signal_pipe[0], &received, 1) < 0 && errno == EINTR) {
    }
    if (received != 0) std::cerr << "remedi serve: draining (signal " << int(received) << ")\n" << std::flush;
    server.stop();
  });
  std::cerr << "remedi serve: listening on http://" << args.server.host << ":" << port << " (model "
            << args.server.model_id << ", chat template " << args.server.chat_template.description << ")\n"
            << std::flush;
  server.run();
  // run() returns after stop(); should it return on its own, wake the waiter so that it stops too.
  const unsigned char none = 0;
  if (write(signal_pipe[1], &none, 1) < 0) std::cerr << "remedi serve: cannot wake the signal thread\n";
  waiter.join();
  std::cerr << "remedi serve: stopped\n";
}

}  // namespace

void register_serve(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  auto* cmd =
      app.add_subcommand("serve", "OpenAI-compatible HTTP server with per-request edits (docs/SERVER.md)");
  cmd->add_option("-m,--model", args->model, "smollm2, gpt2, ..., a .gguf file or an HF folder")
      ->capture_default_str();
  cmd->add_option("-e,--editors-dir", args->editors,
                  "Editors for the `edits` extension: results/<name> or a shipped editor's name");
  cmd->add_option("--host", args->server.host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", args->server.port, "Port (0: any free port, printed at start)")
      ->capture_default_str();
  cmd->add_option("--max-batch", args->max_batch, "Requests decoded together at most")->capture_default_str();
  cmd->add_option("--api-key", args->server.api_key, "Require 'Authorization: Bearer KEY' on /v1/");
  cmd->add_option("--model-id", args->server.model_id, "Model name in /v1/models (default: the file's name)");
  cmd->add_option("--max-body", args->server.max_body, "Largest request body in bytes")
      ->capture_default_str();
  cmd->add_option("--chat-template", args->chat_template,
                  "auto (the model's own, when it is ChatML, Llama 3, Gemma or Phi-3) | chatml | llama3 | "
                  "gemma | phi3")
      ->capture_default_str();
  cmd->add_option("--device", args->device, "cpu | cuda | cuda:N")->capture_default_str();
  cmd->add_option("--dtype", args->dtype, kInferenceDtypes)->capture_default_str();
  cmd->callback([args] { run(*args); });
}

}  // namespace remedi::cli
