// SessionOptions for the fuzz targets that create sessions (fuzz_model_load, fuzz_session_run).
// The limits are far below the defaults on purpose: libFuzzer reports any single allocation over
// -rss_limit_mb (2 GiB in run_long.sh) as an out-of-memory finding, and a crafted model may
// legitimately ask for gigabytes (ConstantOfShape, Expand, a long Loop) that the defaults allow.
// These caps turn such a case into the limit's error Status within milliseconds, so the
// fuzzer spends its time on parsing and kernels rather than on memset, and a finding is a bug,
// not a big-but-valid model. The limits themselves are tested in resource_limits_test.cc.
#pragma once

#include <cstdint>

#include "tessera/session.h"

namespace tessera::fuzz {

inline SessionOptions fuzz_session_options() {
  SessionOptions options;
  options.intra_op_threads = 1;  // one thread: findings reproduce, and the fuzzer runs more inputs
  options.log_severity = LogSeverity::fatal;
  options.limits.max_nodes = 10'000;
  options.limits.max_tensor_elements = uint64_t{1} << 22;  // 4 M elements
  options.limits.max_tensor_bytes = uint64_t{64} << 20;   // 64 MiB
  options.limits.max_run_arena_bytes = uint64_t{512} << 20;
  options.limits.max_loop_iterations = 10'000;
  // The warm-up (on by default) stays on: it computes nothing (its shape inference at the warm-up
  // shapes and the blocks it touches are what it adds), so both targets cover it cheaply.
  return options;
}

}  // namespace tessera::fuzz
