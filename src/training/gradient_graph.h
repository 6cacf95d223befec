// The gradient graph: backward nodes appended to a forward graph, from the gradient registry.
//
// append_gradients walks the nodes between the differentiated values (xs: trainable initializers
// or inputs) and the ys in reverse topological order: a node gets a builder call only when it
// depends on an x and a y depends on it; a value read by several nodes gets the Sum of their
// gradients. The forward nodes keep their place (graph.nodes[0, first_backward_node)) and the
// backward nodes follow, so the graph runs whole (the Gradient operator) or split in two
// (split_forward_backward): the forward graph also outputs the activations the backward nodes
// read (`saved`), which are the only intermediates kept alive between the two; the memory planner
// frees every other one as usual.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"
#include "tessera/status.h"
#include "training/gradient_registry.h"

namespace tessera {

struct GradientRequest {
  std::vector<std::string> ys;       // values whose gradients flow back
  std::vector<std::string> y_grads;  // per y: a value holding dL/dy (an input fed by the caller), or "" for ones
  std::vector<std::string> xs;       // values differentiated (initializers or graph inputs)
  std::string prefix = "grad";       // names of the nodes and values added start with it
};

struct GradientGraph {
  std::vector<std::string> x_grads;  // per x: the value holding dL/dx (zeros when no y depends on x)
  size_t first_backward_node = 0;    // graph.nodes before it are the forward pass
  std::vector<std::string> saved;    // forward node outputs that backward nodes read
};

// Appends the backward nodes to `graph` (a graph of `model`, whose types infer_types can infer).
// When a builder emitted one of Tessera's gradient kernels, `model` imports their domain
// (kGradientKernelDomain); nothing else of it changes. Fails naming the op and node when an op on
// the path has no builder or its builder fails.
Result<GradientGraph> append_gradients(Graph& graph, Model& model, const GradientRequest& request,
                                       const GradientRegistry& registry = GradientRegistry::builtin());

struct ForwardBackward {
  Graph forward;   // the forward nodes; outputs: the graph's outputs, then the saved activations
  Graph backward;  // the backward nodes; inputs: the saved activations, the graph inputs and y_grads it
                   // reads; the initializers it reads, and the builders' Constant nodes as
                   // initializers (no node runs for them); outputs: the x_grads
};

// Splits a graph that append_gradients extended into two graphs run one after the other.
Result<ForwardBackward> split_forward_backward(const Graph& graph, const Model& model, const GradientRequest& request,
                                               const GradientGraph& gradients);

}  // namespace tessera
