// What a front end (HTTP or gRPC) is told by `tessera serve`'s flags: one struct for both, so a
// limit added for one protocol is there for the other.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "src/serve/tensor_codec.h"

namespace tessera::serve {

struct ServerOptions {
  std::string host = "0.0.0.0";
  int port = 0;      // 0: any free port (the server's bind/start says which)
  int threads = 32;  // requests served at once: HTTP connections, gRPC's sync server threads
  // Larger requests are refused before they are parsed: HTTP bodies get 413, gRPC messages
  // RESOURCE_EXHAUSTED.
  size_t max_request_bytes = size_t{64} << 20;
  CodecLimits codec;
  // Queue + run; past it a request gets 504 / DEADLINE_EXCEEDED (gRPC: or the client's deadline if sooner).
  std::chrono::milliseconds request_timeout{60000};
  bool access_log = true;  // one JSON line per request on stderr
};

}  // namespace tessera::serve
