#include "framework/executor.h"

#include <exception>
#include <set>
#include <unordered_set>

#include "graph/op_schema.h"

namespace tessera {

namespace {

void add_graph_free_variables(const Graph& graph, std::set<std::string>& out) {
  std::unordered_set<std::string> defined;
  for (const auto& in : graph.inputs) defined.insert(in.name);
  for (const auto& [name, t] : graph.initializers) defined.insert(name);
  for (const auto& node : graph.nodes)
    for (const auto& o : node.outputs) defined.insert(o);
  std::set<std::string> used;
  for (const auto& node : graph.nodes) {
    for (const auto& in : node.inputs)
      if (!in.empty()) used.insert(in);
    for (const auto& [name, attr] : node.attributes) {
      if (attr.g) add_graph_free_variables(*attr.g, used);
      for (const auto& g : attr.graphs) add_graph_free_variables(*g, used);
    }
  }
  for (const auto& g : graph.outputs) used.insert(g.name);
  for (const auto& name : used)
    if (!defined.count(name)) out.insert(name);
}

// Free variables of the subgraphs attached to `node`: values the node reads implicitly.
std::vector<std::string> node_implicit_inputs(const Node& node) {
  std::set<std::string> names;
  for (const auto& [attr_name, attr] : node.attributes) {
    if (attr.g) add_graph_free_variables(*attr.g, names);
    for (const auto& g : attr.graphs) add_graph_free_variables(*g, names);
  }
  return {names.begin(), names.end()};
}

}  // namespace

std::vector<std::string> free_variables(const Graph& graph) {
  std::set<std::string> names;
  add_graph_free_variables(graph, names);
  return {names.begin(), names.end()};
}

// The KernelContext of one step in one run.
class FrameContext final : public KernelContext {
 public:
  FrameContext(const GraphExecutor& executor, const GraphExecutor::Step& step, std::vector<Value>& frame,
               ThreadPool& pool, BufferPool& buffers)
      : executor_(executor), step_(step), frame_(frame), pool_(pool), buffers_(buffers), unused_outputs_(step.outputs.size()) {}

  size_t input_count() const override { return step_.inputs.size(); }
  size_t output_count() const override { return step_.outputs.size(); }
  const Value* input_value(size_t i) const override {
    if (i >= step_.inputs.size() || step_.inputs[i] < 0) return nullptr;
    const Value& v = frame_[step_.inputs[i]];
    return v.is_absent() ? nullptr : &v;
  }
  Tensor& allocate_output(size_t i, DataType dtype, const Shape& shape) override {
    Value& slot = output_slot(i);
    slot = Value(buffers_.allocate(dtype, shape));
    return slot.tensor();
  }
  Tensor& allocate_output_uninitialized(size_t i, DataType dtype, const Shape& shape) override {
    Value& slot = output_slot(i);
    slot = Value(buffers_.allocate(dtype, shape, /*zero_fill=*/false));
    return slot.tensor();
  }
  void set_output(size_t i, Value value) override { output_slot(i) = std::move(value); }
  bool output_requested(size_t i) const override { return i < step_.outputs.size() && step_.outputs[i] >= 0; }
  ThreadPool& thread_pool() const override { return pool_; }
  const Node& node() const override { return *step_.node; }
  int64_t opset() const override { return step_.opset; }
  Tensor scratch(DataType dtype, int64_t count) override { return buffers_.allocate(dtype, Shape{count}, /*zero_fill=*/false); }

  BufferPool& buffers() const { return buffers_; }

  // A value visible to this step's graph, by name (for subgraphs capturing outer values).
  const Value* lookup(const std::string& name) const {
    auto it = executor_.slots_.find(name);
    return it == executor_.slots_.end() ? nullptr : &frame_[it->second];
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
  std::vector<Value> unused_outputs_;  // outputs the graph omits; kernels may still write them
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
    auto result = executor_->run(inputs, outer, caller.thread_pool(), frame->buffers());
    if (!result.is_ok()) return result.status().with_context("in subgraph '" + graph().name + "' of " + caller.node().describe());
    return result;
  }

