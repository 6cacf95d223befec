// GELU written out in elementwise ops becomes one Gelu node: the ONNX op when the model imports
// opset 20 or later, com.tessera Gelu (same semantics, same `approximate` attribute) before that.
//   erf form:  x * 0.5 * (1 + Erf(x / sqrt 2))       (or x * (1/sqrt 2) inside the Erf)
//   tanh form: x * 0.5 * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 * Pow(x, 3))))
// The outer product is matched in the orders exporters write it: ((x * c) * 0.5),
// ((x * 0.5) * c), (x * (c * 0.5)) and (0.5 * ...) / operand-swapped forms, where c = 1 + Erf(..).
// Constants must match within 1e-6 (relative), and every intermediate is read only inside the
// pattern.
#include "optimizer/extended/pattern_util.h"
#include "optimizer/optimizer.h"
#include "optimizer/transformers.h"

namespace tessera {
namespace {

using namespace pattern;

constexpr double kSqrt2 = 1.4142135623730951;
constexpr double kSqrt2OverPi = 0.7978845608028654;

struct Match {
  std::string x;
  std::vector<int> nodes;
  int last = -1;
};

// The erf argument x / sqrt 2 (or x * 1/sqrt 2): fills x and the node.
bool match_erf_argument(const Graph& g, const GraphIndex& index, const std::vector<bool>& dead, const std::string& arg,
                        Match& m) {
  if (!index.has_single_use(arg)) return false;
  if (int div = producer_op(g, index, dead, arg, "Div"); div >= 0) {
    const Node& n = g.nodes[static_cast<size_t>(div)];
    if (other_than_scalar(g, index, n, kSqrt2, false) != 0) return false;
    m.x = n.inputs[0];
    m.nodes.push_back(div);
    return true;
  }
  if (int mul = producer_op(g, index, dead, arg, "Mul"); mul >= 0) {
    const Node& n = g.nodes[static_cast<size_t>(mul)];
    const int slot = other_than_scalar(g, index, n, 1.0 / kSqrt2);
    if (slot < 0) return false;
    m.x = n.inputs[static_cast<size_t>(slot)];
    m.nodes.push_back(mul);
    return true;
  }
  return false;
}

// The tanh argument sqrt(2/pi) * (x + 0.044715 * Pow(x, 3)).
bool match_tanh_argument(const Graph& g, const GraphIndex& index, const std::vector<bool>& dead, const std::string& arg,
                         Match& m) {
  if (!index.has_single_use(arg)) return false;
  const int scale = producer_op(g, index, dead, arg, "Mul");
  if (scale < 0) return false;
  const Node& scale_n = g.nodes[static_cast<size_t>(scale)];
  const int s = other_than_scalar(g, index, scale_n, kSqrt2OverPi);
  if (s < 0 || !index.has_single_use(scale_n.inputs[static_cast<size_t>(s)])) return false;
  const int add = producer_op(g, index, dead, scale_n.inputs[static_cast<size_t>(s)], "Add");
  if (add < 0) return false;
  const Node& add_n = g.nodes[static_cast<size_t>(add)];
  if (add_n.inputs.size() != 2) return false;
  for (size_t k = 0; k < 2; ++k) {
    const std::string& cube_term = add_n.inputs[k];
    const std::string& x = add_n.inputs[1 - k];
    if (!index.has_single_use(cube_term)) continue;
    const int coef = producer_op(g, index, dead, cube_term, "Mul");
    if (coef < 0) continue;
    const Node& coef_n = g.nodes[static_cast<size_t>(coef)];
    const int c = other_than_scalar(g, index, coef_n, 0.044715);
    if (c < 0 || !index.has_single_use(coef_n.inputs[static_cast<size_t>(c)])) continue;
    const int pow = producer_op(g, index, dead, coef_n.inputs[static_cast<size_t>(c)], "Pow");
    if (pow < 0) continue;
    const Node& pow_n = g.nodes[static_cast<size_t>(pow)];
    if (pow_n.inputs.size() != 2 || pow_n.inputs[0] != x || !near(scalar_constant(g, index, pow_n.inputs[1]), 3.0)) continue;
    m.x = x;
    m.nodes.insert(m.nodes.end(), {scale, add, coef, pow});
    return true;
  }
  return false;
}

// x * 0.5 * (1 + r), r the Erf/Tanh output: fills the nodes and the last one.
bool match_tail(const Graph& g, const GraphIndex& index, const std::vector<bool>& dead, const std::string& r, Match& m) {
  const int one = sole_user_op(g, index, dead, r, "Add");
  if (one < 0) return false;
  const Node& one_n = g.nodes[static_cast<size_t>(one)];
  if (one_n.inputs.size() != 2 || one_n.inputs[1 - (one_n.inputs[0] == r ? 0 : 1)] == r) return false;
  if (!near(scalar_constant(g, index, one_n.inputs[one_n.inputs[0] == r ? 1 : 0]), 1.0)) return false;
  const std::string& c = one_n.outputs[0];
  const int m1 = sole_user_op(g, index, dead, c, "Mul");
  if (m1 < 0) return false;
  const Node& m1_n = g.nodes[static_cast<size_t>(m1)];
  if (m1_n.inputs.size() != 2 || m1_n.inputs[0] == m1_n.inputs[1]) return false;
  const std::string& o = m1_n.inputs[0] == c ? m1_n.inputs[1] : m1_n.inputs[0];
  m.nodes.insert(m.nodes.end(), {one, m1});
  if (o == m.x || near(scalar_constant(g, index, o), 0.5)) {
    // (x * c) * 0.5 or (c * 0.5) * x
    const int m2 = sole_user_op(g, index, dead, m1_n.outputs[0], "Mul");
    if (m2 < 0) return false;
    const Node& m2_n = g.nodes[static_cast<size_t>(m2)];
    if (m2_n.inputs.size() != 2) return false;
    const std::string& o2 = m2_n.inputs[0] == m1_n.outputs[0] ? m2_n.inputs[1] : m2_n.inputs[0];
    const bool ok = o == m.x ? near(scalar_constant(g, index, o2), 0.5) : o2 == m.x;
    if (!ok) return false;
    m.nodes.push_back(m2);
    m.last = m2;
    return true;
  }
  // (x * 0.5) * c
  if (!index.has_single_use(o)) return false;
  const int half = producer_op(g, index, dead, o, "Mul");
  if (half < 0) return false;
  const Node& half_n = g.nodes[static_cast<size_t>(half)];
  const int slot = other_than_scalar(g, index, half_n, 0.5);
  if (slot < 0 || half_n.inputs[static_cast<size_t>(slot)] != m.x) return false;
  m.nodes.push_back(half);
  m.last = m1;
  return true;
}

class GeluFusion final : public GraphTransformer {
 public:
  std::string_view name() const override { return "gelu_fusion"; }

