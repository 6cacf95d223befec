// Stage "check": what the executor needs to know about a graph before anything is created, and
// the checks that make a bad model fail at session creation with the node named.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/shape_inference.h"
#include "tessera/status.h"

namespace tessera {

struct CheckedGraph {
  std::vector<size_t> order;                    // node indices, producers before consumers
  std::vector<std::vector<std::string>> implicit_inputs;  // per node: outer values its subgraphs read
  std::vector<std::string> outer_names;         // values this graph reads from enclosing graphs
  std::vector<std::string> inner_scope;         // names visible to this graph's subgraphs
  ValueTypes types;                             // inferred type of every value (shape_inference.h)
};

// Orders the nodes, finds the values read from enclosing scopes (each must be in `outer_scope`),
// infers the type of every value (a provable contradiction, such as a MatMul whose inner dims
// differ, fails naming the node) and checks every node against its op schema (inputs,
// attributes, type constraints on the inferred types). Subgraphs are checked when their own executor is built.
Result<CheckedGraph> check_graph(const Graph& graph, const Model& model, const std::vector<std::string>& outer_scope);

}  // namespace tessera
