#include "src/serve/grpc_server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/rpc_service_method.h>
#include <grpcpp/support/method_handler.h>
#include <grpcpp/impl/codegen/proto_utils.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>

#include "src/serve/access_log.h"
#include "src/serve/grpc_codec.h"
#include "src/serve/infer_call.h"
#include "src/serve/kserve_v2.pb.h"
#include "tessera/tessera_c.h"

namespace tessera::serve {
namespace {

using Clock = std::chrono::steady_clock;
using grpc::ServerContext;
using grpc::StatusCode;

grpc::StatusCode grpc_code(InferFailure failure) {
  switch (failure) {
    case InferFailure::none: return StatusCode::OK;
    case InferFailure::bad_request: return StatusCode::INVALID_ARGUMENT;
    case InferFailure::queue_full:
    case InferFailure::shutting_down: return StatusCode::UNAVAILABLE;
    case InferFailure::deadline_exceeded: return StatusCode::DEADLINE_EXCEEDED;
    case InferFailure::internal: return StatusCode::INTERNAL;
  }
  return StatusCode::INTERNAL;
}

const char* code_name(StatusCode code) {
  switch (code) {
    case StatusCode::OK: return "OK";
    case StatusCode::CANCELLED: return "CANCELLED";
    case StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case StatusCode::NOT_FOUND: return "NOT_FOUND";
    case StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case StatusCode::INTERNAL: return "INTERNAL";
    default: return "UNKNOWN";
  }
}

// The scheduler's deadline: the server's timeout, or the client's deadline when it is sooner.
Clock::time_point run_deadline(const ServerContext& context, Clock::time_point start, std::chrono::milliseconds timeout) {
  Clock::time_point deadline = start + timeout;
  auto client = context.deadline();
  auto now = std::chrono::system_clock::now();
  if (client < now + timeout)
    deadline = std::min(deadline, Clock::now() + std::chrono::duration_cast<Clock::duration>(client - now));
  return deadline;
}

void set_tensor_metadata(const IoInfo& io, inference::ModelMetadataResponse::TensorMetadata& out) {
  const char* v2 = datatype_to_v2(io.dtype);
  out.set_name(io.name);
  out.set_datatype(v2 ? v2 : io.type_string);
  for (int64_t dim : io.shape) out.add_shape(dim);
}

// The access log's model for a request that names one.
template <class Request>
std::string logged_model(const Request&) { return ""; }
std::string logged_model(const inference::ModelReadyRequest& r) { return r.name(); }
std::string logged_model(const inference::ModelMetadataRequest& r) { return r.name(); }
std::string logged_model(const inference::ModelInferRequest& r) { return r.model_name(); }
std::string logged_model(const inference::RepositoryModelLoadRequest& r) { return r.model_name(); }
std::string logged_model(const inference::RepositoryModelUnloadRequest& r) { return r.model_name(); }

}  // namespace

// The service's methods are registered here rather than through the code grpc_cpp_plugin
// generates: its handlers have gRPC parse the request and answer INTERNAL when the bytes are not
// one. Each method here takes the request's bytes on gRPC's sync server threads and parses them
// with parse_message (INVALID_ARGUMENT, with limits), the way the generated code's own handlers
// are built (grpc::internal::RpcMethodHandler over grpc::ByteBuffer, as its WithRawMethod variants do).
struct GrpcServer::Impl final : grpc::Service {
  ModelRepository& repository;
  Metrics& metrics;
  ServerOptions options;
  std::unique_ptr<grpc::Server> server;
  std::atomic<bool> ready{false};
  std::atomic<bool> stopping{false};
  std::once_flag stop_once;

  template <class Request, class Response>
  using Handler = grpc::Status (Impl::*)(ServerContext&, const Request&, Response&);

