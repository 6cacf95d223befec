// A Conv whose output is added to a value of the same shape (ResNet's residual connection)
// becomes a com.tessera FusedConv with that value as Z: the GEMM accumulates onto Z instead of
// writing the output and reading it back for the Add.
//   y = Conv(x, w, b); s = Add(y, z)   ->   s = FusedConv(x, w, b, z)
// Only when y has no other reader and the inferred shapes of y and z are provably equal: each dim
// the same size or the same symbol ("batch") (an Add that broadcasts, or might, stays an Add). An activation after the Add fuses afterwards
// (conv_activation_fusion), giving act(conv + b + z).
#include "optimizer/graph_edit.h"
#include "optimizer/optimizer.h"
#include "optimizer/transformers.h"

namespace tessera {
namespace {

bool same_known_shape(const ValueTypes& types, const std::string& a, const std::string& b) {
  auto ta = types.find(a), tb = types.find(b);
  if (ta == types.end() || tb == types.end()) return false;
  const TypeInfo &x = ta->second, &y = tb->second;
  if (x.kind != TypeInfo::Kind::tensor || y.kind != TypeInfo::Kind::tensor || x.elem_type != y.elem_type) return false;
  if (!x.shape || !y.shape || x.shape->size() != y.shape->size()) return false;
  for (size_t i = 0; i < x.shape->size(); ++i) {
    const Dim &dx = (*x.shape)[i], &dy = (*y.shape)[i];
    const bool same_fixed = dx.is_fixed() && dy.is_fixed() && dx.value == dy.value;
    const bool same_symbol = !dx.is_fixed() && !dy.is_fixed() && !dx.param.empty() && dx.param == dy.param;
    if (!same_fixed && !same_symbol) return false;
  }
  return true;
}

class ConvAddFusion final : public GraphTransformer {
 public:
  std::string_view name() const override { return "conv_add_fusion"; }

  Result<int> apply(Graph& graph, const TransformContext& ctx) const override {
    // Subgraphs have no inferred types (TransformContext::types_of).
    const ValueTypes* types = ctx.types_of(graph);
    if (!types) return 0;
    const GraphIndex index(graph, ctx);
    std::vector<bool> dead(graph.nodes.size(), false);
    int fused = 0;
    for (size_t c = 0; c < graph.nodes.size(); ++c) {
      Node& conv = graph.nodes[c];
      if (conv.op_type != "Conv" || !conv.domain.empty() || conv.outputs.size() != 1 || conv.inputs.size() < 2) continue;
      if (!index.has_single_use(conv.outputs[0])) continue;
      const GraphIndex::Use use = index.uses(conv.outputs[0])[0];
      const Node& add = graph.nodes[use.node];
      if (dead[use.node] || add.op_type != "Add" || !add.domain.empty() || add.inputs.size() != 2 || add.outputs.size() != 1)
        continue;
      const std::string& z = add.inputs[1 - use.input];
      if (z.empty() || z == conv.outputs[0] || !same_known_shape(*types, conv.outputs[0], z)) continue;
      if (!same_known_shape(*types, conv.outputs[0], add.outputs[0])) continue;
      conv.op_type = "FusedConv";
      conv.domain = kTesseraDomain;
      conv.inputs.resize(4);  // an absent bias stays "" (omitted)
      conv.inputs[3] = z;
      conv.outputs[0] = add.outputs[0];
      dead[use.node] = true;
      ++fused;
    }
    if (fused) remove_nodes(graph, dead);
    return fused;
  }
};

}  // namespace

std::unique_ptr<GraphTransformer> make_conv_add_fusion() { return std::make_unique<ConvAddFusion>(); }

}  // namespace tessera
