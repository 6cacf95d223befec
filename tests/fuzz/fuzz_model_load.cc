// libFuzzer target: bytes -> ModelProto -> session creation (load, check, shape inference,
// optimization at the default level, planning). Any input must give a session or an error
// Status; a crash, sanitizer report, leak or hang is a finding. Small resource limits
// (fuzz_session_options.h) keep constant folding from asking for gigabytes.
//
// The loader parses a skeleton of the bytes without their large weights (model/model_skeleton.h);
// here the skeleton is also made with every raw_data left out, and checked: its payloads lie
// inside the input, and protobuf parses it exactly when it parses the input.
#include <cstddef>
#include <cstdint>

#include "model/model_skeleton.h"
#include "onnx.pb.h"
#include "tests/fuzz/fuzz_session_options.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (auto skeleton = tessera::model_skeleton(data, size, 1)) {
    for (const auto& [index, payload] : skeleton->payloads)
      if (payload.data < data || payload.size > size || payload.data + payload.size > data + size) __builtin_trap();
    tessera::onnx::ModelProto original, parsed;
    if (original.ParseFromArray(data, static_cast<int>(size)) != parsed.ParseFromString(skeleton->bytes)) __builtin_trap();
  }
  auto session = tessera::Session::load_from_bytes(data, size, tessera::fuzz::fuzz_session_options());
  (void)session;
  return 0;
}
