// Stage "optimize": rewrites the model's graphs by level (see OptimizationLevel in
// include/tessera/session.h) between the check and partition stages. Each level runs its own
// transformers after the lower levels' ones; all are repeated until none rewrites anything (or a
// round limit, so a pair of passes undoing each other cannot loop forever).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/tracing.h"
#include "optimizer/graph_transformer.h"
#include "tessera/session.h"

namespace tessera {

struct PassReport {
  std::string name;
  int rewrites = 0;  // summed over rounds and subgraphs
};

// What the `all` level lays the graph out for: the layouts the kernels of the EP that will run
// it prefer (ExecutionProvider::blocked_channels).
struct LayoutTarget {
  int64_t channel_block = 0;  // channels per block of the blocked conv layout; 0: none
};

// The transformers of `level`, in the order they run (lower levels first).
std::vector<std::unique_ptr<GraphTransformer>> transformers_for(OptimizationLevel level, const LayoutTarget& target = {});

// Runs `transformers` on every graph of `model` (subgraphs included) to a fixed point. With
// `tracing`, each pass of each round is timed (category "optimizer", args round and rewrites).
Result<std::vector<PassReport>> optimize_model(Model& model, const std::vector<std::unique_ptr<GraphTransformer>>& transformers,
                                               const NodeEvaluator& evaluate, const Tracing* tracing = nullptr);

// Opset domain of the nodes the extended level writes.
inline constexpr const char* kTesseraDomain = "com.tessera";

}  // namespace tessera
