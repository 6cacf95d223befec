#include "training/backward_fusion.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "optimizer/graph_edit.h"

namespace tessera {
namespace {

constexpr TypeSet kLinearGradTypes = type_bit(DataType::float32) | type_bit(DataType::float64);

int64_t int_attribute(const Node& node, const char* name, int64_t fallback) {
  const Attribute* a = node.attribute(name);
  return a ? a->i : fallback;
}

// A two-input Gemm of the default domain with these trans flags and alpha 1: a product the Gemm
// gradient builder writes. (beta scales only a third input, which it never has.)
bool plain_gemm(const Node& node, int64_t trans_a, int64_t trans_b) {
  if (node.op_type != "Gemm" || !node.domain.empty() || node.outputs.size() != 1) return false;
  if (node.inputs.size() != 2 && !(node.inputs.size() == 3 && node.inputs[2].empty())) return false;
  const Attribute* alpha = node.attribute("alpha");
  return int_attribute(node, "transA", 0) == trans_a && int_attribute(node, "transB", 0) == trans_b &&
         (!alpha || alpha->f == 1.0f);
}

// ReduceSum over axis 0 of a 2-D value without keepdims: a bias [N]'s gradient.
bool bias_sum(const Graph& graph, const GraphIndex& index, const Node& node) {
  if (node.op_type != "ReduceSum" || !node.domain.empty() || node.inputs.size() != 2 || node.outputs.size() != 1)
    return false;
  if (int_attribute(node, "keepdims", 1) != 0) return false;
  const std::optional<std::vector<int64_t>> axes = int_values(constant_value(graph, index, node.inputs[1]));
  return axes && axes->size() == 1 && ((*axes)[0] == 0 || (*axes)[0] == -2);
}

// ActivationGrad(dA, A) of an activation LinearGrad applies.
bool foldable_activation_grad(const Node& node) {
  if (node.op_type != "ActivationGrad" || node.domain != "com.tessera" || node.inputs.size() != 2 ||
      node.outputs.size() != 1)
    return false;
  const Attribute* a = node.attribute("activation");
  return a && (a->s == "Relu" || a->s == "Sigmoid" || a->s == "Tanh");
}

}  // namespace

int fuse_backward_linears(Graph& graph, const ValueTypes& types) {
  const GraphIndex index(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  std::set<std::string> gone;  // folded ActivationGrad outputs, no longer values of the graph
  std::set<std::string> axes;  // the replaced ReduceSums' axes
  int fused = 0;
  for (size_t w_node = 0; w_node < graph.nodes.size(); ++w_node) {
    const Node& dw_gemm = graph.nodes[w_node];
    if (dead[w_node] || !plain_gemm(dw_gemm, 1, 0)) continue;
    const std::string &g = dw_gemm.inputs[0], &x = dw_gemm.inputs[1];
    const auto type = types.find(x);
    if (type == types.end() || !(kLinearGradTypes & type_bit(type->second.elem_type))) continue;
    if (index.escapes(g)) continue;
    // Every reader of g is one of the layer's three gradients, each reading g as its A input.
    int dx_node = -1, db_node = -1;
    bool matched = true;
    for (const GraphIndex::Use& use : index.uses(g)) {
      const Node& reader = graph.nodes[use.node];
      if (use.node == w_node && use.input == 0) continue;
      if (use.input == 0 && dx_node < 0 && !dead[use.node] && plain_gemm(reader, 0, 0))
        dx_node = static_cast<int>(use.node);
      else if (use.input == 0 && db_node < 0 && !dead[use.node] && bias_sum(graph, index, reader))
        db_node = static_cast<int>(use.node);
      else
        matched = false;
    }
    if (!matched) continue;
    Node linear;
    linear.name = dw_gemm.name.empty() ? "LinearGrad_of/" + g : dw_gemm.name + "/LinearGrad";
    linear.op_type = "LinearGrad";
    linear.domain = "com.tessera";
    const std::string w = dx_node >= 0 ? graph.nodes[dx_node].inputs[1] : std::string();
    const int act_node = index.producer(g);
    if (act_node >= 0 && !dead[act_node] && foldable_activation_grad(graph.nodes[act_node])) {
      const Node& act = graph.nodes[act_node];
      linear.inputs = {act.inputs[0], x, w, act.inputs[1]};
      linear.attributes["activation"] = *act.attribute("activation");
      dead[act_node] = true;
      gone.insert(g);
    } else {
      linear.inputs = {g, x};
      if (!w.empty()) linear.inputs.push_back(w);
    }
    linear.outputs = {dx_node >= 0 ? graph.nodes[dx_node].outputs[0] : std::string(), dw_gemm.outputs[0]};
    if (db_node >= 0) {
      linear.outputs.push_back(graph.nodes[db_node].outputs[0]);
      axes.insert(graph.nodes[db_node].inputs[1]);
    }
    // In the slot of the last node it replaces; the order is made topological again below.
    size_t slot = w_node;
    dead[w_node] = true;
    for (int n : {dx_node, db_node})
      if (n >= 0) {
        dead[n] = true;
        slot = std::max(slot, static_cast<size_t>(n));
      }
    dead[slot] = false;
    graph.nodes[slot] = std::move(linear);
    ++fused;
  }
  if (!fused) return 0;
  remove_nodes(graph, dead);
  std::erase_if(graph.value_infos, [&](const ValueInfo& v) { return gone.count(v.name) > 0; });
  // The axes initializers (split_forward_backward made the builders' Constants initializers)
  // that no node reads any more.
  const GraphIndex after(graph);
  for (const std::string& a : axes)
    if (after.uses(a).empty() && !after.escapes(a)) graph.initializers.erase(a);
  // A reader of dX placed between the replaced nodes would now come before its producer.
  Result<std::vector<size_t>> order = topological_order(graph, free_variables(graph));
  if (order.is_ok()) {
    std::vector<Node> sorted;
    sorted.reserve(graph.nodes.size());
    for (size_t n : *order) sorted.push_back(std::move(graph.nodes[n]));
    graph.nodes = std::move(sorted);
  }
  return fused;
}

}  // namespace tessera
