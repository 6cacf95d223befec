// Conv followed by an activation becomes one com.tessera FusedConv: the activation is applied
// while the convolution's output is still in cache (Relu and Clip as the GEMM's clamp).
//   y = Conv(x, w, b); z = Act(y)   ->   z = FusedConv(x, w, b) {activation, activation_params}
// Only when y has no other reader. Clip needs constant bounds.
#include <cmath>
#include <optional>

#include "optimizer/graph_edit.h"
#include "optimizer/optimizer.h"
#include "optimizer/transformers.h"

namespace tessera {
namespace {

struct FusedActivation {
  std::string name;
  std::vector<float> params;
};

float float_attr(const Node& node, const char* name, float dflt) {
  const Attribute* a = node.attribute(name);
  return a && a->type == Attribute::Type::float_ ? a->f : dflt;
}

// The activation `act` computes, in FusedConv's terms, or nullopt when it cannot be fused.
std::optional<FusedActivation> activation_of(const Node& act, const Graph& graph, const GraphIndex& index, int64_t opset) {
  if (!act.domain.empty() || act.inputs.empty() || act.outputs.size() != 1) return std::nullopt;
  const std::string& op = act.op_type;
  if (op == "Relu" || op == "Sigmoid" || op == "Tanh") return FusedActivation{op, {}};
  if (op == "LeakyRelu") return FusedActivation{op, {float_attr(act, "alpha", 0.01f)}};
  if (op == "HardSigmoid") return FusedActivation{op, {float_attr(act, "alpha", 0.2f), float_attr(act, "beta", 0.5f)}};
  if (op == "Clip") {
    if (opset < 11) return FusedActivation{op, {float_attr(act, "min", -INFINITY), float_attr(act, "max", INFINITY)}};
    float bounds[2] = {-INFINITY, INFINITY};
    for (size_t i = 1; i < act.inputs.size() && i < 3; ++i) {
      if (act.inputs[i].empty()) continue;
      std::optional<float> v = scalar_constant(graph, index, act.inputs[i]);
      if (!v) return std::nullopt;
      bounds[i - 1] = *v;
    }
    return FusedActivation{op, {bounds[0], bounds[1]}};
  }
  return std::nullopt;
}

class ConvActivationFusion final : public GraphTransformer {
 public:
  std::string_view name() const override { return "conv_activation_fusion"; }

  Result<int> apply(Graph& graph, const TransformContext& ctx) const override {
    const GraphIndex index(graph);
    const int64_t opset = ctx.model->opset_version("");
    std::vector<bool> dead(graph.nodes.size(), false);
    int fused = 0;
    for (size_t c = 0; c < graph.nodes.size(); ++c) {
      Node& conv = graph.nodes[c];
      if (conv.op_type != "Conv" || !conv.domain.empty() || conv.outputs.size() != 1 || conv.inputs.size() < 2) continue;
      if (!index.has_single_use(conv.outputs[0])) continue;
      const GraphIndex::Use use = index.uses(conv.outputs[0])[0];
      const Node& act = graph.nodes[use.node];
      if (use.input != 0 || dead[use.node]) continue;
      std::optional<FusedActivation> fused_act = activation_of(act, graph, index, opset);
      if (!fused_act) continue;
      conv.op_type = "FusedConv";
      conv.domain = kTesseraDomain;
      Attribute name_attr;
      name_attr.name = "activation";
      name_attr.type = Attribute::Type::string_;
      name_attr.s = fused_act->name;
      conv.attributes["activation"] = name_attr;
      if (!fused_act->params.empty()) {
        Attribute params;
        params.name = "activation_params";
        params.type = Attribute::Type::floats_;
        params.floats = fused_act->params;
        conv.attributes["activation_params"] = params;
      }
      conv.outputs[0] = act.outputs[0];
      dead[use.node] = true;
      ++fused;
    }
    if (fused) remove_nodes(graph, dead);
    return fused;
  }
};

}  // namespace

std::unique_ptr<GraphTransformer> make_conv_activation_fusion() { return std::make_unique<ConvActivationFusion>(); }

}  // namespace tessera
