#include "framework/partitioner.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <unordered_map>

namespace tessera {

bool is_shape_input(const Node& node, size_t input) {
  if (!node.domain.empty()) return false;
  const std::string& op = node.op_type;
  if (op == "ConstantOfShape" || op == "Range") return true;
  if (op == "Reshape" || op == "Expand" || op == "Tile" || op == "Squeeze" || op == "Unsqueeze" || op == "OneHot" ||
      op == "TopK" || op == "Split" || op == "Upsample" || op.rfind("Reduce", 0) == 0)
    return input == 1;
  if (op == "Slice") return input >= 1;
  if (op == "Pad") return input == 1 || input == 3;
  if (op == "Resize") return input >= 1;
  return false;
}

namespace {

bool reads_metadata_only(const Node& node, size_t input) {
  return input == 0 && node.domain.empty() && (node.op_type == "Shape" || node.op_type == "Size");
}

bool has_subgraph(const Node& node) {
  for (const auto& [name, attr] : node.attributes)
    if (attr.g || !attr.graphs.empty()) return true;
  return false;
}

std::string input_dtypes(const Node& node, const ValueTypes& types) {
  std::string out;
  for (const auto& in : node.inputs) {
    if (!out.empty()) out += ", ";
    auto it = in.empty() ? types.end() : types.find(in);
    out += in.empty() ? "omitted" : it == types.end() ? "unknown" : it->second.to_string();
  }
  return "(" + out + ")";
}

Status no_provider_error(const Node& node, const Model& model, const ValueTypes& types,
                         const std::vector<const ExecutionProvider*>& providers, const std::vector<std::string>& reasons) {
  std::string domain = node.domain.empty() ? "ai.onnx" : node.domain;
  int64_t opset = model.opset_version(node.domain);
  if (opset == 0)
    return invalid_model(node.describe(), ": domain '", domain, "' is not imported by the model (no opset_import entry)");
  std::string why = " with inputs " + input_dtypes(node, types) + ":";
  for (size_t p = 0; p < providers.size(); ++p) why += str_cat(" ", providers[p]->name(), ": ", reasons[p], ";");
  why.pop_back();
  for (const auto* p : providers)
    if (p->kernels().knows_op(node.domain, node.op_type))
      return not_implemented(node.describe(), ": operator ", node.op_type, " of domain ", domain, " is supported, but not at opset ",
                             opset, " (the model's import)", why);
  return not_implemented(node.describe(), ": operator ", node.op_type, " of domain ", domain, " opset ", opset,
                         " is not supported by Tessera", why);
}

// Nodes that must run on a host EP: see partitioner.h. Decided readers-first (reverse order), so
// a chain Shape -> Gather -> Concat -> Reshape.shape stays whole on the host.
std::vector<bool> host_only_nodes(const Graph& graph, const CheckedGraph& checked) {
  std::vector<bool> host(graph.nodes.size(), false);
  std::set<std::string> escapes;  // graph outputs: a value the caller gets is not "shape only"
  for (const auto& out : graph.outputs) escapes.insert(out.name);
  std::set<std::string> captured;  // read by a subgraph: must be on the host
  for (const auto& names : checked.implicit_inputs) captured.insert(names.begin(), names.end());
  // Per value: its readers as (node, input index).
  std::unordered_map<std::string, std::vector<std::pair<size_t, size_t>>> readers;
  for (size_t n = 0; n < graph.nodes.size(); ++n)
    for (size_t i = 0; i < graph.nodes[n].inputs.size(); ++i)
      if (!graph.nodes[n].inputs[i].empty()) readers[graph.nodes[n].inputs[i]].push_back({n, i});
  for (auto it = checked.order.rbegin(); it != checked.order.rend(); ++it) {
    const Node& node = graph.nodes[*it];
    if ((node.domain.empty() && (node.op_type == "Shape" || node.op_type == "Size")) || has_subgraph(node)) {
      host[*it] = true;
      continue;
    }
    bool read = false, shape_only = true;
    for (const auto& out : node.outputs) {
      if (out.empty()) continue;
      if (captured.count(out)) {
        host[*it] = true;
        break;
      }
      if (escapes.count(out)) shape_only = false;
      auto r = readers.find(out);
      if (r == readers.end()) continue;
      for (const auto& [reader, input] : r->second) {
        read = true;
        if (!host[reader] && !is_shape_input(graph.nodes[reader], input)) shape_only = false;
      }
    }
    if (read && shape_only) host[*it] = true;
  }
  return host;
}

// The bytes of a value whose inferred type is a tensor of fixed shape; -1 otherwise.
int64_t fixed_byte_size(const ValueTypes& types, const std::string& value) {
  auto it = types.find(value);
  if (it == types.end() || it->second.kind != TypeInfo::Kind::tensor || !it->second.shape ||
      it->second.elem_type == DataType::string)
    return -1;
  Shape shape;
  for (const Dim& d : *it->second.shape) {
    if (!d.is_fixed()) return -1;
    shape.push_back(d.value);
  }
  auto bytes = checked_byte_size(it->second.elem_type, shape);
  return bytes.is_ok() ? static_cast<int64_t>(*bytes) : -1;
}

// The CPU EP (named "CPU"; `--ep cpu` in any case).
bool is_cpu(const ExecutionProvider& provider) {
  std::string name = provider.name();
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return name == "cpu";
}

}  // namespace

Status check_strict_placement(const Graph& graph, const Partition& placed) {
  std::map<size_t, std::string> why;  // node -> each EP's reason, in node order
  for (const Fallback& f : placed.fallbacks)
    if (!f.kept_on_host && is_cpu(*placed.assigned[f.node]))
      why[f.node] += str_cat(why[f.node].empty() ? "" : "; ", f.provider, ": ", f.reason);
  if (why.empty()) return Status::ok();
  std::string nodes;
  size_t listed = 0;
  for (const auto& [node, reasons] : why) {
    if (++listed > 20) {
      nodes += str_cat(" ... and ", why.size() - 20, " more");
      break;
    }
    nodes += str_cat(listed > 1 ? ", " : " ", graph.nodes[node].describe(), " (", reasons, ")");
  }
  return invalid_argument("strict placement: ", why.size(), " node", why.size() == 1 ? "" : "s",
                          " would fall back to the CPU EP:", nodes);
}

Result<Partition> partition(const Graph& graph, const Model& model, const CheckedGraph& checked,
                            const std::vector<const ExecutionProvider*>& providers) {
  const size_t n = graph.nodes.size();
  Partition result;
  result.assigned.assign(n, nullptr);
  const std::vector<bool> host_only = host_only_nodes(graph, checked);
  // reasons[node][provider]: why each EP asked before the one that took it did not.
  std::vector<std::vector<std::string>> reasons(n);
  std::vector<std::vector<bool>> kept(n);  // per reason: the EP claimed the node but it stays on the host
  for (const auto* provider : providers) {
    const bool device = !provider->memory().is_host();
    if (device && (!provider->allocator() || !provider->data_transfer()))
      return invalid_argument("execution provider '", provider->name(), "' has memory ", memory_location_name(provider->memory()),
                              " but no allocator or data transfer for it");
    std::vector<std::string> why(n, "declined");
    const Capability capability = provider->get_capability(graph, model, checked.types);
    for (const Declined& d : capability.declined)
      if (d.node < n) why[d.node] = str_cat(decline_reason_name(d.reason), d.detail.empty() ? "" : ": ", d.detail);
    std::vector<bool> claimed(n, false);
    for (size_t i : capability.claimed)
      if (i < n) claimed[i] = true;
    for (size_t i = 0; i < n; ++i) {
      if (result.assigned[i]) continue;
      const bool keep = claimed[i] && device && host_only[i];
      if (keep) {
        claimed[i] = false;
        why[i] = "kept on the host (shape computation, captured by a subgraph, or has subgraphs)";
      }
      if (claimed[i]) {
        result.assigned[i] = provider;
      } else {
        reasons[i].push_back(why[i]);
        kept[i].push_back(keep);
      }
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (!result.assigned[i]) return no_provider_error(graph.nodes[i], model, checked.types, providers, reasons[i]);
    for (size_t p = 0; p < reasons[i].size(); ++p) result.fallbacks.push_back({i, providers[p]->name(), reasons[i][p], kept[i][p]});
  }

  // Subgraphs: runs of consecutive steps on one EP.
  for (size_t index : checked.order) {
    if (result.subgraphs.empty() || result.subgraphs.back().provider != result.assigned[index])
      result.subgraphs.push_back({result.assigned[index], {}});
    result.subgraphs.back().nodes.push_back(index);
  }

  // Copies: where each value lives, then every read from another memory kind (once per value and
  // destination: later readers share the copy).
  std::unordered_map<std::string, MemoryLocation> lives;  // absent: the host
  for (size_t index : checked.order)
    for (const auto& out : graph.nodes[index].outputs)
      if (!out.empty()) lives[out] = result.assigned[index]->memory();
  auto where = [&](const std::string& name) {
    auto it = lives.find(name);
    return it == lives.end() ? MemoryLocation{} : it->second;
  };
  std::set<std::pair<std::string, std::pair<int, int>>> planned;
  auto plan = [&](const std::string& value, const MemoryLocation& to, size_t before) {
    const MemoryLocation from = where(value);
    if (from == to) return;
    if (!planned.insert({value, {static_cast<int>(to.device), to.device_id}}).second) return;
    const bool constant = graph.is_initializer(value) && lives.find(value) == lives.end() &&
                          std::none_of(graph.inputs.begin(), graph.inputs.end(), [&](const ValueInfo& v) { return v.name == value; });
    result.copies.push_back({value, from, to, before, constant, fixed_byte_size(checked.types, value)});
  };
  for (size_t pos = 0; pos < checked.order.size(); ++pos) {
    const Node& node = graph.nodes[checked.order[pos]];
    const MemoryLocation to = result.assigned[checked.order[pos]]->memory();
    for (size_t i = 0; i < node.inputs.size(); ++i)
      if (!node.inputs[i].empty() && !reads_metadata_only(node, i)) plan(node.inputs[i], to, pos);
  }
  for (const auto& out : graph.outputs) plan(out.name, MemoryLocation{}, checked.order.size());
  return result;
}

}  // namespace tessera
