// Removes nodes none of whose outputs is read (by a node, a subgraph or as a graph output), and
// initializers nothing reads. ONNX ops have no side effects, so an unread node is dead.
// Initializers that are also graph inputs stay: they are part of the model's interface.
#include <unordered_map>

#include "optimizer/graph_edit.h"
#include "optimizer/transformers.h"

namespace tessera {
namespace {

class DeadCodeElimination final : public GraphTransformer {
 public:
  std::string_view name() const override { return "dead_code_elimination"; }

  Result<int> apply(Graph& graph, const TransformContext& ctx) const override {
    const GraphIndex index(graph, ctx);
    // Readers left per value; walking backwards frees whole dead chains in one pass when the
    // nodes are stored in order (the fixed point catches the rest when they are not).
    std::unordered_map<std::string, size_t> readers;
    auto live_readers = [&](const std::string& v) -> size_t& {
      auto it = readers.find(v);
      if (it == readers.end()) it = readers.emplace(v, index.uses(v).size() + (index.escapes(v) ? 1 : 0)).first;
      return it->second;
    };
    std::vector<bool> dead(graph.nodes.size(), false);
    int removed = 0;
    for (size_t k = graph.nodes.size(); k-- > 0;) {
      const Node& node = graph.nodes[k];
      if (node.outputs.empty()) continue;
      bool read = false;
      for (const std::string& out : node.outputs) read = read || (!out.empty() && live_readers(out) > 0);
      if (read) continue;
      dead[k] = true;
      ++removed;
      for (const std::string& in : node.inputs)
        if (!in.empty() && live_readers(in) > 0) --live_readers(in);
    }
    if (removed) remove_nodes(graph, dead);

    const GraphIndex after(graph, ctx);
    for (auto it = graph.initializers.begin(); it != graph.initializers.end();) {
      bool is_input = false;
      for (const ValueInfo& in : graph.inputs) is_input = is_input || in.name == it->first;
      if (!is_input && after.is_unused(it->first)) {
        it = graph.initializers.erase(it);
        ++removed;
      } else {
        ++it;
      }
    }
    return removed;
  }
};

}  // namespace

std::unique_ptr<GraphTransformer> make_dead_code_elimination() { return std::make_unique<DeadCodeElimination>(); }

}  // namespace tessera
