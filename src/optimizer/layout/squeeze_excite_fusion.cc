// Squeeze-and-excitation in the blocked layout becomes one com.tessera BlockedSqueezeExcite
// (EfficientNet's 16 SE blocks: 6 nodes each, the pooled vector converted out of and back into
// the blocked layout between them). Runs after blocked_layout, on what it wrote:
//   pb = BlockedPool(xb) {GlobalAveragePool}; p = ReorderFromBlocked(pb)
//   h = FusedConv(p, w1, b1) {act}             (or a plain Conv: no activation)
//   s = FusedConv(h, w2, b2) {Sigmoid}; sb = ReorderToBlocked(s); y = Mul(sb, xb)
//     ->   y = BlockedSqueezeExcite(xb, w1, b1, w2, b2) {act}
// Both convolutions 1x1 with constant weights, one group, no padding, no residual input; every
// intermediate read only by the next node.
#include <optional>

#include "optimizer/extended/pattern_util.h"
#include "optimizer/graph_edit.h"
#include "optimizer/optimizer.h"
#include "optimizer/transformers.h"

namespace tessera {
namespace {

using pattern::all_free;

bool is_tessera(const Node& n, std::string_view op) { return n.domain == kTesseraDomain && n.op_type == op; }

// The one node reading `value`, when it is `op` of `domain` with one output and not yet claimed; else -1.
int sole_reader(const Graph& g, const GraphIndex& index, const std::vector<bool>& dead, const std::string& value,
                std::string_view op, bool tessera) {
  if (!index.has_single_use(value)) return -1;
  const size_t u = index.uses(value)[0].node;
  const Node& n = g.nodes[u];
  const bool match = tessera ? is_tessera(n, op) : pattern::is_op(n, op);
  return !dead[u] && match && n.outputs.size() == 1 ? static_cast<int>(u) : -1;
}

// A 1x1 convolution of `in` channels to `out` (either -1: any) that the fused kernel computes
// as a matrix-vector product: constant float32 weights, one group, no padding, bias constant or
// absent, no residual. Returns the weights' output channels, or -1.
int64_t pointwise_on_vector(const Node& conv, const Graph& g, const GraphIndex& index, int64_t in, int64_t out) {
  const bool plain = pattern::is_op(conv, "Conv"), fused = is_tessera(conv, "FusedConv");
  if ((!plain && !fused) || conv.inputs.size() < 2 || conv.inputs.size() > 3) return -1;
  const Tensor* w = constant_value(g, index, conv.inputs[1]);
  if (!w || w->dtype() != DataType::float32 || w->rank() != 4 || w->dim(2) != 1 || w->dim(3) != 1) return -1;
  if ((in >= 0 && w->dim(1) != in) || (out >= 0 && w->dim(0) != out)) return -1;
  if (const Attribute* group = conv.attribute("group"); group && group->i != 1) return -1;
  if (const Attribute* pads = conv.attribute("pads"))
    for (int64_t p : pads->ints)
      if (p != 0) return -1;
  if (conv.inputs.size() == 3 && !conv.inputs[2].empty()) {
    const Tensor* b = constant_value(g, index, conv.inputs[2]);
    if (!b || b->dtype() != DataType::float32 || b->size() != w->dim(0)) return -1;
  }
  return w->dim(0);
}

std::string bias_of(const Node& conv) { return conv.inputs.size() == 3 ? conv.inputs[2] : std::string(); }

class SqueezeExciteFusion final : public GraphTransformer {
 public:
  std::string_view name() const override { return "squeeze_excite_fusion"; }

  Result<int> apply(Graph& graph, const TransformContext& ctx) const override {
    if (ctx.is_subgraph(graph)) return 0;
    const GraphIndex index(graph, ctx);
    std::vector<bool> dead(graph.nodes.size(), false);
    int fused = 0;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      const Node& pool = graph.nodes[i];
      if (dead[i] || !is_tessera(pool, "BlockedPool") || pool.inputs.size() != 1 || pool.outputs.size() != 1) continue;
      const Attribute* kind = pool.attribute("pool");
      if (!kind || kind->s != "GlobalAveragePool") continue;
      const std::string& xb = pool.inputs[0];
      const int from = sole_reader(graph, index, dead, pool.outputs[0], "ReorderFromBlocked", true);
      if (from < 0) continue;
      const Attribute* channels = graph.nodes[static_cast<size_t>(from)].attribute("channels");
      if (!channels) continue;
      const int64_t C = channels->i;
      const std::string& p = graph.nodes[static_cast<size_t>(from)].outputs[0];
      const int fc1 = index.has_single_use(p) ? static_cast<int>(index.uses(p)[0].node) : -1;
      if (fc1 < 0 || dead[static_cast<size_t>(fc1)] || index.uses(p)[0].input != 0) continue;
      const Node& conv1 = graph.nodes[static_cast<size_t>(fc1)];
      const int64_t R = pointwise_on_vector(conv1, graph, index, C, -1);
      if (R < 0 || conv1.outputs.size() != 1 || !index.has_single_use(conv1.outputs[0])) continue;
      const GraphIndex::Use use2 = index.uses(conv1.outputs[0])[0];
      const Node& conv2 = graph.nodes[use2.node];
      const Attribute* gate = conv2.attribute("activation");
      if (dead[use2.node] || use2.input != 0 || !is_tessera(conv2, "FusedConv") || !gate || gate->s != "Sigmoid" ||
          conv2.outputs.size() != 1 || pointwise_on_vector(conv2, graph, index, R, C) < 0)
        continue;
      const int to = sole_reader(graph, index, dead, conv2.outputs[0], "ReorderToBlocked", true);
      if (to < 0) continue;
      const int mul = sole_reader(graph, index, dead, graph.nodes[static_cast<size_t>(to)].outputs[0], "Mul", false);
      if (mul < 0) continue;
      const Node& m = graph.nodes[static_cast<size_t>(mul)];
      const std::string& sb = graph.nodes[static_cast<size_t>(to)].outputs[0];
      if (m.inputs.size() != 2 || !((m.inputs[0] == sb && m.inputs[1] == xb) || (m.inputs[1] == sb && m.inputs[0] == xb)))
        continue;
      const std::vector<int> parts{static_cast<int>(i), from, fc1, static_cast<int>(use2.node), to, mul};
      if (!all_free(dead, parts)) continue;

      Node se;
      se.name = m.name + "_squeeze_excite";
      se.op_type = "BlockedSqueezeExcite";
      se.domain = kTesseraDomain;
      se.inputs = {xb, conv1.inputs[1], bias_of(conv1), conv2.inputs[1], bias_of(conv2)};
      if (se.inputs.back().empty()) se.inputs.pop_back();
      se.outputs = {m.outputs[0]};
      for (const char* attr : {"activation", "activation_params"})
        if (const Attribute* a = conv1.attribute(attr)) se.attributes[attr] = *a;
      pattern::fuse_into(graph, dead, parts, mul, std::move(se));
      ++fused;
    }
    if (fused) remove_nodes(graph, dead);
    return fused;
  }
};

}  // namespace

std::unique_ptr<GraphTransformer> make_squeeze_excite_fusion() { return std::make_unique<SqueezeExciteFusion>(); }

}  // namespace tessera
