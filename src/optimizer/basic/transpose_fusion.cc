// A Transpose of a Transpose is one Transpose: y = T(T(x, p1), p2) reads x with perm p1[p2[i]].
// The first stays while something else reads it (dead code elimination takes it otherwise), and
// a combined identity permutation is then removed by noop_elimination. Only explicit perms of
// the same length (the default one reverses the axes and needs the rank).
#include "optimizer/graph_edit.h"
#include "optimizer/transformers.h"

namespace tessera {
namespace {

const std::vector<int64_t>* explicit_perm(const Node& node) {
  if (node.op_type != "Transpose" || !node.domain.empty() || node.inputs.size() != 1 || node.outputs.size() != 1) return nullptr;
  const Attribute* perm = node.attribute("perm");
  if (!perm || perm->type != Attribute::Type::ints_) return nullptr;
  // A valid permutation, or this node is not ours to reason about.
  std::vector<bool> seen(perm->ints.size(), false);
  for (int64_t p : perm->ints) {
    if (p < 0 || p >= static_cast<int64_t>(perm->ints.size()) || seen[static_cast<size_t>(p)]) return nullptr;
    seen[static_cast<size_t>(p)] = true;
  }
  return &perm->ints;
}

class TransposeFusion final : public GraphTransformer {
 public:
  std::string_view name() const override { return "transpose_fusion"; }

  Result<int> apply(Graph& graph, const TransformContext& ctx) const override {
    const GraphIndex index(graph, ctx);  // producers only: the rewrites below keep every output name
    int fused = 0;
    for (Node& second : graph.nodes) {
      const std::vector<int64_t>* p2 = explicit_perm(second);
      if (!p2 || second.inputs[0].empty()) continue;
      const int p = index.producer(second.inputs[0]);
      if (p < 0) continue;
      const Node& first = graph.nodes[static_cast<size_t>(p)];
      const std::vector<int64_t>* p1 = explicit_perm(first);
      if (!p1 || p1->size() != p2->size() || &first == &second) continue;
      std::vector<int64_t> combined;
      for (int64_t axis : *p2) combined.push_back((*p1)[static_cast<size_t>(axis)]);
      second.inputs[0] = first.inputs[0];
      second.attributes["perm"].ints = combined;
      ++fused;
    }
    return fused;
  }
};

}  // namespace

std::unique_ptr<GraphTransformer> make_transpose_fusion() { return std::make_unique<TransposeFusion>(); }

}  // namespace tessera
