#include "serve/server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <utility>
#include <vector>

#include "serve/playground.h"
#include "util/error.h"

namespace remedi::serve {

namespace {

using Clock = std::chrono::steady_clock;
const std::vector<double> kLatencyBounds = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) { send_json(res, e.status(), e.json()); }

struct Histogram {
  std::vector<std::int64_t> le;  // cumulative counts per kLatencyBounds
  std::int64_t count = 0;
  double sum = 0;
};

// What a streaming request's HTTP thread waits on: SSE lines from the scheduler's callbacks.
struct Channel {
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<std::string> events;
  bool closed = false;
};

// What a non-streaming request's HTTP thread waits on.
struct Outcome {
  std::mutex mutex;
  std::condition_variable ready;
  std::optional<CompletionResult> result;
  std::optional<ApiError> error;
};

}  // namespace

struct Server::Impl {
  Scheduler& scheduler;
  ServerOptions options;
  httplib::Server http;
  std::atomic<bool> draining{false};
  std::atomic<std::uint64_t> next_id{0};
  std::uint64_t id_salt = std::random_device{}();
  std::int64_t started = 0;

  mutable std::mutex metrics_mutex;
  std::map<std::pair<std::string, int>, std::int64_t> requests;  // (endpoint, status)
  std::map<std::string, Histogram> latency;                      // per endpoint

  Impl(Scheduler& s, ServerOptions o) : scheduler(s), options(std::move(o)) {
    started =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
  }

  void record(const std::string& endpoint, int status, Clock::time_point start) {
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const std::lock_guard<std::mutex> lock(metrics_mutex);
    ++requests[{endpoint, status}];
    Histogram& h = latency[endpoint];
    if (h.le.empty()) h.le.assign(kLatencyBounds.size(), 0);
    for (std::size_t i = 0; i < kLatencyBounds.size(); ++i) {
      if (seconds <= kLatencyBounds[i]) ++h.le[i];
    }
    ++h.count;
    h.sum += seconds;
  }

  std::string new_id(bool chat) {
    std::ostringstream out;
    out << (chat ? "chatcmpl-" : "cmpl-") << std::hex << id_salt << "-" << next_id++;
    return out.str();
  }

