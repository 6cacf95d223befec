#include "core/tracing.h"

#include <cstdio>

namespace tessera {

PhaseTimer::PhaseTimer(const Tracing* tracing, std::string category, std::string name)
    : tracing_(tracing && (tracing->profiler || tracing->logger.enabled(LogSeverity::verbose)) ? tracing : nullptr) {
  if (!tracing_) return;
  category_ = std::move(category);
  name_ = std::move(name);
  start_ = Profiler::Clock::now();
}

PhaseTimer::~PhaseTimer() {
  if (!tracing_) return;
  const auto end = Profiler::Clock::now();
  const double ms = std::chrono::duration<double, std::milli>(end - start_).count();
  char duration[32];
  std::snprintf(duration, sizeof duration, "%.3f ms", ms);
  tracing_->logger.log(LogSeverity::verbose, tracing_->scope, ": ", category_, " ", name_, " ", duration,
                       args_.empty() ? "" : " {", args_, args_.empty() ? "" : "}");
  if (tracing_->profiler) tracing_->profiler->add({name_, category_, start_, end, Profiler::thread_id(), std::move(args_)});
}

}  // namespace tessera
