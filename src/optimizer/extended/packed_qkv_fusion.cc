// A com.tessera Attention whose Q, K and V come from one projection reads them in place from it:
// Attention(Q, K, V, mask?) -> Attention(QKV, "", "", mask?), the packed form (docs/fused_ops.md),
// which saves copying them apart (ViT) or two of three GEMM calls (BERT). Two shapes of input:
//   - Slices of one value X along its last axis (nn.MultiheadAttention's export: the in-projection
//     chunked in three): Slice(X, [0], [E]), Slice(X, [E], [2E]), Slice(X, [2E], [3E]) with X's last
//     dim 3E, axes [-1] (or the last axis), steps absent or 1; bounds are constants once constant
//     folding has evaluated the export's Shape arithmetic on the fixed dims.
//   - three com.tessera FusedMatMul(X, W, b) without activation on the same X (BERT's Q, K, V
//     projections), W constant 2-D float [In, E] each and b constant [E]: one FusedMatMul with the
//     weights and biases concatenated along N ([In, 3E], [3E]) takes the Q projection's place.
// Each of Q, K and V must be read only by the Attention.
#include <cstring>

#include "optimizer/extended/pattern_util.h"
#include "optimizer/optimizer.h"
#include "optimizer/transformers.h"

namespace tessera {
namespace {

using namespace pattern;

bool is_tessera_op(const Node& n, std::string_view op) { return n.domain == kTesseraDomain && n.op_type == op; }

// The one int64/int32 value of a constant input, or nullopt.
std::optional<int64_t> single_int(const Graph& g, const GraphIndex& index, const Node& n, size_t slot) {
  if (slot >= n.inputs.size() || n.inputs[slot].empty()) return std::nullopt;
  std::optional<std::vector<int64_t>> v = int_values(constant_value(g, index, n.inputs[slot]));
  if (!v || v->size() != 1) return std::nullopt;
  return (*v)[0];
}

// `value` = Slice(X, [start], [end], [last axis], [1]?) read once: the Slice's node index, X in
// `data`, its bounds in `start` and `end`; else -1.
int last_axis_slice(const Graph& g, const GraphIndex& index, const std::vector<bool>& dead, const std::string& value,
                    std::string& data, int64_t& start, int64_t& end) {
  if (!index.has_single_use(value)) return -1;
  const int s = producer_op(g, index, dead, value, "Slice");
  if (s < 0) return -1;
  const Node& n = g.nodes[static_cast<size_t>(s)];
  if (n.inputs.size() < 4 || n.inputs.size() > 5) return -1;  // Slice-10+: starts, ends, axes as inputs
  std::optional<TypeInfo> x = known_type(g, index, n.inputs[0]);
  if (!x || !x->shape || x->shape->empty()) return -1;
  const std::optional<int64_t> b = single_int(g, index, n, 1), e = single_int(g, index, n, 2), axis = single_int(g, index, n, 3);
  const int64_t rank = static_cast<int64_t>(x->shape->size());
  if (!b || !e || !axis || (*axis != -1 && *axis != rank - 1)) return -1;
  if (n.inputs.size() == 5 && !n.inputs[4].empty() && single_int(g, index, n, 4) != std::optional<int64_t>(1)) return -1;
  data = n.inputs[0];
  start = *b;
  end = *e;
  return s;
}

// Q, K, V as the three thirds of one value's last axis: the Slices in `nodes`, X returned.
std::optional<std::string> match_slices(const Graph& g, const GraphIndex& index, const std::vector<bool>& dead,
                                        const Node& att, std::vector<int>& nodes) {
  std::string x;
  for (size_t i = 0; i < 3; ++i) {
    std::string data;
    int64_t start = 0, end = 0;
    const int s = last_axis_slice(g, index, dead, att.inputs[i], data, start, end);
    if (s < 0 || (i > 0 && data != x)) return std::nullopt;
    x = data;
    const std::optional<TypeInfo> t = known_type(g, index, x);
    const Dim& last = t->shape->back();
    if (!last.is_fixed() || last.value <= 0 || last.value % 3 != 0) return std::nullopt;
    const int64_t third = last.value / 3;
    // The last third may end anywhere past the axis (Slice clamps it).
    const bool exact = start == static_cast<int64_t>(i) * third && (end == start + third || (i == 2 && end >= last.value));
    if (!exact) return std::nullopt;
    nodes.push_back(s);
  }
  return x;
}

// The constant 2-D float weights and 1-D bias of a FusedMatMul(X, W, b) with no activation that
// writes `value`, read once: its node index; else -1.
int plain_projection(const Graph& g, const GraphIndex& index, const std::vector<bool>& dead, const std::string& value,
                     const Tensor*& w, const Tensor*& b) {
  if (!index.has_single_use(value)) return -1;
  const int p = index.producer(value);
  if (p < 0 || dead[static_cast<size_t>(p)]) return -1;
  const Node& n = g.nodes[static_cast<size_t>(p)];
  if (!is_tessera_op(n, "FusedMatMul") || n.inputs.size() != 3 || n.outputs.size() != 1) return -1;
  const Attribute* act = n.attribute("activation");
  if (act && !act->s.empty()) return -1;
  w = constant_value(g, index, n.inputs[1]);
  b = constant_value(g, index, n.inputs[2]);
  if (!w || !b || w->dtype() != DataType::float32 || w->rank() != 2 || b->dtype() != DataType::float32 ||
      b->rank() != 1 || b->size() != w->dim(1))
    return -1;
  return p;
}

// Q, K, V as three projections of one X with equal widths: replaces the Q projection by one of
// the concatenated weights (new initializers), the other two in `nodes`; returns its output.
Result<std::optional<std::string>> fuse_projections(Graph& g, const GraphIndex& index, const std::vector<bool>& dead,
                                                    const Node& att, std::vector<int>& nodes) {
  int proj[3];
  const Tensor *w[3], *b[3];
  for (size_t i = 0; i < 3; ++i) {
    proj[i] = plain_projection(g, index, dead, att.inputs[i], w[i], b[i]);
    if (proj[i] < 0) return std::optional<std::string>();
    const Node& n = g.nodes[static_cast<size_t>(proj[i])];
    if (n.inputs[0] != g.nodes[static_cast<size_t>(proj[0])].inputs[0] || w[i]->shape() != w[0]->shape())
      return std::optional<std::string>();
  }
  if (proj[0] == proj[1] || proj[1] == proj[2] || proj[0] == proj[2]) return std::optional<std::string>();
  const int64_t In = w[0]->dim(0), E = w[0]->dim(1);
  TS_ASSIGN_OR_RETURN(Tensor wqkv, Tensor::create(DataType::float32, {In, 3 * E}));
  TS_ASSIGN_OR_RETURN(Tensor bqkv, Tensor::create(DataType::float32, {3 * E}));
  for (int64_t r = 0; r < In; ++r)
    for (size_t i = 0; i < 3; ++i)
      std::memcpy(wqkv.data<float>() + r * 3 * E + static_cast<int64_t>(i) * E, w[i]->data<float>() + r * E,
                  static_cast<size_t>(E) * sizeof(float));
  for (size_t i = 0; i < 3; ++i)
    std::memcpy(bqkv.data<float>() + static_cast<int64_t>(i) * E, b[i]->data<float>(), static_cast<size_t>(E) * sizeof(float));
  Node& q = g.nodes[static_cast<size_t>(proj[0])];
  const std::string base = q.name.empty() ? q.outputs[0] : q.name;
  const std::string w_name = unique_value_name(g, base + "_qkv_weight");
  g.initializers[w_name] = std::move(wqkv);
  const std::string b_name = unique_value_name(g, base + "_qkv_bias");
  g.initializers[b_name] = std::move(bqkv);
  q.inputs[1] = w_name;
  q.inputs[2] = b_name;
  nodes.push_back(proj[1]);
  nodes.push_back(proj[2]);
  return std::optional<std::string>(q.outputs[0]);
}

class PackedQkvFusion final : public GraphTransformer {
 public:
  std::string_view name() const override { return "packed_qkv_fusion"; }

