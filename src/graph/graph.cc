#include "graph/graph.h"

#include <set>
#include <unordered_map>
#include <unordered_set>

namespace tessera {

std::optional<Shape> TypeInfo::static_shape() const {
  if (!shape) return std::nullopt;
  Shape out;
  for (const Dim& d : *shape) {
    if (!d.is_fixed()) return std::nullopt;
    out.push_back(d.value);
  }
  return out;
}

std::string TypeInfo::to_string() const {
  switch (kind) {
    case Kind::tensor:
    case Kind::sparse_tensor: {
      std::string s = kind == Kind::tensor ? "tensor(" : "sparse_tensor(";
      s += std::string(dtype_name(elem_type)) + ")";
      if (shape) {
        s += "[";
        for (size_t i = 0; i < shape->size(); ++i) {
          if (i) s += ",";
          const Dim& d = (*shape)[i];
          s += d.is_fixed() ? std::to_string(d.value) : (d.param.empty() ? "?" : d.param);
        }
        s += "]";
      }
      return s;
    }
    case Kind::sequence: return "seq(" + (inner ? inner->to_string() : "?") + ")";
    case Kind::optional: return "optional(" + (inner ? inner->to_string() : "?") + ")";
    case Kind::map:
      return "map(" + std::string(dtype_name(elem_type)) + "," + (inner ? inner->to_string() : "?") + ")";
    case Kind::unknown: break;
  }
  return "unknown";
}

const Attribute* Node::attribute(const std::string& attr_name) const {
  auto it = attributes.find(attr_name);
  return it == attributes.end() ? nullptr : &it->second;
}

std::string Node::qualified_op_type() const { return domain.empty() ? op_type : domain + "." + op_type; }

std::string Node::describe() const { return "node '" + name + "' (" + qualified_op_type() + ")"; }

std::vector<const ValueInfo*> Graph::feed_inputs() const {
  std::vector<const ValueInfo*> result;
  for (const auto& input : inputs)
    if (!is_initializer(input.name)) result.push_back(&input);
  return result;
}

std::map<std::string, size_t> count_ops(const Graph& graph) {
  std::map<std::string, size_t> counts;
  auto count = [&counts](const Graph& g, auto& self) -> void {
    for (const Node& node : g.nodes) {
      ++counts[node.qualified_op_type()];
      for (const auto& [name, attr] : node.attributes) {
        if (attr.g) self(*attr.g, self);
        for (const auto& sub : attr.graphs) self(*sub, self);
      }
    }
  };
  count(graph, count);
  return counts;
}

int64_t Model::opset_version(const std::string& domain) const {
  auto it = opset_imports.find(domain);
  return it == opset_imports.end() ? 0 : it->second;
}

Result<std::vector<size_t>> topological_order(const Graph& graph, const std::vector<std::string>& outer_scope,
                                              const std::vector<std::vector<std::string>>& implicit_inputs) {
  std::unordered_set<std::string> available(outer_scope.begin(), outer_scope.end());
  for (const auto& input : graph.inputs) available.insert(input.name);
  for (const auto& [name, tensor] : graph.initializers) available.insert(name);

  std::unordered_map<std::string, size_t> producer;
  for (size_t i = 0; i < graph.nodes.size(); ++i)
    for (const auto& out : graph.nodes[i].outputs)
      if (!out.empty()) producer[out] = i;

  // Kahn's algorithm, keeping the file order among ready nodes so results are stable.
  std::vector<int> pending(graph.nodes.size(), 0);
  std::unordered_map<std::string, std::vector<size_t>> consumers;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    std::set<std::string> seen;
    std::vector<std::string> all_inputs = graph.nodes[i].inputs;
    if (i < implicit_inputs.size())
      all_inputs.insert(all_inputs.end(), implicit_inputs[i].begin(), implicit_inputs[i].end());
    for (const auto& in : all_inputs) {
      if (in.empty() || available.count(in) || !seen.insert(in).second) continue;
      if (!producer.count(in))
        return invalid_model(graph.nodes[i].describe(), ": input '", in,
                             "' is not a graph input, an initializer, or the output of any node");
      ++pending[i];
      consumers[in].push_back(i);
    }
  }
  std::set<size_t> ready;
  for (size_t i = 0; i < graph.nodes.size(); ++i)
    if (pending[i] == 0) ready.insert(i);
  std::vector<size_t> order;
  while (!ready.empty()) {
    size_t i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(i);
    for (const auto& out : graph.nodes[i].outputs) {
      auto it = consumers.find(out);
      if (it == consumers.end()) continue;
      for (size_t c : it->second)
        if (--pending[c] == 0) ready.insert(c);
    }
  }
  if (order.size() != graph.nodes.size()) {
    for (size_t i = 0; i < graph.nodes.size(); ++i)
      if (pending[i] > 0) return invalid_model("graph '", graph.name, "' has a cycle through ", graph.nodes[i].describe());
  }
  return order;
}

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

}  // namespace

std::vector<std::string> node_implicit_inputs(const Node& node) {
  std::set<std::string> names;
  for (const auto& [attr_name, attr] : node.attributes) {
    if (attr.g) add_graph_free_variables(*attr.g, names);
    for (const auto& g : attr.graphs) add_graph_free_variables(*g, names);
  }
  return {names.begin(), names.end()};
}

std::vector<std::string> free_variables(const Graph& graph) {
  std::set<std::string> names;
  add_graph_free_variables(graph, names);
  return {names.begin(), names.end()};
}

namespace {

Attribute named(const std::string& name, Attribute::Type type) {
  Attribute a;
  a.name = name;
  a.type = type;
  return a;
}

}  // namespace

Attribute int_attr(const std::string& name, int64_t value) {
  Attribute a = named(name, Attribute::Type::int_);
  a.i = value;
  return a;
}
Attribute float_attr(const std::string& name, float value) {
  Attribute a = named(name, Attribute::Type::float_);
  a.f = value;
  return a;
}
Attribute string_attr(const std::string& name, std::string value) {
  Attribute a = named(name, Attribute::Type::string_);
  a.s = std::move(value);
  return a;
}
Attribute ints_attr(const std::string& name, std::vector<int64_t> values) {
  Attribute a = named(name, Attribute::Type::ints_);
  a.ints = std::move(values);
  return a;
}
Attribute floats_attr(const std::string& name, std::vector<float> values) {
  Attribute a = named(name, Attribute::Type::floats_);
  a.floats = std::move(values);
  return a;
}
Attribute strings_attr(const std::string& name, std::vector<std::string> values) {
  Attribute a = named(name, Attribute::Type::strings_);
  a.strings = std::move(values);
  return a;
}
Attribute tensor_attr(const std::string& name, Tensor value) {
  Attribute a = named(name, Attribute::Type::tensor_);
  a.t = std::move(value);
  return a;
}

}  // namespace tessera
