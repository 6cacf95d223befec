// Squeeze and Unsqueeze in a row become one node, or none:
//   Squeeze(Unsqueeze(x, a), a) = x            Unsqueeze(Squeeze(x, a), a) = x
//   Unsqueeze(Unsqueeze(x, a1), a2) = Unsqueeze(x, a1 moved past a2, and a2)
//   Squeeze(Squeeze(x, s1), s2) = Squeeze(x, s1 and s2 moved past s1)
// Axes come from the attribute (opset < 13) or a constant input (13+); negative axes need the
// rank, known only where the graph declares it. Squeeze without axes (every 1) stays.
#include <algorithm>
#include <set>

#include "optimizer/graph_edit.h"
#include "optimizer/transformers.h"

namespace tessera {
namespace {

bool is_squeeze_or_unsqueeze(const Node& node) {
  return node.domain.empty() && (node.op_type == "Squeeze" || node.op_type == "Unsqueeze") && !node.inputs.empty() &&
         !node.inputs[0].empty() && node.outputs.size() == 1;
}

std::optional<std::vector<int64_t>> axes_of(const Node& node, const Graph& graph, const GraphIndex& index, int64_t opset) {
  if (opset < 13) {
    const Attribute* a = node.attribute("axes");
    if (!a || a->type != Attribute::Type::ints_ || a->ints.empty()) return std::nullopt;
    return a->ints;
  }
  if (node.inputs.size() < 2 || node.inputs[1].empty()) return std::nullopt;
  std::optional<std::vector<int64_t>> v = int_values(constant_value(graph, index, node.inputs[1]));
  if (!v || v->empty()) return std::nullopt;
  return v;
}

// Sorted non-negative axes for a tensor of `rank` (nullopt: unknown, only non-negative axes then);
// nullopt on an axis out of range or repeated.
std::optional<std::vector<int64_t>> normalized(std::vector<int64_t> axes, std::optional<int64_t> rank) {
  for (int64_t& a : axes) {
    if (a < 0) {
      if (!rank) return std::nullopt;
      a += *rank;
    }
    if (a < 0 || (rank && a >= *rank)) return std::nullopt;
  }
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) return std::nullopt;
  return axes;
}

// The j-th (from 0) non-negative integer not in the sorted `taken`.
int64_t nth_free(int64_t j, const std::vector<int64_t>& taken) {
  int64_t v = 0;
  for (size_t t = 0;; ++v) {
    while (t < taken.size() && taken[t] < v) ++t;
    if (t < taken.size() && taken[t] == v) continue;
    if (j-- == 0) return v;
  }
}

class SqueezeUnsqueezeFusion final : public GraphTransformer {
 public:
  std::string_view name() const override { return "squeeze_unsqueeze_fusion"; }

  Result<int> apply(Graph& graph, const TransformContext& ctx) const override {
    const GraphIndex index(graph, ctx);  // producers only: the rewrites below keep every output name
    const int64_t opset = ctx.model->opset_version("");
    std::vector<Bypass> bypasses;
    int merged = 0;
    for (size_t n = 0; n < graph.nodes.size(); ++n) {
      Node& second = graph.nodes[n];
      if (!is_squeeze_or_unsqueeze(second)) continue;
      const int p = index.producer(second.inputs[0]);
      if (p < 0 || static_cast<size_t>(p) == n) continue;
      const Node& first = graph.nodes[static_cast<size_t>(p)];
      if (!is_squeeze_or_unsqueeze(first)) continue;
      std::optional<std::vector<int64_t>> a1 = axes_of(first, graph, index, opset);
      std::optional<std::vector<int64_t>> a2 = axes_of(second, graph, index, opset);
      if (!a1 || !a2) continue;
      std::optional<int64_t> rank;  // of x, the first node's input
      if (std::optional<TypeInfo> t = known_type(graph, index, first.inputs[0]); t && t->shape)
        rank = static_cast<int64_t>(t->shape->size());
      auto plus = [&](int64_t k) { return rank ? std::optional<int64_t>(*rank + k) : std::nullopt; };
      const int64_t n1 = static_cast<int64_t>(a1->size()), n2 = static_cast<int64_t>(a2->size());
      const bool first_unsqueezes = first.op_type == "Unsqueeze", second_unsqueezes = second.op_type == "Unsqueeze";

      std::optional<std::vector<int64_t>> combined;
      if (first_unsqueezes && !second_unsqueezes) {
        // Both in the rank x has after the Unsqueeze.
        std::optional<std::vector<int64_t>> u = normalized(*a1, plus(n1)), s = normalized(*a2, plus(n1));
        if (u && s && *u == *s) bypasses.push_back({n, second.outputs[0], first.inputs[0]});
        continue;
      }
      if (!first_unsqueezes && second_unsqueezes) {
        // Both in x's rank.
        std::optional<std::vector<int64_t>> s = normalized(*a1, rank), u = normalized(*a2, rank);
        if (s && u && *s == *u) bypasses.push_back({n, second.outputs[0], first.inputs[0]});
        continue;
      }
      if (first_unsqueezes) {
        std::optional<std::vector<int64_t>> u1 = normalized(*a1, plus(n1)), u2 = normalized(*a2, plus(n1 + n2));
        if (!u1 || !u2) continue;
        std::set<int64_t> all(u2->begin(), u2->end());
        for (int64_t j : *u1) all.insert(nth_free(j, *u2));
        combined = std::vector<int64_t>(all.begin(), all.end());
      } else {
        std::optional<std::vector<int64_t>> s1 = normalized(*a1, rank), s2 = normalized(*a2, plus(-n1));
        if (!s1 || !s2) continue;
        std::set<int64_t> all(s1->begin(), s1->end());
        for (int64_t j : *s2) all.insert(nth_free(j, *s1));
        combined = std::vector<int64_t>(all.begin(), all.end());
      }
      second.inputs[0] = first.inputs[0];
      if (opset < 13) {
        second.attributes["axes"].ints = *combined;
      } else {
        const std::string axes_name = unique_value_name(graph, (second.name.empty() ? second.outputs[0] : second.name) + "_axes");
        graph.initializers[axes_name] = int64_vector(*combined);
        second.inputs[1] = axes_name;
      }
      ++merged;
    }
    return merged + bypass_nodes(graph, bypasses);
  }
};

}  // namespace

std::unique_ptr<GraphTransformer> make_squeeze_unsqueeze_fusion() { return std::make_unique<SqueezeUnsqueezeFusion>(); }

}  // namespace tessera
