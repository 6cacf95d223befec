// Records one run of a profiling session (SessionOptions::profile_path) into its Profiler: an
// event per step (category "node"; named by the node, else its op type; args op_type, ep,
// input_shapes, output_shapes) and one for the whole run (category "session", name "run").
// SessionState::run makes one per run only when the session profiles, so a session that does
// not pays nothing per node. In a parallel run several steps are in flight at once (the executor
// serializes the calls): each node's event gets the thread that ran it.
#pragma once

#include <utility>
#include <vector>

#include "core/profiler.h"
#include "framework/executor.h"

namespace tessera {

class RunProfiler final : public StepObserver {
 public:
  // `inner` (may be null) is the caller's own observer: it sees every step too.
  RunProfiler(Profiler& profiler, StepObserver* inner);
  // Hands the run's events to the profiler, whether the run succeeded or not.
  ~RunProfiler() override;
  RunProfiler(const RunProfiler&) = delete;
  RunProfiler& operator=(const RunProfiler&) = delete;

  void before_step(const Node& node) override;
  void after_step(const Node& node, const std::string& provider, const std::vector<const Value*>& inputs,
                  const std::vector<const Value*>& outputs) override;

 private:
  Profiler& profiler_;
  StepObserver* inner_;
  const uint64_t thread_;
  const Profiler::Clock::time_point run_start_;
  // The steps begun and not ended yet, with their start: one in a sequential run, at most one
  // per inter-op thread in a parallel one.
  std::vector<std::pair<const Node*, Profiler::Clock::time_point>> in_flight_;
  std::vector<Profiler::Event> events_;
};

}  // namespace tessera
