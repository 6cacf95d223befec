// The KServe v2 gRPC front end (inference.GRPCInferenceService, src/serve/kserve_v2.proto) over
// the same ModelRepository, schedulers, limits and metrics as the HTTP one: health, server and
// model metadata, ModelInfer (typed contents and raw_input_contents / raw_output_contents) and the
// repository extension; bytes that are not the method's request get INVALID_ARGUMENT. Status
// codes: docs/serving.md. Built only when gRPC is found.
#pragma once

#include <memory>

#include "src/serve/metrics.h"
#include "src/serve/model_repository.h"
#include "src/serve/server_options.h"
#include "tessera/status.h"

namespace tessera::serve {

class GrpcServer {
 public:
  GrpcServer(ModelRepository& repository, Metrics& metrics, ServerOptions options);
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
