// What session creation reports about itself: log lines (logger.h) and, when profiling, trace
// events (profiler.h). The stages take a `const Tracing*` (null: report nothing) and time their
// phases with PhaseTimer, the one hook for both.
#pragma once

#include <string>

#include "core/logger.h"
#include "core/profiler.h"

namespace tessera {

struct Tracing {
  Logger logger;
  Profiler* profiler = nullptr;  // null when not profiling
  std::string scope;             // what log lines are about: "model 'm.onnx'"
};

// Times one phase from construction to destruction into a trace event (when profiling) and a
// verbose log line with its duration. Reads no clock when neither would be written.
class PhaseTimer {
 public:
  PhaseTimer(const Tracing* tracing, std::string category, std::string name);
  ~PhaseTimer();
  PhaseTimer(const PhaseTimer&) = delete;
  PhaseTimer& operator=(const PhaseTimer&) = delete;

  // The event's args (JsonArgs::take()), known only once the phase is done (a pass's rewrites).
  void set_args(std::string args) { args_ = std::move(args); }
  bool active() const { return tracing_ != nullptr; }

 private:
  const Tracing* tracing_;  // null when inactive
  std::string category_, name_, args_;
  Profiler::Clock::time_point start_;
};

}  // namespace tessera
