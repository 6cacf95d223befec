// How much a session writes to stderr: messages at or above the chosen severity are printed.
// The levels and their order are ONNX Runtime's (0 verbose .. 4 fatal).
#pragma once

#include <string>

#include "tessera/status.h"

namespace tessera {

//   verbose  every session phase with its duration;
//   info     a summary of session creation (node count, what the optimizer rewrote);
//   warning  something was assumed that the caller may not expect (the default);
//   error, fatal  only failures (which are also returned as Status).
enum class LogSeverity { verbose = 0, info = 1, warning = 2, error = 3, fatal = 4 };

// "verbose", "info", "warning", "error", "fatal"; anything else is an error naming the choices.
Result<LogSeverity> parse_log_severity(const std::string& name);
const char* log_severity_name(LogSeverity severity);

}  // namespace tessera
