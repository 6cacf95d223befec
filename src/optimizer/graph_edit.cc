#include "optimizer/graph_edit.h"

#include <unordered_set>

namespace tessera {

GraphIndex::GraphIndex(const Graph& graph) {
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    for (const std::string& out : node.outputs)
      if (!out.empty()) producer_[out] = n;
    for (size_t i = 0; i < node.inputs.size(); ++i)
      if (!node.inputs[i].empty()) uses_[node.inputs[i]].push_back({n, i});
    for (const std::string& captured : node_implicit_inputs(node)) escaping_[captured] = true;
  }
  for (const ValueInfo& out : graph.outputs) escaping_[out.name] = true;
}

int GraphIndex::producer(const std::string& value) const {
  auto it = producer_.find(value);
  return it == producer_.end() ? -1 : static_cast<int>(it->second);
}

const std::vector<GraphIndex::Use>& GraphIndex::uses(const std::string& value) const {
  static const std::vector<Use> none;
  auto it = uses_.find(value);
  return it == uses_.end() ? none : it->second;
}

const Tensor* constant_value(const Graph& graph, const GraphIndex& index, const std::string& value) {
  if (value.empty()) return nullptr;
  auto init = graph.initializers.find(value);
  if (init != graph.initializers.end()) {
    for (const ValueInfo& in : graph.inputs)
      if (in.name == value) return nullptr;  // a feed may replace it
    return &init->second;
  }
  const int p = index.producer(value);
  if (p < 0) return nullptr;
  const Node& node = graph.nodes[static_cast<size_t>(p)];
  if (node.op_type != "Constant" || !node.domain.empty()) return nullptr;
  const Attribute* attr = node.attribute("value");
  return attr && attr->type == Attribute::Type::tensor_ && attr->t.defined() ? &attr->t : nullptr;
}

std::optional<float> scalar_constant(const Graph& graph, const GraphIndex& index, const std::string& value) {
  const Tensor* t = constant_value(graph, index, value);
  if (!t || t->dtype() != DataType::float32 || t->size() != 1) return std::nullopt;
  return t->data<float>()[0];
}

void remove_nodes(Graph& graph, const std::vector<bool>& dead) {
  std::vector<Node> kept;
  kept.reserve(graph.nodes.size());
  for (size_t n = 0; n < graph.nodes.size(); ++n)
    if (!dead[n]) kept.push_back(std::move(graph.nodes[n]));
  graph.nodes = std::move(kept);
}

namespace {

void collect_names(const Graph& graph, std::unordered_set<std::string>& names) {
  for (const ValueInfo& v : graph.inputs) names.insert(v.name);
  for (const ValueInfo& v : graph.outputs) names.insert(v.name);
  for (const auto& [name, t] : graph.initializers) names.insert(name);
  for (const Node& node : graph.nodes) {
    for (const std::string& v : node.inputs) names.insert(v);
    for (const std::string& v : node.outputs) names.insert(v);
    for (const auto& [attr_name, attr] : node.attributes) {
      if (attr.g) collect_names(*attr.g, names);
      for (const auto& g : attr.graphs) collect_names(*g, names);
    }
  }
}

}  // namespace

std::string unique_value_name(const Graph& graph, const std::string& base) {
  std::unordered_set<std::string> names;
  collect_names(graph, names);
  if (!names.count(base)) return base;
  for (int k = 1;; ++k) {
    std::string candidate = base + "_" + std::to_string(k);
    if (!names.count(candidate)) return candidate;
  }
}

}  // namespace tessera