  static std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  void completions(const httplib::Request& req, httplib::Response& res, bool chat) {
    const auto start = Clock::now();
    const std::string endpoint = chat ? "/v1/chat/completions" : "/v1/completions";
    const auto refuse = [&](const ApiError& e) {
      send_error(res, e);
      record(endpoint, e.status(), start);
    };
    if (draining) return refuse(ApiError(503, "", "the server is shutting down", "server_error"));
    auto job = std::make_shared<Job>();
    try {
      job->request = parse_request(req.body, chat, options.chat_template);
    } catch (const ApiError& e) {
      return refuse(e);
    }
    const std::string id = new_id(chat);
    const std::int64_t created = now_seconds();
    const std::string model = options.model_id;
    if (!job->request.stream) {
      auto outcome = std::make_shared<Outcome>();
      job->on_done = [outcome](const CompletionResult& r) {
        const std::lock_guard<std::mutex> lock(outcome->mutex);
        outcome->result = r;
        outcome->ready.notify_all();
      };
      job->on_error = [outcome](const ApiError& e) {
        const std::lock_guard<std::mutex> lock(outcome->mutex);
        outcome->error = e;
        outcome->ready.notify_all();
      };
      try {
        scheduler.submit(job);
      } catch (const ApiError& e) {
        return refuse(e);
      }
      std::unique_lock<std::mutex> lock(outcome->mutex);
      outcome->ready.wait(lock, [&] { return outcome->result || outcome->error; });
      if (outcome->error) return refuse(*outcome->error);
      send_json(res, 200, response_json(job->request, *outcome->result, id, created, model));
      record(endpoint, 200, start);
      return;
    }

    auto channel = std::make_shared<Channel>();
    const CompletionRequest& request = job->request;
    const auto push = [channel](std::vector<std::string> lines, bool close) {
      const std::lock_guard<std::mutex> lock(channel->mutex);
      for (std::string& line : lines) channel->events.push_back(std::move(line));
      if (close) channel->closed = true;
      channel->ready.notify_all();
    };
    auto first = std::make_shared<bool>(true);
    auto offset = std::make_shared<std::size_t>(0);  // bytes of the tokens streamed so far
    const auto event = [](const nlohmann::json& j) { return "data: " + dump(j) + "\n\n"; };
    job->on_delta = [=, &request](const std::string& delta, const std::vector<StepInfo>& steps) {
      push({event(chunk_json(request, delta, steps, std::nullopt, id, created, model, *first, *offset))},
           false);
      *first = false;
      for (const StepInfo& s : steps) *offset += s.token.text.size();
      return true;
    };
    job->on_done = [=, this, &request](const CompletionResult& r) {
      std::vector<std::string> lines;
      nlohmann::json last = chunk_json(request, "", {}, r.finish_reason, id, created, model, *first);
      if (r.edit) last["edit"] = edit_json(*r.edit);
      lines.push_back(event(last));
      if (request.include_usage) {
        lines.push_back(event({{"id", id},
                               {"object", request.chat ? "chat.completion.chunk" : "text_completion"},
                               {"created", created},
                               {"model", model},
                               {"choices", nlohmann::json::array()},
                               {"usage", usage_json(r.prompt_tokens, r.completion_tokens)}}));
      }
      lines.push_back("data: [DONE]\n\n");
      push(std::move(lines), true);
      record(endpoint, 200, start);
    };
    job->on_error = [=, this](const ApiError& e) {
      push({event(e.json()), "data: [DONE]\n\n"}, true);
      record(endpoint, e.status(), start);
    };
    try {
      scheduler.submit(job);
    } catch (const ApiError& e) {
      return refuse(e);
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [channel, job](std::size_t, httplib::DataSink& sink) {
          std::deque<std::string> lines;
          bool closed = false;
          {
            std::unique_lock<std::mutex> lock(channel->mutex);
            channel->ready.wait(lock, [&] { return !channel->events.empty() || channel->closed; });
            lines.swap(channel->events);
            closed = channel->closed;
          }
          for (const std::string& line : lines) {
            if (!sink.write(line.data(), line.size())) {
              job->cancelled = true;  // the client has gone: free its row
              return false;
            }
          }
          if (closed) sink.done();
          return true;
        },
        [job](bool success) {
          if (!success) job->cancelled = true;
        });
  }