  Result<int> apply(Graph& graph, const TransformContext& ctx) const override {
    const GraphIndex index(graph, ctx);
    std::vector<bool> dead(graph.nodes.size(), false);
    int fused = 0;
    for (size_t a = 0; a < graph.nodes.size(); ++a) {
      const Node& att = graph.nodes[a];
      if (dead[a] || !is_tessera_op(att, "Attention") || att.inputs.size() < 3) continue;
      if (att.inputs[0].empty() || att.inputs[1].empty() || att.inputs[2].empty()) continue;  // already packed
      if (att.inputs[0] == att.inputs[1] || att.inputs[1] == att.inputs[2] || att.inputs[0] == att.inputs[2]) continue;
      std::vector<int> nodes;
      std::optional<std::string> packed = match_slices(graph, index, dead, att, nodes);
      if (!packed) {
        nodes.clear();
        TS_ASSIGN_OR_RETURN(packed, fuse_projections(graph, index, dead, att, nodes));
      }
      if (!packed || !all_free(dead, nodes)) continue;
      for (int n : nodes) dead[static_cast<size_t>(n)] = true;
      Node& fused_att = graph.nodes[a];
      fused_att.inputs[0] = *packed;
      fused_att.inputs[1].clear();
      fused_att.inputs[2].clear();
      ++fused;
    }
    if (fused) remove_nodes(graph, dead);
    return fused;
  }
};

}  // namespace

std::unique_ptr<GraphTransformer> make_packed_qkv_fusion() { return std::make_unique<PackedQkvFusion>(); }

}  // namespace tessera
