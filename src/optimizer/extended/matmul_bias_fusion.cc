// A MatMul by constant 2-D float weights followed by the Add of a constant bias row, and
// optionally an activation, becomes one com.tessera FusedMatMul: the bias (and Relu) are applied
// in the GEMM's epilogue on prepacked weights, GELU on the tile just written.
//   y = MatMul(a, W[K,N]); z = Add(y, b[N]) (either order); [z = Relu(z) | Gelu(z)]
//     ->  z = FusedMatMul(a, W, b) {activation = "" | "Relu" | "Gelu"}
// Works for any rank of `a` ([B,S,K] x [K,N] included); the bias may also be [1, N] or [1, 1, N]
// when its rank is at most y's inferred rank (so the Add does not add dims).
// Otherwise, when the inferred a and B are both 2-D and the other Add operand broadcasts one way
// to y's [M, N] (ONNX Gemm's C), the pair becomes a standard Gemm(a, B, c):
//   y = MatMul(a[M,K], B[K,N]); z = Add(y, c)  ->  z = Gemm(a, B, c)
// Only when each intermediate has no other reader.
#include "optimizer/extended/pattern_util.h"
#include "optimizer/optimizer.h"
#include "optimizer/transformers.h"

namespace tessera {
namespace {

using namespace pattern;

// A float32 constant of N elements whose dims are all 1 but the last (a bias row), of rank at
// most `max_rank`; its name (behind any Identity), or empty.
std::string bias_row(const Graph& g, const GraphIndex& index, const std::string& value, int64_t n, size_t max_rank) {
  const std::string source = constant_source(g, index, value);
  const Tensor* t = source.empty() ? nullptr : constant_value(g, index, source);
  if (!t || t->dtype() != DataType::float32 || t->rank() < 1 || t->rank() > max_rank || t->dim(t->rank() - 1) != n ||
      t->size() != n)
    return {};
  return source;
}

// The rank of a value's inferred shape, or 0 when unknown.
size_t known_rank(const Graph& g, const GraphIndex& index, const std::string& value) {
  std::optional<TypeInfo> t = known_type(g, index, value);
  return t && t->shape ? t->shape->size() : 0;
}

// Whether `c` broadcasts one way to the 2-D `y` (Gemm's C): rank <= 2, each dim 1 or y's.
bool broadcasts_to(const Graph& g, const GraphIndex& index, const std::string& c, const std::string& y) {
  std::optional<TypeInfo> tc = known_type(g, index, c), ty = known_type(g, index, y);
  if (!tc || !ty || !tc->shape || !ty->shape || ty->shape->size() != 2 || tc->shape->size() > 2) return false;
  for (size_t i = 0; i < tc->shape->size(); ++i) {
    const Dim& dc = (*tc->shape)[tc->shape->size() - 1 - i];
    const Dim& dy = (*ty->shape)[1 - i];
    if (!(dc.is_fixed() && dc.value == 1) && !same_dim(dc, dy)) return false;
  }
  return true;
}

// Gemm's types (opset 13) that MatMul shares.
bool gemm_type(DataType t) {
  return t == DataType::float32 || t == DataType::float64 || t == DataType::float16 || t == DataType::bfloat16 ||
         t == DataType::int32 || t == DataType::int64 || t == DataType::uint32 || t == DataType::uint64;
}

class MatMulBiasFusion final : public GraphTransformer {
 public:
  std::string_view name() const override { return "matmul_bias_fusion"; }

  Result<int> apply(Graph& graph, const TransformContext& ctx) const override {
    const GraphIndex index(graph, ctx);
    const bool gemm_ok = ctx.model->opset_version("") >= 13;  // bfloat16 and optional C
    std::vector<bool> dead(graph.nodes.size(), false);
    int fused = 0;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      const Node& mm = graph.nodes[i];
      if (dead[i] || !is_op(mm, "MatMul") || mm.inputs.size() != 2 || mm.outputs.size() != 1) continue;
      const int add = sole_user_op(graph, index, dead, mm.outputs[0], "Add");
      if (add < 0) continue;
      const Node& add_n = graph.nodes[static_cast<size_t>(add)];
      if (add_n.inputs.size() != 2 || add_n.inputs[0] == add_n.inputs[1]) continue;
      const std::string& bias = add_n.inputs[0] == mm.outputs[0] ? add_n.inputs[1] : add_n.inputs[0];
      const std::string w_name = constant_source(graph, index, mm.inputs[1]);
      const Tensor* w = w_name.empty() ? nullptr : constant_value(graph, index, w_name);
      const bool const_weights = w && w->dtype() == DataType::float32 && w->rank() == 2 && w->size() > 0;
      const std::string bias_name =
          const_weights ? bias_row(graph, index, bias, w->dim(1), std::max<size_t>(1, known_rank(graph, index, mm.outputs[0])))
                        : std::string();
      if (bias_name.empty()) {
        if (gemm_ok && fuse_into_gemm(graph, index, i, static_cast<size_t>(add), bias)) {
          dead[i] = true;
          ++fused;
        }
        continue;
      }
      int last = add;
      std::string activation;
      if (index.has_single_use(add_n.outputs[0])) {
        const size_t u = index.uses(add_n.outputs[0])[0].node;
        const Node& act = graph.nodes[u];
        const bool gelu = act.op_type == "Gelu" && (act.domain.empty() || act.domain == kTesseraDomain) &&
                          (!act.attribute("approximate") || act.attribute("approximate")->s == "none");
        if (!dead[u] && act.inputs.size() == 1 && act.outputs.size() == 1 && (is_op(act, "Relu") || gelu)) {
          activation = gelu ? "Gelu" : "Relu";
          last = static_cast<int>(u);
        }
      }
      Node fused_node;
      fused_node.name = mm.name + "_fused";
      fused_node.op_type = "FusedMatMul";
      fused_node.domain = kTesseraDomain;
      fused_node.inputs = {mm.inputs[0], w_name, bias_name};
      fused_node.outputs = {graph.nodes[static_cast<size_t>(last)].outputs[0]};
      if (!activation.empty()) fused_node.attributes["activation"] = string_attr("activation", activation);
      fuse_into(graph, dead, {static_cast<int>(i), add}, last, std::move(fused_node));
      ++fused;
    }
    if (fused) remove_nodes(graph, dead);
    return fused;
  }

 private:
  // MatMul(a, B) + c with a and B inferred 2-D and c broadcasting to [M, N]: the Add node becomes
  // Gemm(a, B, c) (the MatMul is then unread). False when the types do not prove it.
  static bool fuse_into_gemm(Graph& graph, const GraphIndex& index, size_t mm, size_t add, const std::string& c) {
    const Node& m = graph.nodes[mm];
    const std::string& y = m.outputs[0];
    if (known_rank(graph, index, m.inputs[0]) != 2 || known_rank(graph, index, m.inputs[1]) != 2) return false;
    const DataType t = known_elem_type(graph, index, y);
    if (!gemm_type(t) || known_elem_type(graph, index, c) != t || !broadcasts_to(graph, index, c, y)) return false;
    Node gemm;
    gemm.name = m.name + "_gemm";
    gemm.op_type = "Gemm";
    gemm.inputs = {m.inputs[0], m.inputs[1], c};
    gemm.outputs = graph.nodes[add].outputs;
    graph.nodes[add] = std::move(gemm);
    return true;
  }
};

}  // namespace

std::unique_ptr<GraphTransformer> make_matmul_bias_fusion() { return std::make_unique<MatMulBiasFusion>(); }

}  // namespace tessera