  void routes() {
    http.new_task_queue = [threads = options.threads] {
      return new httplib::ThreadPool(static_cast<std::size_t>(threads));
    };
    http.set_payload_max_length(options.max_body);
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (options.api_key.empty() || req.path.rfind("/v1/", 0) != 0)
        return httplib::Server::HandlerResponse::Unhandled;
      if (req.get_header_value("Authorization") == "Bearer " + options.api_key) {
        return httplib::Server::HandlerResponse::Unhandled;
      }
      send_error(res,
                 ApiError(401, "Authorization", "a valid 'Authorization: Bearer <key>' header is required",
                          "authentication_error"));
      record(req.path, 401, Clock::now());
      return httplib::Server::HandlerResponse::Handled;
    });
    // httplib's own refusals (413 for an oversized body, 404, 405): our JSON error shape. An oversized
    // body is a bad request like any other (400 naming the body).
    http.set_error_handler(
        httplib::Server::HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
          if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
          if (res.status == 413) {
            send_error(res, ApiError(400, "body",
                                     "larger than the server's limit of " + std::to_string(options.max_body) +
                                         " bytes"));
          } else if (res.status == 404) {
            send_error(res, ApiError(404, "", "no such endpoint", "not_found_error"));
          } else {
            send_error(res, ApiError(res.status, "", "request refused"));
          }
          return httplib::Server::HandlerResponse::Handled;
        }));
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      send_error(res, ApiError(500, "", "internal error: " + what, "server_error"));
    });
    http.Post("/v1/completions",
              [this](const httplib::Request& req, httplib::Response& res) { completions(req, res, false); });
    http.Post("/v1/chat/completions",
              [this](const httplib::Request& req, httplib::Response& res) { completions(req, res, true); });
    http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      send_json(res, 200,
                {{"object", "list"},
                 {"data", nlohmann::json::array({{{"id", options.model_id},
                                                  {"object", "model"},
                                                  {"created", started},
                                                  {"owned_by", "remedi"},
                                                  {"chat_template", options.chat_template.description}}})}});
    });
    http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      if (draining) return send_json(res, 503, {{"status", "draining"}});
      send_json(res, 200, {{"status", "ok"}});
    });
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics(), "text/plain; version=0.0.4");
    });
    http.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(playground_html(), "text/html; charset=utf-8");
    });
  }

  std::string metrics() const {
    const SchedulerStats s = scheduler.stats();
    std::ostringstream out;
    out << "# HELP remedi_requests_total HTTP requests answered, by endpoint and status.\n"
        << "# TYPE remedi_requests_total counter\n";
    {
      const std::lock_guard<std::mutex> lock(metrics_mutex);
      for (const auto& [key, count] : requests) {
        out << "remedi_requests_total{endpoint=\"" << key.first << "\",status=\"" << key.second << "\"} "
            << count << "\n";
      }
      out << "# HELP remedi_request_seconds Time from request to the last byte of the answer.\n"
          << "# TYPE remedi_request_seconds histogram\n";
      for (const auto& [endpoint, h] : latency) {
        for (std::size_t i = 0; i < kLatencyBounds.size(); ++i) {
          out << "remedi_request_seconds_bucket{endpoint=\"" << endpoint << "\",le=\"" << kLatencyBounds[i]
              << "\"} " << h.le[i] << "\n";
        }
        out << "remedi_request_seconds_bucket{endpoint=\"" << endpoint << "\",le=\"+Inf\"} " << h.count
            << "\n"
            << "remedi_request_seconds_sum{endpoint=\"" << endpoint << "\"} " << h.sum << "\n"
            << "remedi_request_seconds_count{endpoint=\"" << endpoint << "\"} " << h.count << "\n";
      }
    }
    const auto counter = [&](const std::string& name, const std::string& help, std::int64_t value,
                             const std::string& type = "counter") {
      out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n"
          << name << " " << value << "\n";
    };
    counter("remedi_prompt_tokens_total", "Prompt tokens read.", s.prompt_tokens);
    counter("remedi_completion_tokens_total", "Tokens generated.", s.completion_tokens);
    counter("remedi_jobs_completed_total", "Requests the scheduler finished.", s.completed);
    counter("remedi_jobs_failed_total", "Requests the scheduler refused or failed.", s.failed);
    counter("remedi_jobs_cancelled_total", "Requests whose client went away.", s.cancelled);
    counter("remedi_direction_cache_hits_total", "Edit directions found in the cache.",
            s.direction_cache_hits);
    counter("remedi_direction_cache_misses_total", "Edit directions computed.", s.direction_cache_misses);
    counter("remedi_active_rows", "Requests being decoded now.", s.active, "gauge");
    counter("remedi_queued_requests", "Requests waiting for a row.", s.queued, "gauge");
    out << "# HELP remedi_decode_batch_rows Rows per decode step.\n# TYPE remedi_decode_batch_rows "
           "histogram\n";
    for (std::size_t i = 0; i < batch_bounds.size(); ++i) {
      out << "remedi_decode_batch_rows_bucket{le=\"" << batch_bounds[i] << "\"} " << s.batch_le[i] << "\n";
    }
    out << "remedi_decode_batch_rows_bucket{le=\"+Inf\"} " << s.decode_steps << "\n"
        << "remedi_decode_batch_rows_sum " << s.decode_rows << "\n"
        << "remedi_decode_batch_rows_count " << s.decode_steps << "\n";
    return out.str();
  }
};

Server::Server(Scheduler& scheduler, ServerOptions options)
    : impl_(std::make_unique<Impl>(scheduler, std::move(options))) {
  impl_->routes();
}

Server::~Server() = default;

int Server::bind() {
  const ServerOptions& o = impl_->options;
  if (o.port == 0) {
    const int port = impl_->http.bind_to_any_port(o.host);
    if (port <= 0) throw Error("<argument>", "--host", "cannot listen on " + o.host);
    return port;
  }
  if (!impl_->http.bind_to_port(o.host, o.port)) {
    throw Error("<argument>", "--port", "cannot listen on " + o.host + ":" + std::to_string(o.port));
  }
  return o.port;
}

void Server::run() { impl_->http.listen_after_bind(); }

void Server::stop() {
  impl_->draining = true;
  impl_->scheduler.drain();
  impl_->http.stop();
}

std::string Server::metrics_text() const { return impl_->metrics(); }

}  // namespace remedi::serve
