// Nodes whose inputs are all constants are run once, here, with the session's own kernels, and
// their outputs become initializers; Shape and Size of a value whose inferred shape is static
// become constants too, and so does Gather of a Shape where the dims it picks are fixed. This is what turns the shape arithmetic of exported models
// (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) into plain constant reshapes.
// Left alone: random ops (each run must draw anew), nodes with subgraphs, ops of other domains
// (their evaluation is not ours to assume), outputs that are not tensors, any node whose
// evaluation fails (the error then surfaces at run time, where it belongs), and outputs that would
// blow up the model (ConstantOfShape/Expand/Tile... beyond the size cap).
#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "core/broadcast_shapes.h"
#include "graph/random_ops.h"
#include "optimizer/graph_edit.h"
#include "optimizer/transformers.h"

namespace tessera {
namespace {

// Folded outputs may hold this many elements, or as many as the node's inputs when more: a
// transposed or cast weight replaces its original, a generated tensor must stay small.
constexpr int64_t kMaxFoldedElements = int64_t{1} << 20;

bool has_subgraph(const Node& node) {
  for (const auto& [name, attr] : node.attributes)
    if (attr.g || !attr.graphs.empty()) return true;
  return false;
}

std::optional<double> scalar_as_double(const Tensor* t) {
  if (!t || t->size() != 1) return std::nullopt;
  switch (t->dtype()) {
    case DataType::float32: return t->data<float>()[0];
    case DataType::float64: return t->data<double>()[0];
    case DataType::int16: return t->data<int16_t>()[0];
    case DataType::int32: return t->data<int32_t>()[0];
    case DataType::int64: return static_cast<double>(t->data<int64_t>()[0]);
    default: return std::nullopt;
  }
}

// Product of `dims`, saturating at a value above any cap; nullopt for a negative dim.
std::optional<int64_t> element_count(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) return std::nullopt;
    if (d != 0 && n > (int64_t{1} << 40) / d) return int64_t{1} << 40;
    n *= d;
  }
  return n;
}

// Elements the node would produce, computed before running it for the ops that generate large
// tensors from small inputs; nullopt when unknown (then only the outputs are checked).
std::optional<int64_t> predicted_elements(const Node& node, const std::vector<const Tensor*>& in) {
  const std::string& op = node.op_type;
  auto input = [&](size_t i) -> const Tensor* { return i < in.size() ? in[i] : nullptr; };
  if (op == "ConstantOfShape") {
    std::optional<std::vector<int64_t>> dims = int_values(input(0));
    return dims ? element_count(*dims) : std::optional<int64_t>(int64_t{1} << 40);
  }
  if (op == "Tile" && input(0)) {
    std::optional<std::vector<int64_t>> repeats = int_values(input(1));
    if (!repeats) return int64_t{1} << 40;
    repeats->push_back(input(0)->size());
    return element_count(*repeats);
  }
  if (op == "Expand" && input(0)) {
    std::optional<std::vector<int64_t>> dims = int_values(input(1));
    if (!dims) return int64_t{1} << 40;
    const Shape target(dims->begin(), dims->end());
    Result<Shape> out = broadcast_shapes({&input(0)->shape(), &target}, "Expand");
    return out.is_ok() ? element_count(*out) : std::nullopt;
  }
  if (op == "Range") {
    std::optional<double> start = scalar_as_double(input(0)), limit = scalar_as_double(input(1)),
                          delta = scalar_as_double(input(2));
    if (!start || !limit || !delta || *delta == 0) return int64_t{1} << 40;
    const double n = std::ceil((*limit - *start) / *delta);
    return n <= 0 ? 0 : (n > double(int64_t{1} << 40) ? int64_t{1} << 40 : static_cast<int64_t>(n));
  }
  if (op == "OneHot" && input(0)) {
    std::optional<double> depth = scalar_as_double(input(1));
    if (!depth || *depth < 0 || *depth > double(int64_t{1} << 40)) return int64_t{1} << 40;
    return element_count({input(0)->size(), static_cast<int64_t>(*depth)});
  }
  if (op == "Resize" || op == "Upsample" || op == "Pad" || op == "CenterCropPad" || op == "Col2Im") return int64_t{1} << 40;
  // Broadcasting elementwise ops: the output has the broadcast shape of the inputs.
  static const std::unordered_set<std::string> broadcasting = {
      "Add",  "Sub", "Mul",  "Div",  "Pow", "Mod",     "Max",         "Min",          "Sum",  "Mean",
      "And",  "Or",  "Xor",  "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Where", "BitShift",
      "PRelu", "BitwiseAnd", "BitwiseOr", "BitwiseXor"};
  if (broadcasting.count(op)) {
    std::vector<const Shape*> shapes;
    for (const Tensor* t : in)
      if (t) shapes.push_back(&t->shape());
    Result<Shape> out = broadcast_shapes(shapes, op);
    return out.is_ok() ? element_count(*out) : std::nullopt;
  }
  return std::nullopt;
}

