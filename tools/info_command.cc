// `tessera info MODEL`: inputs, outputs, opsets, op histogram, initializer bytes.
#include <iostream>
#include <map>

#include "model/model_loader.h"
#include "tools/commands.h"

namespace tessera::cli {

namespace {

void count_ops(const Graph& graph, std::map<std::string, int>& histogram) {
  for (const auto& node : graph.nodes) {
    ++histogram[node.domain.empty() ? node.op_type : node.domain + "." + node.op_type];
    for (const auto& [name, attr] : node.attributes) {
      if (attr.g) count_ops(*attr.g, histogram);
      for (const auto& g : attr.graphs) count_ops(*g, histogram);
    }
  }
}

}  // namespace

int info_command(const std::string& path) {
  auto model = load_model_file(path);
  if (!model.is_ok()) {
    std::cerr << "error: " << model.status().message() << "\n";
    return 1;
  }
  const Graph& graph = model->graph;
  std::cout << "model: " << path << "\nir_version: " << model->ir_version << "\nproducer: " << model->producer_name << "\n";
  std::cout << "opsets:";
  for (const auto& [domain, version] : model->opset_imports) std::cout << " " << (domain.empty() ? "ai.onnx" : domain) << "=" << version;
  std::cout << "\ninputs:\n";
  for (const ValueInfo* in : graph.feed_inputs()) std::cout << "  " << in->name << ": " << in->type.to_string() << "\n";
  std::cout << "outputs:\n";
  for (const auto& out : graph.outputs) std::cout << "  " << out.name << ": " << out.type.to_string() << "\n";
  size_t bytes = 0;
  for (const auto& [name, tensor] : graph.initializers) bytes += tensor.byte_size();
  std::cout << "initializers: " << graph.initializers.size() << " tensors, " << bytes << " bytes\n";
  std::map<std::string, int> histogram;
  count_ops(graph, histogram);
  std::cout << "nodes: " << graph.nodes.size() << "\n";
  for (const auto& [op, count] : histogram) std::cout << "  " << op << ": " << count << "\n";
  if (!model->functions.empty()) std::cout << "functions: " << model->functions.size() << "\n";
  return 0;
}

}  // namespace tessera::cli
