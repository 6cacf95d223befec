#include "tools/session_flags.h"

namespace tessera::cli {

Result<SessionOptions> session_options(int threads, const std::string& opt_level, const std::string& log_level,
                                       const std::string& profile_path) {
  auto level = parse_optimization_level(opt_level);
  if (!level.is_ok()) return level.status().with_context("--opt-level");
  auto severity = parse_log_severity(log_level);
  if (!severity.is_ok()) return severity.status().with_context("--log-level");
  SessionOptions options;
  options.intra_op_threads = threads;
  options.optimization_level = *level;
  options.log_severity = *severity;
  options.profile_path = profile_path;
  return options;
}

}  // namespace tessera::cli
