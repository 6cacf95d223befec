// Runs single nodes on constant inputs with the session's execution providers: the optimizer's
// constant folding computes with the same kernels the session will run, so a folded value is the
// value the unfolded graph would have produced.
#pragma once

#include <vector>

#include "framework/execution_provider.h"
#include "optimizer/graph_transformer.h"

namespace tessera {

// `model` (its opset imports) and `providers` must outlive the evaluator.
NodeEvaluator make_node_evaluator(const Model& model, std::vector<const ExecutionProvider*> providers);

}  // namespace tessera
