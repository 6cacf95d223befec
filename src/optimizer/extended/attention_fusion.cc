// Multi-head self-attention as BERT-style PyTorch exports write it becomes one
// com.tessera Attention, whose kernel runs QK^T, scale + mask + softmax and the product with V
// per (batch, head) without materializing the transposed heads:
//   q4 = Transpose(Reshape(q, [B, S, H, D]), [0,2,1,3])      k4 = Transpose(Reshape(k, ..), [0,2,3,1])
//   v4 = Transpose(Reshape(v, [B, S, H, Dv]), [0,2,1,3])
//   p  = Softmax(Add(Div(MatMul(q4, k4), c), mask), axis=-1)     (Mul by a scalar too; mask optional)
//   o  = Transpose(MatMul(p, v4), [0,2,1,3])                      -> o = Attention(q, k, v[, mask])
// with num_heads = H and scale = 1/c, and o shaped [B, S, H, Dv] exactly like the Transpose it
// replaces (so the head-merging Reshape after it stays as it is). Strict about the structure:
// each Reshape target is a 4-element constant or Concat whose last two entries are the constant
// H and D and whose first two are 0, the reshaped value's own static dims, or
// Unsqueeze(Gather(Shape(data), 0|1)) of the reshaped value itself (so B and S are its own dims), Softmax on the last axis (opset 13+), every
// intermediate read only inside the pattern.
#include "optimizer/extended/pattern_util.h"
#include "optimizer/optimizer.h"
#include "optimizer/transformers.h"

namespace tessera {
namespace {

using namespace pattern;

std::optional<int64_t> int_constant(const Graph& g, const GraphIndex& index, const std::string& v) {
  const Tensor* t = constant_value(g, index, v);
  if (!t || t->dtype() != DataType::int64 || t->size() != 1) return std::nullopt;
  return t->data<int64_t>()[0];
}

// Entry `pos` (0 or 1) of a reshape target is the data's own dim `pos`.
bool is_own_dim(const Graph& g, const GraphIndex& index, const std::string& entry, const std::string& data, int64_t pos) {
  if (std::optional<int64_t> c = int_constant(g, index, entry)) return *c == 0;
  const int unsq = index.producer(entry);
  if (unsq < 0) return false;
  const Node& u = g.nodes[static_cast<size_t>(unsq)];
  if (!is_op(u, "Unsqueeze") || u.inputs.empty()) return false;
  if (u.inputs.size() == 2) {
    if (int_constant(g, index, u.inputs[1]) != std::optional<int64_t>(0)) return false;
  } else {
    const Attribute* axes = u.attribute("axes");
    if (!axes || axes->ints != std::vector<int64_t>{0}) return false;
  }
  const int gather = index.producer(u.inputs[0]);
  if (gather < 0) return false;
  const Node& ga = g.nodes[static_cast<size_t>(gather)];
  if (!is_op(ga, "Gather") || ga.inputs.size() != 2) return false;
  const Attribute* axis = ga.attribute("axis");
  if ((axis && axis->i != 0) || int_constant(g, index, ga.inputs[1]) != std::optional<int64_t>(pos)) return false;
  const int shape = index.producer(ga.inputs[0]);
  if (shape < 0) return false;
  const Node& sh = g.nodes[static_cast<size_t>(shape)];
  return is_op(sh, "Shape") && sh.inputs.size() == 1 && sh.inputs[0] == data && !sh.attribute("start") && !sh.attribute("end");
}

struct Heads {
  std::string data;  // the value split into heads
  int64_t heads = 0, head_size = 0;
};

// Transpose(Reshape(data, [B, S, H, D]), perm) read only once; fills `nodes`.
std::optional<Heads> split_heads(const Graph& g, const GraphIndex& index, const std::vector<bool>& dead,
                                 const std::string& value, const std::vector<int64_t>& perm, std::vector<int>& nodes) {
  int tr = -1;
  const int rs = reshape_then_transpose(g, index, dead, value, perm, tr);
  if (rs < 0) return std::nullopt;
  const Node& r = g.nodes[static_cast<size_t>(rs)];
  Heads h;
  h.data = r.inputs[0];
  std::string entries[4];
  bool constant_entries = false;
  int64_t values[4] = {0, 0, 0, 0};
  if (const Tensor* t = constant_value(g, index, r.inputs[1])) {
    if (t->dtype() != DataType::int64 || t->size() != 4) return std::nullopt;
    for (int i = 0; i < 4; ++i) values[i] = t->data<int64_t>()[i];
    constant_entries = true;
  } else {
    const int cat = index.producer(r.inputs[1]);
    if (cat < 0) return std::nullopt;
    const Node& c = g.nodes[static_cast<size_t>(cat)];
    const Attribute* axis = c.attribute("axis");
    if (!is_op(c, "Concat") || c.inputs.size() != 4 || !axis || axis->i != 0) return std::nullopt;
    for (int i = 0; i < 4; ++i) entries[i] = c.inputs[static_cast<size_t>(i)];
    for (int i = 2; i < 4; ++i) {
      std::optional<int64_t> v = int_constant(g, index, entries[i]);
      if (!v) return std::nullopt;
      values[i] = *v;
    }
  }
  // A constant B or S is 0 (copy the dim) or, once constant folding has evaluated the Shape chain
  // of a statically shaped input, that input's own dim.
  const std::optional<Shape> data_shape = known_static_shape(g, index, h.data);
  for (int i = 0; i < 2; ++i) {
    const bool own_constant = values[i] == 0 || (data_shape && data_shape->size() == 3 && (*data_shape)[static_cast<size_t>(i)] == values[i]);
    const bool own = constant_entries ? own_constant : is_own_dim(g, index, entries[i], h.data, i);
    if (!own) return std::nullopt;
  }
  if (values[2] <= 0 || values[3] <= 0) return std::nullopt;
  h.heads = values[2];
  h.head_size = values[3];
  nodes.insert(nodes.end(), {tr, rs});
  return h;
}

class AttentionFusion final : public GraphTransformer {
 public:
  std::string_view name() const override { return "attention_fusion"; }

