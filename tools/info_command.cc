// `tessera info MODEL`: inputs, outputs, opsets, op histogram, initializer bytes; with --values,
// every value of the main graph with its inferred type (shape_inference.h).
#include <algorithm>
#include <iostream>
#include <map>

#include "graph/function_inliner.h"
#include "graph/shape_inference.h"
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

// Inputs, initializers, then each node's outputs in node order, as the session would see them
// (model-local functions inlined first).
int print_values(Model model) {
  Status inlined = inline_model_functions(model);
  if (!inlined.is_ok()) {
    std::cerr << "error: model '" << model.source << "': " << inlined.message() << "\n";
    return 1;
  }
  auto types = infer_types(model.graph, model, {});
  if (!types.is_ok()) {
    std::cerr << "error: model '" << model.source << "': " << types.status().message() << "\n";
    return 1;
  }
  const Graph& graph = model.graph;
  auto print = [&](const std::string& name) {
    auto it = types->find(name);
    std::cout << "  " << name << ": " << (it == types->end() ? "unknown" : it->second.to_string()) << "\n";
  };
  std::cout << "values:\n";
  for (const auto& in : graph.inputs) print(in.name);
  for (const auto& [name, tensor] : graph.initializers)
    if (std::none_of(graph.inputs.begin(), graph.inputs.end(), [&](const ValueInfo& v) { return v.name == name; })) print(name);
  for (const auto& node : graph.nodes)
    for (const auto& out : node.outputs)
      if (!out.empty()) print(out);
  return 0;
}

}  // namespace

int info_command(const std::string& path, bool values) {
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
  if (values) return print_values(*model);
  return 0;
}

}  // namespace tessera::cli
