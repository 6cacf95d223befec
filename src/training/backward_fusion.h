// The backward graph of a training split (split_forward_backward), made cheaper to run: the
// gradient of each Linear layer (a forward Gemm with transB = 1, as torch exports nn.Linear)
// becomes one com.tessera LinearGrad node (docs/fused_ops.md) in place of what the builders
// write for it:
//   Gemm(g, W) -> dX (transA 0, transB 0; absent when X needs no gradient),
//   Gemm(g, X) -> dW (transA 1, transB 0),
//   ReduceSum(g, axes [0], keepdims 0) -> db (absent without a bias),
// and, when g is ActivationGrad(dA, A) (the layer feeds a Relu, Sigmoid or Tanh) read by nothing
// else, that ActivationGrad too, applied by LinearGrad into scratch. The counterpart of
// fuse_forward_activations (forward_fusion.h). In the PyTorch wrapper's 3-layer MLP the backward
// graph goes from 10 nodes to 3.
#pragma once

#include "graph/graph.h"
#include "graph/infer/infer_context.h"

namespace tessera {

// Rewrites `graph` in place; returns how many LinearGrad nodes it wrote. `types`: inferred types
// of the graph's values, at least of each layer's X (the forward values and inputs backward
// reads). A gradient g is left alone when anything else reads it (another node, a graph output,
// a subgraph), when a product has other trans flags, an alpha other than 1 or a third input,
// when the ReduceSum keeps dims or sums other axes (a broadcast bias), or when X is not float32
// or float64. The nodes stay in a topological order.
int fuse_backward_linears(Graph& graph, const ValueTypes& types);

}  // namespace tessera
