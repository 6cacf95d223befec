// The KServe v2 (Open Inference Protocol) HTTP/REST front end over a ModelRepository: health,
// server and model metadata, infer (JSON and the binary tensor data extension), the repository
// extension (index, load, unload), Prometheus /metrics and one JSON access-log line per request.
// Endpoints and status codes: docs/serving.md.
#pragma once

#include <memory>

#include "src/serve/metrics.h"
#include "src/serve/model_repository.h"
#include "src/serve/server_options.h"
#include "tessera/status.h"

namespace tessera::serve {

class HttpServer {
 public:
  HttpServer(ModelRepository& repository, Metrics& metrics, ServerOptions options);
  ~HttpServer();
  // Binds the listening socket; returns the port.
  Result<int> bind();
  // Serves until stop(); returns once the requests in flight have been answered (at once when
  // stop() came first).
  void serve();
  // From any thread (a signal-handling thread): stop accepting, report not ready, let serve()
  // finish what is in flight.
  void stop();
  // /v2/health/ready answers true while this is set (after the repository has loaded) and no
  // model folder failed its last load.
  void set_ready(bool ready);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::serve
