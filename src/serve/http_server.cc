#include "src/serve/http_server.h"

#include <httplib.h>

#include <atomic>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "src/serve/access_log.h"
#include "src/serve/infer_call.h"
#include "tessera/tessera_c.h"

namespace tessera::serve {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kHeaderLength = "Inference-Header-Content-Length";

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  // Messages may quote the client's bytes: invalid UTF-8 is replaced, never thrown on.
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void reply_error(httplib::Response& res, int status, const std::string& message) {
  reply(res, status, json{{"error", message}});
}

// The HTTP status for a failed run.
int http_status(InferFailure failure) {
  switch (failure) {
    case InferFailure::none: return 200;
    case InferFailure::bad_request: return 400;
    case InferFailure::queue_full:
    case InferFailure::shutting_down: return 503;
    case InferFailure::deadline_exceeded: return 504;
    case InferFailure::internal: return 500;
  }
  return 500;
}

json io_json(const IoInfo& io) {
  const char* v2 = datatype_to_v2(io.dtype);
  return json{{"name", io.name}, {"datatype", v2 ? v2 : io.type_string}, {"shape", io.shape}};
}

// Set by the pre-routing handler: httplib runs a request's routing, handler and logger on one thread.
thread_local Clock::time_point request_start;

}  // namespace

struct HttpServer::Impl {
  ModelRepository& repository;
  Metrics& metrics;
  ServerOptions options;
  httplib::Server server;
  std::atomic<bool> ready{false};
  std::atomic<bool> stopping{false};  // stop() came, maybe before serve(): serve() then returns at once

  Impl(ModelRepository& r, Metrics& m, ServerOptions o) : repository(r), metrics(m), options(std::move(o)) {}

  void routes();
  void infer(const httplib::Request& req, const std::string& body, httplib::Response& res, const std::string& name,
             const std::string& version);
  void model_metadata(httplib::Response& res, const std::string& name, const std::string& version);
  void access_log(const httplib::Request& req, const httplib::Response& res);
};

void HttpServer::Impl::routes() {
  server.Get("/v2/health/live", [](const httplib::Request&, httplib::Response& res) { reply(res, 200, {{"live", true}}); });
  // The v2 protocol answers health false with a 4xx status.
  // Ready: serving, and no model of the repository failed its last load.
  server.Get("/v2/health/ready", [this](const httplib::Request&, httplib::Response& res) {
    bool now = ready && !repository.has_failed_model();
    reply(res, now ? 200 : 400, {{"ready", now}});
  });
  server.Get("/v2", [](const httplib::Request&, httplib::Response& res) {
    reply(res, 200, {{"name", "tessera"}, {"version", tessera_version()},
                     {"extensions", {"binary_tensor_data", "model_repository"}}});
  });
  const std::string model_path = R"(/v2/models/([^/]+)(?:/versions/([^/]+))?)";
  server.Get(model_path, [this](const httplib::Request& req, httplib::Response& res) {
    model_metadata(res, req.matches[1], req.matches[2]);
  });
  server.Get(model_path + "/ready", [this](const httplib::Request& req, httplib::Response& res) {
    std::string name = req.matches[1];
    auto model = repository.find(name, req.matches[2]);
    if (!model.is_ok() && !repository.has_model_folder(name)) return reply_error(res, 404, model.status().message());
    reply(res, model.is_ok() ? 200 : 400, {{"name", name}, {"ready", model.is_ok()}});
  });
  // Read through a ContentReader: httplib caps bodies read for plain handlers at 8 KiB when they are
  // sent as application/x-www-form-urlencoded (curl's default for --data).
  server.Post(model_path + "/infer",
              [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
                if (req.is_multipart_form_data()) return reply_error(res, 400, "multipart bodies are not part of the v2 protocol");
                std::string body;
                if (!read([&body](const char* data, size_t size) {
                      body.append(data, size);
                      return true;
                    }))
                  return;  // httplib answers: 413 over the body limit, or the client went away
                infer(req, body, res, req.matches[1], req.matches[2]);
              });
  server.Post("/v2/repository/index", [this](const httplib::Request&, httplib::Response& res) {
    json entries = json::array();
    for (const IndexEntry& e : repository.index()) {
      json entry = {{"name", e.name}, {"state", e.state}};
      if (!e.version.empty()) entry["version"] = e.version;
      if (!e.reason.empty()) entry["reason"] = e.reason;
      entries.push_back(std::move(entry));
    }
    reply(res, 200, entries);
  });
  server.Post(R"(/v2/repository/models/([^/]+)/(load|unload))", [this](const httplib::Request& req, httplib::Response& res) {
    std::string name = req.matches[1];
    if (!repository.has_model_folder(name)) return reply_error(res, 404, "no model '" + name + "' in the repository");
    Status status = req.matches[2] == "load" ? repository.load(name) : repository.unload(name);
    if (!status.is_ok()) return reply_error(res, 400, status.message());
    reply(res, 200, json::object());
  });
  server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.prometheus_text(), "text/plain; version=0.0.4");
  });

  server.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    request_start = Clock::now();
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // httplib's own errors (no route: 404, body over the limit: 413, ...) get a JSON body too.
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [max = options.max_request_bytes](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string message = res.status == 404   ? "no endpoint " + req.method + " " + req.path
                              : res.status == 413 ? "the request body is over the server's limit of " +
                                                        std::to_string(max) + " bytes"
                                                  : "HTTP error " + std::to_string(res.status);
        reply_error(res, res.status, message);
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
    std::string message = "internal error";
    try {
      if (error) std::rethrow_exception(error);
    } catch (const std::exception& e) {
      message = std::string("internal error: ") + e.what();
    } catch (...) {
    }
    reply_error(res, 500, message);
  });
  if (options.access_log)
    server.set_logger([this](const httplib::Request& req, const httplib::Response& res) { access_log(req, res); });
}

