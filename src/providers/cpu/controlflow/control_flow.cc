// Control flow: If and Loop (Scan lives in scan.cc). Bodies run through the framework's
// SubgraphRunner, which captures the outer-scope values they read.
#include <limits>

#include "core/dispatch.h"
#include "providers/cpu/controlflow/scan.h"
#include "providers/cpu/controlflow/subgraph_util.h"
#include "providers/cpu/families.h"

namespace tessera {
namespace {

using namespace controlflow;

// The single element of a bool (or numeric) condition tensor.
Result<bool> read_condition(const KernelContext& ctx, const Tensor& t, const char* what) {
  if (t.size() != 1) return ctx.error(what, " must hold one element, got shape ", shape_to_string(t.shape()));
  constexpr TypeSet kConditionTypes = type_bit(DataType::boolean) | type_bit(DataType::uint8) |
                                     type_bit(DataType::int8) | type_bit(DataType::int32) | type_bit(DataType::int64);
  bool value = false;
  const Status read = dispatch<kConditionTypes>(t.dtype(), [&]<class T>() {
    value = t.data<T>()[0] != T(0);
    return Status::ok();
  }, "");
  if (!read.is_ok()) return ctx.error(what, " must be a bool tensor, got ", dtype_name(t.dtype()));
  return value;
}

class IfKernel final : public OpKernel {
 public:
  IfKernel(const SubgraphRunner* then_branch, const SubgraphRunner* else_branch)
      : then_(then_branch), else_(else_branch) {}

  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    const SubgraphRunner* then_branch = info.subgraph("then_branch");
    const SubgraphRunner* else_branch = info.subgraph("else_branch");
    TS_RETURN_IF_ERROR(check_body_arity(info, then_branch, "then_branch", 0, info.output_count()));
    TS_RETURN_IF_ERROR(check_body_arity(info, else_branch, "else_branch", 0, info.output_count()));
    return std::unique_ptr<OpKernel>(new IfKernel(then_branch, else_branch));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* cond, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(bool take_then, read_condition(ctx, *cond, "cond"));
    TS_ASSIGN_OR_RETURN(std::vector<Value> outputs, (take_then ? then_ : else_)->run(ctx, {}));
    for (size_t i = 0; i < outputs.size(); ++i) ctx.set_output(i, std::move(outputs[i]));
    return Status::ok();
  }

 private:
  const SubgraphRunner* then_;
  const SubgraphRunner* else_;
};

// Loop(M, cond, v_initial...) -> (v_final..., scan_outputs...). Like ONNX Runtime, the body's
// condition output always ends the loop when false, even when the cond input is omitted.
class LoopKernel final : public OpKernel {
 public:
  LoopKernel(const SubgraphRunner* body, size_t carried, size_t scans) : body_(body), carried_(carried), scans_(scans) {}

  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    if (info.input_count() < 2) return info.error("Loop needs at least 2 inputs (M, cond), got ", info.input_count());
    const SubgraphRunner* body = info.subgraph("body");
    if (!body) return info.error("graph attribute 'body' is missing");
    size_t carried = info.input_count() - 2;
    size_t body_outputs = body->graph().outputs.size();
    if (body_outputs < 1 + carried)
      return info.error("'body' has ", body_outputs, " outputs, expected at least ", 1 + carried, " (cond and ", carried,
                        " loop-carried values)");
    TS_RETURN_IF_ERROR(check_body_arity(info, body, "body", 2 + carried, body_outputs));
    size_t scans = body_outputs - 1 - carried;
    if (info.output_count() > carried + scans)
      return info.error("has ", info.output_count(), " outputs but the body yields ", carried, " loop-carried values and ",
                        scans, " scan outputs");
    return std::unique_ptr<OpKernel>(new LoopKernel(body, carried, scans));
  }

  Status compute(KernelContext& ctx) const override {
    int64_t max_trips = std::numeric_limits<int64_t>::max();
    if (const Value* m = ctx.input_value(0)) {
      if (!m->is_tensor() || m->tensor().size() != 1 || m->tensor().dtype() != DataType::int64)
        return ctx.error("input 0 (M) must be an int64 scalar");
      max_trips = m->tensor().data<int64_t>()[0];
    }
    bool cond = true;
    if (const Value* c = ctx.input_value(1)) {
      if (!c->is_tensor()) return ctx.error("input 1 (cond) must be a bool tensor");
      TS_ASSIGN_OR_RETURN(cond, read_condition(ctx, c->tensor(), "input 1 (cond)"));
    }

    std::vector<Value> body_inputs(2 + carried_);
    for (size_t i = 0; i < carried_; ++i)
      if (const Value* v = ctx.input_value(2 + i)) body_inputs[2 + i] = *v;

    const Graph& graph = body_->graph();
    std::vector<std::vector<Tensor>> scanned(scans_);
    int64_t trip = 0;
    for (; trip < max_trips && cond; ++trip) {
      body_inputs[0] = Value(Tensor::scalar<int64_t>(DataType::int64, trip));
      body_inputs[1] = Value(Tensor::scalar<bool>(DataType::boolean, cond));
      TS_ASSIGN_OR_RETURN(std::vector<Value> out, body_->run(ctx, body_inputs));
      if (!out[0].is_tensor()) return ctx.error("body output 0 (cond) is not a tensor");
      TS_ASSIGN_OR_RETURN(cond, read_condition(ctx, out[0].tensor(), "body output 0 (cond)"));
      for (size_t i = 0; i < carried_; ++i) body_inputs[2 + i] = std::move(out[1 + i]);
      for (size_t k = 0; k < scans_; ++k) {
        Value& v = out[1 + carried_ + k];
        if (!v.is_tensor())
          return ctx.error("scan output '", graph.outputs[1 + carried_ + k].name, "' is ", value_type_string(v),
                           " in iteration ", trip, "; scan outputs must be tensors");
        if (!scanned[k].empty() && !same_type_and_shape(scanned[k][0], v.tensor()))
          return ctx.error("scan output '", graph.outputs[1 + carried_ + k].name, "' has type ", dtype_name(v.tensor().dtype()),
                           shape_to_string(v.tensor().shape()), " in iteration ", trip, " but ",
                           dtype_name(scanned[k][0].dtype()), shape_to_string(scanned[k][0].shape()), " in iteration 0");
        scanned[k].push_back(std::move(v.tensor()));
      }
    }

    for (size_t i = 0; i < carried_ && i < ctx.output_count(); ++i) ctx.set_output(i, std::move(body_inputs[2 + i]));
    for (size_t k = 0; k < scans_ && carried_ + k < ctx.output_count(); ++k) {
      if (!ctx.output_requested(carried_ + k)) continue;
      if (scanned[k].empty()) {
        auto empty = empty_scan_output(graph.outputs[1 + carried_ + k], {}, 0, 0);
        if (!empty.is_ok()) return ctx.error(empty.status().message());
        ctx.set_output(carried_ + k, Value(std::move(empty).value()));
      } else {
        ctx.set_output(carried_ + k, Value(stack(scanned[k])));
      }
    }
    return Status::ok();
  }

 private:
  const SubgraphRunner* body_;
  size_t carried_, scans_;
};

}  // namespace

void register_control_flow(KernelRegistry& r) {
  static const KernelDef defs[] = {
      {"", "If", 1, kLatestOnnxOpset, IfKernel::create},
      {"", "Loop", 1, kLatestOnnxOpset, LoopKernel::create},
  };
  for (const auto& def : defs) r.add(def);
  register_scan(r);
}

}  // namespace tessera
