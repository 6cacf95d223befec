// If, Loop and Scan: their bodies are inferred with the enclosing scope; the node's outputs come
// from the bodies' outputs.
#include "graph/infer/infer_rules.h"

namespace tessera {

namespace {

const Graph* graph_attr(const InferContext& ctx, const char* name) {
  const Attribute* a = ctx.node().attribute(name);
  return a && a->g ? a->g.get() : nullptr;
}

// The types of a body's outputs, in order (unknown where the body does not say).
Result<std::vector<TypeInfo>> body_outputs(InferContext& ctx, const Graph& body, const std::vector<TypeInfo>& inputs,
                                           const char* attr) {
  auto types = ctx.infer_subgraph(body, inputs);
  if (!types.is_ok()) return types.status().with_context(std::string("in attribute '") + attr + "' of " + ctx.node().describe());
  std::vector<TypeInfo> out;
  for (const auto& o : body.outputs) {
    auto it = types->find(o.name);
    out.push_back(it != types->end() ? it->second : o.type);
  }
  return out;
}

// Both branches' types: the same where they agree, unknown where they differ.
TypeInfo merge_branches(const TypeInfo& a, const TypeInfo& b) {
  if (a.kind != b.kind) return TypeInfo();
  if (a.kind != TypeInfo::Kind::tensor) return a.to_string() == b.to_string() ? a : TypeInfo{a.kind, a.elem_type, {}, nullptr, };
  TypeInfo out = a;
  if (a.elem_type != b.elem_type) out.elem_type = DataType::undefined;
  if (!a.shape || !b.shape || a.shape->size() != b.shape->size()) {
    out.shape.reset();
    return out;
  }
  for (size_t k = 0; k < a.shape->size(); ++k)
    if (!same_dim((*a.shape)[k], (*b.shape)[k])) (*out.shape)[k] = unknown_dim();
  return out;
}

Status if_op(InferContext& ctx) {
  const Graph* then_g = graph_attr(ctx, "then_branch");
  const Graph* else_g = graph_attr(ctx, "else_branch");
  if (!then_g || !else_g) return Status::ok();
  TS_ASSIGN_OR_RETURN(std::vector<TypeInfo> a, body_outputs(ctx, *then_g, {}, "then_branch"));
  TS_ASSIGN_OR_RETURN(std::vector<TypeInfo> b, body_outputs(ctx, *else_g, {}, "else_branch"));
  // A condition known before a run picks one branch.
  std::optional<bool> cond;
  if (const Tensor* c = ctx.input_constant(0); c && c->dtype() == DataType::boolean && c->size() == 1 && c->location().is_host())
    cond = c->data<bool>()[0];
  for (size_t j = 0; j < ctx.num_outputs() && j < a.size() && j < b.size(); ++j)
    ctx.set_output_type(j, cond ? (*cond ? a[j] : b[j]) : merge_branches(a[j], b[j]));
  return Status::ok();
}

TypeInfo drop_shape(TypeInfo t) {
  t.shape.reset();
  return t;
}

// Loop(M, cond, v...): body(iter, cond, v...) -> (cond, v..., scan...). Loop-carried values may
// change shape between iterations; scan outputs gain a leading axis of unknown length.
Status loop(InferContext& ctx) {
  const Graph* body = graph_attr(ctx, "body");
  if (!body) return Status::ok();
  std::vector<TypeInfo> inputs{tensor_type(DataType::int64, Dims{}), tensor_type(DataType::boolean, Dims{})};
  for (size_t i = 2; i < ctx.num_inputs(); ++i) inputs.push_back(ctx.input_type(i) ? drop_shape(*ctx.input_type(i)) : TypeInfo());
  TS_ASSIGN_OR_RETURN(std::vector<TypeInfo> out, body_outputs(ctx, *body, inputs, "body"));
  const size_t carried = ctx.num_inputs() >= 2 ? ctx.num_inputs() - 2 : 0;
  for (size_t j = 0; j < ctx.num_outputs() && j + 1 < out.size(); ++j) {
    TypeInfo t = out[j + 1];
    if (j < carried) {
      const TypeInfo* init = ctx.input_type(j + 2);
      // The same shape before and after one iteration holds for all of them.
      if (t.kind == TypeInfo::Kind::tensor && init && init->shape && t.shape && init->shape->size() == t.shape->size()) {
        for (size_t k = 0; k < t.shape->size(); ++k)
          if (!same_dim((*t.shape)[k], (*init->shape)[k])) (*t.shape)[k] = unknown_dim();
      } else if (t.kind == TypeInfo::Kind::tensor) {
        t.shape.reset();
      } else {
        t = drop_shape(t);
        if (t.inner) t.inner = std::make_shared<TypeInfo>(drop_shape(*t.inner));
      }
    } else if (t.kind == TypeInfo::Kind::tensor && t.shape) {
      t.shape->insert(t.shape->begin(), unknown_dim());
    }
    ctx.set_output_type(j, t);
  }
  return Status::ok();
}

// Scan (opset 9+): inputs are N states then M scan inputs; the body takes states and one slice
// of each scan input; outputs are N final states and K scan outputs stacked along their axes.
Status scan(InferContext& ctx) {
  const Graph* body = graph_attr(ctx, "body");
  if (!body) return Status::ok();
  const int64_t m = ctx.attr_int("num_scan_inputs", 0);
  const int64_t n = static_cast<int64_t>(ctx.num_inputs()) - m;
  if (n < 0) return Status::ok();
  auto in_axes = ctx.attr_ints("scan_input_axes");
  auto out_axes = ctx.attr_ints("scan_output_axes");
  std::vector<TypeInfo> inputs;
  Dim length;
  for (int64_t i = 0; i < static_cast<int64_t>(ctx.num_inputs()); ++i) {
    const TypeInfo* t = ctx.input_type(i);
    if (!t) {
      inputs.emplace_back();
      continue;
    }
    TypeInfo slice = *t;
    if (i >= n && slice.shape) {
      const int64_t rank = static_cast<int64_t>(slice.shape->size());
      int64_t axis = in_axes && static_cast<int64_t>(in_axes->size()) > i - n ? (*in_axes)[i - n] : 0;
      if (axis < 0) axis += rank;
      if (axis < 0 || axis >= rank) return ctx.error("scan input axis out of range for input ", i);
      length = unify_dim(length, (*slice.shape)[axis]);
      slice.shape->erase(slice.shape->begin() + axis);
    }
    inputs.push_back(std::move(slice));
  }
  TS_ASSIGN_OR_RETURN(std::vector<TypeInfo> out, body_outputs(ctx, *body, inputs, "body"));
  for (size_t j = 0; j < ctx.num_outputs() && j < out.size(); ++j) {
    TypeInfo t = out[j];
    if (static_cast<int64_t>(j) >= n && t.kind == TypeInfo::Kind::tensor && t.shape) {
      const int64_t k = static_cast<int64_t>(j) - n;
      const int64_t rank = static_cast<int64_t>(t.shape->size()) + 1;
      int64_t axis = out_axes && static_cast<int64_t>(out_axes->size()) > k ? (*out_axes)[k] : 0;
      if (axis < 0) axis += rank;
      if (axis < 0 || axis >= rank) t.shape.reset();
      else t.shape->insert(t.shape->begin() + axis, length);
    }
    ctx.set_output_type(j, t);
  }
  return Status::ok();
}

}  // namespace

std::vector<InferRule> control_flow_infer_rules() {
  return {
      {"", "If", 1, kAnyOpset, if_op},
      {"", "Loop", 1, kAnyOpset, loop},
      {"", "Scan", 9, kAnyOpset, scan},
  };
}

}  // namespace tessera
