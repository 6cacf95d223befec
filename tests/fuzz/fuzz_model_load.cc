// libFuzzer target: bytes -> ModelProto -> session creation (load, check, shape inference,
// optimization at the default level, planning). Any input must give a session or an error
// Status; a crash, sanitizer report, leak or hang is a finding. Small resource limits
// (fuzz_session_options.h) keep constant folding from asking for gigabytes.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_session_options.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto session = tessera::Session::load_from_bytes(data, size, tessera::fuzz::fuzz_session_options());
  (void)session;
  return 0;
}
