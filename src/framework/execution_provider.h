// The execution-provider interface. An EP says which nodes of a typed graph it takes
// (get_capability, with a reason for each node it declines) and creates their kernels; a device
// EP also has memory of its own (memory(), allocator()) and a DataTransfer to and from the host.
// The partitioner (partitioner.h) asks EPs in the user's priority order and places copies where
// a value crosses from one memory kind to another.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "framework/kernel_registry.h"
#include "framework/memory_kind.h"
#include "graph/graph.h"
#include "graph/shape_inference.h"

namespace tessera {

// Why an EP declines a node: the partitioner's error when no EP takes one, and the placement
// report when a node falls back to a later EP.
enum class DeclineReason { op, opset, dtype, attribute, shape };
const char* decline_reason_name(DeclineReason reason);  // "op not supported", "opset", ...

struct Declined {
  size_t node = 0;  // index in graph.nodes
  DeclineReason reason = DeclineReason::op;
  std::string detail;  // "Erf is not implemented", "float16 input"
};

struct Capability {
  std::vector<size_t> claimed;     // indices in graph.nodes
  std::vector<Declined> declined;  // every other node, with its reason
};

class ExecutionProvider {
 public:
  virtual ~ExecutionProvider() = default;
  virtual std::string name() const = 0;
  // Called once per graph (and subgraph) at session creation with the inferred type of every
  // value (`types`, graph_check.h): which nodes this EP can run, and why not for the rest. The
  // default takes each node its registry has a kernel for at the model's opset. Must not modify
  // the graph.
  virtual Capability get_capability(const Graph& graph, const Model& model, const ValueTypes& types) const;
  virtual const KernelRegistry& kernels() const = 0;
  // The kernel of a node this EP claimed, made once at session creation. The default takes the
  // registry's entry for the node's schema version.
  virtual Result<std::unique_ptr<OpKernel>> create_kernel(const KernelInfo& info) const;

  // Where the tensors its kernels read and write live. Host for the CPU EP.
  virtual MemoryLocation memory() const { return {}; }
  // Allocates memory() for its kernels' outputs; null for host EPs, whose kernels allocate from
  // the run's buffer pool.
  virtual const Allocator* allocator() const { return nullptr; }
  // Copies between memory() and host memory; null for host EPs. Registered with the session's
  // DataTransferManager.
  virtual const DataTransfer* data_transfer() const { return nullptr; }
  // Channels per block of the blocked convolution layout its kernels run (com.tessera
  // BlockedConv, docs/fused_ops.md), 0 for none: the `all` level lays conv chains out in it.
  virtual int64_t blocked_channels() const { return 0; }
};

}  // namespace tessera
