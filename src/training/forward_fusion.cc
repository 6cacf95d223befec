#include "training/forward_fusion.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "optimizer/graph_edit.h"

namespace tessera {
namespace {

// The activations FusedGemm applies (its `activation` attribute) whose gradients read only
// their output.
bool fusable_activation(const Node& node) {
  if (!node.domain.empty() || node.inputs.size() != 1 || node.outputs.size() != 1) return false;
  return node.op_type == "Relu" || node.op_type == "Tanh" || node.op_type == "Sigmoid";
}

}  // namespace

int fuse_forward_activations(Graph& graph, const ValueTypes& types) {
  std::map<std::string, std::vector<size_t>> readers;
  for (size_t i = 0; i < graph.nodes.size(); ++i)
    for (const std::string& in : graph.nodes[i].inputs)
      if (!in.empty()) readers[in].push_back(i);
  std::set<std::string> outputs;
  for (const ValueInfo& v : graph.outputs) outputs.insert(v.name);

  std::vector<bool> dead(graph.nodes.size(), false);
  std::set<std::string> gone;  // Gemm outputs no longer produced
  int fused = 0;
  for (Node& gemm : graph.nodes) {
    if (gemm.op_type != "Gemm" || !gemm.domain.empty() || gemm.outputs.size() != 1) continue;
    const std::string& y = gemm.outputs[0];
    auto it = readers.find(y);
    if (outputs.count(y) || it == readers.end() || it->second.size() != 1) continue;
    const auto type = types.find(y);
    if (type == types.end() || !(kFloatTypes & type_bit(type->second.elem_type))) continue;
    const size_t a = it->second[0];
    const Node& act = graph.nodes[a];
    if (dead[a] || !fusable_activation(act)) continue;
    gemm.op_type = "FusedGemm";
    gemm.domain = kFusedGemmDomain;
    gemm.attributes["activation"] = string_attr("activation", act.op_type);
    gone.insert(y);
    gemm.outputs[0] = act.outputs[0];
    dead[a] = true;
    ++fused;
  }
  if (!fused) return 0;
  remove_nodes(graph, dead);
  std::erase_if(graph.value_infos, [&](const ValueInfo& v) { return gone.count(v.name) > 0; });
  return fused;
}

}  // namespace tessera