  Result<int> apply(Graph& graph, const TransformContext& ctx) const override {
    const GraphIndex index(graph, ctx);
    const bool onnx_op = ctx.model->opset_version("") >= 20;
    std::vector<bool> dead(graph.nodes.size(), false);
    int fused = 0;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      const Node& f = graph.nodes[i];
      const bool erf = is_op(f, "Erf");
      if (dead[i] || !(erf || is_op(f, "Tanh")) || f.inputs.size() != 1 || f.outputs.size() != 1) continue;
      Match m;
      m.nodes.push_back(static_cast<int>(i));
      const bool arg_ok = erf ? match_erf_argument(graph, index, dead, f.inputs[0], m)
                              : match_tanh_argument(graph, index, dead, f.inputs[0], m);
      if (!arg_ok || !match_tail(graph, index, dead, f.outputs[0], m) || !all_free(dead, m.nodes)) continue;

      const Node& last = graph.nodes[static_cast<size_t>(m.last)];
      Node gelu;
      gelu.name = (last.name.empty() ? f.name : last.name) + "_gelu";
      gelu.op_type = "Gelu";
      gelu.domain = onnx_op ? "" : kTesseraDomain;
      gelu.inputs = {m.x};
      gelu.outputs = {last.outputs[0]};
      if (!erf) gelu.attributes["approximate"] = string_attr("approximate", "tanh");
      fuse_into(graph, dead, m.nodes, m.last, std::move(gelu));
      ++fused;
    }
    if (fused) remove_nodes(graph, dead);
    return fused;
  }
};

}  // namespace

std::unique_ptr<GraphTransformer> make_gelu_fusion() { return std::make_unique<GeluFusion>(); }

}  // namespace tessera
