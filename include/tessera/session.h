// The public C++ API: load a model once, run it many times (from many threads).
//
//   auto session = tessera::Session::load("model.onnx");
//   if (!session.is_ok()) { std::cerr << session.status().message(); return 1; }
//   auto x = tessera::Tensor::create(tessera::DataType::float32, {1, 3, 224, 224});
//   auto outputs = session->run({{"input", *x}});
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tessera/log_severity.h"
#include "tessera/placement.h"
#include "tessera/resource_limits.h"
#include "tessera/status.h"
#include "tessera/tensor.h"
#include "tessera/value.h"

namespace tessera {

// How far the graph is rewritten before it runs (as ONNX Runtime's levels):
//   disabled  the graph as written;
//   basic     semantics-preserving cleanups in standard ONNX ops (constant folding, dead nodes,
//             common subexpressions, no-op removal); a model saved at this level runs anywhere;
//   extended  fusions into Tessera's own ops (domain com.tessera): Conv/Gemm + activation,
//             normalizations, GELU, attention;
//   all       extended plus CPU layout and weight-packing choices.
enum class OptimizationLevel { disabled, basic, extended, all };

// How a run orders the main graph's nodes (ONNX Runtime's ExecutionMode):
//   sequential  one node at a time, in topological order, on the caller's thread;
//   parallel    nodes whose inputs are ready run at once on inter_op_threads threads (independent
//               branches overlap); each node still uses the intra-op threads. If/Loop/Scan bodies
//               run sequentially either way. Outputs are the same as sequential's.
enum class ExecutionMode { sequential, parallel };

struct SessionOptions {
  // Threads one run may use for a single op (the caller's thread counts); 0 = one per core.
  int intra_op_threads = 0;
  ExecutionMode execution_mode = ExecutionMode::sequential;
  // With ExecutionMode::parallel: threads that run independent nodes at once (the caller's
  // thread counts; 0 = one per core). 1 runs as sequential. Unused in sequential mode.
  int inter_op_threads = 1;
  OptimizationLevel optimization_level = OptimizationLevel::all;
  // When not empty, the graph as optimized is saved here (ONNX) when the session is created.
  std::string optimized_model_path;
  // When not empty, the session profiles: loading, each creation phase (each optimizer pass with
  // its rewrites) and every run node by node (op type, EP, shapes) are timed, and
  // Session::end_profiling() writes them here as Chrome trace JSON (chrome://tracing, Perfetto).
  // Empty: nothing is timed and a run reads no clock.
  std::string profile_path;
  // Messages at or above this severity go to stderr (see LogSeverity).
  LogSeverity log_severity = LogSeverity::warning;
  // Execution providers in priority order (placement.h); the CPU EP runs what none takes.
  std::vector<ProviderChoice> providers = {{"cpu", ""}};
  // Session creation fails, naming each node and why, when a node a listed EP declined would
  // fall back to the CPU EP (shape computations kept on the host by design do not count).
  bool strict_placement = false;
  // What a model and a run may ask of the machine (resource_limits.h, docs/security.md).
  ResourceLimits limits;
  // Bit-identical outputs across runs, intra-op thread counts and a row's position in the batch,
  // for the ops docs/security.md lists, at some cost in speed (kernels split work in fixed-size
  // pieces and never across a reduction).
  bool deterministic = false;
  // Symbolic dims of the graph inputs fixed by name before the graph is checked and optimized
  // (ONNX Runtime's free dimension overrides by name): {"batch", 1} makes every input dim named
  // "batch" 1, so shapes infer as fixed and a feed with another value is refused. Naming a dim
  // no input has, or a negative value, fails session creation.
  std::map<std::string, int64_t> free_dimension_overrides;
  // Session creation infers every value's shape at the declared input shapes, dims still
  // symbolic after free_dimension_overrides taken as 1, and takes from the session's buffer pool,
  // and gives back, the blocks a run at those shapes takes, their pages touched: a first run at
  // that shape finds them there instead of page-faulting on fresh memory (on the CNNs that was
  // most of what a first run cost over later ones). Nothing is computed, so creation takes a few
  // milliseconds longer, not a run longer, and a graph that draws random numbers or loops for
  // long is warmed up too. Kernels' first calls (oneDNN primitives, per-shape scratch) still
  // happen in the first run; values whose shape depends on data are left to the first run. A
  // warm-up that fails (shape inference contradicts itself at those shapes) is logged (info) and
  // the session is created anyway. false: the first run pays for the pages instead.
  bool warm_up = true;
};

// How one run may be stopped early (ONNX Runtime's RunOptions.terminate, plus a deadline). A run
// checks both before each kernel and each Loop/Scan iteration (a kernel already computing
// finishes first), then returns StatusCode::cancelled or deadline_exceeded naming the model and
// the node where it stopped; its memory goes back to the session, which runs on normally.
// Neither set (the default) costs a run one branch per step.
//
//   tessera::RunOptions options;
//   options.terminate = std::make_shared<std::atomic<bool>>(false);
//   std::thread watchdog([flag = options.terminate] { ...; flag->store(true); });
//   auto outputs = session->run(feeds, {}, options);
struct RunOptions {
  // Set to true from any thread to stop the runs given this flag (shared, so the caller keeps it).
  std::shared_ptr<std::atomic<bool>> terminate;
  // A run still going at this time stops; max() means none.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();