  Result<int> apply(Graph& graph, const TransformContext& ctx) const override {
    if (ctx.model->opset_version("") < 13) return 0;  // Softmax on the last axis only from 13
    const GraphIndex index(graph, ctx);
    std::vector<bool> dead(graph.nodes.size(), false);
    int fused = 0;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      const Node& sm = graph.nodes[i];
      if (dead[i] || !is_op(sm, "Softmax") || sm.inputs.size() != 1 || sm.outputs.size() != 1) continue;
      const Attribute* axis = sm.attribute("axis");
      if (axis && axis->i != -1) continue;
      std::vector<int> nodes = {static_cast<int>(i)};
      // Optional additive mask.
      std::string scores = sm.inputs[0], mask;
      if (!index.has_single_use(scores)) continue;
      if (int add = producer_op(graph, index, dead, scores, "Add"); add >= 0) {
        const Node& a = graph.nodes[static_cast<size_t>(add)];
        if (a.inputs.size() != 2) continue;
        int scaled_slot = -1;
        for (int s = 0; s < 2 && scaled_slot < 0; ++s) {
          const int p = index.producer(a.inputs[static_cast<size_t>(s)]);
          if (p >= 0 && (is_op(graph.nodes[static_cast<size_t>(p)], "Div") || is_op(graph.nodes[static_cast<size_t>(p)], "Mul")) &&
              index.has_single_use(a.inputs[static_cast<size_t>(s)]))
            scaled_slot = s;
        }
        if (scaled_slot < 0) continue;
        scores = a.inputs[static_cast<size_t>(scaled_slot)];
        mask = a.inputs[static_cast<size_t>(1 - scaled_slot)];
        nodes.push_back(add);
      }
      // Scale: Div by a scalar, or Mul by one.
      int scale_node = -1;
      const std::optional<std::pair<std::string, float>> scaled = scaled_by_scalar(graph, index, dead, scores, scale_node);
      if (!scaled) continue;
      const std::string qk = scaled->first;
      const float scale = scaled->second;
      nodes.push_back(scale_node);
      if (!index.has_single_use(qk)) continue;
      const int qk_mm = producer_op(graph, index, dead, qk, "MatMul");
      if (qk_mm < 0) continue;
      nodes.push_back(qk_mm);
      const Node& qk_n = graph.nodes[static_cast<size_t>(qk_mm)];
      std::optional<Heads> q = split_heads(graph, index, dead, qk_n.inputs[0], {0, 2, 1, 3}, nodes);
      std::optional<Heads> k = split_heads(graph, index, dead, qk_n.inputs[1], {0, 2, 3, 1}, nodes);
      if (!q || !k || q->heads != k->heads || q->head_size != k->head_size) continue;
      // Context: MatMul(p, v4) then the Transpose back to [B, S, H, Dv].
      const int ctx_mm = sole_user_op(graph, index, dead, sm.outputs[0], "MatMul");
      if (ctx_mm < 0 || graph.nodes[static_cast<size_t>(ctx_mm)].inputs[0] != sm.outputs[0]) continue;
      nodes.push_back(ctx_mm);
      std::optional<Heads> v = split_heads(graph, index, dead, graph.nodes[static_cast<size_t>(ctx_mm)].inputs[1], {0, 2, 1, 3}, nodes);
      if (!v || v->heads != q->heads) continue;
      const int out_tr = sole_user_op(graph, index, dead, graph.nodes[static_cast<size_t>(ctx_mm)].outputs[0], "Transpose");
      if (out_tr < 0 || !has_perm(graph.nodes[static_cast<size_t>(out_tr)], {0, 2, 1, 3})) continue;
      if (!all_free(dead, nodes)) continue;

      fuse_into(graph, dead, nodes, out_tr,
                attention_node(graph.nodes[static_cast<size_t>(out_tr)], q->data, k->data, v->data, mask, q->heads, scale, false));
      ++fused;
    }
    if (fused) remove_nodes(graph, dead);
    return fused;
  }
};

}  // namespace

std::unique_ptr<GraphTransformer> make_attention_fusion() { return std::make_unique<AttentionFusion>(); }

}  // namespace tessera
