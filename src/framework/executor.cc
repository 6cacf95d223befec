#include "framework/executor.h"

#include <atomic>
#include <exception>
#include <optional>
#include <set>
#include <unordered_set>

#include "framework/graph_check.h"
#include "framework/memory_plan.h"
#include "framework/partitioner.h"
#include "framework/run_control.h"

namespace tessera {

// The KernelContext of one step in one run.
class FrameContext final : public KernelContext {
 public:
  FrameContext(const GraphExecutor& executor, const GraphExecutor::Step& step, std::vector<Value>& frame,
               ThreadPool& pool, BufferPool& buffers, const RunControl* control, const std::shared_ptr<ArenaBudget>& budget)
      : executor_(executor), step_(step), frame_(frame), pool_(pool), buffers_(buffers), control_(control), budget_(budget) {}

  size_t input_count() const override { return step_.inputs.size(); }
  size_t output_count() const override { return step_.outputs.size(); }
  const Value* input_value(size_t i) const override {
    if (i >= step_.inputs.size() || step_.inputs[i] < 0) return nullptr;
    const Value& v = executor_.value_at(frame_, step_.inputs[i]);
    return v.is_absent() ? nullptr : &v;
  }
  Tensor& allocate_output(size_t i, DataType dtype, const Shape& shape) override {
    Value& slot = output_slot(i);
    slot = Value(buffers_.allocate(dtype, shape, /*zero_fill=*/true, budget_));
    return slot.tensor();
  }
  Tensor& allocate_output_uninitialized(size_t i, DataType dtype, const Shape& shape) override {
    Value& slot = output_slot(i);
    slot = Value(buffers_.allocate(dtype, shape, /*zero_fill=*/false, budget_));
    return slot.tensor();
  }
  void set_output(size_t i, Value value) override { output_slot(i) = std::move(value); }
  bool output_requested(size_t i) const override { return i < step_.outputs.size() && step_.outputs[i] >= 0; }
  ThreadPool& thread_pool() const override { return pool_; }
  const Node& node() const override { return *step_.node; }
  int64_t opset() const override { return step_.opset; }
  Tensor scratch(DataType dtype, int64_t count) override {
    return buffers_.allocate(dtype, Shape{count}, /*zero_fill=*/false, budget_);
  }

  BufferPool& buffers() const { return buffers_; }
  const std::shared_ptr<ArenaBudget>& budget() const { return budget_; }

  // Counts one run of a subgraph of this step (a Loop/Scan iteration, an If branch); an error
  // once the step has run them more than ResourceLimits::max_loop_iterations times.
  Status count_subgraph_run() const {
    if (++subgraph_runs_ <= executor_.max_subgraph_runs_) return Status::ok();
    return runtime_error(step_.node->describe(), ": still running its body after ", executor_.max_subgraph_runs_,
                         " iterations, the limit max_loop_iterations = ", executor_.max_subgraph_runs_,
                         " (raise SessionOptions::limits.max_loop_iterations)");
  }
  const RunControl* control() const { return control_; }

  // A value visible to this step's graph, by name (for subgraphs capturing outer values).
  const Value* lookup(const std::string& name) const {
    auto it = executor_.slots_.find(name);
    return it == executor_.slots_.end() ? nullptr : &executor_.value_at(frame_, it->second);
  }

 private:
  Value& output_slot(size_t i) {
    if (i < step_.outputs.size() && step_.outputs[i] >= 0) return frame_[step_.outputs[i]];
    if (i >= unused_outputs_.size()) unused_outputs_.resize(i + 1);
    return unused_outputs_[i];
  }

