#include "framework/node_evaluator.h"

#include "framework/executor.h"

namespace tessera {

NodeEvaluator make_node_evaluator(const Model& model, std::vector<const ExecutionProvider*> providers) {
  return [&model, providers](const Node& node, int64_t, const std::vector<const Tensor*>& inputs) -> Result<std::vector<Tensor>> {
    // A one-node graph whose inputs are initializers: the executor's checks and kernel creation
    // (with its constant-input prepacking) apply exactly as in the session.
    Graph graph;
    graph.name = "constant folding of " + node.describe();
    if (inputs.size() != node.inputs.size())
      return invalid_argument(node.describe(), ": ", inputs.size(), " values given for ", node.inputs.size(), " inputs");
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (node.inputs[i].empty()) continue;
      if (!inputs[i]) return invalid_argument(node.describe(), ": input ", i, " is not a constant");
      graph.initializers[node.inputs[i]] = *inputs[i];
    }
    for (const std::string& out : node.outputs) {
      if (out.empty()) continue;
      ValueInfo info;
      info.name = out;
      graph.outputs.push_back(info);
    }
    graph.nodes.push_back(node);
    TS_ASSIGN_OR_RETURN(auto executor, GraphExecutor::create(graph, model, providers, {}));
    ThreadPool pool(1);
    BufferPool buffers(0);
    TS_ASSIGN_OR_RETURN(std::vector<Value> values, executor->run({}, {}, pool, buffers));
    std::vector<Tensor> tensors;
    for (Value& v : values) {
      if (!v.is_tensor()) return invalid_argument(node.describe(), ": constant folding needs tensor outputs");
      tensors.push_back(v.tensor());
    }
    return tensors;
  };
}

}  // namespace tessera
