// The forward graph of a training split (split_forward_backward), made cheaper to run: each Gemm
// whose only reader is an activation the backward pass differentiates from its output (Relu,
// Tanh, Sigmoid) becomes one com.microsoft FusedGemm. The gradients read the activation's
// output, which stays a value of the graph (and a saved output where backward reads it); the
// Gemm's own output, which nothing else reads, is never written. In the PyTorch wrapper's MLP
// this drops two of five nodes, their outputs' allocations and a pass over each.
#pragma once

#include "graph/graph.h"
#include "graph/infer/infer_context.h"

namespace tessera {

// The domain and version of the FusedGemm nodes: a model holding `graph` must import it when
// fuse_forward_activations fused anything.
inline constexpr const char* kFusedGemmDomain = "com.microsoft";
inline constexpr int64_t kFusedGemmVersion = 1;

// Rewrites `graph` in place; returns how many Gemm + activation pairs became FusedGemm. `types`:
// the inferred types of the graph's values. A Gemm whose output is a graph output, is read by
// another node too, or is not of a float type (FusedGemm's activations take floats) is left
// alone.
int fuse_forward_activations(Graph& graph, const ValueTypes& types);

}  // namespace tessera