  const GraphExecutor& executor_;
  const GraphExecutor::Step& step_;
  std::vector<Value>& frame_;
  ThreadPool& pool_;
  BufferPool& buffers_;
  const RunControl* control_;  // null when nothing can stop the run
  const std::shared_ptr<ArenaBudget>& budget_;  // null when the run's bytes are not limited
  std::vector<Value> unused_outputs_;  // outputs the graph omits (made on first use); kernels may still write them
  mutable std::atomic<int64_t> subgraph_runs_{0};  // by this step in this run
};

class SubgraphRunnerImpl final : public SubgraphRunner {
 public:
  explicit SubgraphRunnerImpl(std::unique_ptr<GraphExecutor> executor) : executor_(std::move(executor)) {}
  const Graph& graph() const override { return executor_->graph(); }
  Result<std::vector<Value>> run(const KernelContext& caller, const std::vector<Value>& inputs) const override {
    const auto* frame = dynamic_cast<const FrameContext*>(&caller);
    if (!frame) return runtime_error("subgraph of ", caller.node().describe(), " called outside a graph run");
    std::vector<const Value*> outer;
    for (const auto& name : executor_->outer_names()) {
      const Value* v = frame->lookup(name);
      if (!v) return runtime_error(caller.node().describe(), ": subgraph reads '", name, "', which is not in scope");
      outer.push_back(v);
    }
    auto where = [&] { return "subgraph '" + graph().name + "' of " + caller.node().describe(); };  // on failure only
    // Checked here as well as before each step: a body without nodes is still one per iteration.
    const RunControl* control = frame->control();
    if (control && control->stop_requested()) return control->stopped("before " + where());
    TS_RETURN_IF_ERROR(frame->count_subgraph_run());
    auto result = executor_->run(inputs, outer, caller.thread_pool(), frame->buffers(), nullptr, control, frame->budget());
    if (result.is_ok()) return result;
    const Status& status = result.status();
    if (is_stopped_run(status)) return Status(status.code(), status.message() + ", in " + where());
    return status.with_context("in " + where());
  }

