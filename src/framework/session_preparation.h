// Session creation's preparation step: what a session can do before its first run so that the
// first run costs what later ones do. Free dimension overrides fix symbolic input dims by name
// (so inference, constant folding and the kernels see fixed shapes); a warm-up run on zero-filled
// inputs at the declared shape (dims still symbolic taken as 1) fills the buffer pool with blocks
// of the run's sizes (pages touched), makes the kernels' per-shape state (oneDNN primitives'
// first calls, packed scratch) and gets the pool's threads and their thread-local scratch going.
#pragma once

#include <chrono>
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

// A warm-up run still going after this long is stopped (at its next step or Loop/Scan iteration),
// so that a model whose run takes minutes (a Loop of 2^62 trips) does not hold session creation;
// a model whose one run takes longer gains little from the warm-up anyway, its first-run excess
// being a few milliseconds per 100 MB of activations.
inline constexpr std::chrono::milliseconds kWarmUpTimeLimit{2000};

// Whether `graph` or a subgraph of it has a node that draws random numbers (graph/random_ops.h):
// a warm-up run would advance its generator, so the first run would not give what it gives
// without one.
bool draws_random_numbers(const Graph& graph);

// Inputs for a warm-up run, in the order of graph.inputs: a zero-filled tensor per fed input, of
// its declared shape with every dim not fixed taken as 1 (absent values for initializer-backed
// inputs, which keep their initializer, and for optional ones), or nullopt when an input the
// caller feeds is not a tensor of known rank and element type.
std::optional<std::vector<Value>> warm_up_inputs(const Graph& graph);

}  // namespace tessera
