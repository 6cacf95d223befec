// The declared inputs and outputs the codec tests decode against, built one way for the HTTP
// codec (tensor_codec_test.cc) and the gRPC one (grpc_codec_test.cc).
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "tessera/session.h"

namespace tessera::serve::codec_test {

// An input or output as Session::inputs()/outputs() describes it: `shape` with -1 for a free
// dim, or none when the model declares no rank.
inline IoInfo declared(std::string name, DataType dtype, std::optional<Shape> shape = std::nullopt) {
  IoInfo io;
  io.name = std::move(name);
  io.dtype = dtype;
  io.has_shape = shape.has_value();
  if (shape) io.shape = *shape;
  return io;
}

}  // namespace tessera::serve::codec_test
