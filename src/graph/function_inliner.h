// Replaces calls of model-local functions (FunctionProto) by the function's body, so later
// stages only see primitive ops. Recurses into subgraphs and into functions calling functions.
#pragma once

#include "graph/graph.h"

namespace tessera {

Status inline_model_functions(Model& model);

}  // namespace tessera