// The dims [start, end) a Shape node outputs (opset 15's attributes, clamped) for an input of `rank`.
std::pair<int64_t, int64_t> shape_range(const Node& shape_node, int64_t rank) {
  auto clamp = [&](const char* name, int64_t dflt) {
    const Attribute* a = shape_node.attribute(name);
    int64_t v = a ? a->i : dflt;
    if (v < 0) v += rank;
    return std::clamp<int64_t>(v, 0, rank);
  };
  return {clamp("start", 0), clamp("end", rank)};
}

// Shape (with opset 15's start/end) or Size of a value of known static shape.
std::optional<Tensor> fold_static_shape(const Node& node, const Shape& shape) {
  if (node.op_type == "Size") {
    std::optional<int64_t> n = element_count(shape);
    if (!n) return std::nullopt;
    return Tensor::scalar<int64_t>(DataType::int64, *n);
  }
  const auto [start, end] = shape_range(node, static_cast<int64_t>(shape.size()));
  std::vector<int64_t> dims;
  for (int64_t i = start; i < end; ++i) dims.push_back(shape[static_cast<size_t>(i)]);
  return int64_vector(dims);
}

// Gather(Shape(x), indices) where every dim it picks is fixed though others may not be: a
// [batch, 197, 768] value gives 768 at index 2 (or -1), so the arithmetic that exporters build on
// it folds too.
std::optional<Tensor> fold_gather_of_shape(const Graph& graph, const GraphIndex& index, const Node& gather) {
  if (gather.inputs.size() != 2 || gather.outputs.size() != 1) return std::nullopt;
  if (const Attribute* axis = gather.attribute("axis"); axis && axis->i != 0) return std::nullopt;
  const int p = index.producer(gather.inputs[0]);
  if (p < 0) return std::nullopt;
  const Node& shape_node = graph.nodes[static_cast<size_t>(p)];
  if (shape_node.op_type != "Shape" || !shape_node.domain.empty() || shape_node.inputs.size() != 1) return std::nullopt;
  const Tensor* indices = constant_value(graph, index, gather.inputs[1]);
  const std::optional<std::vector<int64_t>> picks = int_values(indices);
  const std::optional<TypeInfo> type = known_type(graph, index, shape_node.inputs[0]);
  if (!picks || indices->rank() > 1 || !type || !type->shape) return std::nullopt;
  const std::vector<Dim>& dims = *type->shape;
  const auto [start, end] = shape_range(shape_node, static_cast<int64_t>(dims.size()));
  const int64_t length = std::max<int64_t>(0, end - start);
  std::vector<int64_t> values;
  for (int64_t i : *picks) {
    if (i < 0) i += length;
    if (i < 0 || i >= length || !dims[static_cast<size_t>(start + i)].is_fixed()) return std::nullopt;
    values.push_back(dims[static_cast<size_t>(start + i)].value);
  }
  if (indices->rank() == 0) return Tensor::scalar<int64_t>(DataType::int64, values[0]);
  return int64_vector(values);
}

class ConstantFolding final : public GraphTransformer {
 public:
  std::string_view name() const override { return "constant_folding"; }

