// LayerNormalization over the last axis, as PyTorch exports it before opset 17:
//   m = ReduceMean(x, axes=[-1]); d = Sub(x, m); v = ReduceMean(Pow(d, 2), axes=[-1])
//   y = Add(Mul(Div(d, Sqrt(Add(v, eps))), gamma), beta)
// becomes LayerNormalization(x, gamma, beta) {axis = -1, epsilon}: the ONNX op when the model
// imports opset 17 or later, com.tessera LayerNormalization (same semantics) before that.
// Strict: axes exactly [-1] with keepdims 1, exponent 2, eps a float scalar, gamma and beta 1-D
// float constants of one size (either operand order of Mul and Add), and every intermediate
// read only inside the pattern (d by the Pow and the Div).
#include "optimizer/extended/pattern_util.h"
#include "optimizer/optimizer.h"
#include "optimizer/transformers.h"

namespace tessera {
namespace {

using namespace pattern;

class LayerNormFusion final : public GraphTransformer {
 public:
  std::string_view name() const override { return "layer_norm_fusion"; }

  Result<int> apply(Graph& graph, const TransformContext& ctx) const override {
    const GraphIndex index(graph, ctx);
    const bool onnx_op = ctx.model->opset_version("") >= 17;
    std::vector<bool> dead(graph.nodes.size(), false);
    int fused = 0;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      const Node& mean = graph.nodes[i];
      if (dead[i] || !is_last_axis_mean(graph, index, mean)) continue;
      const std::string& x = mean.inputs[0];
      // d = Sub(x, m), read by exactly a Pow and a Div.
      const int sub = sole_user_op(graph, index, dead, mean.outputs[0], "Sub");
      if (sub < 0) continue;
      const Node& sub_n = graph.nodes[static_cast<size_t>(sub)];
      if (sub_n.inputs.size() != 2 || sub_n.inputs[0] != x || sub_n.inputs[1] != mean.outputs[0]) continue;
      const std::string& d = sub_n.outputs[0];
      if (index.escapes(d) || index.uses(d).size() != 2) continue;
      int pow = -1, div = -1;
      for (const GraphIndex::Use& u : index.uses(d)) {
        const Node& n = graph.nodes[u.node];
        if (is_op(n, "Pow") && u.input == 0) pow = static_cast<int>(u.node);
        if (is_op(n, "Div") && u.input == 0) div = static_cast<int>(u.node);
      }
      if (pow < 0 || div < 0) continue;
      const Node& pow_n = graph.nodes[static_cast<size_t>(pow)];
      if (pow_n.inputs.size() != 2 || !near(scalar_constant(graph, index, pow_n.inputs[1]), 2.0)) continue;
      // v = ReduceMean(p); e = Add(v, eps); s = Sqrt(e); n = Div(d, s)
      const int var = sole_user_op(graph, index, dead, pow_n.outputs[0], "ReduceMean");
      if (var < 0 || !is_last_axis_mean(graph, index, graph.nodes[static_cast<size_t>(var)])) continue;
      const int add_eps = sole_user_op(graph, index, dead, graph.nodes[static_cast<size_t>(var)].outputs[0], "Add");
      if (add_eps < 0) continue;
      const Node& add_eps_n = graph.nodes[static_cast<size_t>(add_eps)];
      if (add_eps_n.inputs.size() != 2) continue;
      const size_t eps_slot = add_eps_n.inputs[0] == graph.nodes[static_cast<size_t>(var)].outputs[0] ? 1 : 0;
      std::optional<float> eps = scalar_constant(graph, index, add_eps_n.inputs[eps_slot]);
      if (!eps || !(*eps >= 0.0f) || !std::isfinite(*eps)) continue;
      const int sqrt = sole_user_op(graph, index, dead, add_eps_n.outputs[0], "Sqrt");
      if (sqrt < 0) continue;
      const Node& div_n = graph.nodes[static_cast<size_t>(div)];
      if (div_n.outputs.size() != 1 || div_n.inputs.size() != 2 || div_n.inputs[1] != graph.nodes[static_cast<size_t>(sqrt)].outputs[0] ||
          !index.has_single_use(graph.nodes[static_cast<size_t>(sqrt)].outputs[0]))
        continue;
      // y = Mul(n, gamma); z = Add(y, beta)
      const int mul = sole_user_op(graph, index, dead, div_n.outputs[0], "Mul");
      if (mul < 0) continue;
      const Node& mul_n = graph.nodes[static_cast<size_t>(mul)];
      if (mul_n.inputs.size() != 2) continue;
      const std::string& gamma = mul_n.inputs[0] == div_n.outputs[0] ? mul_n.inputs[1] : mul_n.inputs[0];
      const Tensor* gamma_t = float_vector(graph, index, gamma);
      if (!gamma_t) continue;
      const int add = sole_user_op(graph, index, dead, mul_n.outputs[0], "Add");
      if (add < 0) continue;
      const Node& add_n = graph.nodes[static_cast<size_t>(add)];
      if (add_n.inputs.size() != 2) continue;
      const std::string& beta = add_n.inputs[0] == mul_n.outputs[0] ? add_n.inputs[1] : add_n.inputs[0];
      if (!float_vector(graph, index, beta, gamma_t->size())) continue;
      const std::vector<int> parts = {static_cast<int>(i), sub, pow, var, add_eps, sqrt, div, mul, add};
      if (!all_free(dead, parts)) continue;

      Node ln;
      ln.name = add_n.name.empty() ? mean.name + "_layer_norm" : add_n.name + "_layer_norm";
      ln.op_type = "LayerNormalization";
      ln.domain = onnx_op ? "" : kTesseraDomain;
      ln.inputs = {x, constant_source(graph, index, gamma), constant_source(graph, index, beta)};
      ln.outputs = {add_n.outputs[0]};
      ln.attributes["axis"] = int_attr("axis", -1);
      ln.attributes["epsilon"] = float_attr("epsilon", *eps);
      fuse_into(graph, dead, parts, add, std::move(ln));
      ++fused;
    }
    if (fused) remove_nodes(graph, dead);
    return fused;
  }
};

}  // namespace

std::unique_ptr<GraphTransformer> make_layer_norm_fusion() { return std::make_unique<LayerNormFusion>(); }

}  // namespace tessera
