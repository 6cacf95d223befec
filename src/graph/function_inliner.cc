#include "graph/function_inliner.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <unordered_map>
#include <utility>

namespace tessera {

namespace {

const Function* find_function(const Model& model, const Node& node) {
  for (const auto& f : model.functions)
    if (f.name == node.op_type && f.domain == node.domain) return &f;
  return nullptr;
}

// The attributes of a body node with references (ref_attr_name) resolved against the call.
Result<std::map<std::string, Attribute>> bind_attributes(const Node& body_node, const Node& call, const Function& f) {
  std::map<std::string, Attribute> bound;
  for (const auto& [name, attr] : body_node.attributes) {
    if (attr.ref_attr_name.empty()) {
      bound[name] = attr;
      continue;
    }
    const Attribute* source = call.attribute(attr.ref_attr_name);
    if (!source) {
      auto it = f.attribute_defaults.find(attr.ref_attr_name);
      if (it == f.attribute_defaults.end()) continue;  // unset optional attribute: omit it
      source = &it->second;
    }
    Attribute copy = *source;
    copy.name = name;
    copy.ref_attr_name.clear();
    bound[name] = std::move(copy);
  }
  return bound;
}

// Counts the nodes a graph has once every function call in it is expanded, saturating just above
// `limit` so that an exponential fan-out is measured without being built.
class ExpandedSize {
 public:
  ExpandedSize(const Model& model, size_t limit, int max_depth) : model_(model), limit_(limit), max_depth_(max_depth) {}

  size_t of_graph(const Graph& graph, int depth) {
    size_t total = 0;
    for (const Node& node : graph.nodes) {
      total = add(total, of_node(node, depth));
      if (total > limit_) break;
    }
    return total;
  }

 private:
  size_t add(size_t a, size_t b) const { return std::min(limit_ + 1, a + b); }

  size_t of_node(const Node& node, int depth) {
    size_t total = 0;
    for (const auto& [name, attr] : node.attributes) {
      if (attr.g) total = add(total, of_graph(*attr.g, depth));
      for (const auto& g : attr.graphs) total = add(total, of_graph(*g, depth));
    }
    const Function* f = find_function(model_, node);
    if (!f) return add(total, 1);
    if (depth >= max_depth_) return add(total, 1);  // recursion: expand() reports it
    auto key = std::make_pair(f->domain, f->name);
    auto it = memo_.find(key);
    if (it == memo_.end()) {
      size_t body = 0;
      for (const Node& body_node : f->nodes) {
        body = add(body, of_node(body_node, depth + 1));
        if (body > limit_) break;
      }
      it = memo_.emplace(key, body).first;
    }
    return add(total, it->second);
  }

  const Model& model_;
  size_t limit_;
  int max_depth_;
  std::map<std::pair<std::string, std::string>, size_t> memo_;
};

class Inliner {
 public:
  Inliner(const Model& model, int max_depth) : model_(model), max_depth_(max_depth) {}

  Status inline_graph(Graph& graph, int depth) {
    std::vector<Node> result;
    for (auto& node : graph.nodes) {
      for (auto& [name, attr] : node.attributes) {
        if (attr.g) TS_RETURN_IF_ERROR(inline_graph(*attr.g, depth));
        for (auto& g : attr.graphs) TS_RETURN_IF_ERROR(inline_graph(*g, depth));
      }
      const Function* f = find_function(model_, node);
      if (!f) {
        result.push_back(std::move(node));
        continue;
      }
      TS_RETURN_IF_ERROR(expand(node, *f, result, depth));
    }
    graph.nodes = std::move(result);
    return Status::ok();
  }

 private:
  Status expand(const Node& call, const Function& f, std::vector<Node>& out, int depth) {
    if (depth >= max_depth_)
      return invalid_model(call.describe(), ": function '", f.name, "' calls functions nested deeper than the limit max_nesting_depth = ",
                           max_depth_, " (recursion?); raise SessionOptions::limits.max_nesting_depth");
    // Formal names map to the call's actual names; every other name gets a unique prefix.
    std::unordered_map<std::string, std::string> rename;
    for (size_t i = 0; i < f.inputs.size(); ++i) rename[f.inputs[i]] = i < call.inputs.size() ? call.inputs[i] : "";
    for (size_t i = 0; i < f.outputs.size(); ++i) rename[f.outputs[i]] = i < call.outputs.size() ? call.outputs[i] : "";
    std::string prefix = call.name + "/" + std::to_string(counter_++) + "/";
    auto map_name = [&](const std::string& name) -> std::string {
      if (name.empty()) return name;
      auto it = rename.find(name);
      return it != rename.end() ? it->second : prefix + name;
    };

    Graph body;
    for (const Node& body_node : f.nodes) {
      Node node = body_node;
      node.name = prefix + (body_node.name.empty() ? body_node.op_type : body_node.name);
      for (auto& in : node.inputs) in = map_name(in);
      for (auto& o : node.outputs) o = map_name(o);
      TS_ASSIGN_OR_RETURN(node.attributes, bind_attributes(body_node, call, f));
      body.nodes.push_back(std::move(node));
    }
    TS_RETURN_IF_ERROR(inline_graph(body, depth + 1));
    for (auto& node : body.nodes) out.push_back(std::move(node));
    return Status::ok();
  }

  const Model& model_;
  int max_depth_;
  int counter_ = 0;
};

}  // namespace

Status inline_model_functions(Model& model, const ResourceLimits& limits) {
  const size_t max_nodes = static_cast<size_t>(std::min<uint64_t>(limits.max_nodes, SIZE_MAX / 2));
  // Counted with or without functions: the limit is on the graph the session would run.
  size_t expanded = ExpandedSize(model, max_nodes, limits.max_nesting_depth).of_graph(model.graph, 0);
  if (expanded > max_nodes)
    return invalid_model("the model has more than ", max_nodes, " nodes", model.functions.empty() ? "" : " once its functions are inlined",
                         " (subgraphs included), over the limit max_nodes = ", max_nodes,
                         "; raise SessionOptions::limits.max_nodes");
  if (model.functions.empty()) return Status::ok();
  Inliner inliner(model, limits.max_nesting_depth);
  return inliner.inline_graph(model.graph, 0);
}

}  // namespace tessera
