// The interface every graph rewrite implements, and what the optimizer hands each one.
// A transformer is a small class in its own file: it rewrites one graph scope in place and says
// how many rewrites it made; the driver (optimizer.h) recurses into subgraphs and repeats the
// level's transformers until none rewrites anything.
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "graph/graph.h"
#include "graph/shape_inference.h"
#include "tessera/status.h"

namespace tessera {

// Runs one node on constant inputs and returns its outputs (constant folding). Supplied by the
// framework, which owns the kernels; absent when folding is not possible.
using NodeEvaluator = std::function<Result<std::vector<Tensor>>(const Node& node, int64_t opset,
                                                                 const std::vector<const Tensor*>& inputs)>;

struct TransformContext {
  const Model* model = nullptr;  // opset imports (read-only: passes rewrite the graph they are given)
  NodeEvaluator evaluate;
  // The inferred types of the main graph's values (shape_inference.h), refreshed by the driver
  // after every pass that rewrote something; null when inference failed on the input model.
  // A value keeps its type while a pass runs: rewrites never give an existing name a new meaning,
  // and the values a pass creates are unknown until the next refresh.
  const ValueTypes* types = nullptr;

  // Whether `graph` is a subgraph body rather than the model's main graph.
  bool is_subgraph(const Graph& graph) const { return model && &graph != &model->graph; }
  // The inferred types of `graph`'s values: the main graph's, or null for a subgraph body (its
  // values are inferred inside the If/Loop/Scan rules only, and a Loop's carried values may change
  // shape from one iteration to the next).
  const ValueTypes* types_of(const Graph& graph) const { return is_subgraph(graph) ? nullptr : types; }
};

class GraphTransformer {
 public:
  virtual ~GraphTransformer() = default;
  // Short, stable, used in reports and traces: "conv_activation_fusion".
  virtual std::string_view name() const = 0;
  // Rewrites `graph` (one scope; subgraphs are visited by the driver) and returns the number of
  // rewrites made, 0 when the graph is left as it was. Graph inputs and outputs keep their names
  // and types. Must not fail on a graph it does not understand: it leaves such nodes alone.
  virtual Result<int> apply(Graph& graph, const TransformContext& ctx) const = 0;
};

}  // namespace tessera
