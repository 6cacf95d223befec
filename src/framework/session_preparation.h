// Session creation's preparation step: what a session can do before its first run so that the
// first run costs what later ones do. Free dimension overrides fix symbolic input dims by name
// (so inference, constant folding and the kernels see fixed shapes); the warm-up infers every
// value's shape at the declared input shapes (dims still symbolic taken as 1) and fills the
// buffer pool with the blocks a run at those shapes takes, their pages touched, without computing
// anything (GraphExecutor::touch_output_buffers).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace tessera {

// Sets every dim of `graph`'s inputs whose symbolic name is a key of `overrides` to its value.
// An error naming the dim when a key matches no input dim or a value is negative; `model` names
// the model in messages.
Status apply_free_dimension_overrides(Graph& graph, const std::map<std::string, int64_t>& overrides,
                                      const std::string& model);

// The types of `graph`'s inputs at which session creation warms up, in the order of graph.inputs:
// each fed tensor input at its declared shape with every dim not fixed taken as 1 (the batch of
// one most callers run first). Initializer-backed inputs, and inputs that are not tensors of known
// rank and element type, keep their declared type (what depends on them stays unknown).
std::vector<TypeInfo> warm_up_input_types(const Graph& graph);

}  // namespace tessera
