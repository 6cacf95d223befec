// The forward graph as the gradient builders see it, the one preparation of TrainingSession,
// generate_artifacts and the PyTorch wrapper's build_gradient_graphs: the values fed each step
// (trainable parameters, buffers) turned from initializers into graph inputs, then the basic
// optimizer level, so every node that depends on neither inputs nor those values is folded to a
// constant and no-ops are gone. Exporters such as torch's (training mode, no constant folding)
// compute Slice bounds and Reshape shapes with Shape/Mul/Concat nodes over constants; builders
// need those as constants.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"
#include "tessera/status.h"

namespace tessera {

// `fed` names float32 initializers of model.graph.
Status feed_and_fold(Model& model, const std::vector<std::string>& fed);

}  // namespace tessera
