// What may stop a run early: the caller's RunOptions (a terminate flag another thread sets, a
// deadline). SessionState::run makes one only when the caller set either, and passes it down the
// run path by pointer: the executor checks it before each step, every subgraph run (each
// Loop/Scan iteration, each If branch) before it starts. A run without one pays a null check.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>

#include "tessera/session.h"
#include "tessera/status.h"

namespace tessera {

class RunControl {
 public:
  // `model` names the model in the messages; it and `options` outlive the run.
  RunControl(const RunOptions& options, const std::string& model)
      : terminate_(options.terminate.get()), deadline_(options.deadline), model_(model) {}

  // Whether `options` sets anything a run must check.
  static bool needed(const RunOptions& options) {
    return options.terminate != nullptr || options.deadline != std::chrono::steady_clock::time_point::max();
  }

  // True once the run must stop (thread-safe; reads the clock only when a deadline is set).
  bool stop_requested() const {
    return (terminate_ && terminate_->load(std::memory_order_relaxed)) ||
           (has_deadline() && std::chrono::steady_clock::now() >= deadline_);
  }

  // The status of a run that stopped `where` ("before node 'add' (Add)"), once stop_requested():
  // cancelled when the flag is set, else deadline_exceeded.
  Status stopped(std::string_view where) const;

 private:
  bool has_deadline() const { return deadline_ != std::chrono::steady_clock::time_point::max(); }

  const std::atomic<bool>* terminate_;
  std::chrono::steady_clock::time_point deadline_;
  const std::string& model_;
};

// Whether `status` is a stopped run's (cancelled, deadline_exceeded): it passes up through the
// nodes that ran the stopped subgraph as it is, since its message already says where it stopped.
inline bool is_stopped_run(const Status& status) {
  return status.code() == StatusCode::cancelled || status.code() == StatusCode::deadline_exceeded;
}

}  // namespace tessera
