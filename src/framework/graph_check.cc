#include "framework/graph_check.h"

#include <map>
#include <set>
#include <unordered_set>

#include "graph/op_schema.h"

namespace tessera {

namespace {

void add_graph_free_variables(const Graph& graph, std::set<std::string>& out) {
  std::unordered_set<std::string> defined;
  for (const auto& in : graph.inputs) defined.insert(in.name);
  for (const auto& [name, t] : graph.initializers) defined.insert(name);
  for (const auto& node : graph.nodes)
    for (const auto& o : node.outputs) defined.insert(o);
  std::set<std::string> used;
  for (const auto& node : graph.nodes) {
    for (const auto& in : node.inputs)
      if (!in.empty()) used.insert(in);
    for (const auto& [name, attr] : node.attributes) {
      if (attr.g) add_graph_free_variables(*attr.g, used);
      for (const auto& g : attr.graphs) add_graph_free_variables(*g, used);
    }
  }
  for (const auto& g : graph.outputs) used.insert(g.name);
  for (const auto& name : used)
    if (!defined.count(name)) out.insert(name);
}

// Free variables of the subgraphs attached to `node`: values the node reads implicitly.
std::vector<std::string> node_implicit_inputs(const Node& node) {
  std::set<std::string> names;
  for (const auto& [attr_name, attr] : node.attributes) {
    if (attr.g) add_graph_free_variables(*attr.g, names);
    for (const auto& g : attr.graphs) add_graph_free_variables(*g, names);
  }
  return {names.begin(), names.end()};
}

}  // namespace

std::vector<std::string> free_variables(const Graph& graph) {
  std::set<std::string> names;
  add_graph_free_variables(graph, names);
  return {names.begin(), names.end()};
}

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

  // Types known before any run, for checking nodes against their schemas' type constraints.
  std::map<std::string, TypeInfo> known_types;
  for (const auto& in : graph.inputs) known_types[in.name] = in.type;
  for (const auto& [name, tensor] : graph.initializers) {
    TypeInfo t;
    t.kind = TypeInfo::Kind::tensor;
    t.elem_type = tensor.dtype();
    known_types[name] = t;
  }
  for (size_t index : checked.order) {
    const Node& node = graph.nodes[index];
    TS_RETURN_IF_ERROR(check_node(node, model.opset_version(node.domain), known_types));
  }
  return checked;
}

}  // namespace tessera
