#include "framework/executor.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <map>
#include <stdexcept>
#include <optional>
#include <set>
#include <unordered_set>

#include "framework/graph_check.h"
#include "framework/memory_plan.h"
#include "framework/partitioner.h"
#include "framework/reusable_input.h"
#include "framework/run_control.h"

namespace tessera {

// The KernelContext of one step in one run.
class FrameContext final : public KernelContext {
 public:
  // `in_order`: the steps run one after the other in the executor's order (not a parallel run).
  FrameContext(const GraphExecutor& executor, const GraphExecutor::Step& step, std::vector<Value>& frame,
               ThreadPool& pool, BufferPool& buffers, const RunControl* control, const std::shared_ptr<ArenaBudget>& budget,
               bool in_order = false)
      : executor_(executor), step_(step), frame_(frame), pool_(pool), buffers_(buffers), control_(control), budget_(budget),
        in_order_(in_order) {}

  size_t input_count() const override { return step_.inputs.size(); }
  size_t output_count() const override { return step_.outputs.size(); }
  const Value* input_value(size_t i) const override {
    if (i >= step_.inputs.size() || step_.inputs[i] < 0) return nullptr;
    const Value& v = executor_.value_at(frame_, step_.inputs[i]);
    return v.is_absent() ? nullptr : &v;
  }
  Tensor& allocate_output(size_t i, DataType dtype, const Shape& shape) override {
    Value& slot = output_slot(i);
    slot = Value(step_.allocator ? device_allocate(dtype, shape) : buffers_.allocate(dtype, shape, /*zero_fill=*/true, budget_));
    return slot.tensor();
  }
  Tensor& allocate_output_uninitialized(size_t i, DataType dtype, const Shape& shape) override {
    Value& slot = output_slot(i);
    slot = Value(step_.allocator ? device_allocate(dtype, shape) : buffers_.allocate(dtype, shape, /*zero_fill=*/false, budget_));
    return slot.tensor();
  }
  void set_output(size_t i, Value value) override { output_slot(i) = std::move(value); }
  // reusable_input.h.
  Tensor reusable_input(size_t i) const {
    using Reuse = GraphExecutor::Reuse;
    if (step_.allocator || i >= step_.reusable.size() || step_.reusable[i] == Reuse::never) return Tensor();
    if (!in_order_ && step_.reusable[i] != Reuse::any_order) return Tensor();
    const Value& v = frame_[static_cast<size_t>(step_.inputs[i])];
    if (!v.is_tensor() || v.tensor().buffer_use_count() != 1) return Tensor();  // a view of it lives on elsewhere
    return v.tensor();
  }
  bool output_requested(size_t i) const override { return i < step_.outputs.size() && step_.outputs[i] >= 0; }
  ThreadPool& thread_pool() const override { return pool_; }
  const Node& node() const override { return *step_.node; }
  int64_t opset() const override { return step_.opset; }
  Tensor scratch(DataType dtype, int64_t count) override {
    return step_.allocator ? device_allocate(dtype, Shape{count}) : buffers_.allocate(dtype, Shape{count}, /*zero_fill=*/false, budget_);
  }
  const Allocator* allocator() const { return step_.allocator; }

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
  // Device memory; a failure throws as allocate_or_throw does, and the run loop names the node.
  Tensor device_allocate(DataType dtype, const Shape& shape) const {
    Result<Tensor> t = step_.allocator->allocate(dtype, shape);
    if (!t.is_ok()) throw std::runtime_error(t.status().message());
    return std::move(t).value();
  }

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
  const bool in_order_;
  std::vector<Value> unused_outputs_;  // outputs the graph omits (made on first use); kernels may still write them
  mutable std::atomic<int64_t> subgraph_runs_{0};  // by this step in this run
};

const Allocator* kernel_allocator(const KernelContext& ctx) {
  const auto* frame = dynamic_cast<const FrameContext*>(&ctx);
  return frame ? frame->allocator() : nullptr;
}

Tensor reusable_input(KernelContext& ctx, size_t i) {
  const auto* frame = dynamic_cast<const FrameContext*>(&ctx);
  return frame ? frame->reusable_input(i) : Tensor();
}

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

namespace {

// A copy step: its one input into another memory kind, through the registered data transfers.
class CopyKernel final : public OpKernel {
 public:
  CopyKernel(const DataTransferManager& transfers, MemoryLocation to, const Allocator* to_allocator,
             std::shared_ptr<std::atomic<int64_t>> measured)
      : transfers_(transfers), to_(to), to_allocator_(to_allocator), measured_(std::move(measured)) {}
  Status compute(KernelContext& ctx) const override {
    const Value* v = ctx.input_value(0);
    if (!v || !v->is_tensor()) return ctx.error("only tensors can be copied between memory kinds, got ", v ? value_type_string(*v) : "nothing");
    TS_ASSIGN_OR_RETURN(Tensor copy, transfers_.copy(v->tensor(), to_, to_allocator_));
    measured_->store(static_cast<int64_t>(copy.byte_size()), std::memory_order_relaxed);  // the placement report's
    ctx.set_output(0, Value(std::move(copy)));
    return Status::ok();
  }