  Impl(ModelRepository& r, Metrics& m, ServerOptions o) : repository(r), metrics(m), options(std::move(o)) {
    // Names as kserve_v2.proto declares them: "/" package "." service "/" method.
    add_method("/inference.GRPCInferenceService/ServerLive", &Impl::server_live);
    add_method("/inference.GRPCInferenceService/ServerReady", &Impl::server_ready);
    add_method("/inference.GRPCInferenceService/ModelReady", &Impl::model_ready);
    add_method("/inference.GRPCInferenceService/ServerMetadata", &Impl::server_metadata);
    add_method("/inference.GRPCInferenceService/ModelMetadata", &Impl::model_metadata);
    add_method("/inference.GRPCInferenceService/ModelInfer", &Impl::model_infer);
    add_method("/inference.GRPCInferenceService/RepositoryIndex", &Impl::repository_index);
    add_method("/inference.GRPCInferenceService/RepositoryModelLoad", &Impl::repository_model_load);
    add_method("/inference.GRPCInferenceService/RepositoryModelUnload", &Impl::repository_model_unload);
  }

  // Registers the unary method `name` (a string literal: gRPC keeps the pointer) served by `handler`.
  template <class Request, class Response>
  void add_method(const char* name, Handler<Request, Response> handler) {
    AddMethod(new grpc::internal::RpcServiceMethod(
        name, grpc::internal::RpcMethod::NORMAL_RPC,
        new grpc::internal::RpcMethodHandler<Impl, grpc::ByteBuffer, grpc::ByteBuffer>(
            [name, handler](Impl* self, ServerContext* context, const grpc::ByteBuffer* in, grpc::ByteBuffer* out) {
              return self->call(*context, std::strrchr(name, '/') + 1, *in, *out, handler);
            },
            this)));
  }

