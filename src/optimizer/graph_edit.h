// What the transformers need to read and edit a graph safely: who produces and who reads each
// value (explicit inputs, subgraph captures, graph outputs), constants, and node removal.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "graph/graph.h"

namespace tessera {

// A snapshot of one graph scope's edges; rebuild it after editing the graph.
class GraphIndex {
 public:
  struct Use {
    size_t node;
    size_t input;  // slot in the node's inputs
  };

  explicit GraphIndex(const Graph& graph);

  // The node producing `value` in this scope, or -1 (graph input, initializer, outer scope).
  int producer(const std::string& value) const;
  // Explicit reads of `value`, one per input slot.
  const std::vector<Use>& uses(const std::string& value) const;
  // Whether the value is read where a rewrite cannot see it: a graph output or a subgraph capture.
  bool escapes(const std::string& value) const { return escaping_.count(value) > 0; }
  // Read exactly once, by an explicit input, and nowhere else: the producer may be fused away.
  bool has_single_use(const std::string& value) const { return !escapes(value) && uses(value).size() == 1; }
  bool is_unused(const std::string& value) const { return !escapes(value) && uses(value).empty(); }

 private:
  std::unordered_map<std::string, size_t> producer_;
  std::unordered_map<std::string, std::vector<Use>> uses_;
  std::unordered_map<std::string, bool> escaping_;
};

// The value of a constant: an initializer that cannot be fed (not also a graph input), or the
// output of a Constant node with a `value` tensor. nullptr otherwise.
const Tensor* constant_value(const Graph& graph, const GraphIndex& index, const std::string& value);

// A float32 scalar constant (any shape with one element), or nullopt.
std::optional<float> scalar_constant(const Graph& graph, const GraphIndex& index, const std::string& value);

// Removes the nodes marked in `dead` (indexed like graph.nodes), keeping the order of the rest.
void remove_nodes(Graph& graph, const std::vector<bool>& dead);

// A name not used anywhere in `graph` (nor in its subgraphs), built from `base`.
std::string unique_value_name(const Graph& graph, const std::string& base);

}  // namespace tessera
