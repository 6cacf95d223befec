// A MatMul by constant 2-D float weights followed by the Add of a constant bias row, and
// optionally an activation, becomes one com.tessera FusedMatMul: the bias (and Relu) are applied
// in the GEMM's epilogue on prepacked weights, GELU on the tile just written.
//   y = MatMul(a, W[K,N]); z = Add(y, b[N]) (either order); [z = Relu(z) | Gelu(z)]
//     ->  z = FusedMatMul(a, W, b) {activation = "" | "Relu" | "Gelu"}
// Works for any rank of `a` ([B,S,K] x [K,N] included). Only when each intermediate has no
// other reader.
#include "optimizer/extended/pattern_util.h"
#include "optimizer/optimizer.h"
#include "optimizer/transformers.h"

namespace tessera {
namespace {

using namespace pattern;

class MatMulBiasFusion final : public GraphTransformer {
 public:
  std::string_view name() const override { return "matmul_bias_fusion"; }

  Result<int> apply(Graph& graph, const TransformContext&) const override {
    const GraphIndex index(graph);
    std::vector<bool> dead(graph.nodes.size(), false);
    int fused = 0;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      const Node& mm = graph.nodes[i];
      if (dead[i] || !is_op(mm, "MatMul") || mm.inputs.size() != 2 || mm.outputs.size() != 1) continue;
      const std::string w_name = constant_source(graph, index, mm.inputs[1]);
      const Tensor* w = w_name.empty() ? nullptr : constant_value(graph, index, w_name);
      if (!w || w->dtype() != DataType::float32 || w->rank() != 2 || w->size() == 0) continue;
      const int add = sole_user_op(graph, index, dead, mm.outputs[0], "Add");
      if (add < 0) continue;
      const Node& add_n = graph.nodes[static_cast<size_t>(add)];
      if (add_n.inputs.size() != 2 || add_n.inputs[0] == add_n.inputs[1]) continue;
      const std::string& bias = add_n.inputs[0] == mm.outputs[0] ? add_n.inputs[1] : add_n.inputs[0];
      if (!float_vector(graph, index, bias, w->dim(1))) continue;
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
      fused_node.inputs = {mm.inputs[0], w_name, constant_source(graph, index, bias)};
      fused_node.outputs = {graph.nodes[static_cast<size_t>(last)].outputs[0]};
      if (!activation.empty()) fused_node.attributes["activation"] = string_attr("activation", activation);
      dead[i] = dead[static_cast<size_t>(add)] = true;
      dead[static_cast<size_t>(last)] = false;
      graph.nodes[static_cast<size_t>(last)] = std::move(fused_node);
      ++fused;
    }
    if (fused) remove_nodes(graph, dead);
    return fused;
  }
};

}  // namespace

std::unique_ptr<GraphTransformer> make_matmul_bias_fusion() { return std::make_unique<MatMulBiasFusion>(); }

}  // namespace tessera
