// What the transformers need to read and edit a graph safely: who produces and who reads each
// value (explicit inputs, subgraph captures, graph outputs), constants, and node removal.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/graph.h"
#include "optimizer/graph_transformer.h"

namespace tessera {

// A snapshot of one graph scope's edges; rebuild it after editing the graph.
class GraphIndex {
 public:
  struct Use {
    size_t node;
    size_t input;  // slot in the node's inputs
  };

  // `subgraph`: the graph is a subgraph body, whose declared input shapes known_type does not
  // trust (a Loop's carried values may change shape from one iteration to the next).
  explicit GraphIndex(const Graph& graph, bool subgraph = false);
  // What a pass uses: the graph's scope and its inferred types from the context.
  GraphIndex(const Graph& graph, const TransformContext& ctx);

  bool is_subgraph() const { return subgraph_; }
  // The inferred types known_type reads, or null.
  const ValueTypes* types() const { return types_; }

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
  bool subgraph_ = false;
  const ValueTypes* types_ = nullptr;
};

// The value of a constant: an initializer that cannot be fed (not also a graph input), or the
// output of a Constant node with a `value` tensor. nullptr otherwise.
const Tensor* constant_value(const Graph& graph, const GraphIndex& index, const std::string& value);

// A float32 scalar constant (any shape with one element), or nullopt.
std::optional<float> scalar_constant(const Graph& graph, const GraphIndex& index, const std::string& value);

// The type of a tensor value: a constant's dtype and shape, else its inferred type (the index's
// types, see TransformContext), else what the graph declares (inputs, outputs, value_infos).
// nullopt when nothing is known. The one place transformers read types. In a subgraph (see
// GraphIndex) a declared input gives its element type only.
std::optional<TypeInfo> known_type(const Graph& graph, const GraphIndex& index, const std::string& value);
// The element type from known_type, or undefined.
DataType known_elem_type(const Graph& graph, const GraphIndex& index, const std::string& value);
// The shape from known_type when every dimension is fixed, else nullopt.
std::optional<Shape> known_static_shape(const Graph& graph, const GraphIndex& index, const std::string& value);
// The values of an int64 or int32 tensor (any shape), or nullopt (null, other dtypes).
std::optional<std::vector<int64_t>> int_values(const Tensor* t);
// An int64 vector tensor (axes, shapes) for a new initializer.
Tensor int64_vector(const std::vector<int64_t>& values);

// A node to remove whose output `from` is the same value as `to` (Identity, no-op Cast...).
struct Bypass {
  size_t node;
  std::string from;  // the node's output
  std::string to;    // what its readers read instead
};
// Removes each listed node, its readers reading `to` instead of `from`. When `from` is a graph
// output or read by a subgraph, its name must stay: the producer of `to` is renamed to `from`
// instead, only when `to` is produced by a node of this graph and read nowhere that cannot be
// renamed (not a graph input, initializer, graph output or subgraph capture); otherwise that node
// stays. Returns the number of nodes removed. Invalidates any GraphIndex of `graph`.
int bypass_nodes(Graph& graph, const std::vector<Bypass>& bypasses);

// Removes the nodes marked in `dead` (indexed like graph.nodes), keeping the order of the rest.
void remove_nodes(Graph& graph, const std::vector<bool>& dead);

// A name not used anywhere in `graph` (nor in its subgraphs), built from `base`.
std::string unique_value_name(const Graph& graph, const std::string& base);

}  // namespace tessera