void HttpServer::Impl::access_log(const httplib::Request& req, const httplib::Response& res) {
  json line = {{"time", utc_now()},           {"remote", req.remote_addr}, {"method", req.method},
               {"path", req.path},            {"status", res.status},      {"request_bytes", std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10)},
               {"response_bytes", res.body.size()}};
  if (request_start != Clock::time_point())
    line["duration_ms"] = std::chrono::duration<double, std::milli>(Clock::now() - request_start).count();
  request_start = Clock::time_point();
  write_access_log(line.dump());
}

void HttpServer::Impl::model_metadata(httplib::Response& res, const std::string& name, const std::string& version) {
  auto model = repository.find(name, version);
  if (!model.is_ok()) return reply_error(res, 404, model.status().message());
  json versions = json::array();
  for (const IndexEntry& e : repository.index())
    if (e.name == name && !e.version.empty()) versions.push_back(e.version);
  json inputs = json::array(), outputs = json::array();
  for (const IoInfo& io : (*model)->session.inputs()) inputs.push_back(io_json(io));
  for (const IoInfo& io : (*model)->session.outputs()) outputs.push_back(io_json(io));
  reply(res, 200, {{"name", name}, {"versions", versions}, {"platform", "onnx"}, {"inputs", inputs}, {"outputs", outputs}});
}

void HttpServer::Impl::infer(const httplib::Request& req, const std::string& body, httplib::Response& res,
                             const std::string& name, const std::string& version) {
  const auto start = Clock::now();
  auto found = repository.find(name, version);
  if (!found.is_ok()) return reply_error(res, 404, found.status().message());
  const ServedModel& model = **found;
  auto answer = [&](int status, const std::string& message) {
    reply_error(res, status, "model '" + name + "' version " + model.version + ": " + message);
    metrics.record_request(name, model.version, false, std::chrono::duration<double>(Clock::now() - start).count());
  };

  int64_t header_length = -1;
  if (req.has_header(kHeaderLength)) {
    const std::string text = req.get_header_value(kHeaderLength);
    char* end = nullptr;
    header_length = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || header_length < 0)
      return answer(400, std::string(kHeaderLength) + " is not a byte count: '" + text + "'");
  }
  auto request = decode_infer_request(body, header_length, model.session.inputs(), model.session.outputs(),
                                      options.codec);
  if (!request.is_ok()) return answer(400, request.status().message());

  InferOutcome outcome = run_infer(model, std::move(request->feeds), start + options.request_timeout, metrics);
  if (outcome.failure != InferFailure::none) return answer(http_status(outcome.failure), outcome.message);

  auto encoded = encode_infer_response(name, model.version, *request, model.session.outputs(), outcome.outputs);
  if (!encoded.is_ok()) return answer(encoded.status().code() == StatusCode::invalid_argument ? 400 : 500,
                                      encoded.status().message());
  res.status = 200;
  if (encoded->header_length >= 0) {
    res.set_header(kHeaderLength, std::to_string(encoded->header_length));
    res.set_content(std::move(encoded->body), "application/octet-stream");
  } else {
    res.set_content(std::move(encoded->body), "application/json");
  }
  metrics.record_request(name, model.version, true, std::chrono::duration<double>(Clock::now() - start).count());
}

HttpServer::HttpServer(ModelRepository& repository, Metrics& metrics, ServerOptions options)
    : impl_(std::make_unique<Impl>(repository, metrics, std::move(options))) {
  auto& server = impl_->server;
  const int threads = std::max(1, impl_->options.threads);
  server.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  server.set_payload_max_length(impl_->options.max_request_bytes);
  server.set_read_timeout(30, 0);
  server.set_write_timeout(30, 0);
  server.set_keep_alive_timeout(2);  // idle keep-alive connections hold up a graceful stop this long at most
  // httplib writes a response's headers and body separately: with Nagle's algorithm on, the body
  // waits for the client's delayed ACK of the headers (~27 ms per request on loopback, measured).
  server.set_tcp_nodelay(true);
  impl_->routes();
}

HttpServer::~HttpServer() = default;

Result<int> HttpServer::bind() {
  auto& o = impl_->options;
  if (o.port == 0) {
    int port = impl_->server.bind_to_any_port(o.host);
    if (port < 0) return io_error("cannot bind an HTTP port on ", o.host);
    return port;
  }
  if (!impl_->server.bind_to_port(o.host, o.port)) return io_error("cannot bind HTTP port ", o.host, ":", o.port);
  return o.port;
}

void HttpServer::serve() {
  if (!impl_->stopping) impl_->server.listen_after_bind();
}

void HttpServer::stop() {
  impl_->ready = false;
  impl_->stopping = true;
  impl_->server.stop();
}

void HttpServer::set_ready(bool ready) { impl_->ready = ready && !impl_->stopping; }

}  // namespace tessera::serve
