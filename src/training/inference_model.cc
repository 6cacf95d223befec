#include "training/inference_model.h"

#include <algorithm>
#include <set>

namespace tessera {
namespace {

bool is_training_batch_norm(const Node& n, const Model& model) {
  if (n.op_type != "BatchNormalization" || !n.domain.empty()) return false;
  if (model.opset_version("") >= 14) return n.attribute("training_mode") && n.attribute("training_mode")->i != 0;
  // Before opset 14 the running outputs alone mark training mode.
  return n.outputs.size() >= 3 && !n.outputs[1].empty();
}

}  // namespace

std::vector<BufferUpdate> running_statistics(const Graph& graph, const Model& model) {
  std::vector<BufferUpdate> updates;
  for (const Node& n : graph.nodes) {
    if (!is_training_batch_norm(n, model) || n.inputs.size() < 5) continue;
    for (size_t k = 1; k <= 2 && k < n.outputs.size(); ++k) {
      const std::string& stat = n.inputs[k + 2];
      if (!n.outputs[k].empty() && graph.initializers.count(stat)) updates.push_back({stat, n.outputs[k]});
    }
  }
  return updates;
}

void to_inference_mode(Graph& graph, const Model& model) {
  for (Node& n : graph.nodes) {
    if (is_training_batch_norm(n, model)) {
      n.attributes.erase("training_mode");
      n.outputs.resize(1);
    } else if (n.op_type == "Dropout" && n.domain.empty() && n.inputs.size() > 2) {
      n.inputs.resize(2);
    }
  }
}

Status keep_outputs_without(Model& model, const std::vector<std::string>& drop) {
  Graph& g = model.graph;
  std::erase_if(g.outputs, [&](const ValueInfo& v) { return std::count(drop.begin(), drop.end(), v.name) > 0; });
  if (g.outputs.empty()) return invalid_argument("model '", model.source, "': no output is left besides the loss");
  std::set<std::string> needed;
  for (const ValueInfo& v : g.outputs) needed.insert(v.name);
  TS_ASSIGN_OR_RETURN(std::vector<size_t> order, topological_order(g, {}));
  std::vector<bool> keep(g.nodes.size(), false);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const Node& n = g.nodes[*it];
    if (std::none_of(n.outputs.begin(), n.outputs.end(), [&](const std::string& o) { return needed.count(o) > 0; }))
      continue;
    keep[*it] = true;
    needed.insert(n.inputs.begin(), n.inputs.end());
    for (const std::string& v : node_implicit_inputs(n)) needed.insert(v);
  }
  std::vector<Node> kept;
  for (size_t k = 0; k < g.nodes.size(); ++k)
    if (keep[k]) kept.push_back(std::move(g.nodes[k]));
  g.nodes = std::move(kept);
  std::erase_if(g.inputs, [&](const ValueInfo& v) { return needed.count(v.name) == 0; });
  std::erase_if(g.initializers, [&](const auto& entry) { return needed.count(entry.first) == 0; });
  std::erase_if(g.value_infos, [&](const ValueInfo& v) { return needed.count(v.name) == 0; });
  return Status::ok();
}

}  // namespace tessera