  // One call: the request parsed, the handler, the response serialized, an access-log line.
  template <class Request, class Response>
  grpc::Status call(ServerContext& context, const char* method, const grpc::ByteBuffer& in, grpc::ByteBuffer& out,
                    Handler<Request, Response> handler) {
    const auto start = Clock::now();
    Request request;
    Response response;
    grpc::Status status = parse_message(in, options.max_request_bytes, request);
    if (status.ok()) status = (this->*handler)(context, request, response);
    if (status.ok()) {
      bool own_buffer = false;
      status = grpc::SerializationTraits<Response>::Serialize(response, &out, &own_buffer);
    }
    if (options.access_log) {
      nlohmann::json line = {{"time", utc_now()}, {"remote", context.peer()}, {"protocol", "grpc"},
                             {"method", method}, {"status", code_name(status.error_code())},
                             {"duration_ms", std::chrono::duration<double, std::milli>(Clock::now() - start).count()}};
      if (std::string model = logged_model(request); !model.empty()) line["model"] = model;
      write_access_log(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    return status;
  }

  grpc::Status server_live(ServerContext&, const inference::ServerLiveRequest&, inference::ServerLiveResponse& response) {
    response.set_live(true);
    return grpc::Status::OK;
  }

  grpc::Status server_ready(ServerContext&, const inference::ServerReadyRequest&,
                            inference::ServerReadyResponse& response) {
    response.set_ready(ready && !repository.has_failed_model());
    return grpc::Status::OK;
  }

  grpc::Status server_metadata(ServerContext&, const inference::ServerMetadataRequest&,
                               inference::ServerMetadataResponse& response) {
    response.set_name("tessera");
    response.set_version(tessera_version());
    response.add_extensions("model_repository");
    return grpc::Status::OK;
  }

  grpc::Status model_ready(ServerContext&, const inference::ModelReadyRequest& request,
                           inference::ModelReadyResponse& response) {
    auto model = repository.find(request.name(), request.version());
    if (!model.is_ok() && !repository.has_model_folder(request.name()))
      return grpc::Status(StatusCode::NOT_FOUND, model.status().message());
    response.set_ready(model.is_ok());
    return grpc::Status::OK;
  }

  grpc::Status model_metadata(ServerContext&, const inference::ModelMetadataRequest& request,
                              inference::ModelMetadataResponse& response) {
    auto model = repository.find(request.name(), request.version());
    if (!model.is_ok()) return grpc::Status(StatusCode::NOT_FOUND, model.status().message());
    response.set_name(request.name());
    for (const IndexEntry& e : repository.index())
      if (e.name == request.name() && !e.version.empty()) response.add_versions(e.version);
    response.set_platform("onnx");
    for (const IoInfo& io : (*model)->session.inputs()) set_tensor_metadata(io, *response.add_inputs());
    for (const IoInfo& io : (*model)->session.outputs()) set_tensor_metadata(io, *response.add_outputs());
    return grpc::Status::OK;
  }

  grpc::Status model_infer(ServerContext& context, const inference::ModelInferRequest& message,
                           inference::ModelInferResponse& response) {
    const auto start = Clock::now();
    auto found = repository.find(message.model_name(), message.model_version());
    if (!found.is_ok()) return grpc::Status(StatusCode::NOT_FOUND, found.status().message());
    const ServedModel& model = **found;
    auto answer = [&](grpc::Status status) {
      metrics.record_request(model.name, model.version, status.ok(),
                             std::chrono::duration<double>(Clock::now() - start).count());
      if (status.ok()) return status;
      return grpc::Status(status.error_code(),
                          "model '" + model.name + "' version " + model.version + ": " + status.error_message());
    };
    InferRequest request;
    grpc::Status decoded = decode_model_infer(message, model.session.inputs(), model.session.outputs(), options.codec,
                                              request);
    if (!decoded.ok()) return answer(decoded);
    InferOutcome outcome =
        run_infer(model, std::move(request.feeds), run_deadline(context, start, options.request_timeout), metrics);
    if (outcome.failure != InferFailure::none) return answer(grpc::Status(grpc_code(outcome.failure), outcome.message));
    return answer(encode_model_infer(model.name, model.version, request, model.session.outputs(), outcome.outputs,
                                     response));
  }

  grpc::Status repository_index(ServerContext&, const inference::RepositoryIndexRequest& request,
                                inference::RepositoryIndexResponse& response) {
    for (const IndexEntry& e : repository.index()) {
      if (request.ready() && e.state != "READY") continue;
      auto* entry = response.add_models();
      entry->set_name(e.name);
      entry->set_version(e.version);
      entry->set_state(e.state);
      entry->set_reason(e.reason);
    }
    return grpc::Status::OK;
  }

  grpc::Status load_or_unload(const std::string& name, bool load) {
    if (!repository.has_model_folder(name))
      return grpc::Status(StatusCode::NOT_FOUND, "no model '" + name + "' in the repository");
    Status status = load ? repository.load(name) : repository.unload(name);
    if (!status.is_ok()) return grpc::Status(StatusCode::INVALID_ARGUMENT, status.message());
    return grpc::Status::OK;
  }

  grpc::Status repository_model_load(ServerContext&, const inference::RepositoryModelLoadRequest& request,
                                     inference::RepositoryModelLoadResponse&) {
    return load_or_unload(request.model_name(), true);
  }

  grpc::Status repository_model_unload(ServerContext&, const inference::RepositoryModelUnloadRequest& request,
                                       inference::RepositoryModelUnloadResponse&) {
    return load_or_unload(request.model_name(), false);
  }
};

GrpcServer::GrpcServer(ModelRepository& repository, Metrics& metrics, ServerOptions options)
    : impl_(std::make_unique<Impl>(repository, metrics, std::move(options))) {}

GrpcServer::~GrpcServer() { stop(); }

Result<int> GrpcServer::start() {
  const ServerOptions& o = impl_->options;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(o.host + ":" + std::to_string(o.port), grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(impl_.get());
  // gRPC refuses larger messages before reading them (parse_message checks again).
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<size_t>(o.max_request_bytes, INT32_MAX)));
  builder.SetMaxSendMessageSize(-1);  // outputs are as large as the model makes them
  grpc::ResourceQuota quota("tessera_serve");
  quota.SetMaxThreads(std::max(2, o.threads));
  builder.SetResourceQuota(quota);
  impl_->server = builder.BuildAndStart();
  if (!impl_->server || port == 0) {
    impl_->server.reset();
    return io_error("cannot bind gRPC port ", o.host, ":", o.port);
  }
  return port;
}

void GrpcServer::stop() {
  impl_->ready = false;
  impl_->stopping = true;
  std::call_once(impl_->stop_once, [this] {
    if (!impl_->server) return;
    // Waits for the RPCs in flight; past the deadline gRPC cancels them.
    impl_->server->Shutdown(std::chrono::system_clock::now() + impl_->options.request_timeout);
    impl_->server->Wait();
  });
}

void GrpcServer::set_ready(bool ready) { impl_->ready = ready && !impl_->stopping; }

}  // namespace tessera::serve
