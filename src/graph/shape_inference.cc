#include "graph/shape_inference.h"

#include <unordered_map>
#include <utility>

#include "graph/infer/infer_rules.h"
#include "graph/op_schema.h"

namespace tessera {

namespace {

constexpr int64_t kMaxShapeValueElements = 64;  // larger integer constants are data, not shapes

DataType dtype_from_type_string(const std::string& s) {
  static const std::unordered_map<std::string, DataType> names = [] {
    std::unordered_map<std::string, DataType> m;
    for (int32_t k = 1; k <= kMaxDataTypeValue; ++k) {
      auto t = static_cast<DataType>(k);
      m["tensor(" + std::string(dtype_name(t)) + ")"] = t;
    }
    return m;
  }();
  auto it = names.find(s);
  return it == names.end() ? DataType::undefined : it->second;
}

// The type without its shapes (same type variable means same type, not same shape).
TypeInfo without_shapes(const TypeInfo& t) {
  TypeInfo out = t;
  out.shape.reset();
  if (t.inner) out.inner = std::make_shared<TypeInfo>(without_shapes(*t.inner));
  return out;
}

// The small integer contents of a constant tensor, when it may describe a shape.
std::optional<ShapeValue> shape_value_of(const Tensor& t) {
  if ((t.dtype() != DataType::int64 && t.dtype() != DataType::int32) || t.rank() > 1 || t.size() > kMaxShapeValueElements ||
      !t.location().is_host())
    return std::nullopt;
  ShapeValue v;
  v.scalar = t.rank() == 0;
  for (int64_t k = 0; k < t.size(); ++k)
    v.elems.push_back(known_elem(t.dtype() == DataType::int64 ? t.data<int64_t>()[k] : t.data<int32_t>()[k]));
  return v;
}

// Output types the schema fixes: a concrete type, or the type variable of a known input.
void schema_output_types(const OpSchema& schema, InferContext& ctx) {
  auto formal_of = [](const std::vector<FormalParameter>& list, size_t i) -> const FormalParameter* {
    if (i < list.size()) return &list[i];
    if (!list.empty() && list.back().variadic) return &list.back();
    return nullptr;
  };
  for (size_t j = 0; j < ctx.num_outputs(); ++j) {
    const FormalParameter* out = formal_of(schema.outputs, j);
    if (!out) continue;
    if (DataType d = dtype_from_type_string(out->type); d != DataType::undefined) {
      ctx.set_output_type(j, tensor_type(d, std::nullopt));
      continue;
    }
    const TypeConstraint* c = schema.constraint(out->type);
    if (c && c->allowed.size() == 1) {
      if (DataType d = dtype_from_type_string(c->allowed[0]); d != DataType::undefined) {
        ctx.set_output_type(j, tensor_type(d, std::nullopt));
        continue;
      }
    }
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      const FormalParameter* in = formal_of(schema.inputs, i);
      if (!in || in->type != out->type || (in->variadic && i >= schema.inputs.size() - 1 && out->variadic)) continue;
      const TypeInfo* t = ctx.input_type(i);
      if (!t || t->kind == TypeInfo::Kind::unknown) continue;
      if (t->kind == TypeInfo::Kind::tensor && t->elem_type == DataType::undefined) continue;
      ctx.set_output_type(j, without_shapes(*t));
      break;
    }
  }
}

// Declared and inferred types of one value: the more precise per dim; a contradiction is an error.
Result<TypeInfo> merge_declared(const TypeInfo& inferred, const TypeInfo& declared, const std::string& name, const Node* node) {
  if (declared.kind == TypeInfo::Kind::unknown) return inferred;
  if (inferred.kind == TypeInfo::Kind::unknown) return declared;
  if (inferred.kind != TypeInfo::Kind::tensor || declared.kind != TypeInfo::Kind::tensor) return inferred;
  auto fail = [&]() -> Status {
    return invalid_model(node ? node->describe() + ": " : std::string(), "output '", name, "' is declared ", declared.to_string(),
                         " but is inferred to be ", inferred.to_string());
  };
  TypeInfo out = inferred;
  if (out.elem_type == DataType::undefined) out.elem_type = declared.elem_type;
  else if (declared.elem_type != DataType::undefined && declared.elem_type != inferred.elem_type) return fail();
  if (!declared.shape) return out;
  if (!inferred.shape) {
    out.shape = declared.shape;
    return out;
  }
  if (declared.shape->size() != inferred.shape->size()) return fail();
  for (size_t k = 0; k < declared.shape->size(); ++k) {
    const Dim& d = (*declared.shape)[k];
    Dim& i = (*out.shape)[k];
    if (dims_differ(d, i)) return fail();
    if (!i.is_fixed() && (d.is_fixed() || i.param.empty())) i = d;
  }
  return out;
}

struct GraphInference {
  const Graph& graph;
  const Model& model;
  const ValueTypes& outer;
  ValueTypes types;
  std::unordered_map<std::string, ShapeValue> values;
  std::unordered_map<std::string, Tensor> constants;

  const TypeInfo* find_type(const std::string& name) const {
    if (auto it = types.find(name); it != types.end()) return &it->second;
    if (auto it = outer.find(name); it != outer.end()) return &it->second;
    return nullptr;
  }

