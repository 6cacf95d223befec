// RMS normalization over the last axis, as PyTorch exports LLaMA-style RMSNorm modules:
//   p = Pow(x, 2) | Mul(x, x);  e = Add(ReduceMean(p, axes=[-1]), eps);  s = Sqrt(e)
//   n = Div(x, s) | Mul(x, Reciprocal(s)) | Mul(x, Div(1, s));  y = Mul(n, gamma)
// becomes RMSNormalization(x, gamma) {axis = -1, epsilon}: the ONNX op when the model imports
// opset 23 or later, com.tessera RMSNormalization (same semantics) before that.
// Strict: keepdims 1, eps a non-negative float scalar, gamma a 1-D float constant, Mul operands
// in either order, and every intermediate read only inside the pattern.
#include "optimizer/extended/pattern_util.h"
#include "optimizer/optimizer.h"
#include "optimizer/transformers.h"

namespace tessera {
namespace {

using namespace pattern;

// The value `p` squares (Pow(x, 2) or Mul(x, x)), or empty.
std::string squared(const Graph& g, const GraphIndex& index, const std::vector<bool>& dead, const std::string& p, int& node) {
  if (int pow = producer_op(g, index, dead, p, "Pow"); pow >= 0) {
    const Node& n = g.nodes[static_cast<size_t>(pow)];
    if (n.inputs.size() != 2 || !near(scalar_constant(g, index, n.inputs[1]), 2.0)) return {};
    node = pow;
    return n.inputs[0];
  }
  if (int mul = producer_op(g, index, dead, p, "Mul"); mul >= 0) {
    const Node& n = g.nodes[static_cast<size_t>(mul)];
    if (n.inputs.size() != 2 || n.inputs[0] != n.inputs[1]) return {};
    node = mul;
    return n.inputs[0];
  }
  return {};
}

class RmsNormFusion final : public GraphTransformer {
 public:
  std::string_view name() const override { return "rms_norm_fusion"; }

  Result<int> apply(Graph& graph, const TransformContext& ctx) const override {
    const GraphIndex index(graph, ctx);
    const bool onnx_op = ctx.model->opset_version("") >= 23;
    std::vector<bool> dead(graph.nodes.size(), false);
    int fused = 0;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      const Node& mean = graph.nodes[i];
      if (dead[i] || !is_last_axis_mean(graph, index, mean) || !index.has_single_use(mean.inputs[0])) continue;
      int square = -1;
      const std::string x = squared(graph, index, dead, mean.inputs[0], square);
      if (x.empty()) continue;
      // e = Add(mean, eps); s = Sqrt(e)
      const int add_eps = sole_user_op(graph, index, dead, mean.outputs[0], "Add");
      if (add_eps < 0) continue;
      const Node& add_eps_n = graph.nodes[static_cast<size_t>(add_eps)];
      if (add_eps_n.inputs.size() != 2) continue;
      std::optional<float> eps = scalar_constant(graph, index, add_eps_n.inputs[add_eps_n.inputs[0] == mean.outputs[0] ? 1 : 0]);
      if (!eps || !(*eps >= 0.0f) || !std::isfinite(*eps)) continue;
      const int sqrt = sole_user_op(graph, index, dead, add_eps_n.outputs[0], "Sqrt");
      if (sqrt < 0) continue;
      const std::string& s = graph.nodes[static_cast<size_t>(sqrt)].outputs[0];
      std::vector<int> parts = {static_cast<int>(i), square, add_eps, sqrt};
      // n = x / s, or x * (1 / s)
      int norm = -1;
      if (int div = sole_user_op(graph, index, dead, s, "Div"); div >= 0) {
        const Node& d = graph.nodes[static_cast<size_t>(div)];
        if (d.inputs.size() == 2 && d.inputs[0] == x && d.inputs[1] == s) {
          norm = div;
        } else if (d.inputs.size() == 2 && d.inputs[1] == s && near(scalar_constant(graph, index, d.inputs[0]), 1.0)) {
          parts.push_back(div);
          norm = sole_user_op(graph, index, dead, d.outputs[0], "Mul");
        }
      } else if (int rec = sole_user_op(graph, index, dead, s, "Reciprocal"); rec >= 0) {
        parts.push_back(rec);
        norm = sole_user_op(graph, index, dead, graph.nodes[static_cast<size_t>(rec)].outputs[0], "Mul");
      }
      if (norm < 0) continue;
      const Node& norm_n = graph.nodes[static_cast<size_t>(norm)];
      if (norm_n.inputs.size() != 2 || (norm_n.inputs[0] != x && norm_n.inputs[1] != x)) continue;
      if (is_op(norm_n, "Mul") && norm_n.inputs[0] == norm_n.inputs[1]) continue;
      parts.push_back(norm);
      // y = n * gamma
      const int mul = sole_user_op(graph, index, dead, norm_n.outputs[0], "Mul");
      if (mul < 0) continue;
      const Node& mul_n = graph.nodes[static_cast<size_t>(mul)];
      if (mul_n.inputs.size() != 2) continue;
      const std::string& gamma = mul_n.inputs[0] == norm_n.outputs[0] ? mul_n.inputs[1] : mul_n.inputs[0];
      if (!float_vector(graph, index, gamma)) continue;
      parts.push_back(mul);
      if (!all_free(dead, parts)) continue;

      Node rms;
      rms.name = (mul_n.name.empty() ? mean.name : mul_n.name) + "_rms_norm";
      rms.op_type = "RMSNormalization";
      rms.domain = onnx_op ? "" : kTesseraDomain;
      rms.inputs = {x, constant_source(graph, index, gamma)};
      rms.outputs = {mul_n.outputs[0]};
      rms.attributes["axis"] = int_attr("axis", -1);
      rms.attributes["epsilon"] = float_attr("epsilon", *eps);
      fuse_into(graph, dead, parts, mul, std::move(rms));
      ++fused;
    }
    if (fused) remove_nodes(graph, dead);
    return fused;
  }
};

}  // namespace

std::unique_ptr<GraphTransformer> make_rms_norm_fusion() { return std::make_unique<RmsNormFusion>(); }

}  // namespace tessera
