#include "framework/partitioner.h"

namespace tessera {

namespace {

Status no_provider_error(const Node& node, const Model& model, const std::vector<const ExecutionProvider*>& providers) {
  std::string domain = node.domain.empty() ? "ai.onnx" : node.domain;
  int64_t opset = model.opset_version(node.domain);
  if (opset == 0)
    return invalid_model(node.describe(), ": domain '", domain, "' is not imported by the model (no opset_import entry)");
  for (const auto* p : providers)
    if (p->kernels().knows_op(node.domain, node.op_type))
      return not_implemented(node.describe(), ": operator ", node.op_type, " of domain ", domain, " is supported, but not at opset ",
                             opset, " (the model's import)");
  return not_implemented(node.describe(), ": operator ", node.op_type, " of domain ", domain, " opset ", opset,
                         " is not supported by Tessera");
}

}  // namespace

Result<std::vector<const ExecutionProvider*>> partition(const Graph& graph, const Model& model,
                                                        const std::vector<const ExecutionProvider*>& providers) {
  std::vector<const ExecutionProvider*> assigned(graph.nodes.size(), nullptr);
  for (const auto* provider : providers)
    for (size_t i : provider->get_capability(graph, model))
      if (i < assigned.size() && !assigned[i]) assigned[i] = provider;
  for (size_t i = 0; i < assigned.size(); ++i)
    if (!assigned[i]) return no_provider_error(graph.nodes[i], model, providers);
  return assigned;
}

}  // namespace tessera
