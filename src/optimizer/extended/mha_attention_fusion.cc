// PyTorch's nn.MultiheadAttention export (torchvision's ViT among others), sequence first, with
// the batch and heads merged into one dim, becomes one com.tessera Attention {sequence_first = 1}:
//   q3 = Transpose(Reshape(q[Sq, B, E], [Sq, B*H, D]), [1,0,2])      (Div or Mul by a scalar: the scale)
//   k3 = Transpose(Reshape(k[Sk, B, E], [Sk, B*H, D]), [1,2,0])      v3 = ... (v, [1,0,2])
//   o  = Transpose(MatMul(Softmax(MatMul(q3, k3), axis=-1), v3), [1,0,2])    ->  o = Attention(q, k, v)
// o is [Sq, B*H, Dv] before and after, so its readers (the head-merging Reshape) stay. The scale
// may also divide or multiply the scores instead of q3, or be absent. The Reshape targets are
// computed from Shape ops in the export; the inferred types prove the head split instead: the
// reshape keeps dim 0, its last dim D divides E (H = E / D), and element counts then force the
// middle dim to be B*H. Q, K and V must agree on B, K and V on Sk. Every intermediate is read only
// inside the pattern.
#include <tuple>

#include "optimizer/extended/pattern_util.h"
#include "optimizer/optimizer.h"
#include "optimizer/transformers.h"

namespace tessera {
namespace {

using namespace pattern;

// One of q, k, v split into heads: the value read (`data`, [S, B, E]) and its dims.
struct Split {
  std::string data;
  Dim seq, batch;
  int64_t heads = 0, head_size = 0;
};

// Transpose(Reshape(data, target), perm) with each intermediate read once; fills `nodes`.
std::optional<Split> split_heads(const Graph& g, const GraphIndex& index, const std::vector<bool>& dead,
                                 const std::string& value, const std::vector<int64_t>& perm, std::vector<int>& nodes) {
  int tr = -1;
  const int rs = reshape_then_transpose(g, index, dead, value, perm, tr);
  if (rs < 0) return std::nullopt;
  const Node& r = g.nodes[static_cast<size_t>(rs)];
  const std::optional<TypeInfo> in = known_type(g, index, r.inputs[0]);
  const std::optional<TypeInfo> out = known_type(g, index, g.nodes[static_cast<size_t>(tr)].inputs[0]);
  if (!in || !out || !in->shape || !out->shape || in->shape->size() != 3 || out->shape->size() != 3) return std::nullopt;
  const Dims &x = *in->shape, &y = *out->shape;
  if (!same_dim(x[0], y[0]) || !x[2].is_fixed() || !y[2].is_fixed() || y[2].value <= 0 || x[2].value % y[2].value != 0)
    return std::nullopt;
  nodes.insert(nodes.end(), {tr, rs});
  return Split{r.inputs[0], x[0], x[1], x[2].value / y[2].value, y[2].value};
}

class MhaAttentionFusion final : public GraphTransformer {
 public:
  std::string_view name() const override { return "mha_attention_fusion"; }

  Result<int> apply(Graph& graph, const TransformContext& ctx) const override {
    if (ctx.model->opset_version("") < 13) return 0;  // Softmax on the last axis only from 13
    const GraphIndex index(graph, ctx);
    if (!index.types()) return 0;  // the head split is proven by inferred shapes
    std::vector<bool> dead(graph.nodes.size(), false);
    int fused = 0;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      const Node& sm = graph.nodes[i];
      if (dead[i] || !is_op(sm, "Softmax") || sm.inputs.size() != 1 || sm.outputs.size() != 1) continue;
      const Attribute* axis = sm.attribute("axis");
      if (axis && axis->i != -1) continue;
      std::vector<int> nodes = {static_cast<int>(i)};
      float scale = 1.0f;
      std::string qk = sm.inputs[0];
      int scale_node = -1;
      if (auto s = scaled_by_scalar(graph, index, dead, qk, scale_node)) {  // scale on the scores
        std::tie(qk, scale) = *s;
        nodes.push_back(scale_node);
      }
      if (!index.has_single_use(qk)) continue;
      const int qk_mm = producer_op(graph, index, dead, qk, "MatMul");
      if (qk_mm < 0) continue;
      nodes.push_back(qk_mm);
      std::string q3 = graph.nodes[static_cast<size_t>(qk_mm)].inputs[0];
      if (scale_node < 0) {
        if (auto s = scaled_by_scalar(graph, index, dead, q3, scale_node)) {  // scale on Q
          std::tie(q3, scale) = *s;
          nodes.push_back(scale_node);
        }
      }
      std::optional<Split> q = split_heads(graph, index, dead, q3, {1, 0, 2}, nodes);
      std::optional<Split> k = split_heads(graph, index, dead, graph.nodes[static_cast<size_t>(qk_mm)].inputs[1], {1, 2, 0}, nodes);
      if (!q || !k || q->heads != k->heads || q->head_size != k->head_size || !same_dim(q->batch, k->batch)) continue;
      const int ctx_mm = sole_user_op(graph, index, dead, sm.outputs[0], "MatMul");
      if (ctx_mm < 0 || graph.nodes[static_cast<size_t>(ctx_mm)].inputs[0] != sm.outputs[0]) continue;
      nodes.push_back(ctx_mm);
      std::optional<Split> v = split_heads(graph, index, dead, graph.nodes[static_cast<size_t>(ctx_mm)].inputs[1], {1, 0, 2}, nodes);
      if (!v || v->heads != q->heads || !same_dim(v->batch, k->batch) || !same_dim(v->seq, k->seq)) continue;
      const int out_tr = sole_user_op(graph, index, dead, graph.nodes[static_cast<size_t>(ctx_mm)].outputs[0], "Transpose");
      if (out_tr < 0 || !has_perm(graph.nodes[static_cast<size_t>(out_tr)], {1, 0, 2})) continue;
      if (!all_free(dead, nodes)) continue;

      fuse_into(graph, dead, nodes, out_tr,
                attention_node(graph.nodes[static_cast<size_t>(out_tr)], q->data, k->data, v->data, "", q->heads, scale, true));
      ++fused;
    }
    if (fused) remove_nodes(graph, dead);
    return fused;
  }
};

}  // namespace

std::unique_ptr<GraphTransformer> make_mha_attention_fusion() { return std::make_unique<MhaAttentionFusion>(); }

}  // namespace tessera
