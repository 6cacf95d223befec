#include "training/gradient_op.h"

#include <set>

#include "training/gradient_graph.h"

namespace tessera {
namespace {

constexpr const char* kTrainingDomain = "ai.onnx.preview.training";

bool is_gradient(const Node& n) { return n.domain == kTrainingDomain && n.op_type == "Gradient"; }

bool has_gradient_in_subgraph(const Graph& g) {
  for (const Node& n : g.nodes)
    for (const auto& [name, a] : n.attributes) {
      if (a.g && (count_ops(*a.g).count(std::string(kTrainingDomain) + ".Gradient") > 0)) return true;
      for (const auto& sub : a.graphs)
        if (sub && count_ops(*sub).count(std::string(kTrainingDomain) + ".Gradient") > 0) return true;
    }
  return false;
}

}  // namespace

Status expand_gradient_ops(Model& model) {
  Graph& graph = model.graph;
  std::vector<Node> gradient_nodes;
  Graph rest = graph;  // the graph without its Gradient nodes: what they differentiate
  rest.nodes.clear();
  for (const Node& n : graph.nodes) (is_gradient(n) ? gradient_nodes : rest.nodes).push_back(n);
  if (has_gradient_in_subgraph(graph))
    return not_implemented("model '", model.source, "': a Gradient node inside a subgraph is not supported");
  if (gradient_nodes.empty()) return Status::ok();
  std::set<std::string> gradient_outputs;
  for (const Node& n : gradient_nodes) gradient_outputs.insert(n.outputs.begin(), n.outputs.end());
  std::erase_if(rest.outputs, [&](const ValueInfo& v) { return gradient_outputs.count(v.name) > 0; });
  std::erase_if(rest.value_infos, [&](const ValueInfo& v) { return gradient_outputs.count(v.name) > 0; });

  for (size_t k = 0; k < gradient_nodes.size(); ++k) {
    const Node& g = gradient_nodes[k];
    auto fail = [&](const Status& s) { return s.with_context("model '" + model.source + "': " + g.describe()); };
    const Attribute* xs = g.attribute("xs");
    const Attribute* y = g.attribute("y");
    const Attribute* zs = g.attribute("zs");
    if (!xs || !y || xs->strings.empty() || y->s.empty()) return fail(invalid_model("needs the attributes xs and y"));
    const size_t nz = zs ? zs->strings.size() : 0;
    if (g.inputs.size() != xs->strings.size() + nz || g.outputs.size() != xs->strings.size())
      return fail(invalid_model("expects one input per name in xs and zs and one output per x, got ", g.inputs.size(),
                                " inputs and ", g.outputs.size(), " outputs"));
    for (size_t i = 0; i < g.inputs.size(); ++i) {
      const std::string& declared = i < xs->strings.size() ? xs->strings[i] : zs->strings[i - xs->strings.size()];
      if (g.inputs[i] != declared)
        return fail(not_implemented("input ", i, " is '", g.inputs[i], "' but differentiates '", declared,
                                    "': inputs must be the xs and zs values themselves"));
    }
    GradientRequest request;
    request.ys = {y->s};
    request.y_grads = {""};
    request.xs = xs->strings;
    request.prefix = (g.name.empty() ? "Gradient_" + std::to_string(k) : g.name) + "/grad";
    Result<GradientGraph> built = append_gradients(rest, model, request);
    if (!built.is_ok()) return fail(built.status());
    for (size_t i = 0; i < g.outputs.size(); ++i) {
      if (g.outputs[i].empty()) continue;
      Node copy;
      copy.name = request.prefix + "/output_" + std::to_string(i);
      copy.op_type = "Identity";
      copy.inputs = {built->x_grads[i]};
      copy.outputs = {g.outputs[i]};
      rest.nodes.push_back(std::move(copy));
    }
  }
  // Nodes that read a Gradient's outputs come after the backward nodes that now produce them.
  Result<std::vector<size_t>> order = topological_order(rest, {});
  if (!order.is_ok()) return order.status().with_context("model '" + model.source + "'");
  graph.nodes.clear();
  for (size_t idx : *order) graph.nodes.push_back(std::move(rest.nodes[idx]));
  return Status::ok();
}

}  // namespace tessera
