#include "training/trainable_graph.h"

#include "framework/node_evaluator.h"
#include "optimizer/optimizer.h"
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
  // The basic level, not only folding: no-op elimination and dead code elimination also drop
  // nodes (Dropout with ratio 0, Identity) that would otherwise get gradient nodes and saved
  // activations.
  const CpuExecutionProvider cpu;
  Result<std::vector<PassReport>> folded =
      optimize_model(model, transformers_for(OptimizationLevel::basic), make_node_evaluator(model, {&cpu}));
  return folded.is_ok() ? Status::ok() : folded.status();
}

}  // namespace tessera
