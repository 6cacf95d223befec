// Stage "partition": which execution provider runs each node, and where values must be copied
// between memory kinds. EPs are asked in the user's priority order; each node goes to the first
// that claims it (get_capability over the typed graph). Some nodes stay on a host EP whatever
// the order: shape computations (Shape, Size and what only feeds shape inputs such as Reshape's
// `shape`), producers of values a subgraph captures, and If/Loop/Scan (bodies run on the host).
// Consecutive nodes (in execution order) of one EP form a subgraph. A copy is planned wherever a
// node reads a value that lives in another memory kind (graph inputs, initializers and values
// from enclosing graphs live on the host), and for each graph output computed off the host. A
// node no EP takes is an error naming the node, its op, input dtypes and each EP's reason.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "framework/execution_provider.h"
#include "framework/graph_check.h"
#include "graph/graph.h"
#include "tessera/status.h"

namespace tessera {

// Consecutive steps (in execution order) run by one EP.
struct PlacedSubgraph {
  const ExecutionProvider* provider = nullptr;
  std::vector<size_t> nodes;  // indices in graph.nodes, in execution order
};

// One value copied from one memory kind to another.
struct PlannedCopy {
  std::string value;
  MemoryLocation from, to;
  size_t before = 0;      // position in the execution order of its first reader; order.size() for a graph output
  bool constant = false;  // an initializer: copied once when the session is created, not per run
  int64_t bytes = -1;     // from the inferred type when its shape is fixed; -1 otherwise
  // The bytes the copy step moved in the last run (-1 before any): the report's number when the
  // shape was not known in advance. Shared with the executor's copy step.
  std::shared_ptr<std::atomic<int64_t>> measured = std::make_shared<std::atomic<int64_t>>(-1);
};

// A node a higher-priority EP declined (or could not take: host-only) before another took it.
struct Fallback {
  size_t node = 0;
  std::string provider;  // the EP that declined
  std::string reason;    // "op not supported: Erf has no kernel"
  bool kept_on_host = false;  // claimed, but kept on the host by design (shape computation...)
};

struct Partition {
  std::vector<const ExecutionProvider*> assigned;  // per node of the graph (same indices)
  std::vector<PlacedSubgraph> subgraphs;
  std::vector<PlannedCopy> copies;  // ordered by `before`
  std::vector<Fallback> fallbacks;
};

// Providers whose memory is not the host must bring an allocator and a data transfer. The
// executor hands If/Loop/Scan bodies only the host EPs.
Result<Partition> partition(const Graph& graph, const Model& model, const CheckedGraph& checked,
                            const std::vector<const ExecutionProvider*>& providers);

// SessionOptions::strict_placement: an error naming every node that a listed EP declined and
// that would run on the CPU EP instead (with each EP's reason); OK when there is none. Nodes kept
// on the host by design (shape computations) are not fallbacks.
Status check_strict_placement(const Graph& graph, const Partition& placed);

// Inputs that only shape a result (Reshape's `shape`, Slice's `starts`...): their values are read
// on the host.
bool is_shape_input(const Node& node, size_t input);

}  // namespace tessera
