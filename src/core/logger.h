// The one logger: lines to stderr at or above a minimum severity (SessionOptions::log_severity).
// A message below the severity costs one comparison: its text is built only when it is printed.
#pragma once

#include <string>

#include "tessera/log_severity.h"
#include "tessera/status.h"

namespace tessera {

class Logger {
 public:
  explicit Logger(LogSeverity min_severity = LogSeverity::warning) : min_(min_severity) {}

  bool enabled(LogSeverity severity) const { return severity >= min_; }

  // Writes "[tessera SEVERITY] message" as one line; lines from many threads never interleave.
  template <class... Args>
  void log(LogSeverity severity, const Args&... args) const {
    if (enabled(severity)) write(severity, str_cat(args...));
  }

 private:
  static void write(LogSeverity severity, const std::string& message);
  LogSeverity min_;
};

}  // namespace tessera
