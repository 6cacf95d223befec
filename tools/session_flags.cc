#include "tools/session_flags.h"

namespace tessera::cli {

Result<SessionOptions> session_options(int threads, const std::string& opt_level, const std::string& log_level,
                                       const std::string& profile_path, const std::string& eps) {
  auto level = parse_optimization_level(opt_level);
  if (!level.is_ok()) return level.status().with_context("--opt-level");
  auto severity = parse_log_severity(log_level);
  if (!severity.is_ok()) return severity.status().with_context("--log-level");
  SessionOptions options;
  options.intra_op_threads = threads;
  options.optimization_level = *level;
  options.log_severity = *severity;
  options.profile_path = profile_path;
  if (!eps.empty()) {
    // "plugin:/path/libplugin.so,cpu": a name, then the library after the first ':'.
    options.providers.clear();
    size_t start = 0;
    while (start <= eps.size()) {
      size_t end = eps.find(',', start);
      if (end == std::string::npos) end = eps.size();
      const std::string entry = eps.substr(start, end - start);
      const size_t colon = entry.find(':');
      ProviderChoice choice{entry.substr(0, colon), colon == std::string::npos ? "" : entry.substr(colon + 1)};
      if (choice.name.empty() || (colon != std::string::npos && choice.library.empty()))
        return invalid_argument("--ep: '", entry, "' is not NAME or NAME:PATH (in '", eps, "')");
      options.providers.push_back(std::move(choice));
      start = end + 1;
    }
  }
  return options;
}

}  // namespace tessera::cli
