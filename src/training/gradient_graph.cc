#include "training/gradient_graph.h"

#include <algorithm>
#include <map>
#include <set>

#include "graph/shape_inference.h"

namespace tessera {
namespace {

// The gradients flowing into each value, summed once all its readers have contributed.
class Accumulator {
 public:
  void add(const std::string& value, std::string grad) { parts_[value].push_back(std::move(grad)); }
  bool has(const std::string& value) const { return parts_.count(value) > 0; }
  // The total gradient of `value` ("" when none flows into it).
  std::string total(const std::string& value, GraphWriter& writer) {
    auto it = parts_.find(value);
    if (it == parts_.end()) return "";
    if (it->second.size() > 1) it->second = {writer.add1("Sum", it->second)};
    return it->second[0];
  }

 private:
  std::map<std::string, std::vector<std::string>> parts_;
};

}  // namespace

Result<GradientGraph> append_gradients(Graph& graph, Model& model, const GradientRequest& request,
                                       const GradientRegistry& registry) {
  if (request.ys.empty() || request.y_grads.size() != request.ys.size())
    return invalid_argument("gradient request: needs ys and one y_grad (or \"\") per y");
  TS_ASSIGN_OR_RETURN(std::vector<size_t> order, topological_order(graph, {}));
  TS_ASSIGN_OR_RETURN(ValueTypes types, infer_types(graph, model, {}));
  GradientGraph result;
  result.first_backward_node = graph.nodes.size();

  // Values that depend on an x, in forward order; nodes some y depends on, walking back.
  std::set<std::string> from_x(request.xs.begin(), request.xs.end());
  for (size_t idx : order) {
    const Node& n = graph.nodes[idx];
    if (std::any_of(n.inputs.begin(), n.inputs.end(), [&](const std::string& in) { return from_x.count(in) > 0; }))
      from_x.insert(n.outputs.begin(), n.outputs.end());
  }
  std::set<std::string> to_y(request.ys.begin(), request.ys.end());
  std::vector<size_t> path;  // reverse topological order
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const Node& n = graph.nodes[*it];
    bool feeds_y = std::any_of(n.outputs.begin(), n.outputs.end(), [&](const std::string& o) { return to_y.count(o) > 0; });
    if (!feeds_y) continue;
    for (const std::string& in : n.inputs) to_y.insert(in);
    if (std::any_of(n.inputs.begin(), n.inputs.end(), [&](const std::string& in) { return from_x.count(in) > 0; }))
      path.push_back(*it);
  }

  GraphWriter writer(graph, request.prefix);
  Accumulator grads;
  for (size_t k = 0; k < request.ys.size(); ++k) {
    const std::string& y = request.ys[k];
    if (!types.count(y)) return invalid_argument("gradient request: '", y, "' is not a value of graph '", graph.name, "'");
    std::string seed = request.y_grads[k];
    if (seed.empty()) {
      Node none;
      none.name = y;
      none.op_type = "(seed)";
      std::vector<std::string> no_grads;
      GradientContext ctx(none, model, types, no_grads, {}, writer);
      TS_ASSIGN_OR_RETURN(seed, ctx.filled_like(y, 1.0));
    }
    grads.add(y, seed);
  }
  for (size_t idx : path) {
    const Node node = graph.nodes[idx];  // a copy: the writer appends to graph.nodes
    std::vector<std::string> output_grads;
    bool any = false;
    for (const std::string& o : node.outputs) {
      output_grads.push_back(o.empty() ? "" : grads.total(o, writer));
      any = any || !output_grads.back().empty();
    }
    if (!any) continue;
    std::vector<bool> wanted;
    for (const std::string& in : node.inputs) wanted.push_back(!in.empty() && from_x.count(in) > 0);
    const GradientEntry* entry = registry.find(node.domain, node.op_type);
    if (!entry) return not_implemented("no gradient builder for op ", node.qualified_op_type(), " (", node.describe(), ")");
    GradientContext ctx(node, model, types, std::move(output_grads), wanted, writer);
    TS_RETURN_IF_ERROR(entry->build(ctx));
    for (size_t i = 0; i < node.inputs.size(); ++i)
      if (wanted[i] && !ctx.input_grads()[i].empty()) grads.add(node.inputs[i], ctx.input_grads()[i]);
  }
  for (const std::string& x : request.xs) {
    std::string total = grads.total(x, writer);
    if (total.empty()) {
      Node none;
      none.name = x;
      none.op_type = "(zeros)";
      GradientContext ctx(none, model, types, {}, {}, writer);
      TS_ASSIGN_OR_RETURN(total, ctx.filled_like(x, 0.0));
    }
    result.x_grads.push_back(total);
  }

