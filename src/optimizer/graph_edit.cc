#include "optimizer/graph_edit.h"

#include <unordered_set>

namespace tessera {

GraphIndex::GraphIndex(const Graph& graph, bool subgraph) : subgraph_(subgraph) {
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

GraphIndex::GraphIndex(const Graph& graph, const TransformContext& ctx) : GraphIndex(graph, ctx.is_subgraph(graph)) {
  types_ = ctx.types_of(graph);
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

std::optional<TypeInfo> known_type(const Graph& graph, const GraphIndex& index, const std::string& value) {
  if (value.empty()) return std::nullopt;
  if (const Tensor* t = constant_value(graph, index, value)) {
    TypeInfo type;
    type.kind = TypeInfo::Kind::tensor;
    type.elem_type = t->dtype();
    std::vector<Dim> dims;
    for (int64_t d : t->shape()) dims.push_back(Dim{d, ""});
    type.shape = std::move(dims);
    return type;
  }
  if (const ValueTypes* types = index.types()) {
    auto it = types->find(value);
    if (it != types->end() && it->second.kind == TypeInfo::Kind::tensor && it->second.elem_type != DataType::undefined)
      return it->second;
  }
  for (const ValueInfo& v : graph.inputs) {
    if (v.name != value || v.type.kind != TypeInfo::Kind::tensor) continue;
    TypeInfo type = v.type;
    if (index.is_subgraph()) type.shape.reset();
    return type;
  }
  for (const auto* list : {&graph.outputs, &graph.value_infos})
    for (const ValueInfo& v : *list)
      if (v.name == value && v.type.kind == TypeInfo::Kind::tensor) return v.type;
  return std::nullopt;
}

DataType known_elem_type(const Graph& graph, const GraphIndex& index, const std::string& value) {
  std::optional<TypeInfo> type = known_type(graph, index, value);
  return type ? type->elem_type : DataType::undefined;
}

std::optional<Shape> known_static_shape(const Graph& graph, const GraphIndex& index, const std::string& value) {
  std::optional<TypeInfo> type = known_type(graph, index, value);
  return type ? type->static_shape() : std::nullopt;
}

std::optional<std::vector<int64_t>> int_values(const Tensor* t) {
  if (!t) return std::nullopt;
  if (t->dtype() == DataType::int64) return std::vector<int64_t>(t->data<int64_t>(), t->data<int64_t>() + t->size());
  if (t->dtype() == DataType::int32) return std::vector<int64_t>(t->data<int32_t>(), t->data<int32_t>() + t->size());
  return std::nullopt;
}

Tensor int64_vector(const std::vector<int64_t>& values) {
  Result<Tensor> t = Tensor::from_vector<int64_t>(DataType::int64, {static_cast<int64_t>(values.size())}, values);
  return t.is_ok() ? std::move(t).value() : Tensor();
}

int bypass_nodes(Graph& graph, const std::vector<Bypass>& bypasses) {
  if (bypasses.empty()) return 0;
  // `to` may itself be the output of a node removed here: follow the replacements to the end.
  std::unordered_map<std::string, std::string> replaced;
  auto resolve = [&](std::string v) {
    for (auto it = replaced.find(v); it != replaced.end(); it = replaced.find(v)) v = it->second;
    return v;
  };
  int removed = 0;
  std::vector<Bypass> renames;
  {
    // Values read only by explicit inputs of this graph: their readers are rewired in one sweep.
    const GraphIndex index(graph);
    std::vector<bool> dead(graph.nodes.size(), false);
    // A node goes in this sweep when none of its bypassed outputs escapes; a node with one
    // escaping output waits for the renaming below; one with several stays.
    std::unordered_map<size_t, std::vector<const Bypass*>> per_node;
    for (const Bypass& b : bypasses) per_node[b.node].push_back(&b);
    for (const Bypass& b : bypasses) {
      if (dead[b.node]) continue;
      const std::vector<const Bypass*>& mine = per_node[b.node];
      if (&b != mine.front()) continue;
      bool escaping = false;
      for (const Bypass* m : mine) escaping = escaping || index.escapes(m->from);
      if (escaping) {
        if (mine.size() == 1) renames.push_back(b);
        continue;
      }
      for (const Bypass* m : mine) replaced[m->from] = resolve(m->to);
      dead[b.node] = true;
      ++removed;
    }
    if (removed) {
      for (Node& node : graph.nodes)
        for (std::string& in : node.inputs)
          if (!in.empty()) in = resolve(in);
      remove_nodes(graph, dead);
    }
  }
  // Names that must stay: one at a time, each on a fresh index.
  for (const Bypass& b : renames) {
    const GraphIndex index(graph);
    const int self = index.producer(b.from);
    const std::string to = resolve(b.to);
    const int source = index.producer(to);
    if (self < 0 || source < 0 || source == self || index.escapes(to) || graph.is_initializer(to)) continue;
    bool is_input = false;
    for (const ValueInfo& in : graph.inputs) is_input = is_input || in.name == to;
    if (is_input) continue;
    for (std::string& out : graph.nodes[static_cast<size_t>(source)].outputs)
      if (out == to) out = b.from;
    for (Node& node : graph.nodes)
      for (std::string& in : node.inputs)
        if (in == to) in = b.from;
    std::erase_if(graph.value_infos, [&](const ValueInfo& v) { return v.name == to; });
    replaced[to] = b.from;
    std::vector<bool> dead(graph.nodes.size(), false);
    dead[static_cast<size_t>(self)] = true;
    remove_nodes(graph, dead);
    ++removed;
  }
  return removed;
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
