// A residual Add feeding a LayerNormalization over the last axis becomes one
// com.tessera SkipLayerNormalization, which sums and normalizes each row in one pass:
//   s = Add(a, b); y = LayerNormalization(s, gamma, beta) {axis = -1, epsilon}
//     ->  y = SkipLayerNormalization(a, b, gamma, beta) {epsilon}
// The LayerNormalization may be the ONNX op or com.tessera's (what layer_norm_fusion writes).
// The normalization must have one output. When the sum is read elsewhere too (pre-norm blocks
// carry it as the residual stream), it becomes the fused node's second output.
//   s = Add(a, b) read by others  ->  y, s = SkipLayerNormalization(a, b, gamma, beta)
#include "optimizer/extended/pattern_util.h"
#include "optimizer/optimizer.h"
#include "optimizer/transformers.h"

namespace tessera {
namespace {

using namespace pattern;

class SkipLayerNormFusion final : public GraphTransformer {
 public:
  std::string_view name() const override { return "skip_layer_norm_fusion"; }

  Result<int> apply(Graph& graph, const TransformContext& ctx) const override {
    const GraphIndex index(graph, ctx);
    std::vector<bool> dead(graph.nodes.size(), false);
    int fused = 0;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      const Node& ln = graph.nodes[i];
      if (dead[i] || ln.op_type != "LayerNormalization" || !(ln.domain.empty() || ln.domain == kTesseraDomain)) continue;
      if (ln.inputs.size() != 3 || ln.inputs[2].empty() || ln.outputs.size() != 1) continue;
      const Attribute* axis = ln.attribute("axis");
      if (axis && axis->i != -1) continue;
      // A sum read elsewhere too (pre-norm residual streams) becomes the fused node's second
      // output, when every other reader comes after the normalization (the fused node's place).
      const std::string& sum = ln.inputs[0];
      bool sum_out = !index.has_single_use(sum);
      bool readers_after = true;
      for (const GraphIndex::Use& u : index.uses(sum)) readers_after = readers_after && u.node >= i;
      if (sum_out && !readers_after) continue;
      const int add = producer_op(graph, index, dead, ln.inputs[0], "Add");
      if (add < 0) continue;
      const Node& add_n = graph.nodes[static_cast<size_t>(add)];
      if (add_n.inputs.size() != 2 || add_n.inputs[0].empty() || add_n.inputs[1].empty()) continue;
      const Attribute* eps = ln.attribute("epsilon");
      Node skip;
      skip.name = ln.name + "_skip";
      skip.op_type = "SkipLayerNormalization";
      skip.domain = kTesseraDomain;
      skip.inputs = {add_n.inputs[0], add_n.inputs[1], ln.inputs[1], ln.inputs[2]};
      skip.outputs = {ln.outputs[0]};
      if (sum_out) skip.outputs.push_back(sum);
      skip.attributes["epsilon"] = float_attr("epsilon", eps ? eps->f : 1e-5f);
      dead[static_cast<size_t>(add)] = true;
      graph.nodes[i] = std::move(skip);
      ++fused;
    }
    if (fused) remove_nodes(graph, dead);
    return fused;
  }
};

}  // namespace

std::unique_ptr<GraphTransformer> make_skip_layer_norm_fusion() { return std::make_unique<SkipLayerNormFusion>(); }

}  // namespace tessera
