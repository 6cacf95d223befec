// Replaces calls of model-local functions (FunctionProto) by the function's body, so later
// stages only see primitive ops. Recurses into subgraphs and into functions calling functions.
#pragma once

#include "graph/graph.h"
#include "tessera/resource_limits.h"

namespace tessera {

// Inlining can multiply a model's size (a function calling another twice per level doubles it at
// each level), so the number of nodes after inlining (subgraphs included) is computed first and
// refused above `limits.max_nodes`, before anything is expanded; function calls nest at most
// `limits.max_nesting_depth` deep (which stops recursive functions).
Status inline_model_functions(Model& model, const ResourceLimits& limits = {});

}  // namespace tessera