 private:
  std::unique_ptr<GraphExecutor> executor_;
};

int GraphExecutor::slot(const std::string& name) {
  auto [it, inserted] = slots_.emplace(name, static_cast<int>(slot_names_.size()));
  if (inserted) slot_names_.push_back(name);
  return it->second;
}

// The stages in order: check (graph_check.h), partition (partitioner.h), create kernels (here),
// plan memory (memory_plan.h). The optimizer will slot in between check and partition.
// For each initializer, how many node inputs read it, or -1 when it must keep its bytes whatever
// the kernels do: a graph output, a graph input (a feed may replace it), captured by a subgraph.
std::unordered_map<std::string, int> initializer_readers(const Graph& graph, const CheckedGraph& checked) {
  std::unordered_map<std::string, int> readers;
  for (const auto& [name, tensor] : graph.initializers) readers.emplace(name, 0);
  auto pin = [&](const std::string& name) {
    auto it = readers.find(name);
    if (it != readers.end()) it->second = -1;
  };
  for (const auto& out : graph.outputs) pin(out.name);
  for (const auto& in : graph.inputs) pin(in.name);
  for (size_t index : checked.order) {
    for (const auto& name : checked.implicit_inputs[index]) pin(name);
    for (const auto& name : graph.nodes[index].inputs) {
      auto it = readers.find(name);
      if (it != readers.end() && it->second >= 0) ++it->second;
    }
  }
  return readers;
}

Result<std::unique_ptr<GraphExecutor>> GraphExecutor::create(const Graph& graph, const Model& model,
                                                             const std::vector<const ExecutionProvider*>& providers,
                                                             const std::vector<std::string>& outer_scope,
                                                             const Tracing* tracing,
                                                             const ReleaseConstant& release_constant,
                                                             const ResourceLimits& limits) {
  std::optional<PhaseTimer> phase(std::in_place, tracing, "session", "check");
  TS_ASSIGN_OR_RETURN(CheckedGraph checked, check_graph(graph, model, outer_scope));
  phase.emplace(tracing, "session", "partition");
  TS_ASSIGN_OR_RETURN(std::vector<const ExecutionProvider*> assigned, partition(graph, model, providers));

  phase.emplace(tracing, "session", "kernel_creation");
  std::unique_ptr<GraphExecutor> ex(new GraphExecutor(graph));
  ex->max_subgraph_runs_ = limits.max_loop_iterations;
  for (const auto& in : graph.inputs) ex->input_slots_.push_back(ex->slot(in.name));
  ex->outer_names_ = checked.outer_names;
  for (const auto& name : checked.outer_names) ex->outer_slots_.push_back(ex->slot(name));
  std::unordered_map<std::string, int> readers;
  if (release_constant) readers = initializer_readers(graph, checked);
  for (size_t index : checked.order) {
    TS_ASSIGN_OR_RETURN(Step step, create_step(graph, graph.nodes[index], *assigned[index], model, providers, checked.inner_scope, limits));
    // The original of a weight goes as soon as its last reader holds a packed copy.
    const auto& node_inputs = graph.nodes[index].inputs;
    for (size_t i = 0; i < node_inputs.size() && !readers.empty(); ++i) {
      auto it = readers.find(node_inputs[i]);
      if (it == readers.end() || it->second < 0) continue;
      if (!step.kernel->owns_constant(i))
        it->second = -1;
      else if (--it->second == 0)
        release_constant(it->first);
    }
    for (const auto& name : checked.implicit_inputs[index]) step.implicit.push_back(ex->slot(name));
    for (const auto& in : graph.nodes[index].inputs) step.inputs.push_back(in.empty() ? -1 : ex->slot(in));
    for (const auto& out : graph.nodes[index].outputs) step.outputs.push_back(out.empty() ? -1 : ex->slot(out));
    ex->steps_.push_back(std::move(step));
  }
  for (const auto& out : graph.outputs) ex->output_slots_.push_back(ex->slot(out.name));
  // Made after the kernels, so a weight whose bytes were released is held here without them.
  ex->constants_.resize(ex->slot_names_.size());
  for (const auto& [name, tensor] : graph.initializers) {
    auto it = ex->slots_.find(name);
    if (it != ex->slots_.end()) ex->constants_[it->second] = Value(tensor);
  }

  phase.emplace(tracing, "session", "memory_plan");
  std::vector<StepSlots> slots(ex->steps_.size());
  for (size_t s = 0; s < ex->steps_.size(); ++s) {
    slots[s].reads = ex->steps_[s].inputs;
    slots[s].reads.insert(slots[s].reads.end(), ex->steps_[s].implicit.begin(), ex->steps_[s].implicit.end());
    slots[s].writes = ex->steps_[s].outputs;
  }
  auto releases = plan_releases(slots, ex->output_slots_, ex->slot_names_.size());
  for (size_t s = 0; s < ex->steps_.size(); ++s) ex->steps_[s].release = std::move(releases[s]);
  return ex;
}

// The kernel of one node, from the EP that took it; If/Loop/Scan bodies become nested executors.
Result<GraphExecutor::Step> GraphExecutor::create_step(const Graph& graph, const Node& node, const ExecutionProvider& provider,
                                                       const Model& model,
                                                       const std::vector<const ExecutionProvider*>& providers,
                                                       const std::vector<std::string>& inner_scope,
                                                       const ResourceLimits& limits) {
  const int64_t opset = model.opset_version(node.domain);
  const KernelDef* def = provider.kernels().find(node.domain, node.op_type, opset);
  if (!def)
    return not_implemented(node.describe(), ": ", provider.name(), " took the node but has no kernel for ", node.op_type,
                           " at opset ", opset);

  std::vector<std::shared_ptr<const SubgraphRunner>> runners;
  for (const auto& [attr_name, attr] : node.attributes) {
    std::vector<const Graph*> subgraphs;
    if (attr.g) subgraphs.push_back(attr.g.get());
    for (const auto& g : attr.graphs) subgraphs.push_back(g.get());
    for (const Graph* sub : subgraphs) {
      auto sub_executor = GraphExecutor::create(*sub, model, providers, inner_scope, nullptr, {}, limits);
      if (!sub_executor.is_ok())
        return sub_executor.status().with_context("in attribute '" + attr_name + "' of " + node.describe());
      runners.push_back(std::make_shared<SubgraphRunnerImpl>(std::move(sub_executor).value()));
    }
  }

  KernelInfo info(node, model.opset_version(node.domain), graph.initializers, runners);
  Result<std::unique_ptr<OpKernel>> kernel = runtime_error("no kernel");
  try {
    kernel = def->factory(info);
  } catch (const std::bad_alloc&) {
    kernel = runtime_error(node.describe(), ": out of memory creating the kernel");
  } catch (const std::exception& e) {
    kernel = runtime_error(node.describe(), ": ", e.what());
  }
  if (!kernel.is_ok()) {
    const std::string& msg = kernel.status().message();
    if (msg.rfind("node '", 0) == 0) return kernel.status();
    return kernel.status().with_context(node.describe());
  }

  Step step;
  step.node = &node;
  step.provider = provider.name();
  step.opset = model.opset_version(node.domain);
  step.kernel = std::move(kernel).value();
  step.subgraphs = std::move(runners);  // kernels hold raw pointers to them (KernelInfo::subgraph)
  return step;
}

Result<std::vector<Value>> GraphExecutor::run(const std::vector<Value>& inputs, const std::vector<const Value*>& outer_values,
                                              ThreadPool& pool, BufferPool& buffers, StepObserver* observer,
                                              const RunControl* control, const std::shared_ptr<ArenaBudget>& budget) const {
  std::vector<Value> frame(slot_names_.size());  // initializers are read from constants_, not copied here
  for (size_t i = 0; i < outer_slots_.size() && i < outer_values.size(); ++i) frame[outer_slots_[i]] = *outer_values[i];
  for (size_t i = 0; i < input_slots_.size(); ++i) {
    const ValueInfo& declared = graph_.inputs[i];
    if (i < inputs.size() && !inputs[i].is_absent()) frame[input_slots_[i]] = inputs[i];
    // Not fed: an initializer stays; an optional holds nothing.
    else if (!graph_.is_initializer(declared.name) && declared.type.kind == TypeInfo::Kind::optional)
      frame[input_slots_[i]] = Value::empty_optional();
  }

  for (const Step& step : steps_) {
    if (control && control->stop_requested()) return control->stopped("before " + step.node->describe());
    FrameContext ctx(*this, step, frame, pool, buffers, control, budget);
    if (observer) observer->before_step(*step.node);
    Status status;
    try {
      status = step.kernel->compute(ctx);
    } catch (const std::bad_alloc&) {
      status = runtime_error(step.node->describe(), ": out of memory");
    } catch (const std::exception& e) {
      status = runtime_error(step.node->describe(), ": ", e.what());
    }
    if (!status.is_ok()) {
      if (is_stopped_run(status)) return status;  // stopped inside a subgraph: its message says where
      if (status.code() == StatusCode::not_implemented)  // say which version of the op was asked for
        status = Status(status.code(), str_cat(status.message(), " (", step.node->domain.empty() ? "ai.onnx" : step.node->domain,
                                               " opset ", step.opset, ")"));
      if (status.message().rfind("node '", 0) == 0) return status;
      return status.with_context(step.node->describe());
    }
    if (observer) {
      std::vector<const Value*> inputs, outputs;
      for (int slot : step.inputs) {
        const Value* v = slot < 0 ? nullptr : &value_at(frame, slot);
        inputs.push_back(v == nullptr || v->is_absent() ? nullptr : v);
      }
      for (int slot : step.outputs) outputs.push_back(slot < 0 ? nullptr : &frame[slot]);
      observer->after_step(*step.node, step.provider, inputs, outputs);
    }
    for (int slot : step.release) frame[slot] = Value();
  }

  std::vector<Value> outputs;
  outputs.reserve(output_slots_.size());
  for (int slot : output_slots_) outputs.push_back(value_at(frame, slot));
  return outputs;
}

}  // namespace tessera
