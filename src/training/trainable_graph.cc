#include "training/trainable_graph.h"

#include <memory>

#include "framework/node_evaluator.h"
#include "optimizer/optimizer.h"
#include "optimizer/transformers.h"
#include "providers/cpu/cpu_provider.h"

namespace tessera {

Status feed_and_fold(Model& model, const std::vector<std::string>& fed) {
  Graph& graph = model.graph;
  for (const std::string& name : fed) {
    auto it = graph.initializers.find(name);
    if (it == graph.initializers.end()) return invalid_argument("'", name, "' is not an initializer");
    bool declared = false;
    for (const ValueInfo& v : graph.inputs) declared = declared || v.name == name;
    if (!declared) {
      ValueInfo input;
      input.name = name;
      input.type.kind = TypeInfo::Kind::tensor;
      input.type.elem_type = it->second.dtype();
      std::vector<Dim> dims;
      for (int64_t d : it->second.shape()) dims.push_back(Dim{d, ""});
      input.type.shape = dims;
      graph.inputs.push_back(input);
    }
    graph.initializers.erase(it);
  }
  const CpuExecutionProvider cpu;
  std::vector<std::unique_ptr<GraphTransformer>> passes;
  passes.push_back(make_constant_folding());
  Result<std::vector<PassReport>> folded = optimize_model(model, passes, make_node_evaluator(model, {&cpu}));
  return folded.is_ok() ? Status::ok() : folded.status();
}

}  // namespace tessera
