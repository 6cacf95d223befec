// `tessera info MODEL [--opt-level L] [--json]`: what the file declares (metadata, inputs,
// outputs, opsets, weights in initializers and Constant nodes, node counts at the top level and
// in subgraphs), whether a session can run it (unsupported operators and invalid graphs are
// reported without running anything), and the graph a session runs at level L; with --ep, how
// the graph is split among the execution providers.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <initializer_list>
#include <iostream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "graph/function_inliner.h"
#include "graph/shape_inference.h"
#include "model/model_loader.h"
#include "providers/cpu/cpu_provider.h"
#include "tessera/model_metadata.h"
#include "tessera/session.h"
#include "tools/cli_errors.h"
#include "tools/commands.h"
#include "tools/session_flags.h"

namespace tessera::cli {

namespace {

using Json = nlohmann::ordered_json;

// `n` with a unit prefix and three significant digits: human(1572864, 1024, {"B", "KiB", ...}).
std::string human(uint64_t n, double step, std::initializer_list<const char*> units) {
  double v = static_cast<double>(n);
  auto unit = units.begin();
  while (v >= step && unit + 1 != units.end()) v /= step, ++unit;
  char buf[32];
  std::snprintf(buf, sizeof buf, unit == units.begin() ? "%.0f%s" : "%.3g%s", v, *unit);
  return buf;
}
std::string human_bytes(uint64_t bytes) { return human(bytes, 1024, {" B", " KiB", " MiB", " GiB", " TiB"}); }
// Decimal units, as parameter counts are usually given: "25.6 M".
std::string human_count(uint64_t n) { return human(n, 1000, {"", " K", " M", " G"}); }

// What the file holds, through every subgraph.
struct GraphStats {
  size_t top_nodes = 0, subgraph_nodes = 0, subgraphs = 0;
  size_t initializers = 0, constant_nodes = 0;
  uint64_t initializer_bytes = 0, constant_bytes = 0;
  uint64_t parameters = 0;  // elements of initializers and Constant values
  std::set<std::pair<std::string, std::string>> ops;  // (domain, op) of every node
};

// The value a Constant node holds: elements and bytes (strings count their characters).
void count_constant(const Node& node, GraphStats& stats) {
  for (const auto& [name, attr] : node.attributes) {
    uint64_t elements = 0, bytes = 0;
    if (attr.t.defined()) {
      elements = static_cast<uint64_t>(attr.t.size());
      bytes = attr.t.byte_size();
    } else if (name == "value_floats" || name == "value_float") {
      elements = name == "value_float" ? 1 : attr.floats.size();
      bytes = elements * sizeof(float);
    } else if (name == "value_ints" || name == "value_int") {
      elements = name == "value_int" ? 1 : attr.ints.size();
      bytes = elements * sizeof(int64_t);
    } else if (name == "value_strings" || name == "value_string") {
      elements = name == "value_string" ? 1 : attr.strings.size();
      bytes = name == "value_string" ? attr.s.size() : 0;
      for (const auto& s : attr.strings) bytes += s.size();
    }
    stats.parameters += elements;
    stats.constant_bytes += bytes;
  }
}

void collect(const Graph& graph, bool top, GraphStats& stats) {
  (top ? stats.top_nodes : stats.subgraph_nodes) += graph.nodes.size();
  stats.initializers += graph.initializers.size();
  for (const auto& [name, tensor] : graph.initializers) {
    stats.initializer_bytes += tensor.byte_size();
    stats.parameters += static_cast<uint64_t>(tensor.size());
  }
  for (const auto& node : graph.nodes) {
    stats.ops.emplace(node.domain, node.op_type);
    if (node.op_type == "Constant" && node.domain.empty()) {
      ++stats.constant_nodes;
      count_constant(node, stats);
    }
    for (const auto& [name, attr] : node.attributes) {
      if (attr.g) ++stats.subgraphs, collect(*attr.g, false, stats);
      for (const auto& sub : attr.graphs) ++stats.subgraphs, collect(*sub, false, stats);
    }
  }
}

// Operators of the model that neither the CPU EP has a kernel for at the model's opset nor the
// model defines as a function: "domain.Op (opset N)".
std::vector<std::string> unsupported_ops(const Model& model, const GraphStats& stats) {
  CpuExecutionProvider cpu;
  std::set<std::pair<std::string, std::string>> functions;
  for (const auto& f : model.functions) functions.emplace(f.domain, f.name);
  std::vector<std::string> missing;
  for (const auto& [domain, op] : stats.ops) {
    if (functions.count({domain, op})) continue;
    const int64_t opset = model.opset_version(domain);
    if (cpu.kernels().find(domain, op, opset)) continue;
    missing.push_back(str_cat(domain.empty() ? "" : domain + ".", op, " (opset ", opset, ")"));
  }
  return missing;
}

Json io_json(const std::vector<const ValueInfo*>& values) {
  Json out = Json::array();
  for (const ValueInfo* v : values) out.push_back({{"name", v->name}, {"type", v->type.to_string()}});
  return out;
}

// Inputs, initializers, then each node's outputs in node order (model-local functions inlined
// first, as a session does).
int print_values(Model model, const std::string& path) {
  Status inlined = inline_model_functions(model);
  if (!inlined.is_ok()) return report_error(inlined, path);
  auto types = infer_types(model.graph, model, {});
  if (!types.is_ok()) return report_error(types.status(), path);
  const Graph& graph = model.graph;
  auto print = [&](const std::string& name) {
    auto it = types->find(name);
    std::cout << "  " << name << ": " << (it == types->end() ? "unknown" : it->second.to_string()) << "\n";
  };
  std::cout << "values:\n";
  for (const auto& in : graph.inputs) print(in.name);
  for (const auto& initializer : graph.initializers) {
    const std::string& name = initializer.first;  // not a structured binding: clang 14 cannot capture one
    if (std::none_of(graph.inputs.begin(), graph.inputs.end(), [&](const ValueInfo& v) { return v.name == name; })) print(name);
  }
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
  auto options = session_options(1, args.opt_level, args.log_level, "", args.ep, {.strict_placement = args.strict_placement});
  if (!options.is_ok()) return report_error(options.status(), "", kExitUsage);
  options->warm_up = false;  // described, never run
  ModelMetadata meta;
  auto model = load_model_file(args.model, options->limits, &meta);
  if (!model.is_ok()) return report_error(model.status(), args.model);
  // Whether a session can be made is part of the report: a model that cannot is described anyway.
  auto session = Session::load(args.model, *options);

  const Graph& graph = model->graph;
  GraphStats stats;
  collect(graph, true, stats);
  std::error_code ec;
  const uintmax_t file_bytes = std::filesystem::file_size(args.model, ec);
  const std::vector<std::string> missing = session.is_ok() ? std::vector<std::string>{} : unsupported_ops(*model, stats);
  const std::vector<const ValueInfo*> inputs = graph.feed_inputs();
  std::vector<const ValueInfo*> outputs;
  for (const auto& out : graph.outputs) outputs.push_back(&out);

  if (args.json) {
    Json j;
    j["model"] = args.model;
    j["file_bytes"] = ec ? 0 : file_bytes;
    j["ir_version"] = model->ir_version;
    j["producer_name"] = meta.producer_name;
    j["producer_version"] = meta.producer_version;
    j["model_version"] = meta.version;
    j["domain"] = meta.domain;
    j["doc_string"] = meta.description;
    j["graph_name"] = meta.graph_name;
    j["metadata_props"] = meta.custom_metadata_map;
    Json opsets = Json::object();
    for (const auto& [domain, version] : model->opset_imports) opsets[domain.empty() ? "ai.onnx" : domain] = version;
    j["opsets"] = opsets;
    j["inputs"] = io_json(inputs);
    j["outputs"] = io_json(outputs);
    j["initializers"] = {{"count", stats.initializers}, {"bytes", stats.initializer_bytes}};
    j["constant_nodes"] = {{"count", stats.constant_nodes}, {"bytes", stats.constant_bytes}};
    j["parameters"] = stats.parameters;
    j["functions"] = model->functions.size();
    j["nodes"] = {{"top_level", stats.top_nodes}, {"in_subgraphs", stats.subgraph_nodes}, {"subgraphs", stats.subgraphs}};
    j["runnable"] = session.is_ok();
    if (!session.is_ok()) {
      j["error"] = session.status().message();
      j["unsupported_ops"] = missing;
    } else {
      const NodeCounts counts = session->node_counts();
      j["session"] = {{"opt_level", optimization_level_name(options->optimization_level)},
                      {"nodes", counts.nodes},
                      {"by_op", counts.by_op}};
    }
    std::cout << j.dump(2) << "\n";
    return session.is_ok() ? 0 : report_error(session.status(), args.model);
  }

  std::cout << "model: " << args.model;
  if (!ec) std::cout << " (" << human_bytes(file_bytes) << ")";
  std::cout << "\nir_version: " << model->ir_version << "\nproducer: " << meta.producer_name
            << (meta.producer_version.empty() ? "" : " " + meta.producer_version) << "\n";
  if (meta.version) std::cout << "model_version: " << meta.version << "\n";
  if (!meta.domain.empty()) std::cout << "domain: " << meta.domain << "\n";
  if (!meta.description.empty()) std::cout << "doc_string: " << meta.description << "\n";
  if (!meta.custom_metadata_map.empty()) {
    std::cout << "metadata_props:\n";
    for (const auto& [key, value] : meta.custom_metadata_map) std::cout << "  " << key << ": " << value << "\n";
  }
  std::cout << "opsets:";
  for (const auto& [domain, version] : model->opset_imports) std::cout << " " << (domain.empty() ? "ai.onnx" : domain) << "=" << version;
  std::cout << "\ninputs:\n";
  for (const ValueInfo* in : inputs) std::cout << "  " << in->name << ": " << in->type.to_string() << "\n";
  std::cout << "outputs:\n";
  for (const ValueInfo* out : outputs) std::cout << "  " << out->name << ": " << out->type.to_string() << "\n";
  std::cout << "initializers: " << stats.initializers << " tensors, " << human_bytes(stats.initializer_bytes) << "\n";
  std::cout << "constant nodes: " << stats.constant_nodes << ", " << human_bytes(stats.constant_bytes) << "\n";
  std::cout << "parameters: " << human_count(stats.parameters) << " (" << stats.parameters << ")\n";
  if (!model->functions.empty()) std::cout << "functions: " << model->functions.size() << "\n";
  std::cout << "nodes in the file: " << stats.top_nodes << " top-level, " << stats.subgraph_nodes << " in " << stats.subgraphs
            << " subgraphs\n";
  if (!session.is_ok()) {
    std::cout << "runnable: no\n";
    if (!missing.empty()) {
      std::cout << "unsupported operators:\n";
      for (const auto& op : missing) std::cout << "  " << op << "\n";
    }
    return report_error(session.status(), args.model);
  }
  // The graph as it runs: functions inlined, then optimized at the chosen level.
  const NodeCounts counts = session->node_counts();
  std::cout << "runnable: yes\nnodes: " << counts.nodes << " at opt-level " << optimization_level_name(options->optimization_level)
            << "\n";
  for (const auto& [op, count] : counts.by_op) std::cout << "  " << op << ": " << count << "\n";
  if (!args.ep.empty()) print_placement(session->placement());
  if (args.values) return print_values(std::move(model).value(), args.model);
  return 0;
}

}  // namespace tessera::cli
