#include "framework/execution_provider.h"

namespace tessera {

std::vector<size_t> ExecutionProvider::get_capability(const Graph& graph, const Model& model) const {
  std::vector<size_t> taken;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& node = graph.nodes[i];
    if (kernels().find(node.domain, node.op_type, model.opset_version(node.domain))) taken.push_back(i);
  }
  return taken;
}

}  // namespace tessera