  Status run_inputs(const std::vector<TypeInfo>& input_types) {
    for (size_t i = 0; i < graph.inputs.size(); ++i) {
      const ValueInfo& in = graph.inputs[i];
      TypeInfo t = in.type;
      if (i < input_types.size()) {
        auto merged = merge_declared(input_types[i], in.type, in.name, nullptr);
        t = merged.is_ok() ? *merged : in.type;  // the declaration wins over a loose caller type
      }
      if (auto init = graph.initializers.find(in.name); init != graph.initializers.end()) {
        // An initializer that is also an input (every weight before IR 4) gives what the
        // declaration leaves out, and its contents, as ONNX's own inference does; kernels take it
        // as a constant too.
        const Tensor& tensor = init->second;
        TypeInfo from_init = tensor_type(tensor.dtype(), fixed_dims(tensor.shape()));
        auto merged = merge_declared(from_init, t, in.name, nullptr);
        if (merged.is_ok()) {
          t = std::move(merged).value();
          add_constant(in.name, tensor);
        } else if (t.kind == TypeInfo::Kind::tensor && t.elem_type == DataType::undefined) {
          t.elem_type = tensor.dtype();
        }
      }
      types[in.name] = std::move(t);
    }
    for (const auto& [name, tensor] : graph.initializers) {
      if (types.count(name)) continue;
      types[name] = tensor_type(tensor.dtype(), fixed_dims(tensor.shape()));
      add_constant(name, tensor);
    }
    return Status::ok();
  }

  // A weight a kernel has packed keeps its type but may have no bytes left (session.cc releases
  // them): its contents are then not known.
  void add_constant(const std::string& name, const Tensor& tensor) {
    if (tensor.size() > 0 && tensor.raw_data() == nullptr) return;
    constants.emplace(name, tensor);
    if (auto v = shape_value_of(tensor)) values.emplace(name, std::move(*v));
  }

  Status run_node(const Node& node, const std::unordered_map<std::string, const TypeInfo*>& declared) {
    const int64_t opset = model.opset_version(node.domain);
    std::vector<const TypeInfo*> in_types;
    std::vector<const ShapeValue*> in_values;
    std::vector<const Tensor*> in_constants;
    for (const auto& name : node.inputs) {
      in_types.push_back(name.empty() ? nullptr : find_type(name));
      auto v = name.empty() ? values.end() : values.find(name);
      in_values.push_back(v == values.end() ? nullptr : &v->second);
      auto c = name.empty() ? constants.end() : constants.find(name);
      in_constants.push_back(c == constants.end() ? nullptr : &c->second);
    }
    // Subgraphs see this graph's values so far and the enclosing ones.
    ValueTypes scope;
    bool has_subgraph = false;
    for (const auto& [attr_name, attr] : node.attributes) has_subgraph = has_subgraph || attr.g || !attr.graphs.empty();
    if (has_subgraph) {
      scope = outer;
      for (const auto& [name, t] : types) scope[name] = t;
    }
    InferContext ctx(node, opset, model, std::move(in_types), std::move(in_values), std::move(in_constants),
                     has_subgraph ? &scope : nullptr, &infer_subgraph_types);
    if (const OpSchema* schema = find_schema(node.domain, node.op_type, opset)) schema_output_types(*schema, ctx);
    if (InferFn rule = find_infer_rule(node.domain, node.op_type, opset)) TS_RETURN_IF_ERROR(rule(ctx));

    if (node.op_type == "Constant" && node.domain.empty() && !node.outputs.empty()) {
      const Attribute* value = node.attribute("value");
      if (value && value->type == Attribute::Type::tensor_) {
        constants.emplace(node.outputs[0], value->t);
        if (auto v = shape_value_of(value->t)) ctx.set_output_value(0, std::move(*v));
      }
    }
    for (size_t j = 0; j < node.outputs.size(); ++j) {
      const std::string& name = node.outputs[j];
      if (name.empty()) continue;
      TypeInfo t = std::move(ctx.outputs()[j]);
      if (auto d = declared.find(name); d != declared.end()) {
        TS_ASSIGN_OR_RETURN(t, merge_declared(t, *d->second, name, &node));
      }
      types[name] = std::move(t);
      if (ctx.output_values()[j]) values[name] = std::move(*ctx.output_values()[j]);
    }
    return Status::ok();
  }
};

}  // namespace

Result<ValueTypes> infer_subgraph_types(const Graph& graph, const Model& model, const ValueTypes& outer_scope,
                                        const std::vector<TypeInfo>& input_types) {
  std::vector<std::vector<std::string>> implicit(graph.nodes.size());
  for (size_t i = 0; i < graph.nodes.size(); ++i) implicit[i] = node_implicit_inputs(graph.nodes[i]);
  TS_ASSIGN_OR_RETURN(std::vector<size_t> order, topological_order(graph, free_variables(graph), implicit));

  GraphInference inference{graph, model, outer_scope, {}, {}, {}};
  TS_RETURN_IF_ERROR(inference.run_inputs(input_types));
  std::unordered_map<std::string, const TypeInfo*> declared;
  for (const auto& v : graph.value_infos) declared[v.name] = &v.type;
  for (const auto& v : graph.outputs) declared[v.name] = &v.type;
  for (size_t index : order) TS_RETURN_IF_ERROR(inference.run_node(graph.nodes[index], declared));
  // Outputs that pass an input or initializer straight through keep their declared precision.
  for (const auto& out : graph.outputs)
    if (!inference.types.count(out.name) && !inference.outer.count(out.name)) inference.types[out.name] = out.type;
  return std::move(inference.types);
}

Result<ValueTypes> infer_types(const Graph& graph, const Model& model, const ValueTypes& outer_scope) {
  return infer_subgraph_types(graph, model, outer_scope, {});
}

}  // namespace tessera
