// libFuzzer target: bytes -> ModelProto -> session creation (load, check, shape inference,
// optimization at the default level, planning). Any input must give a session or an error
// Status; a crash, sanitizer report, leak or hang is a finding.
#include <cstddef>
#include <cstdint>

#include "tessera/session.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tessera::SessionOptions options;
  options.intra_op_threads = 1;  // one thread: findings reproduce, and the fuzzer runs more inputs
  options.log_severity = tessera::LogSeverity::fatal;
  auto session = tessera::Session::load_from_bytes(data, size, options);
  (void)session;
  return 0;
}
