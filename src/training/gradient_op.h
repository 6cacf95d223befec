// The ONNX Gradient operator (ai.onnx.preview.training, opset 1): Gradient(xs..., zs...) gives
// d(y)/d(x) for each x, differentiating the graph it sits in. It is not a kernel: before a session
// is created, each Gradient node of the main graph is replaced by the backward nodes that
// append_gradients builds for it (seeded with ones of y's shape), and Identity nodes give the
// gradients the node's output names.
#pragma once

#include "graph/graph.h"
#include "tessera/status.h"

namespace tessera {

// Replaces every Gradient node of model.graph; a model without one is left untouched. Fails,
// naming the node, on a Gradient inside a subgraph, inputs that are not the xs and zs values, or
// an op on the path without a gradient builder.
Status expand_gradient_ops(Model& model);

}  // namespace tessera
