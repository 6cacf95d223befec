// From a training forward graph to what inference runs: training-mode BatchNormalization and
// Dropout switched to inference mode, and a model cut down to the outputs it keeps.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"
#include "tessera/status.h"

namespace tessera {

// A value a forward pass updates: the initializer `name` (BatchNormalization's running mean or
// variance) is replaced after each train_step by the node output `update`.
struct BufferUpdate {
  std::string name;
  std::string update;
};
// The running statistics of training-mode BatchNormalization nodes whose mean and var inputs are
// initializers and whose running outputs are produced.
std::vector<BufferUpdate> running_statistics(const Graph& graph, const Model& model);

// Training-mode BatchNormalization reads its running statistics instead (its running outputs are
// dropped); Dropout's training_mode input is removed (Dropout then passes its input through).
void to_inference_mode(Graph& graph, const Model& model);

// Removes the outputs named in `drop`, then every node, initializer and input that no remaining
// output needs. Fails when no output remains.
Status keep_outputs_without(Model& model, const std::vector<std::string>& drop);

}  // namespace tessera