  // A deadline `timeout` from now.
  static RunOptions with_timeout(std::chrono::milliseconds timeout) {
    RunOptions options;
    options.deadline = std::chrono::steady_clock::now() + timeout;
    return options;
  }
};

// "disabled", "basic", "extended", "all"; anything else is an error naming the choices.
Result<OptimizationLevel> parse_optimization_level(const std::string& name);
const char* optimization_level_name(OptimizationLevel level);

// A graph input or output as declared in the model.
struct IoInfo {
  enum class Kind { tensor, sequence, map, optional, unknown };
  std::string name;
  Kind kind = Kind::tensor;
  DataType dtype = DataType::undefined;  // tensor element type (of the element, for seq/optional)
  bool has_shape = false;                // false when the rank is unknown
  std::vector<int64_t> shape;            // -1 for a dimension that is not fixed
  std::vector<std::string> dim_names;    // symbolic names ("batch"), "" where none
  std::string type_string;               // "tensor(float)[batch,3,224,224]"
};

struct ModelMetadata;  // tessera/model_metadata.h

using Feeds = std::vector<std::pair<std::string, Value>>;

// The size of the graph a session runs (after function inlining and optimization).
struct NodeCounts {
  size_t nodes = 0;                     // nodes of the main graph
  std::map<std::string, size_t> by_op;  // "Conv", "com.tessera.FusedConv": subgraph nodes included
};

// One optimizer pass and how many rewrites it made over the whole model (all rounds, subgraphs).
struct OptimizationPass {
  std::string name;  // "conv_activation_fusion"
  int rewrites = 0;
};

// Movable, not copyable. Nothing here throws: every failure is a Status.
class Session {
 public:
  static Result<Session> load(const std::string& path, const SessionOptions& options = {});
  // `data` holds a serialized ModelProto; models loaded from bytes cannot use external data.
  static Result<Session> load_from_bytes(const void* data, size_t size, const SessionOptions& options = {});
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  ~Session();

  const std::vector<IoInfo>& inputs() const;   // inputs to feed (initializers excluded)
  const std::vector<IoInfo>& outputs() const;
  // What the model file says about itself (producer, description, metadata_props), as loaded.
  const ModelMetadata& metadata() const;
  // The graph as it runs, at the session's optimization level (what `tessera info` prints).
  NodeCounts node_counts() const;
  // The optimizer's passes at the session's level, in the order they ran (empty at disabled).
  std::vector<OptimizationPass> optimization_report() const;
  // Which EP runs each node of the main graph, the subgraphs, the copies between memory kinds.
  Placement placement() const;

  // Runs the model. Feeds are matched by name; `output_names` empty means all outputs, in graph
  // order. Thread-safe: many runs may share one session. Outputs never share memory with the
  // session (its weights or buffers), so writing into one cannot change a later run. `options`
  // may stop the run early (RunOptions).
  Result<std::vector<Value>> run(const Feeds& feeds, const std::vector<std::string>& output_names = {},
                                 const RunOptions& options = {}) const;

  // Stops profiling and writes the trace to SessionOptions::profile_path; returns that path.
  // Runs after it are not profiled. An error when the session was created without a
  // profile_path, when profiling has already ended, or when the file cannot be written.
  Result<std::string> end_profiling() const;

  struct Impl;

 private:
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera
