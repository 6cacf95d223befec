// Executes one graph (the main graph or an If/Loop/Scan body). Built once at session creation by
// named stages: check (graph_check.h), partition (partitioner.h), kernel creation (here) and
// memory planning (memory_plan.h: each intermediate is released after its last use). Running is
// thread-safe: every run has its own frame of values. A run takes the steps in topological order
// on the caller's thread (executor.cc), or, for a parallel session's main graph, as soon as the
// steps writing their inputs have finished, on an inter-op pool (executor_parallel.cc).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/buffer_pool.h"
#include "core/thread_pool.h"
#include "core/tracing.h"
#include "framework/execution_provider.h"
#include "framework/kernel.h"
#include "framework/memory_plan.h"
#include "framework/partitioner.h"
#include "graph/graph.h"

namespace tessera {

class RunControl;

// Looks inside a run, step by step: the profiler times each node (run_profiler.h), the inference
// conformance test compares outputs with the inferred types. A run without one pays nothing (no
// clock, no allocation). Steps of If/Loop/Scan bodies are not reported (their node's step is).
// Called on the thread that runs the step, never by two threads at once: in a parallel run the
// steps' calls interleave (before A, before B, after B, after A), each after_step on the thread
// of its before_step.
class StepObserver {
 public:
  virtual ~StepObserver() = default;
  // Just before the step's kernel computes.
  virtual void before_step(const Node& node) { (void)node; }
  // Once the kernel succeeded, before any value is released: its input and output values
  // (nullptr where omitted) and the name of the EP that runs the node.
  virtual void after_step(const Node& node, const std::string& provider, const std::vector<const Value*>& inputs,
                          const std::vector<const Value*>& outputs) = 0;
};

class GraphExecutor {
 public:
  // Called with the name of an initializer of `graph` once the kernels of all its readers are
  // made and each owns a packed copy of it (OpKernel::owns_constant): its bytes may be dropped.
  using ReleaseConstant = std::function<void(const std::string& name)>;

  // `outer_scope` lists names visible from enclosing graphs (empty for the main graph). With
  // `tracing`, the stages are timed as session phases (subgraphs' inside their node's kernel).
  // `release_constant`, when given, is called as soon as an initializer is no longer needed
  // (see ReleaseConstant), so originals and their packed copies do not all coexist.
  // `parallel` also plans running the steps out of order (run's `inter_op`); subgraphs never are.
  // `limits.max_loop_iterations` bounds how many times one node may run its subgraphs in one run
  // (each Loop/Scan iteration is one); subgraphs get the same limits.
  static Result<std::unique_ptr<GraphExecutor>> create(const Graph& graph, const Model& model,
                                                       const std::vector<const ExecutionProvider*>& providers,
                                                       const std::vector<std::string>& outer_scope,
                                                       const Tracing* tracing = nullptr,
                                                       const ReleaseConstant& release_constant = {},
                                                       const ResourceLimits& limits = {}, int intra_op_threads = 1,
                                                       bool parallel = false);

  const Graph& graph() const { return graph_; }
  // Which EP runs each node, the subgraphs and the copies between memory kinds (partitioner.h).
  const Partition& placement() const { return partition_; }
  // Names this graph reads from enclosing scopes (its free variables).
  const std::vector<std::string>& outer_names() const { return outer_names_; }

  // Runs with `inputs` matching graph().inputs in order (omitted initializer-backed inputs may be
  // empty Values: the initializer is used). `outer_values` matches outer_names(). Outputs of
  // kernels are allocated from `buffers`. `observer`, when given, sees every step (StepObserver).
  // `control`, when given, is checked before each step and passed to subgraphs (run_control.h);
  // a stopped run returns its status as it is, its values released. `budget`, when given, counts
  // the run's buffers against ResourceLimits::max_run_arena_bytes (subgraphs share it).
  // `inter_op`, given to an executor created `parallel`, runs each step once the steps writing its
  // inputs have finished, on its threads (the caller's included), each kernel still on `pool`; the
  // first failing step's error (the earliest in topological order when several fail at once)
  // ends the run once the steps already computing finish.
  Result<std::vector<Value>> run(const std::vector<Value>& inputs, const std::vector<const Value*>& outer_values,
                                 ThreadPool& pool, BufferPool& buffers, StepObserver* observer = nullptr,
                                 const RunControl* control = nullptr,
                                 const std::shared_ptr<ArenaBudget>& budget = nullptr, ThreadPool* inter_op = nullptr) const;

