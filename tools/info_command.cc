// `tessera info MODEL [--opt-level L]`: inputs, outputs, opsets and initializer bytes as the file
// declares them; the node count and op histogram of the graph a session runs at level L; with
// --ep, how the graph is split among the execution providers.
#include <algorithm>
#include <iostream>
#include <map>

#include "graph/function_inliner.h"
#include "graph/shape_inference.h"
#include "model/model_loader.h"
#include "tessera/session.h"
#include "tools/commands.h"
#include "tools/session_flags.h"

namespace tessera::cli {

namespace {

// Inputs, initializers, then each node's outputs in node order (model-local functions inlined
// first, as a session does).
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

// The split among the EPs: nodes per EP, the subgraphs, the copies, why nodes fell back.
void print_placement(const Placement& placement) {
  std::cout << "placement:\n";
  for (const auto& [provider, nodes] : placement.nodes_per_provider) std::cout << "  " << provider << ": " << nodes << " nodes\n";
  std::cout << "subgraphs: " << placement.subgraphs.size() << "\n";
  for (size_t i = 0; i < placement.subgraphs.size(); ++i) {
    const auto& sub = placement.subgraphs[i];
    std::cout << "  " << i << " " << sub.provider << " (" << sub.nodes.size() << " nodes):";
    for (const auto& node : sub.nodes) std::cout << " " << node;
    std::cout << "\n";
  }
  std::cout << "copies: " << placement.copies.size() << "\n";
  for (const auto& copy : placement.copies) {
    using Bytes = Placement::Copy::Bytes;
    std::cout << "  " << copy.value << ": " << copy.from << " -> " << copy.to << (copy.once ? " (initializer, once)" : " (per run)")
              << ", " << (copy.bytes_from == Bytes::unknown ? "bytes unknown until a run" : std::to_string(copy.bytes) + " bytes")
              << (copy.bytes_from == Bytes::measured ? " (measured)" : copy.bytes_from == Bytes::inferred ? " (inferred)" : "") << "\n";
  }
  if (!placement.fallbacks.empty()) std::cout << "fallbacks: " << placement.fallbacks.size() << "\n";
  for (const auto& f : placement.fallbacks) std::cout << "  " << f.node << ": " << f.provider << ": " << f.reason << "\n";
}

}  // namespace

int info_command(const InfoArgs& args) {
  auto fail = [](const Status& s) {
    std::cerr << "error: " << s.message() << "\n";
    return 1;
  };
  auto options = session_options(1, args.opt_level, args.log_level, "", args.ep, {.strict_placement = args.strict_placement});
  if (!options.is_ok()) return fail(options.status());
  auto model = load_model_file(args.model);
  if (!model.is_ok()) return fail(model.status());
  auto session = Session::load(args.model, *options);
  if (!session.is_ok()) return fail(session.status());

  const Graph& graph = model->graph;
  std::cout << "model: " << args.model << "\nir_version: " << model->ir_version << "\nproducer: " << model->producer_name << "\n";
  std::cout << "opsets:";
  for (const auto& [domain, version] : model->opset_imports) std::cout << " " << (domain.empty() ? "ai.onnx" : domain) << "=" << version;
  std::cout << "\ninputs:\n";
  for (const ValueInfo* in : graph.feed_inputs()) std::cout << "  " << in->name << ": " << in->type.to_string() << "\n";
  std::cout << "outputs:\n";
  for (const auto& out : graph.outputs) std::cout << "  " << out.name << ": " << out.type.to_string() << "\n";
  size_t bytes = 0;
  for (const auto& [name, tensor] : graph.initializers) bytes += tensor.byte_size();
  std::cout << "initializers: " << graph.initializers.size() << " tensors, " << bytes << " bytes\n";
  if (!model->functions.empty()) std::cout << "functions: " << model->functions.size() << "\n";
  // The graph as it runs: functions inlined, then optimized at the chosen level.
  const NodeCounts counts = session->node_counts();
  std::cout << "nodes: " << counts.nodes << " at opt-level " << optimization_level_name(options->optimization_level) << " ("
            << graph.nodes.size() << " as loaded)\n";
  for (const auto& [op, count] : counts.by_op) std::cout << "  " << op << ": " << count << "\n";
  if (!args.ep.empty()) print_placement(session->placement());
  if (args.values) return print_values(std::move(model).value());
  return 0;
}

}  // namespace tessera::cli
