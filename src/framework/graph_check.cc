#include "framework/graph_check.h"

#include <map>
#include <unordered_set>

#include "graph/op_schema.h"
#include "graph/shape_inference.h"

namespace tessera {

Result<CheckedGraph> check_graph(const Graph& graph, const Model& model, const std::vector<std::string>& outer_scope) {
  CheckedGraph checked;
  checked.implicit_inputs.resize(graph.nodes.size());
  for (size_t i = 0; i < graph.nodes.size(); ++i) checked.implicit_inputs[i] = node_implicit_inputs(graph.nodes[i]);
  TS_ASSIGN_OR_RETURN(checked.order, topological_order(graph, outer_scope, checked.implicit_inputs));

  std::unordered_set<std::string> outer(outer_scope.begin(), outer_scope.end());
  for (const auto& name : free_variables(graph)) {
    if (!outer.count(name)) return invalid_model("graph '", graph.name, "': value '", name, "' is used but never defined");
    checked.outer_names.push_back(name);
  }

  // Everything visible inside this graph is visible to its subgraphs.
  checked.inner_scope = outer_scope;
  for (const auto& in : graph.inputs) checked.inner_scope.push_back(in.name);
  for (const auto& [name, t] : graph.initializers) checked.inner_scope.push_back(name);
  for (const auto& node : graph.nodes)
    for (const auto& o : node.outputs)
      if (!o.empty()) checked.inner_scope.push_back(o);

  // The types of every value, inferred once; each node is checked against its schema with them.
  TS_ASSIGN_OR_RETURN(checked.types, infer_types(graph, model, {}));
  for (size_t index : checked.order) {
    const Node& node = graph.nodes[index];
    TS_RETURN_IF_ERROR(check_node(node, model.opset_version(node.domain), checked.types));
  }
  return checked;
}

}  // namespace tessera
