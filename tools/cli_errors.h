// How the CLI ends on an error: one line on stderr, "error: ...", naming the model, and an exit
// code that says whose fault it was (documented in `tessera help` and docs/cli.md).
#pragma once

#include <iostream>
#include <string>

#include "tessera/status.h"

namespace tessera::cli {

inline constexpr int kExitError = 1;  // the model, the data or the run failed
inline constexpr int kExitUsage = 2;  // the command line is wrong: a flag, a value, a name

// Prints the error, prefixed with "model 'PATH': " unless the message already names the model
// (loading errors do; errors raised while running or reading data may not). Returns `exit_code`.
inline int report_error(const Status& status, const std::string& model = "", int exit_code = kExitError) {
  std::string message = status.message();
  for (char& c : message)
    if (c == '\n') c = ' ';
  std::cerr << "error: ";
  if (!model.empty() && message.find(model) == std::string::npos) std::cerr << "model '" << model << "': ";
  std::cerr << message << "\n";
  return exit_code;
}

}  // namespace tessera::cli
