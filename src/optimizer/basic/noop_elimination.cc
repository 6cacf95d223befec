// Nodes that hand their input on unchanged are removed and their readers read the input:
// Identity, Dropout in inference, Cast to the type the value already has, Reshape/Expand to the
// shape it already has, Transpose by the identity permutation, Pad by zeros, Slice of everything,
// Concat of one input. Only what is certain counts: constant attributes/inputs and the types the
// graph declares (known_type); anything else stays. Graph outputs keep their names (bypass_nodes).
#include <limits>

#include "core/broadcast_shapes.h"
#include "optimizer/graph_edit.h"
#include "optimizer/transformers.h"

namespace tessera {
namespace {

bool optional_output_unread(const Node& node, size_t k, const GraphIndex& index) {
  return k >= node.outputs.size() || node.outputs[k].empty() || index.is_unused(node.outputs[k]);
}

bool is_dropout_in_inference(const Node& node, const Graph& graph, const GraphIndex& index, int64_t opset) {
  if (!optional_output_unread(node, 1, index)) return false;  // the mask is a tensor of its own
  if (opset < 7) {
    const Attribute* is_test = node.attribute("is_test");
    const Attribute* ratio = node.attribute("ratio");
    return (is_test && is_test->i != 0) || (ratio && ratio->f == 0.0f);
  }
  if (opset < 12) return true;
  if (node.inputs.size() < 3 || node.inputs[2].empty()) return true;
  const Tensor* training = constant_value(graph, index, node.inputs[2]);
  return training && training->dtype() == DataType::boolean && training->size() == 1 && !training->data<bool>()[0];
}

bool is_identity_perm(const std::vector<int64_t>& perm) {
  for (size_t i = 0; i < perm.size(); ++i)
    if (perm[i] != static_cast<int64_t>(i)) return false;
  return true;
}

// The shape Reshape produces from `in` and the requested `dims` (0 copies, -1 infers).
std::optional<Shape> reshaped(const Shape& in, const std::vector<int64_t>& dims, bool allowzero) {
  Shape out;
  int infer = -1;
  int64_t known = 1, total = 1;
  // Checked products: a crafted declared shape may overflow int64 (found by fuzz_session_run);
  // then the Reshape is not shown to be a no-op and stays for the run to check.
  for (int64_t d : in) {
    auto next = checked_multiply(total, d);
    if (!next.is_ok()) return std::nullopt;
    total = *next;
  }
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = dims[i];
    if (d == 0 && !allowzero) {
      if (i >= in.size()) return std::nullopt;
      d = in[i];
    }
    if (d == -1) {
      if (infer >= 0) return std::nullopt;
      infer = static_cast<int>(i);
    } else if (d < 0) {
      return std::nullopt;
    } else {
      auto next = checked_multiply(known, d);
      if (!next.is_ok()) return std::nullopt;
      known = *next;
    }
    out.push_back(d);
  }
  if (infer >= 0) {
    if (known == 0 || total % known != 0) return std::nullopt;
    out[static_cast<size_t>(infer)] = total / known;
  }
  return out;
}

bool is_noop_slice(const Node& node, const Graph& graph, const GraphIndex& index, int64_t opset) {
  if (opset < 10 || node.inputs.size() < 3) return false;  // opset 1-9 keeps its ranges in attributes
  std::optional<std::vector<int64_t>> starts = int_values(constant_value(graph, index, node.inputs[1]));
  std::optional<std::vector<int64_t>> ends = int_values(constant_value(graph, index, node.inputs[2]));
  if (!starts || !ends || starts->size() != ends->size()) return false;
  std::optional<std::vector<int64_t>> axes, steps;
  if (node.inputs.size() > 3 && !node.inputs[3].empty()) {
    axes = int_values(constant_value(graph, index, node.inputs[3]));
    if (!axes || axes->size() != starts->size()) return false;
  }
  if (node.inputs.size() > 4 && !node.inputs[4].empty()) {
    steps = int_values(constant_value(graph, index, node.inputs[4]));
    if (!steps || steps->size() != starts->size()) return false;
  }
  const std::optional<Shape> shape = known_static_shape(graph, index, node.inputs[0]);
  for (size_t k = 0; k < starts->size(); ++k) {
    if (steps && (*steps)[k] != 1) return false;
    if ((*starts)[k] != 0) return false;
    const int64_t end = (*ends)[k];
    if (end >= std::numeric_limits<int32_t>::max()) continue;  // "to the end" as exporters write it
    if (!shape) return false;
    int64_t axis = axes ? (*axes)[k] : static_cast<int64_t>(k);
    if (axis < 0) axis += static_cast<int64_t>(shape->size());
    if (axis < 0 || axis >= static_cast<int64_t>(shape->size()) || end < (*shape)[static_cast<size_t>(axis)]) return false;
  }
  return true;
}

// Whether `node` returns its first input unchanged as its first output.
bool is_noop(const Node& node, const Graph& graph, const GraphIndex& index, int64_t opset) {
  const std::string& op = node.op_type;
  if (!node.domain.empty() || node.inputs.empty() || node.inputs[0].empty() || node.outputs.empty() || node.outputs[0].empty())
    return false;
  for (size_t k = 1; k < node.outputs.size(); ++k)
    if (op != "Dropout" && !node.outputs[k].empty()) return false;
  const std::string& x = node.inputs[0];
  if (op == "Identity") return node.inputs.size() == 1;
  if (op == "Dropout") return is_dropout_in_inference(node, graph, index, opset);
  if (op == "Concat") return node.inputs.size() == 1;
  if (op == "Cast") {
    const Attribute* to = node.attribute("to");
    const DataType from = known_elem_type(graph, index, x);
    return to && from != DataType::undefined && static_cast<int64_t>(from) == to->i;
  }
  if (op == "Transpose") {
    const Attribute* perm = node.attribute("perm");
    if (perm) return is_identity_perm(perm->ints);
    std::optional<TypeInfo> type = known_type(graph, index, x);  // the default reverses the axes
    return type && type->shape && type->shape->size() <= 1;
  }
  if (op == "Reshape") {
    if (opset < 5 || node.inputs.size() != 2) return false;
    const std::optional<Shape> in = known_static_shape(graph, index, x);
    const std::optional<std::vector<int64_t>> dims = int_values(constant_value(graph, index, node.inputs[1]));
    if (!in || !dims) return false;
    const Attribute* allowzero = node.attribute("allowzero");
    const std::optional<Shape> out = reshaped(*in, *dims, allowzero && allowzero->i != 0);
    return out && *out == *in;
  }
  if (op == "Expand") {
    if (node.inputs.size() != 2) return false;
    const std::optional<Shape> in = known_static_shape(graph, index, x);
    const std::optional<std::vector<int64_t>> dims = int_values(constant_value(graph, index, node.inputs[1]));
    if (!in || !dims) return false;
    const Shape target(dims->begin(), dims->end());
    Result<Shape> out = broadcast_shapes({&*in, &target}, "Expand");
    return out.is_ok() && *out == *in;
  }
  if (op == "Pad") {
    std::optional<std::vector<int64_t>> pads;
    if (opset < 11) {
      const Attribute* a = node.attribute("pads");
      if (a) pads = a->ints;
    } else if (node.inputs.size() >= 2 && !node.inputs[1].empty()) {
      pads = int_values(constant_value(graph, index, node.inputs[1]));
    }
    if (!pads) return false;
    for (int64_t p : *pads)
      if (p != 0) return false;
    return true;
  }
  if (op == "Slice") return is_noop_slice(node, graph, index, opset);
  return false;
}

class NoopElimination final : public GraphTransformer {
 public:
  std::string_view name() const override { return "noop_elimination"; }

  Result<int> apply(Graph& graph, const TransformContext& ctx) const override {
    const GraphIndex index(graph, ctx);
    const int64_t opset = ctx.model->opset_version("");
    std::vector<Bypass> bypasses;
    for (size_t n = 0; n < graph.nodes.size(); ++n) {
      const Node& node = graph.nodes[n];
      if (is_noop(node, graph, index, opset)) bypasses.push_back({n, node.outputs[0], node.inputs[0]});
    }
    return bypass_nodes(graph, bypasses);
  }
};

}  // namespace

std::unique_ptr<GraphTransformer> make_noop_elimination() { return std::make_unique<NoopElimination>(); }

}  // namespace tessera