 private:
  std::unique_ptr<GraphExecutor> executor_;
};

int GraphExecutor::slot(const std::string& name) {
  auto [it, inserted] = slots_.emplace(name, static_cast<int>(slot_names_.size()));
  if (inserted) slot_names_.push_back(name);
  return it->second;
}

namespace {

Status no_kernel_error(const Node& node, const Model& model, const std::vector<const ExecutionProvider*>& providers) {
  std::string domain = node.domain.empty() ? "ai.onnx" : node.domain;
  int64_t opset = model.opset_version(node.domain);
  if (opset == 0)
    return invalid_model(node.describe(), ": domain '", domain, "' is not imported by the model (no opset_import entry)");
  for (const auto* p : providers)
    if (p->kernels().knows_op(node.domain, node.op_type))
      return not_implemented(node.describe(), ": operator ", node.op_type, " of domain ", domain, " is supported, but not at opset ",
                             opset, " (the model's import)");
  return not_implemented(node.describe(), ": operator ", node.op_type, " of domain ", domain, " opset ", opset,
                         " is not supported by Tessera");
}

}  // namespace

Result<std::unique_ptr<GraphExecutor>> GraphExecutor::create(const Graph& graph, const Model& model,
                                                             const std::vector<const ExecutionProvider*>& providers,
                                                             const std::vector<std::string>& outer_scope) {
  std::unique_ptr<GraphExecutor> ex(new GraphExecutor(graph));

  std::vector<std::vector<std::string>> implicit(graph.nodes.size());
  for (size_t i = 0; i < graph.nodes.size(); ++i) implicit[i] = node_implicit_inputs(graph.nodes[i]);
  TS_ASSIGN_OR_RETURN(std::vector<size_t> order, topological_order(graph, outer_scope, implicit));

  for (const auto& in : graph.inputs) ex->input_slots_.push_back(ex->slot(in.name));
  for (const auto& [name, tensor] : graph.initializers) ex->constants_.emplace_back(ex->slot(name), &tensor);
  std::unordered_set<std::string> outer(outer_scope.begin(), outer_scope.end());
  for (const auto& name : free_variables(graph)) {
    if (!outer.count(name)) return invalid_model("graph '", graph.name, "': value '", name, "' is used but never defined");
    ex->outer_names_.push_back(name);
    ex->outer_slots_.push_back(ex->slot(name));
  }

  // Everything visible inside this graph is visible to its subgraphs.
  std::vector<std::string> inner_scope = outer_scope;
  for (const auto& in : graph.inputs) inner_scope.push_back(in.name);
  for (const auto& [name, t] : graph.initializers) inner_scope.push_back(name);
  for (const auto& node : graph.nodes)
    for (const auto& o : node.outputs)
      if (!o.empty()) inner_scope.push_back(o);

  // Which EP takes each node: the first in priority order whose capability includes it.
  std::vector<const ExecutionProvider*> assigned(graph.nodes.size(), nullptr);
  for (const auto* provider : providers)
    for (size_t i : provider->get_capability(graph, model))
      if (!assigned[i]) assigned[i] = provider;

  // Types known before any run, for checking nodes against their schemas' type constraints.
  std::map<std::string, TypeInfo> known_types;
  for (const auto& in : graph.inputs) known_types[in.name] = in.type;
  for (const auto& [name, tensor] : graph.initializers) {
    TypeInfo t;
    t.kind = TypeInfo::Kind::tensor;
    t.elem_type = tensor.dtype();
    known_types[name] = t;
  }

  for (size_t index : order) {
    const Node& node = graph.nodes[index];
    TS_RETURN_IF_ERROR(check_node(node, model.opset_version(node.domain), known_types));
    if (!assigned[index]) return no_kernel_error(node, model, providers);
    const KernelDef* def = assigned[index]->kernels().find(node.domain, node.op_type, model.opset_version(node.domain));
    if (!def) return no_kernel_error(node, model, providers);

    std::vector<std::shared_ptr<const SubgraphRunner>> runners;
    for (const auto& [attr_name, attr] : node.attributes) {
      std::vector<const Graph*> subgraphs;
      if (attr.g) subgraphs.push_back(attr.g.get());
      for (const auto& g : attr.graphs) subgraphs.push_back(g.get());
      for (const Graph* sub : subgraphs) {
        auto sub_executor = GraphExecutor::create(*sub, model, providers, inner_scope);
        if (!sub_executor.is_ok())
          return sub_executor.status().with_context("in attribute '" + attr_name + "' of " + node.describe());
        runners.push_back(std::make_shared<SubgraphRunnerImpl>(std::move(sub_executor).value()));
      }
    }

    KernelInfo info(node, model.opset_version(node.domain), graph.initializers, runners);
    auto kernel = def->factory(info);
    if (!kernel.is_ok()) {
      const std::string& msg = kernel.status().message();
      if (msg.rfind("node '", 0) == 0) return kernel.status();
      return kernel.status().with_context(node.describe());
    }

    Step step;
    step.node = &node;
    step.opset = model.opset_version(node.domain);
    step.kernel = std::move(kernel).value();
    step.subgraphs = std::move(runners);  // kernels hold raw pointers to them (KernelInfo::subgraph)
    for (const auto& in : node.inputs) step.inputs.push_back(in.empty() ? -1 : ex->slot(in));
    for (const auto& out : node.outputs) step.outputs.push_back(out.empty() ? -1 : ex->slot(out));
    for (const auto& name : implicit[index]) step.implicit.push_back(ex->slot(name));
    ex->steps_.push_back(std::move(step));
  }
  for (const auto& out : graph.outputs) ex->output_slots_.push_back(ex->slot(out.name));

  // Memory plan: release each intermediate right after the last step that reads it.
  std::vector<int> last_use(ex->slot_names_.size(), -1);
  for (size_t s = 0; s < ex->steps_.size(); ++s) {
    for (int slot : ex->steps_[s].inputs)
      if (slot >= 0) last_use[slot] = static_cast<int>(s);
    for (int slot : ex->steps_[s].implicit) last_use[slot] = static_cast<int>(s);
    for (int slot : ex->steps_[s].outputs)  // produced but never read: free right away
      if (slot >= 0 && last_use[slot] < static_cast<int>(s)) last_use[slot] = static_cast<int>(s);
  }
  for (int slot : ex->output_slots_) last_use[slot] = -1;
  for (size_t slot = 0; slot < last_use.size(); ++slot)
    if (last_use[slot] >= 0) ex->steps_[last_use[slot]].release.push_back(static_cast<int>(slot));
  return ex;
}

Result<std::vector<Value>> GraphExecutor::run(const std::vector<Value>& inputs, const std::vector<const Value*>& outer_values,
                                              ThreadPool& pool, BufferPool& buffers) const {
  std::vector<Value> frame(slot_names_.size());
  for (const auto& [slot, tensor] : constants_) frame[slot] = Value(*tensor);
  for (size_t i = 0; i < outer_slots_.size() && i < outer_values.size(); ++i) frame[outer_slots_[i]] = *outer_values[i];
  for (size_t i = 0; i < input_slots_.size(); ++i) {
    const ValueInfo& declared = graph_.inputs[i];
    if (i < inputs.size() && !inputs[i].is_absent()) frame[input_slots_[i]] = inputs[i];
    // Not fed: an initializer stays; an optional holds nothing.
    else if (!graph_.is_initializer(declared.name) && declared.type.kind == TypeInfo::Kind::optional)
      frame[input_slots_[i]] = Value::empty_optional();
  }

  for (const Step& step : steps_) {
    FrameContext ctx(*this, step, frame, pool, buffers);
    Status status;
    try {
      status = step.kernel->compute(ctx);
    } catch (const std::bad_alloc&) {
      status = runtime_error(step.node->describe(), ": out of memory");
    } catch (const std::exception& e) {
      status = runtime_error(step.node->describe(), ": ", e.what());
    }
    if (!status.is_ok()) {
      if (status.code() == StatusCode::not_implemented)  // say which version of the op was asked for
        status = Status(status.code(), str_cat(status.message(), " (", step.node->domain.empty() ? "ai.onnx" : step.node->domain,
                                               " opset ", step.opset, ")"));
      if (status.message().rfind("node '", 0) == 0) return status;
      return status.with_context(step.node->describe());
    }
    for (int slot : step.release) frame[slot] = Value();
  }

  std::vector<Value> outputs;
  outputs.reserve(output_slots_.size());
  for (int slot : output_slots_) outputs.push_back(frame[slot]);
  return outputs;
}

}  // namespace tessera
