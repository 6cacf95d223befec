// Conv followed by an activation becomes one com.tessera FusedConv: the activation is applied
// while the convolution's output is still in cache (Relu and Clip as the GEMM's clamp).
//   y = Conv(x, w, b); z = Act(y)   ->   z = FusedConv(x, w, b) {activation, activation_params}
// Only when y has no other reader. Clip needs constant bounds. A FusedConv that conv_add_fusion
// wrote (Conv + residual Z, no activation yet) takes the activation the same way. SiLU, which exporters write as
// y * Sigmoid(y) (EfficientNet), fuses as activation "Silu" when y feeds only those two nodes.
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
  if (op == "Relu" || op == "Sigmoid" || op == "Tanh" || op == "HardSwish") return FusedActivation{op, {}};
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

// y * Sigmoid(y) with y read only by the Sigmoid and the Mul: the Mul's index, or -1.
int silu_of(const std::string& y, const Graph& graph, const GraphIndex& index) {
  if (index.escapes(y) || index.uses(y).size() != 2) return -1;
  const auto& uses = index.uses(y);
  for (int k = 0; k < 2; ++k) {
    const Node& sigmoid = graph.nodes[uses[k].node];
    const Node& mul = graph.nodes[uses[1 - k].node];
    if (sigmoid.op_type != "Sigmoid" || !sigmoid.domain.empty() || sigmoid.outputs.size() != 1) continue;
    if (mul.op_type != "Mul" || !mul.domain.empty() || mul.inputs.size() != 2 || mul.outputs.size() != 1) continue;
    const std::string& s = sigmoid.outputs[0];
    const bool pair = (mul.inputs[0] == y && mul.inputs[1] == s) || (mul.inputs[0] == s && mul.inputs[1] == y);
    if (pair && index.has_single_use(s)) return static_cast<int>(uses[1 - k].node);
  }
  return -1;
}

class ConvActivationFusion final : public GraphTransformer {
 public:
  std::string_view name() const override { return "conv_activation_fusion"; }

  Result<int> apply(Graph& graph, const TransformContext& ctx) const override {
    const GraphIndex index(graph, ctx);
    const int64_t opset = ctx.model->opset_version("");
    std::vector<bool> dead(graph.nodes.size(), false);
    int fused = 0;
    for (size_t c = 0; c < graph.nodes.size(); ++c) {
      Node& conv = graph.nodes[c];
      // A plain Conv, or a FusedConv from conv_add_fusion that has no activation yet.
      const bool plain = conv.op_type == "Conv" && conv.domain.empty();
      const bool residual = conv.op_type == "FusedConv" && conv.domain == kTesseraDomain && !conv.attribute("activation");
      if ((!plain && !residual) || conv.outputs.size() != 1 || conv.inputs.size() < 2) continue;
      std::optional<FusedActivation> fused_act;
      std::vector<size_t> replaced;  // the activation's nodes, last one gives the output
      if (const int mul = silu_of(conv.outputs[0], graph, index); mul >= 0) {
        const auto& uses = index.uses(conv.outputs[0]);
        replaced = {uses[0].node, uses[1].node};
        if (replaced[0] == static_cast<size_t>(mul)) std::swap(replaced[0], replaced[1]);
        fused_act = FusedActivation{"Silu", {}};
      } else if (index.has_single_use(conv.outputs[0])) {
        const GraphIndex::Use use = index.uses(conv.outputs[0])[0];
        if (use.input != 0) continue;
        fused_act = activation_of(graph.nodes[use.node], graph, index, opset);
        replaced = {use.node};
      }
      if (!fused_act || dead[replaced[0]] || dead[replaced.back()]) continue;
      const Node& act = graph.nodes[replaced.back()];
      conv.op_type = "FusedConv";
      conv.domain = kTesseraDomain;
      conv.attributes["activation"] = string_attr("activation", fused_act->name);
      if (!fused_act->params.empty())
        conv.attributes["activation_params"] = floats_attr("activation_params", fused_act->params);
      conv.outputs[0] = act.outputs[0];
      for (size_t n : replaced) dead[n] = true;
      ++fused;
    }
    if (fused) remove_nodes(graph, dead);
    return fused;
  }
};

}  // namespace

std::unique_ptr<GraphTransformer> make_conv_activation_fusion() { return std::make_unique<ConvActivationFusion>(); }

}  // namespace tessera
