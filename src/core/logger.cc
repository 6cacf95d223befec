#include "core/logger.h"

#include <iostream>
#include <mutex>

namespace tessera {

Result<LogSeverity> parse_log_severity(const std::string& name) {
  for (LogSeverity s : {LogSeverity::verbose, LogSeverity::info, LogSeverity::warning, LogSeverity::error, LogSeverity::fatal})
    if (name == log_severity_name(s)) return s;
  return invalid_argument("unknown log level '", name, "' (expected verbose, info, warning, error or fatal)");
}

const char* log_severity_name(LogSeverity severity) {
  switch (severity) {
    case LogSeverity::verbose: return "verbose";
    case LogSeverity::info: return "info";
    case LogSeverity::warning: return "warning";
    case LogSeverity::error: return "error";
    case LogSeverity::fatal: return "fatal";
  }
  return "unknown";
}

void Logger::write(LogSeverity severity, const std::string& message) {
  static std::mutex mutex;
  std::string line = str_cat("[tessera ", log_severity_name(severity), "] ", message, "\n");
  std::lock_guard<std::mutex> lock(mutex);
  std::cerr << line << std::flush;
}

}  // namespace tessera
