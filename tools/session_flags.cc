#include "tools/session_flags.h"

namespace tessera::cli {

Result<SessionOptions> session_options(int threads, const std::string& opt_level) {
  auto level = parse_optimization_level(opt_level);
  if (!level.is_ok()) return level.status().with_context("--opt-level");
  SessionOptions options;
  options.intra_op_threads = threads;
  options.optimization_level = *level;
  return options;
}

}  // namespace tessera::cli
