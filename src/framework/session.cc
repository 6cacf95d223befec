#include "framework/session.h"

#include <algorithm>
#include <optional>
#include <set>
#include <unordered_map>

#include "core/deterministic.h"
#include "framework/graph_check.h"
#include "framework/node_evaluator.h"
#include "framework/run_control.h"
#include "framework/run_profiler.h"
#include "framework/session_preparation.h"
#include "graph/function_inliner.h"
#include "graph/op_schema.h"
#include "graph/shape_inference.h"

namespace tessera {

IoInfo describe_value(const ValueInfo& info) {
  IoInfo io;
  io.name = info.name;
  io.type_string = info.type.to_string();
  const TypeInfo* tensor_type = &info.type;
  switch (info.type.kind) {
    case TypeInfo::Kind::tensor:
    case TypeInfo::Kind::sparse_tensor: io.kind = IoInfo::Kind::tensor; break;
    case TypeInfo::Kind::sequence: io.kind = IoInfo::Kind::sequence; tensor_type = info.type.inner.get(); break;
    case TypeInfo::Kind::optional: io.kind = IoInfo::Kind::optional; tensor_type = info.type.inner.get(); break;
    case TypeInfo::Kind::map: io.kind = IoInfo::Kind::map; break;
    case TypeInfo::Kind::unknown: io.kind = IoInfo::Kind::unknown; break;
  }
  if (tensor_type && tensor_type->kind == TypeInfo::Kind::tensor) {
    io.dtype = tensor_type->elem_type;
    if (tensor_type->shape) {
      io.has_shape = true;
      for (const Dim& d : *tensor_type->shape) {
        io.shape.push_back(d.is_fixed() ? d.value : -1);
        io.dim_names.push_back(d.param);
      }
    }
  }
  return io;
}

namespace {

// The calling thread's spare vector for a run's inputs (SessionState::run).
std::vector<Value>& thread_spare_inputs() {
  thread_local std::vector<Value> spare;
  return spare;
}

// "optimized at level all: 14 passes made 112 rewrites (constant_folding 4, ...)", for the info log.
std::string optimizer_summary(OptimizationLevel level, const std::vector<PassReport>& report) {
  int total = 0;
  std::string passes;
  for (const PassReport& pass : report) {
    total += pass.rewrites;
    if (pass.rewrites) passes += str_cat(passes.empty() ? "" : ", ", pass.name, " ", pass.rewrites);
  }
  return str_cat("optimized at level ", optimization_level_name(level), ": ", report.size(), " passes made ", total,
                 " rewrites", passes.empty() ? "" : " (" + passes + ")");
}

}  // namespace

Result<std::unique_ptr<SessionState>> SessionState::create(Model model, std::vector<std::unique_ptr<ExecutionProvider>> providers,
                                                           const SessionOptions& options, std::unique_ptr<Profiler> profiler) {
  if (options.intra_op_threads < 0) return invalid_argument("intra_op_threads must be >= 0, got ", options.intra_op_threads);
  if (options.inter_op_threads < 0) return invalid_argument("inter_op_threads must be >= 0, got ", options.inter_op_threads);
  std::unique_ptr<SessionState> state(new SessionState());
  state->model_ = std::move(model);
  if (!profiler && !options.profile_path.empty()) profiler = std::make_unique<Profiler>();
  state->profiler_ = std::move(profiler);
  state->profile_path_ = options.profile_path;
  state->tracing_ = Tracing{Logger(options.log_severity), state->profiler_.get(), "model '" + state->model_.source + "'"};
  const Tracing* tracing = &state->tracing_;
  const Logger& log = state->tracing_.logger;
  PhaseTimer creation(tracing, "session", "session_creation");
  TS_RETURN_IF_ERROR(
      apply_free_dimension_overrides(state->model_.graph, options.free_dimension_overrides, state->model_.source));
  {
    PhaseTimer phase(tracing, "session", "function_inlining");
    Status inlined = inline_model_functions(state->model_, options.limits);
    if (!inlined.is_ok()) return inlined.with_context("model '" + state->model_.source + "'");
  }
  const size_t nodes_before_optimization = state->model_.graph.nodes.size();
  // Kernels are registered up to the newest opsets the schema table knows; a newer import may
  // change any op's meaning, so it is refused rather than run with the older semantics.
  for (const auto& [domain, version] : state->model_.opset_imports) {
    const int64_t latest = latest_opset(domain);
    if (latest > 0 && version > latest)
      return invalid_model("model '", state->model_.source, "' imports opset ", version, " of domain '",
                           domain.empty() ? "ai.onnx" : domain, "', newer than the latest Tessera knows (", latest, ")");
  }
  state->providers_ = std::move(providers);
  std::vector<const ExecutionProvider*> eps, host_eps;  // constant folding stays in host memory
  for (const auto& p : state->providers_) {
    eps.push_back(p.get());
    if (p->memory().is_host()) host_eps.push_back(p.get());
  }
  if (options.optimization_level != OptimizationLevel::disabled) {
    // A bad model is reported by the check, naming its node, before any pass rewrites it.
    std::optional<PhaseTimer> phase(std::in_place, tracing, "session", "check");
    Result<CheckedGraph> checked = check_graph(state->model_.graph, state->model_, {});
    if (!checked.is_ok()) return checked.status().with_context("model '" + state->model_.source + "'");
    phase.emplace(tracing, "session", "optimize");
    // The blocked layout is for the CPU EP's kernels alone: with other EPs it stays NCHW, which
    // they may claim.
    LayoutTarget layout;
    if (state->providers_.size() == 1) layout.channel_block = state->providers_[0]->blocked_channels();
    Result<std::vector<PassReport>> report =
        optimize_model(state->model_, transformers_for(options.optimization_level, layout),
                       make_node_evaluator(state->model_, host_eps), tracing);
    if (!report.is_ok()) return report.status().with_context("model '" + state->model_.source + "'");
    state->optimizer_report_ = std::move(report).value();
    phase.reset();
    if (log.enabled(LogSeverity::info))
      log.log(LogSeverity::info, tracing->scope, ": ", optimizer_summary(options.optimization_level, state->optimizer_report_));
  }
  // A weight every reader has packed keeps its type and shape but drops its bytes (memory-mapped
  // pages are unmapped with the last view), unless the model is saved after this (api/session.cc).
  // Freed pages go back every 32 MB released: a packed copy is a little larger than its original
  // (padded panels), so the heap would otherwise grow past the holes the originals leave.
  GraphExecutor::ReleaseConstant release;
  size_t released_bytes = 0;
  if (options.optimized_model_path.empty())
    release = [&initializers = state->model_.graph.initializers, &released_bytes](const std::string& name) {
      Tensor& t = initializers.at(name);
      released_bytes += t.byte_size();
      t = Tensor::view(t.dtype(), t.shape(), nullptr, nullptr, t.location());
      if (released_bytes >= (size_t{32} << 20)) {
        return_free_heap_to_system();
        released_bytes = 0;
      }
    };
  state->limits_ = options.limits;
  state->deterministic_ = options.deterministic;
  state->buffers_ = BufferPool(size_t{1} << 30, options.limits);
  state->pool_ = std::make_unique<ThreadPool>(options.intra_op_threads);
  // Parallel mode with one inter-op thread is the sequential run: no pool, no plan.
  if (options.execution_mode == ExecutionMode::parallel) {
    auto inter_op = std::make_unique<ThreadPool>(options.inter_op_threads);
    if (inter_op->size() > 1) state->inter_op_pool_ = std::move(inter_op);
  }
  auto executor = GraphExecutor::create(state->model_.graph, state->model_, eps, {}, tracing, release, options.limits,
                                        state->pool_->size(), state->inter_op_pool_ != nullptr);
  if (!executor.is_ok()) return executor.status().with_context("model '" + state->model_.source + "'");
  if (options.strict_placement)
    TS_RETURN_IF_ERROR(check_strict_placement(state->model_.graph, (*executor)->placement()).with_context("model '" + state->model_.source + "'"));
  state->executor_ = std::move(executor).value();
  for (const ValueInfo* in : state->model_.graph.feed_inputs()) state->inputs_.push_back(describe_value(*in));
  for (const ValueInfo& out : state->model_.graph.outputs) state->outputs_.push_back(describe_value(out));
  return_free_heap_to_system();  // the parsed model and the packed weights' originals are gone
  // After the trim, so that the heap pages the warm-up's small allocations touch stay.
  if (options.warm_up) state->warm_up();
  log.log(LogSeverity::info, tracing->scope, ": session created: ", state->model_.graph.nodes.size(), " nodes (",
          nodes_before_optimization, " before optimization at level ", optimization_level_name(options.optimization_level),
          "), ", state->pool_->size(), " intra-op threads",
          state->inter_op_pool_ ? str_cat(", ", state->inter_op_pool_->size(), " inter-op threads") : std::string(),
          state->profiler_ ? ", profiling" : "");
  return state;
}

std::shared_ptr<ArenaBudget> SessionState::run_budget() const {
  if (!limits_.max_run_arena_bytes) return nullptr;
  constexpr size_t kMaxSpareBudgets = 16;  // as many as the executor keeps free frames (executor.cc)
  std::lock_guard lock(budgets_mutex_);
  for (const auto& spare : spare_budgets_)
    if (spare.use_count() == 1) {  // no tensor of an earlier run holds it
      spare->live.store(0, std::memory_order_relaxed);
      return spare;
    }
  auto budget = std::make_shared<ArenaBudget>(limits_.max_run_arena_bytes);
  if (spare_budgets_.size() < kMaxSpareBudgets) spare_budgets_.push_back(budget);
  return budget;
}

void SessionState::warm_up() {
  PhaseTimer phase(&tracing_, "session", "warm_up");
  thread_spare_inputs().reserve(model_.graph.inputs.size());  // so a first run here allocates what later ones do
  // The weights packed by their kernels are views without bytes by now: inference reads no
  // constant it has no bytes of (shape_inference.cc).
  Result<ValueTypes> types = infer_subgraph_types(model_.graph, model_, {}, warm_up_input_types(model_.graph));
  if (!types.is_ok()) {
    tracing_.logger.log(LogSeverity::info, tracing_.scope, ": no warm-up: shape inference at the warm-up shapes failed: ",
                        types.status().message());
    return;
  }
  executor_->touch_output_buffers(*types, buffers_, run_budget());
}

Result<std::vector<Value>> SessionState::execute(const std::vector<Value>& inputs, StepObserver* observer,
                                                 const RunControl* control) const {
  std::shared_ptr<ArenaBudget> budget = run_budget();  // shared with the run's tensors, outputs included
  DeterministicMode mode(deterministic_);  // this thread's, and the pool's workers' for this run
  ThreadPool::RunScope hot_workers(*pool_);
  return executor_->run(inputs, {}, *pool_, buffers_, observer, control, budget, inter_op_pool_.get());
}

Result<std::string> SessionState::end_profiling() const {
  if (!profiler_)
    return invalid_argument("model '", model_.source, "': end_profiling: the session does not profile (SessionOptions::profile_path is empty)");
  Status written = profiler_->stop_and_write(profile_path_);
  if (!written.is_ok()) return written.with_context("model '" + model_.source + "': end_profiling");
  tracing_.logger.log(LogSeverity::info, tracing_.scope, ": profile written to '", profile_path_, "'");
  return profile_path_;
}

Status SessionState::check_feed(const ValueInfo& declared, const Value& value) const {
  const TypeInfo& type = declared.type;
  auto mismatch = [&](const std::string& got) {
    return invalid_argument("model '", model_.source, "': input '", declared.name, "': expected ", type.to_string(), ", got ", got);
  };
  if (type.kind == TypeInfo::Kind::tensor) {
    if (!value.is_tensor()) return mismatch(value_type_string(value));
    const Tensor& t = value.tensor();
    // Built only for the message: a feed that matches costs no allocation.
    auto got = [&] { return "tensor(" + std::string(dtype_name(t.dtype())) + ")" + shape_to_string(t.shape()); };
    if (type.elem_type != DataType::undefined && t.dtype() != type.elem_type) return mismatch(got());
    if (type.shape) {
      if (type.shape->size() != t.rank()) return mismatch(got() + " (rank differs)");
      for (size_t i = 0; i < t.rank(); ++i)
        if ((*type.shape)[i].is_fixed() && (*type.shape)[i].value != t.dim(i))
          return mismatch(got() + " (dimension " + std::to_string(i) + " differs)");
    }
  } else if (type.kind == TypeInfo::Kind::sequence && !value.is_sequence()) {
    return mismatch(value_type_string(value));
  } else if (type.kind == TypeInfo::Kind::map && !value.is_map()) {
    return mismatch(value_type_string(value));
  } else if (type.kind != TypeInfo::Kind::optional && (value.is_absent() || value.is_empty_optional())) {
    return mismatch(value_type_string(value));
  }
  return Status::ok();
}

namespace {

void collect_tensors(const Value& value, std::vector<const Tensor*>& out) {
  if (value.is_tensor()) out.push_back(&value.tensor());
  if (value.is_map()) {
    out.push_back(&value.map_keys());
    out.push_back(&value.map_values());
  }
  for (const Value& item : value.items()) collect_tensors(item, out);
}

// Whether a tensor of `value` shares its buffer with any other holder.
bool has_shared_buffer(const Value& value) {
  auto shared = [](const Tensor& t) { return t.defined() && t.buffer_id() && t.buffer_use_count() > 1; };
  if (value.is_tensor()) return shared(value.tensor());
  if (value.is_map()) return shared(value.map_keys()) || shared(value.map_values());
  return std::any_of(value.items().begin(), value.items().end(), has_shared_buffer);
}

Result<Value> detached(const Value& value, const std::set<const Tensor*>& to_copy) {
  auto tensor = [&](const Tensor& t) -> Result<Tensor> { return to_copy.count(&t) ? t.clone() : Result<Tensor>(t); };
  if (value.is_tensor()) {
    TS_ASSIGN_OR_RETURN(Tensor t, tensor(value.tensor()));
    return Value(std::move(t));
  }
  if (value.is_map()) {
    TS_ASSIGN_OR_RETURN(Tensor keys, tensor(value.map_keys()));
    TS_ASSIGN_OR_RETURN(Tensor values, tensor(value.map_values()));
    return Value::map(std::move(keys), std::move(values));
  }
  if (value.is_sequence()) {
    std::vector<Value> items;
    for (const Value& item : value.items()) {
      TS_ASSIGN_OR_RETURN(Value copy, detached(item, to_copy));
      items.push_back(std::move(copy));
    }
    return Value::sequence(std::move(items), value.sequence_elem_type(), value.sequence_elem_kind());
  }
  return value;
}

}  // namespace

// An output whose buffer has holders besides the outputs themselves is session memory (an
// initializer, a kernel's constant) or a feed: the caller gets a copy, so writing into it cannot
// change a later run. Outputs computed by this run are handed over without a copy.
Status detach_from_session(std::vector<Value>& outputs) {
  // The usual case, checked without allocating: every output buffer has this one holder.
  if (std::none_of(outputs.begin(), outputs.end(), has_shared_buffer)) return Status::ok();
  std::vector<const Tensor*> tensors;
  for (const Value& v : outputs) collect_tensors(v, tensors);
  // Counted per buffer in one pass: a ZipMap output holds two tensors per row.
  std::unordered_map<const void*, long> holders_among_outputs;
  for (const Tensor* t : tensors) ++holders_among_outputs[t->buffer_id()];
  std::set<const Tensor*> to_copy;
  for (const Tensor* t : tensors)
    if (t->defined() && t->buffer_id() && t->buffer_use_count() > holders_among_outputs[t->buffer_id()]) to_copy.insert(t);
  if (to_copy.empty()) return Status::ok();
  std::vector<Value> copies;
  for (const Value& v : outputs) {
    TS_ASSIGN_OR_RETURN(Value copy, detached(v, to_copy));
    copies.push_back(std::move(copy));
  }
  outputs = std::move(copies);
  return Status::ok();
}

Result<std::vector<Value>> SessionState::run(const Feeds& feeds, const std::vector<std::string>& output_names,
                                             StepObserver* observer, const RunOptions& options) const {
  std::optional<RunProfiler> profile;  // made only when profiling: a plain run reads no clock
  if (profiler_ && profiler_->recording()) observer = &profile.emplace(*profiler_, observer);
  const Graph& graph = model_.graph;
  for (const auto& [name, value] : feeds) {
    bool known = false;
    for (const auto& in : graph.inputs) known = known || in.name == name;
    if (!known) return invalid_argument("model '", model_.source, "' has no input named '", name, "'");
  }
  // The inputs' vector is this thread's spare one, taken for the run (a nested run on this
  // thread finds none and makes its own) and given back emptied: a run allocates nothing for it.
  struct InputsLease {
    std::vector<Value> v = std::move(thread_spare_inputs());
    ~InputsLease() {
      v.clear();
      thread_spare_inputs() = std::move(v);
    }
  } lease;
  std::vector<Value>& inputs = lease.v;
  inputs.resize(graph.inputs.size());
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    const ValueInfo& declared = graph.inputs[i];
    const Value* fed = nullptr;  // matched by a scan, not a map: a run allocates nothing for it
    for (const auto& [name, value] : feeds)
      if (name == declared.name) fed = &value;  // a name fed twice: the last one, as before
    if (!fed) {
      // The executor keeps the initializer, or makes an optional not fed hold nothing.
      if (graph.is_initializer(declared.name) || declared.type.kind == TypeInfo::Kind::optional) continue;
      return invalid_argument("model '", model_.source, "': input '", declared.name, "' (", declared.type.to_string(),
                              ") was not fed");
    }
    TS_RETURN_IF_ERROR(check_feed(declared, *fed));
    inputs[i] = *fed;
  }

  std::optional<RunControl> control;  // made only when the caller can stop the run
  if (RunControl::needed(options)) control.emplace(options, model_.source);
  TS_ASSIGN_OR_RETURN(std::vector<Value> all, execute(inputs, observer, control ? &*control : nullptr));
  TS_RETURN_IF_ERROR(detach_from_session(all));
  if (output_names.empty()) return all;
  std::vector<Value> selected;
  for (const auto& name : output_names) {
    size_t k = 0;
    while (k < graph.outputs.size() && graph.outputs[k].name != name) ++k;
    if (k == graph.outputs.size()) return invalid_argument("model '", model_.source, "' has no output named '", name, "'");
    selected.push_back(all[k]);
  }
  return selected;
}

}  // namespace tessera
