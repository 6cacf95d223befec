// Stage "partition": which execution provider runs each node. EPs are asked in the user's
// priority order; each node goes to the first whose get_capability takes it. A node no EP takes
// is an error naming the node, its op and opset.
#pragma once

#include <vector>

#include "framework/execution_provider.h"
#include "graph/graph.h"
#include "tessera/status.h"

namespace tessera {

// One EP per node of `graph` (same indices).
Result<std::vector<const ExecutionProvider*>> partition(const Graph& graph, const Model& model,
                                                        const std::vector<const ExecutionProvider*>& providers);

}  // namespace tessera