  Result<int> apply(Graph& graph, const TransformContext& ctx) const override {
    const GraphIndex index(graph, ctx);
    std::unordered_set<std::string> graph_outputs;
    for (const ValueInfo& out : graph.outputs) graph_outputs.insert(out.name);
    std::vector<bool> dead(graph.nodes.size(), false);
    int folded = 0;
    for (size_t n = 0; n < graph.nodes.size(); ++n) {
      Node& node = graph.nodes[n];
      // A Constant's `value` tensor is seen through already; its other forms (value_floats,
      // sparse_value...) are evaluated into one.
      const Attribute* value_attr = node.attribute("value");
      const bool plain_constant = node.op_type == "Constant" && value_attr && value_attr->type == Attribute::Type::tensor_;
      if (plain_constant || (!node.domain.empty() && node.domain != "ai.onnx.ml")) continue;
      if (is_random_op(node.op_type) || has_subgraph(node)) continue;
      std::vector<Tensor> outputs;
      if (!evaluate(graph, index, node, ctx, outputs)) continue;

      // A graph output keeps its name and must be produced by a node: the node becomes a Constant.
      // So does every folded node of a model before IR version 4, where each initializer must
      // also be a graph input (and could then be fed).
      bool as_constant_node = ctx.model->ir_version > 0 && ctx.model->ir_version < 4;
      for (const std::string& out : node.outputs) as_constant_node = as_constant_node || graph_outputs.count(out);
      if (as_constant_node) {
        if (node.outputs.size() != 1 || outputs.size() != 1) continue;
        node.op_type = "Constant";
        node.domain.clear();
        node.inputs.clear();
        node.attributes.clear();
        node.attributes["value"] = tensor_attr("value", std::move(outputs[0]));
      } else {
        size_t k = 0;
        for (const std::string& out : node.outputs)
          if (!out.empty()) graph.initializers[out] = std::move(outputs[k++]);
        dead[n] = true;
      }
      ++folded;
    }
    if (folded) remove_nodes(graph, dead);
    return folded;
  }

 private:
  // Fills `outputs` (one per non-empty output name) and returns true when `node` folds.
  static bool evaluate(const Graph& graph, const GraphIndex& index, const Node& node, const TransformContext& ctx,
                       std::vector<Tensor>& outputs) {
    size_t named_outputs = 0;
    for (const std::string& out : node.outputs) named_outputs += out.empty() ? 0 : 1;
    if (named_outputs == 0) return false;
    if ((node.op_type == "Shape" || node.op_type == "Size") && node.domain.empty() && node.inputs.size() == 1 &&
        named_outputs == 1) {
      if (std::optional<Shape> shape = known_static_shape(graph, index, node.inputs[0])) {
        std::optional<Tensor> t = fold_static_shape(node, *shape);
        if (!t || !t->defined()) return false;
        outputs.push_back(std::move(*t));
        return true;
      }
    }
    if (node.op_type == "Gather" && node.domain.empty()) {
      if (std::optional<Tensor> t = fold_gather_of_shape(graph, index, node); t && t->defined()) {
        outputs.push_back(std::move(*t));
        return true;
      }
    }
    if (!ctx.evaluate) return false;
    std::vector<const Tensor*> inputs;
    int64_t input_elements = 0;
    bool any_input = false;
    for (const std::string& in : node.inputs) {
      if (in.empty()) {
        inputs.push_back(nullptr);
        continue;
      }
      const Tensor* t = constant_value(graph, index, in);
      if (!t) return false;
      inputs.push_back(t);
      input_elements += t->size();
      any_input = true;
    }
    if (!any_input && node.op_type != "Constant") return false;  // other sources are random
    const int64_t cap = std::max(kMaxFoldedElements, input_elements);
    if (std::optional<int64_t> predicted = predicted_elements(node, inputs); predicted && *predicted > cap) return false;
    Result<std::vector<Tensor>> result = ctx.evaluate(node, ctx.model->opset_version(node.domain), inputs);
    if (!result.is_ok() || result->size() != named_outputs) return false;
    int64_t produced = 0;
    for (const Tensor& t : *result) {
      if (!t.defined()) return false;
      produced += t.size();
    }
    if (produced > cap) return false;
    outputs = std::move(result).value();
    return true;
  }
};

}  // namespace

std::unique_ptr<GraphTransformer> make_constant_folding() { return std::make_unique<ConstantFolding>(); }

}  // namespace tessera
