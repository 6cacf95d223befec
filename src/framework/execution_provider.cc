#include "framework/execution_provider.h"

namespace tessera {

const char* decline_reason_name(DeclineReason reason) {
  switch (reason) {
    case DeclineReason::op: return "op not supported";
    case DeclineReason::opset: return "opset not supported";
    case DeclineReason::dtype: return "dtype not supported";
    case DeclineReason::attribute: return "attribute not supported";
    case DeclineReason::shape: return "shape not supported";
  }
  return "declined";
}

Capability ExecutionProvider::get_capability(const Graph& graph, const Model& model, const ValueTypes&) const {
  Capability capability;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& node = graph.nodes[i];
    const int64_t opset = model.opset_version(node.domain);
    if (kernels().find(node.domain, node.op_type, opset))
      capability.claimed.push_back(i);
    else if (kernels().knows_op(node.domain, node.op_type))
      capability.declined.push_back({i, DeclineReason::opset, str_cat(node.op_type, " has no kernel at opset ", opset)});
    else
      capability.declined.push_back({i, DeclineReason::op, str_cat(node.qualified_op_type(), " has no kernel")});
  }
  return capability;
}

Result<std::unique_ptr<OpKernel>> ExecutionProvider::create_kernel(const KernelInfo& info) const {
  const Node& node = info.node();
  const KernelDef* def = kernels().find(node.domain, node.op_type, info.opset());
  if (!def)
    return not_implemented(node.describe(), ": ", name(), " took the node but has no kernel for ", node.op_type, " at opset ",
                           info.opset());
  return def->factory(info);
}

}  // namespace tessera