  for (size_t i = result.first_backward_node; i < graph.nodes.size(); ++i)
    if (graph.nodes[i].domain == kGradientKernelDomain) model.opset_imports.emplace(kGradientKernelDomain, kGradientKernelVersion);

  // Forward node outputs read by backward nodes: what the forward pass keeps for the backward.
  std::set<std::string> forward_outputs, saved;
  for (size_t i = 0; i < result.first_backward_node; ++i)
    forward_outputs.insert(graph.nodes[i].outputs.begin(), graph.nodes[i].outputs.end());
  for (size_t i = result.first_backward_node; i < graph.nodes.size(); ++i)
    for (const std::string& in : graph.nodes[i].inputs)
      if (forward_outputs.count(in) && saved.insert(in).second) result.saved.push_back(in);
  for (const std::string& g : result.x_grads)
    if (forward_outputs.count(g) && saved.insert(g).second) result.saved.push_back(g);  // dL/dx passed through as is
  return result;
}

Result<ForwardBackward> split_forward_backward(const Graph& graph, const Model& model, const GradientRequest& request,
                                               const GradientGraph& gradients) {
  TS_ASSIGN_OR_RETURN(ValueTypes types, infer_types(graph, model, {}));
  auto typed = [&](const std::string& name) {
    ValueInfo v;
    v.name = name;
    if (auto it = types.find(name); it != types.end()) v.type = it->second;
    return v;
  };
  ForwardBackward out;
  out.forward.name = graph.name + "_forward";
  out.forward.inputs = graph.inputs;
  out.forward.value_infos = graph.value_infos;
  out.forward.nodes.assign(graph.nodes.begin(), graph.nodes.begin() + static_cast<std::ptrdiff_t>(gradients.first_backward_node));
  std::set<std::string> produced_forward;
  for (const Node& n : out.forward.nodes) produced_forward.insert(n.outputs.begin(), n.outputs.end());
  for (const Node& n : out.forward.nodes)
    for (const std::string& in : n.inputs)
      if (auto it = graph.initializers.find(in); it != graph.initializers.end()) out.forward.initializers.insert(*it);
  out.forward.outputs = graph.outputs;
  for (const std::string& s : gradients.saved) out.forward.outputs.push_back(typed(s));

  out.backward.name = graph.name + "_backward";
  // The builders' Constant nodes (scalars, axes) become initializers: no node runs for them.
  const std::set<std::string> x_grads(gradients.x_grads.begin(), gradients.x_grads.end());
  for (size_t i = gradients.first_backward_node; i < graph.nodes.size(); ++i) {
    const Node& n = graph.nodes[i];
    const Attribute* value = n.op_type == "Constant" && n.domain.empty() ? n.attribute("value") : nullptr;
    if (value && value->type == Attribute::Type::tensor_ && n.outputs.size() == 1 && !x_grads.count(n.outputs[0]))
      out.backward.initializers[n.outputs[0]] = value->t;
    else
      out.backward.nodes.push_back(n);
  }
  std::set<std::string> declared;
  auto declare = [&](const std::string& name) {
    if (name.empty() || !declared.insert(name).second) return;
    if (auto it = graph.initializers.find(name); it != graph.initializers.end()) out.backward.initializers.insert(*it);
    else out.backward.inputs.push_back(typed(name));
  };
  for (const std::string& s : gradients.saved) declare(s);
  std::set<std::string> produced_backward;
  for (const Node& n : out.backward.nodes) produced_backward.insert(n.outputs.begin(), n.outputs.end());
  for (const Node& n : out.backward.nodes)
    for (const std::string& in : n.inputs)
      if (!produced_backward.count(in) && !produced_forward.count(in) && !out.backward.initializers.count(in)) declare(in);
  for (const std::string& g : request.y_grads) declare(g);
  for (const std::string& g : gradients.x_grads) {
    if (!produced_backward.count(g) && !produced_forward.count(g)) declare(g);  // dL/dx is a fed value itself
    out.backward.outputs.push_back(typed(g));
  }
  return out;
}

}  // namespace tessera