 private:
  const DataTransferManager& transfers_;
  MemoryLocation to_;
  const Allocator* to_allocator_;
  std::shared_ptr<std::atomic<int64_t>> measured_;
};

}  // namespace

GraphExecutor::Step GraphExecutor::create_copy_step(const PlannedCopy& copy, const std::string& to_name,
                                                    const Allocator* to_allocator) {
  auto node = std::make_unique<Node>();
  node->name = to_name;
  node->op_type = copy.to.is_host() ? "MemcpyToHost" : "MemcpyFromHost";
  node->domain = "com.tessera";
  node->inputs = {copy.value};
  node->outputs = {to_name};
  Step step;
  step.node = node.get();
  step.provider = "copy";
  step.kernel = std::make_unique<CopyKernel>(transfers_, copy.to, to_allocator, copy.measured);
  step.inputs = {slot(copy.value)};
  step.outputs = {slot(to_name)};
  copy_nodes_.push_back(std::move(node));
  return step;
}

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
                                                             const ResourceLimits& limits, int intra_op_threads,
                                                             bool parallel) {
  std::optional<PhaseTimer> phase(std::in_place, tracing, "session", "check");
  TS_ASSIGN_OR_RETURN(CheckedGraph checked, check_graph(graph, model, outer_scope));
  phase.emplace(tracing, "session", "partition");
  TS_ASSIGN_OR_RETURN(Partition placed, partition(graph, model, checked, providers));

  phase.emplace(tracing, "session", "kernel_creation");
  std::unique_ptr<GraphExecutor> ex(new GraphExecutor(graph));
  ex->max_subgraph_runs_ = limits.max_loop_iterations;
  for (const auto* p : providers)
    if (p->data_transfer()) ex->transfers_.add(p->data_transfer());
  auto allocator_for = [&](const MemoryLocation& location) -> const Allocator* {
    for (const auto* p : providers)
      if (p->memory() == location) return p->allocator();
    return nullptr;
  };
  for (const auto& in : graph.inputs) ex->input_slots_.push_back(ex->slot(in.name));
  ex->outer_names_ = checked.outer_names;
  for (const auto& name : checked.outer_names) ex->outer_slots_.push_back(ex->slot(name));
  // Where a copy lands: "x@other:0". Readers in that memory read the copy instead of the value.
  std::map<std::pair<std::string, std::string>, std::string> copied;  // (value, memory) -> copy's name
  std::vector<std::pair<std::string, Tensor>> constant_copies;          // copy's name, its tensor
  std::unordered_map<std::string, int> readers;
  if (release_constant) readers = initializer_readers(graph, checked);
  size_t next_copy = 0;
  auto emit_copies = [&](size_t before) -> Status {
    for (; next_copy < placed.copies.size() && placed.copies[next_copy].before == before; ++next_copy) {
      const PlannedCopy& copy = placed.copies[next_copy];
      const std::string to_name = copy.value + "@" + memory_location_name(copy.to);
      copied[{copy.value, memory_location_name(copy.to)}] = to_name;
      if (copy.constant) {  // once, now: a weight is not copied again on every run
        auto tensor = ex->transfers_.copy(graph.initializers.at(copy.value), copy.to, allocator_for(copy.to));
        if (!tensor.is_ok()) return tensor.status().with_context("copying initializer '" + copy.value + "'");
        ex->slot(to_name);
        constant_copies.emplace_back(to_name, std::move(tensor).value());
        auto it = readers.find(copy.value);
        if (it != readers.end()) it->second = -1;  // the original stays: it was copied, not packed
        continue;
      }
      ex->steps_.push_back(ex->create_copy_step(copy, to_name, allocator_for(copy.to)));
    }
    return Status::ok();
  };
  // An If/Loop/Scan body runs on the host EPs only (partitioner.h).
  std::vector<const ExecutionProvider*> host_providers;
  for (const auto* p : providers)
    if (p->memory().is_host()) host_providers.push_back(p);
  for (size_t pos = 0; pos < checked.order.size(); ++pos) {
    const size_t index = checked.order[pos];
    TS_RETURN_IF_ERROR(emit_copies(pos));
    const ExecutionProvider& provider = *placed.assigned[index];
    TS_ASSIGN_OR_RETURN(Step step,
                        create_step(graph, graph.nodes[index], provider, model, host_providers, checked.inner_scope, limits,
                                    checked.types, intra_op_threads));
    step.allocator = provider.memory().is_host() ? nullptr : provider.allocator();
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
    const std::string memory = memory_location_name(provider.memory());
    auto read = [&](const std::string& name) {
      auto it = copied.find({name, memory});
      return ex->slot(it == copied.end() ? name : it->second);
    };
    for (const auto& name : checked.implicit_inputs[index]) step.implicit.push_back(ex->slot(name));
    for (const auto& in : node_inputs) step.inputs.push_back(in.empty() ? -1 : read(in));
    for (const auto& out : graph.nodes[index].outputs) step.outputs.push_back(out.empty() ? -1 : ex->slot(out));
    ex->steps_.push_back(std::move(step));
  }
  TS_RETURN_IF_ERROR(emit_copies(checked.order.size()));
  const std::string host = memory_location_name(MemoryLocation{});
  for (const auto& out : graph.outputs) {
    auto it = copied.find({out.name, host});
    ex->output_slots_.push_back(ex->slot(it == copied.end() ? out.name : it->second));
  }
  // Made after the kernels, so a weight whose bytes were released is held here without them.
  ex->constants_.resize(ex->slot_names_.size());
  for (const auto& [name, tensor] : graph.initializers) {
    auto it = ex->slots_.find(name);
    if (it != ex->slots_.end()) ex->constants_[it->second] = Value(tensor);
  }
  for (auto& [name, tensor] : constant_copies) ex->constants_[ex->slots_.at(name)] = Value(std::move(tensor));

  phase.emplace(tracing, "session", "memory_plan");
  std::vector<StepSlots> slots(ex->steps_.size());
  for (size_t s = 0; s < ex->steps_.size(); ++s) {
    slots[s].reads = ex->steps_[s].inputs;
    slots[s].reads.insert(slots[s].reads.end(), ex->steps_[s].implicit.begin(), ex->steps_[s].implicit.end());
    slots[s].writes = ex->steps_[s].outputs;
  }
  auto releases = plan_releases(slots, ex->output_slots_, ex->slot_names_.size());
  for (size_t s = 0; s < ex->steps_.size(); ++s) ex->steps_[s].release = std::move(releases[s]);
  // Inputs a kernel may write over (reusable_input): made by a step (not a feed, an outer value
  // or an initializer), not a graph output, read once by the step; in order, the step is their
  // last reader; in a parallel run, their only one (another reader might still be running).
  std::vector<int> slot_readers(ex->slot_names_.size(), 0);
  std::vector<bool> made(ex->slot_names_.size(), false);
  for (const StepSlots& step : slots) {
    for (int slot : step.reads)
      if (slot >= 0) ++slot_readers[static_cast<size_t>(slot)];
    for (int slot : step.writes)
      if (slot >= 0) made[static_cast<size_t>(slot)] = true;
  }
  for (int slot : ex->output_slots_) made[static_cast<size_t>(slot)] = false;
  for (size_t s = 0; s < ex->steps_.size(); ++s) {
    Step& step = ex->steps_[s];
    for (int slot : step.inputs) {
      Reuse reuse = Reuse::never;
      if (slot >= 0 && made[static_cast<size_t>(slot)] &&
          std::count(slots[s].reads.begin(), slots[s].reads.end(), slot) == 1 &&
          std::find(step.release.begin(), step.release.end(), slot) != step.release.end())
        reuse = slot_readers[static_cast<size_t>(slot)] == 1 ? Reuse::any_order : Reuse::in_order;
      step.reusable.push_back(reuse);
    }
  }
  if (parallel) ex->parallel_ = std::make_unique<const ParallelPlan>(plan_parallel(slots, ex->output_slots_, ex->slot_names_.size()));
  ex->partition_ = std::move(placed);
  return ex;
}