  // Takes from `buffers`, in a run's order, the blocks a run whose values have `types` would take
  // for the steps' outputs, zero-filling each (its pages touched), and gives each back after the
  // step that reads it last, as a run does: a first run at those types then finds its blocks in
  // the pool (SessionState::warm_up). Computes nothing. Outputs whose type is not a tensor of
  // fixed shape and numeric element type, and steps on an EP with its own memory, are skipped;
  // the kernels' scratch is not known here. Stops quietly at a block the pool refuses (limits,
  // or `budget`, the run's arena, which the blocks held at once count against).
  void touch_output_buffers(const ValueTypes& types, BufferPool& buffers, const std::shared_ptr<ArenaBudget>& budget) const;

 private:
  // When a step's kernel may write over an input (KernelContext::reusable_input): never; when the
  // steps run in order (the step is the input's last reader); or in any order (its only one).
  enum class Reuse : unsigned char { never, in_order, any_order };
  struct Step {
    const Node* node = nullptr;
    std::string provider;  // the name of the EP that took the node
    const Allocator* allocator = nullptr;  // the EP's, when its memory is not the host's
    int64_t opset = 0;
    std::unique_ptr<OpKernel> kernel;
    std::vector<std::shared_ptr<const SubgraphRunner>> subgraphs;  // bodies of If/Loop/Scan, owned here
    std::vector<int> inputs;    // slot per node input, -1 when omitted
    std::vector<int> outputs;   // slot per node output, -1 when omitted
    std::vector<int> implicit;  // slots read by subgraphs (outer-scope values they capture)
    std::vector<int> release;   // slots whose last use is this step
    std::vector<Reuse> reusable;  // per input: whether the kernel may write over it (reusable_input)
  };
  friend class FrameContext;
  friend class FrameLease;
  friend class SubgraphRunnerImpl;

  // Puts the feeds and outer values into a run's empty frame (initializers are read from
  // constants_, not copied in).
  void fill_frame(std::vector<Value>& frame, const std::vector<Value>& inputs,
                  const std::vector<const Value*>& outer_values) const;
  // The graph's outputs, moved out of the frame.
  std::vector<Value> take_outputs(std::vector<Value>& frame) const;
  // Computes one step into `frame`: the kernel (an exception or error becomes a status naming the
  // node), then the observer's after_step. Releases nothing. `in_order`: run() takes the steps
  // one after the other (reusable_input may then hand over inputs the step reads last).
  Status compute_step(const Step& step, std::vector<Value>& frame, ThreadPool& pool, BufferPool& buffers,
                      StepObserver* observer, const RunControl* control,
                      const std::shared_ptr<ArenaBudget>& budget, bool in_order = false) const;
  // run() of a parallel session's main graph (executor_parallel.cc).
  Result<std::vector<Value>> run_parallel(std::vector<Value>& frame, ThreadPool& pool, ThreadPool& inter_op,
                                          BufferPool& buffers, StepObserver* observer, const RunControl* control,
                                          const std::shared_ptr<ArenaBudget>& budget) const;

  explicit GraphExecutor(const Graph& graph) : graph_(graph) {}
  static Result<Step> create_step(const Graph& graph, const Node& node, const ExecutionProvider& provider, const Model& model,
                                  const std::vector<const ExecutionProvider*>& providers,
                                  const std::vector<std::string>& inner_scope, const ResourceLimits& limits,
                                  const ValueTypes& types, int intra_op_threads);
  // A step copying `copy.value` into `to_name` (in copy.to), through transfers_.
  Step create_copy_step(const PlannedCopy& copy, const std::string& to_name, const Allocator* to_allocator);
  int slot(const std::string& name);
  // A run's frame of values (one per slot, all absent), kept from an earlier run when one is free,
  // so a steady-state run allocates no frame; given back with its values released.
  std::vector<Value> take_frame() const;
  void give_back_frame(std::vector<Value> frame) const;
  // The value of `slot` in a run: the run's own (a feed, a step's output), else the initializer's.
  const Value& value_at(const std::vector<Value>& frame, int slot) const {
    const Value& v = frame[static_cast<size_t>(slot)];
    return v.is_absent() ? constants_[static_cast<size_t>(slot)] : v;
  }

  const Graph& graph_;
  std::unordered_map<std::string, int> slots_;
  std::vector<std::string> slot_names_;
  std::vector<Step> steps_;
  std::vector<int> input_slots_, output_slots_, outer_slots_;
  std::vector<std::string> outer_names_;
  std::vector<Value> constants_;  // per slot: the initializer's value, absent for other slots
  Partition partition_;
  DataTransferManager transfers_;                 // the device EPs' data transfers
  std::vector<std::unique_ptr<Node>> copy_nodes_;  // the nodes of copy steps (Step::node points here)
  int64_t max_subgraph_runs_ = 0;  // per node and run: ResourceLimits::max_loop_iterations
  std::unique_ptr<const ParallelPlan> parallel_;  // made when created `parallel` (memory_plan.h)
  mutable std::mutex frames_mutex_;
  mutable std::vector<std::vector<Value>> free_frames_;  // as many as runs were ever concurrent, up to a bound
};


}  // namespace tessera
