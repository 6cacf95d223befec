// The KServe v2 gRPC front end (inference.GRPCInferenceService, src/serve/kserve_v2.proto) over
// the same ModelRepository, schedulers, limits and metrics as the HTTP one: health, server and
// model metadata, ModelInfer (typed contents and raw_input_contents / raw_output_contents) and the
// repository extension. Status codes: docs/serving.md. Built only when gRPC is found.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "src/serve/metrics.h"
#include "src/serve/model_repository.h"
#include "src/serve/tensor_codec.h"
#include "tessera/status.h"

namespace tessera::serve {

struct GrpcOptions {
  std::string host = "0.0.0.0";
  int port = 8001;  // 0: any free port (start() says which)
  int threads = 32;  // RPCs served at once (gRPC's sync server threads)
  size_t max_message_bytes = size_t{64} << 20;  // larger requests get RESOURCE_EXHAUSTED from gRPC
  CodecLimits codec;
  std::chrono::milliseconds request_timeout{60000};  // queue + run, or the client's deadline if sooner
  bool access_log = true;  // one JSON line per RPC on stderr
};

class GrpcServer {
 public:
  GrpcServer(ModelRepository& repository, Metrics& metrics, GrpcOptions options);
  ~GrpcServer();
  // Binds and starts serving on gRPC's threads; returns the port.
  Result<int> start();
  // From any thread, any number of times: stop accepting, report not ready, wait (up to the request
  // timeout) for the RPCs in flight to be answered. Later calls wait for the first to finish.
  void stop();
  // ServerReady answers true while this is set and no model folder failed its last load.
  void set_ready(bool ready);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::serve