// The kernel of one node, from the EP that took it; If/Loop/Scan bodies become nested executors.
Result<GraphExecutor::Step> GraphExecutor::create_step(const Graph& graph, const Node& node, const ExecutionProvider& provider,
                                                       const Model& model,
                                                       const std::vector<const ExecutionProvider*>& providers,
                                                       const std::vector<std::string>& inner_scope,
                                                       const ResourceLimits& limits, const ValueTypes& types,
                                                       int intra_op_threads) {
  std::vector<std::shared_ptr<const SubgraphRunner>> runners;
  for (const auto& [attr_name, attr] : node.attributes) {
    std::vector<const Graph*> subgraphs;
    if (attr.g) subgraphs.push_back(attr.g.get());
    for (const auto& g : attr.graphs) subgraphs.push_back(g.get());
    for (const Graph* sub : subgraphs) {
      auto sub_executor = GraphExecutor::create(*sub, model, providers, inner_scope, nullptr, {}, limits, intra_op_threads);
      if (!sub_executor.is_ok())
        return sub_executor.status().with_context("in attribute '" + attr_name + "' of " + node.describe());
      runners.push_back(std::make_shared<SubgraphRunnerImpl>(std::move(sub_executor).value()));
    }
  }

  KernelInfo info(node, model.opset_version(node.domain), graph.initializers, runners);
  info.set_session_context(&types, intra_op_threads);
  Result<std::unique_ptr<OpKernel>> kernel = runtime_error("no kernel");
  try {
    kernel = provider.create_kernel(info);
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

std::vector<Value> GraphExecutor::take_frame() const {
  {
    std::lock_guard<std::mutex> lock(frames_mutex_);
    if (!free_frames_.empty()) {
      std::vector<Value> frame = std::move(free_frames_.back());
      free_frames_.pop_back();
      return frame;
    }
  }
  return std::vector<Value>(slot_names_.size());
}

void GraphExecutor::give_back_frame(std::vector<Value> frame) const {
  constexpr size_t kMaxFreeFrames = 16;  // concurrent runs beyond this make their own frames
  for (Value& v : frame)  // the run's values go now, not when the frame is next used
    if (!v.is_absent()) v = Value();
  std::lock_guard<std::mutex> lock(frames_mutex_);
  if (free_frames_.size() < kMaxFreeFrames) free_frames_.push_back(std::move(frame));
}

// A run's frame, handed back to its executor on every way out of the run.
class FrameLease {
 public:
  explicit FrameLease(const GraphExecutor& executor) : executor_(executor), frame_(executor.take_frame()) {}
  FrameLease(const FrameLease&) = delete;
  FrameLease& operator=(const FrameLease&) = delete;
  ~FrameLease() { executor_.give_back_frame(std::move(frame_)); }
  std::vector<Value>& frame() { return frame_; }

 private:
  const GraphExecutor& executor_;
  std::vector<Value> frame_;
};

void GraphExecutor::fill_frame(std::vector<Value>& frame, const std::vector<Value>& inputs,
                               const std::vector<const Value*>& outer_values) const {
  for (size_t i = 0; i < outer_slots_.size() && i < outer_values.size(); ++i) frame[outer_slots_[i]] = *outer_values[i];
  for (size_t i = 0; i < input_slots_.size(); ++i) {
    const ValueInfo& declared = graph_.inputs[i];
    if (i < inputs.size() && !inputs[i].is_absent()) frame[input_slots_[i]] = inputs[i];
    // Not fed: an initializer stays; an optional holds nothing.
    else if (!graph_.is_initializer(declared.name) && declared.type.kind == TypeInfo::Kind::optional)
      frame[input_slots_[i]] = Value::empty_optional();
  }
}

std::vector<Value> GraphExecutor::take_outputs(std::vector<Value>& frame) const {
  std::vector<Value> outputs;
  outputs.reserve(output_slots_.size());
  for (size_t i = 0; i < output_slots_.size(); ++i) {
    const int slot = output_slots_[i];
    // Moved out of the frame (no copy of the shape) unless a later output is the same value.
    const bool again = std::find(output_slots_.begin() + static_cast<std::ptrdiff_t>(i) + 1, output_slots_.end(), slot) != output_slots_.end();
    if (!again && !frame[slot].is_absent())
      outputs.push_back(std::move(frame[slot]));
    else
      outputs.push_back(value_at(frame, slot));
  }
  return outputs;
}

Status GraphExecutor::compute_step(const Step& step, std::vector<Value>& frame, ThreadPool& pool, BufferPool& buffers,
                                   StepObserver* observer, const RunControl* control,
                                   const std::shared_ptr<ArenaBudget>& budget, bool in_order) const {
  FrameContext ctx(*this, step, frame, pool, buffers, control, budget, in_order);
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
  return Status::ok();
}

Result<std::vector<Value>> GraphExecutor::run(const std::vector<Value>& inputs, const std::vector<const Value*>& outer_values,
                                              ThreadPool& pool, BufferPool& buffers, StepObserver* observer,
                                              const RunControl* control, const std::shared_ptr<ArenaBudget>& budget,
                                              ThreadPool* inter_op) const {
  FrameLease lease(*this);
  std::vector<Value>& frame = lease.frame();
  fill_frame(frame, inputs, outer_values);
  if (inter_op && parallel_) return run_parallel(frame, pool, *inter_op, buffers, observer, control, budget);
  for (const Step& step : steps_) {
    if (control && control->stop_requested()) return control->stopped("before " + step.node->describe());
    TS_RETURN_IF_ERROR(compute_step(step, frame, pool, buffers, observer, control, budget, /*in_order=*/true));
    for (int slot : step.release) frame[slot] = Value();
  }
  return take_outputs(frame);
}

void GraphExecutor::touch_output_buffers(const ValueTypes& types, BufferPool& buffers,
                                         const std::shared_ptr<ArenaBudget>& budget) const {
  FrameLease lease(*this);  // the first run then finds a frame made too
  std::vector<Value>& held = lease.frame();
  try {
    for (const Step& step : steps_) {
      if (!step.allocator)
        for (int slot : step.outputs) {
          if (slot < 0) continue;
          auto it = types.find(slot_names_[static_cast<size_t>(slot)]);
          if (it == types.end()) continue;
          const TypeInfo& type = it->second;
          if (type.kind != TypeInfo::Kind::tensor || type.elem_type == DataType::undefined || type.elem_type == DataType::string)
            continue;
          if (std::optional<Shape> shape = type.static_shape())
            held[static_cast<size_t>(slot)] = Value(buffers.allocate(type.elem_type, *shape, /*zero_fill=*/true, budget));
        }
      for (int slot : step.release) held[static_cast<size_t>(slot)] = Value();
    }
  } catch (const std::exception&) {
    // A block past the session's limits: the run that needs it will say so, naming the node.
  }
}

}  // namespace tessera
