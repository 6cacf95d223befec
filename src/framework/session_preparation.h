// Session creation's preparation step: what a session can do before its first run so that the
// first run costs what later ones do. Free dimension overrides fix symbolic input dims by name
// (so inference, constant folding and the kernels see fixed shapes); once every fed input has a
// fixed shape, a warm-up run on zero-filled inputs fills the buffer pool with blocks of the run's
// sizes (pages touched), makes the kernels' per-shape state (oneDNN primitives' first calls,
// packed scratch) and gets the pool's threads and their thread-local scratch going.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "tessera/value.h"

namespace tessera {

// Sets every dim of `graph`'s inputs whose symbolic name is a key of `overrides` to its value.
// An error naming the dim when a key matches no input dim or a value is negative; `model` names
// the model in messages.
Status apply_free_dimension_overrides(Graph& graph, const std::map<std::string, int64_t>& overrides,
                                      const std::string& model);

// Inputs for a warm-up run, in the order of graph.inputs: a zero-filled tensor per fed input
// (absent values for initializer-backed inputs, which keep their initializer, and for optional
// ones), or nullopt when an input the caller feeds is not a tensor of fixed shape.
std::optional<std::vector<Value>> warm_up_inputs(const Graph& graph);

}  // namespace tessera
