// Replaces calls of model-local functions (FunctionProto) by the function's body, so later
// stages only see primitive ops. Recurses into subgraphs and into functions calling functions.
#pragma once

#include "graph/graph.h"

namespace tessera {

// Inlining can multiply a model's size (a function calling another twice per level doubles it at
// each level), so the number of nodes after inlining is computed first and refused above
// `max_nodes`, before anything is expanded.
constexpr size_t kDefaultMaxInlinedNodes = 1'000'000;

Status inline_model_functions(Model& model, size_t max_nodes = kDefaultMaxInlinedNodes);

}  // namespace tessera
