#include "training/gradient_context.h"

#include <utility>

namespace tessera {

GraphWriter::GraphWriter(Graph& graph, std::string prefix) : graph_(graph), prefix_(std::move(prefix)) {
  for (const ValueInfo& v : graph.inputs) taken_.insert(v.name);
  for (const auto& [name, tensor] : graph.initializers) taken_.insert(name);
  for (const Node& n : graph.nodes) {
    taken_.insert(n.name);
    for (const std::string& o : n.outputs) taken_.insert(o);
  }
}

std::string GraphWriter::fresh(const std::string& base) {
  std::string name;
  do name = prefix_ + "/" + base + "_" + std::to_string(counter_++);
  while (!taken_.insert(name).second);
  return name;
}

std::vector<std::string> GraphWriter::add(const std::string& op, std::vector<std::string> inputs, size_t output_count,
                                          std::vector<Attribute> attributes) {
  Node n;
  n.op_type = op;
  n.name = fresh(op);
  n.inputs = std::move(inputs);
  for (size_t k = 0; k < output_count; ++k) n.outputs.push_back(fresh(op + "_out"));
  for (Attribute& a : attributes) n.attributes[a.name] = std::move(a);
  std::vector<std::string> outputs = n.outputs;
  graph_.nodes.push_back(std::move(n));
  return outputs;
}

std::vector<std::string> GraphWriter::add_kernel(const std::string& op, std::vector<std::string> inputs,
                                                 size_t output_count, std::vector<Attribute> attributes) {
  std::vector<std::string> outputs = add(op, std::move(inputs), output_count, std::move(attributes));
  graph_.nodes.back().domain = kGradientKernelDomain;
  return outputs;
}

std::string GraphWriter::constant(Tensor value) { return add1("Constant", {}, {tensor_attr("value", std::move(value))}); }

GradientContext::GradientContext(const Node& node, const Model& model, const ValueTypes& types,
                                 std::vector<std::string> output_grads, std::vector<bool> wanted, GraphWriter& writer)
    : node_(node),
      types_(types),
      output_grads_(std::move(output_grads)),
      wanted_(std::move(wanted)),
      input_grads_(node.inputs.size()),
      writer_(writer),
      opset_(model.opset_version("")) {}

const std::string& GradientContext::output_grad(size_t i) const {
  static const std::string none;
  return i < output_grads_.size() ? output_grads_[i] : none;
}

int64_t GradientContext::int_attr(const std::string& name, int64_t default_value) const {
  const Attribute* a = node_.attribute(name);
  return a ? a->i : default_value;
}

float GradientContext::float_attr(const std::string& name, float default_value) const {
  const Attribute* a = node_.attribute(name);
  return a ? a->f : default_value;
}

Result<DataType> GradientContext::dtype(const std::string& value) const {
  auto it = types_.find(value);
  if (it == types_.end() || it->second.kind != TypeInfo::Kind::tensor || it->second.elem_type == DataType::undefined)
    return unsupported("the element type of '", value, "' is not known before a run");
  return it->second.elem_type;
}

Result<Dims> GradientContext::dims(const std::string& value) const {
  auto it = types_.find(value);
  if (it == types_.end() || it->second.kind != TypeInfo::Kind::tensor || !it->second.shape)
    return unsupported("the rank of '", value, "' is not known before a run");
  return *it->second.shape;
}

const Tensor* GradientContext::constant_input(size_t input_index) const {
  const std::string& name = node_.inputs.at(input_index);
  const Graph& g = writer_.graph();  // the graph being differentiated
  if (auto it = g.initializers.find(name); it != g.initializers.end()) return &it->second;
  for (const Node& n : g.nodes)
    if (n.op_type == "Constant" && n.outputs.size() == 1 && n.outputs[0] == name)
      if (const Attribute* a = n.attribute("value")) return &a->t;
  return nullptr;
}

Result<std::vector<int64_t>> GradientContext::constant_ints(size_t input_index) const {
  const std::string& name = node_.inputs.at(input_index);
  const Tensor* t = constant_input(input_index);
  if (!t || t->dtype() != DataType::int64) return unsupported("input '", name, "' must be a constant int64 tensor");
  return std::vector<int64_t>(t->data<int64_t>(), t->data<int64_t>() + t->size());
}

Result<std::string> GradientContext::scalar(DataType dtype, double value) {
  switch (dtype) {
    case DataType::float32: return writer_.constant(Tensor::scalar(dtype, static_cast<float>(value)));
    case DataType::float64: return writer_.constant(Tensor::scalar(dtype, value));
    default: return unsupported("element type ", dtype_name(dtype), " (float and double are differentiated)");
  }
}

std::string GradientContext::int64s(const std::vector<int64_t>& values) {
  return writer_.constant(Tensor::from_vector(DataType::int64, {static_cast<int64_t>(values.size())}, values).value());
}

std::string GradientContext::reduce_sum(const std::string& x, const std::vector<int64_t>& axes, bool keepdims) {
  std::vector<Attribute> attrs{tessera::int_attr("keepdims", keepdims ? 1 : 0)};
  if (axes.empty()) return add("ReduceSum", {x}, attrs);
  if (opset_ < 13) {
    attrs.push_back(ints_attr("axes", axes));
    return add("ReduceSum", {x}, attrs);
  }
  return add("ReduceSum", {x, int64s(axes)}, attrs);
}

std::string GradientContext::reduce_mean(const std::string& x, const std::vector<int64_t>& axes) {
  if (opset_ < 18) return add("ReduceMean", {x}, {ints_attr("axes", axes)});
  return add("ReduceMean", {x, int64s(axes)});
}

std::string GradientContext::unsqueeze(const std::string& x, const std::vector<int64_t>& axes) {
  if (opset_ < 13) return add("Unsqueeze", {x}, {ints_attr("axes", axes)});
  return add("Unsqueeze", {x, int64s(axes)});
}

std::string GradientContext::reshape_like(const std::string& x, const std::string& like) {
  return add("Reshape", {x, add("Shape", {like})});
}

Result<std::string> GradientContext::size_ratio(const std::string& big, const std::string& small) {
  TS_ASSIGN_OR_RETURN(DataType type, dtype(big));
  std::string ratio = add("Div", {add("Size", {big}), add("Size", {small})});
  return add("Cast", {ratio}, {tessera::int_attr("to", static_cast<int64_t>(type))});
}

Result<std::string> GradientContext::filled_like(const std::string& like, double value) {
  TS_ASSIGN_OR_RETURN(DataType type, dtype(like));
  Tensor fill;
  if (type == DataType::float32) fill = Tensor::from_vector(type, {1}, std::vector<float>{static_cast<float>(value)}).value();
  else if (type == DataType::float64) fill = Tensor::from_vector(type, {1}, std::vector<double>{value}).value();
  else return unsupported("element type ", dtype_name(type), " of '", like, "' (float and double are differentiated)");
  return add("ConstantOfShape", {add("Shape", {like})}, {tensor_attr("value", std::move(fill))});
}

Result<std::string> GradientContext::reduce_to(const std::string& grad, const std::string& out, const std::string& in) {
  TS_ASSIGN_OR_RETURN(Dims out_dims, dims(out));
  return reduce_to(grad, out_dims, in);
}

Result<std::string> GradientContext::reduce_to(const std::string& grad, const Dims& out_dims, const std::string& in) {
  TS_ASSIGN_OR_RETURN(Dims in_dims, dims(in));
  if (in_dims.size() > out_dims.size()) return unsupported("'", in, "' has a higher rank than the gradient ", dims_string(out_dims));
  const size_t lead = out_dims.size() - in_dims.size();
  std::vector<int64_t> axes;
  for (size_t k = 0; k < lead; ++k) axes.push_back(static_cast<int64_t>(k));
  for (size_t k = 0; k < in_dims.size(); ++k) {
    const Dim& i = in_dims[k];
    const Dim& o = out_dims[lead + k];
    if (same_dim(i, o)) continue;
    if (i.is_fixed() && i.value == 1) {
      axes.push_back(static_cast<int64_t>(lead + k));
      continue;
    }
    return unsupported("cannot tell whether '", in, "' ", dims_string(in_dims), " is broadcast to ", dims_string(out_dims),
                       " along axis ", k, " before a run");
  }
  if (axes.empty()) return grad;
  // Only leading axes (a bias broadcast over rows): dropping them gives `in`'s shape, with no
  // Reshape after the sum.
  if (axes.size() == lead) return reduce_sum(grad, axes, false);
  std::string summed = reduce_sum(grad, axes, true);
  return lead == 0 ? summed : reshape_like(summed, in);
}

}  // namespace tessera
