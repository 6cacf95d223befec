// The state behind a public Session: the loaded model, its EPs, the main graph's executor, the
// intra-op thread pool and, in parallel mode, the inter-op one. Immutable after creation; run() may be called from many threads.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/heap_trim.h"
#include "core/profiler.h"
#include "core/thread_pool.h"
#include "core/tracing.h"
#include "framework/executor.h"
#include "optimizer/optimizer.h"
#include "tessera/session.h"

namespace tessera {

class SessionState {
 public:
  // Takes the EPs in priority order (the first that can take a node runs it). `profiler`, when
  // profiling (options.profile_path), already holds the events of loading the model; the session
  // times its phases and every run into it.
  static Result<std::unique_ptr<SessionState>> create(Model model, std::vector<std::unique_ptr<ExecutionProvider>> providers,
                                                      const SessionOptions& options,
                                                      std::unique_ptr<Profiler> profiler = nullptr);

  const std::vector<IoInfo>& inputs() const { return inputs_; }
  const std::vector<IoInfo>& outputs() const { return outputs_; }
  // The model as it runs: functions inlined, graph optimized at the session's level.
  const Model& model() const { return model_; }
  // Which EP runs each node of the main graph, its subgraphs and copies (partitioner.h).
  const Partition& placement() const { return executor_->placement(); }
  // What each optimizer pass did (empty at level disabled).
  const std::vector<PassReport>& optimizer_report() const { return optimizer_report_; }

  // `observer` (executor.h) sees each step; tests use it. A profiling session times the run.
  // `options` may stop the run early (RunOptions, run_control.h).
  Result<std::vector<Value>> run(const Feeds& feeds, const std::vector<std::string>& output_names,
                                 StepObserver* observer = nullptr, const RunOptions& options = {}) const;

  // Stops profiling and writes the trace (Chrome trace JSON) to options.profile_path; returns
  // that path. An error when the session does not profile or profiling has ended.
  Result<std::string> end_profiling() const;

 private:
  SessionState() = default;
  Status check_feed(const ValueInfo& declared, const Value& value) const;
  // Runs the main graph on `inputs` (in the order of its inputs) with the session's pools.
  Result<std::vector<Value>> execute(const std::vector<Value>& inputs, StepObserver* observer,
                                     const RunControl* control) const;
  // SessionOptions::warm_up: the buffer pool gets the blocks a run at the declared input shapes,
  // symbolic dims taken as 1, takes, their pages touched (session_preparation.h). Nothing runs; a
  // failure is logged, not returned.
  void warm_up();
  // One run's ArenaBudget (ResourceLimits::max_run_arena_bytes); null when the limit is 0.
  std::shared_ptr<ArenaBudget> run_budget() const;

  // First member, so destroyed last: once everything else is freed, the pages go back.
  struct TrimHeapOnDestruction {
    TrimHeapOnDestruction() = default;
    TrimHeapOnDestruction(const TrimHeapOnDestruction&) = delete;
    TrimHeapOnDestruction& operator=(const TrimHeapOnDestruction&) = delete;
    ~TrimHeapOnDestruction() { return_free_heap_to_system(); }
  } trim_heap_;
  Model model_;
  std::vector<std::unique_ptr<ExecutionProvider>> providers_;
  std::unique_ptr<GraphExecutor> executor_;
  std::unique_ptr<ThreadPool> pool_;
  // Runs independent steps at once (ExecutionMode::parallel with more than one inter-op thread);
  // null otherwise, and runs are sequential.
  std::unique_ptr<ThreadPool> inter_op_pool_;
  mutable BufferPool buffers_;  // recycles intermediate buffers across runs (thread-safe)
  // Earlier runs' budgets, given to a later run once no tensor holds them: a steady run makes none.
  mutable std::mutex budgets_mutex_;
  mutable std::vector<std::shared_ptr<ArenaBudget>> spare_budgets_;
  ResourceLimits limits_;
  bool deterministic_ = false;  // runs are in deterministic mode (core/deterministic.h)
  std::vector<IoInfo> inputs_, outputs_;
  std::vector<PassReport> optimizer_report_;
  std::unique_ptr<Profiler> profiler_;  // null when not profiling
  std::string profile_path_;
  Tracing tracing_;
};

IoInfo describe_value(const ValueInfo& info);
// Replaces each output tensor that shares memory with anything but the other outputs by a copy.
Status detach_from_session(std::vector<Value>& outputs);

}  // namespace tessera
