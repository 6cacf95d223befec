// The execution-provider interface. An EP says which nodes it takes (get_capability) and
// creates kernels for them. The partitioner asks EPs in priority order; what none takes is an
// error naming the node. Device EPs will add allocators and copies through optional interfaces.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "framework/kernel_registry.h"
#include "graph/graph.h"

namespace tessera {

class ExecutionProvider {
 public:
  virtual ~ExecutionProvider() = default;
  virtual std::string name() const = 0;
  // Called once per graph (and subgraph) at session creation: indices of the nodes this EP can
  // run, given the model's opset imports. Must not modify the graph.
  virtual std::vector<size_t> get_capability(const Graph& graph, const Model& model) const;
  virtual const KernelRegistry& kernels() const = 0;
};

}  // namespace tessera
