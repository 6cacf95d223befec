// Nodes computing the same thing are computed once: same op and domain, attributes equal by
// value (tensors by their bytes), the same inputs and the same outputs present. The later node's
// readers read the earlier node's outputs (bypass_nodes, which keeps graph output names). Small
// initializers with equal contents are merged the same way, so that nodes reading two copies of
// one constant become equal too. Random ops and nodes with subgraphs are never merged.
#include <algorithm>
#include <cstring>
#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "graph/random_ops.h"
#include "optimizer/graph_edit.h"
#include "optimizer/optimizer.h"
#include "optimizer/transformers.h"

namespace tessera {
namespace {

// Initializers up to this many elements are compared for merging.
constexpr int64_t kMaxMergedInitializer = 1024;

bool same_tensor(const Tensor& a, const Tensor& b) {
  if (a.defined() != b.defined()) return false;
  if (!a.defined()) return true;
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  if (a.dtype() == DataType::string) {
    for (int64_t i = 0; i < a.size(); ++i)
      if (a.data<std::string>()[i] != b.data<std::string>()[i]) return false;
    return true;
  }
  return a.byte_size() == b.byte_size() && std::memcmp(a.raw_data(), b.raw_data(), a.byte_size()) == 0;
}

size_t tensor_hash(const Tensor& t) {
  size_t h = std::hash<int>()(static_cast<int>(t.dtype()));
  for (int64_t d : t.shape()) h = h * 31 + std::hash<int64_t>()(d);
  if (!t.defined()) return h;
  if (t.dtype() == DataType::string) {
    for (int64_t i = 0; i < t.size(); ++i) h = h * 31 + std::hash<std::string>()(t.data<std::string>()[i]);
    return h;
  }
  // The first bytes only: equal hashes are compared in full, and a large weight is hashed cheaply.
  const auto* bytes = static_cast<const unsigned char*>(t.raw_data());
  for (size_t i = 0; i < std::min<size_t>(t.byte_size(), 4096); ++i) h = h * 131 + bytes[i];
  return h;
}

bool same_attribute(const Attribute& a, const Attribute& b) {
  if (a.type != b.type || a.ref_attr_name != b.ref_attr_name) return false;
  // Floats by their bits: two NaN attributes are the same attribute.
  auto same_float = [](float x, float y) { return std::memcmp(&x, &y, sizeof(float)) == 0; };
  switch (a.type) {
    case Attribute::Type::float_: return same_float(a.f, b.f);
    case Attribute::Type::int_: return a.i == b.i;
    case Attribute::Type::string_: return a.s == b.s;
    case Attribute::Type::tensor_: return same_tensor(a.t, b.t);
    case Attribute::Type::floats_:
      if (a.floats.size() != b.floats.size()) return false;
      for (size_t i = 0; i < a.floats.size(); ++i)
        if (!same_float(a.floats[i], b.floats[i])) return false;
      return true;
    case Attribute::Type::ints_: return a.ints == b.ints;
    case Attribute::Type::strings_: return a.strings == b.strings;
    case Attribute::Type::tensors_:
      if (a.tensors.size() != b.tensors.size()) return false;
      for (size_t i = 0; i < a.tensors.size(); ++i)
        if (!same_tensor(a.tensors[i], b.tensors[i])) return false;
      return true;
    case Attribute::Type::type_proto: return a.tp.to_string() == b.tp.to_string();
    default: return false;  // graphs (never compared: such nodes are skipped) and unknown kinds
  }
}

bool mergeable(const Node& node) {
  // Ops of other domains may draw random numbers or keep state: only the ones whose semantics we know.
  if (!node.domain.empty() && node.domain != "ai.onnx.ml" && node.domain != kTesseraDomain) return false;
  if (is_random_op(node.op_type) || node.outputs.empty()) return false;
  for (const auto& [name, attr] : node.attributes)
    if (attr.g || !attr.graphs.empty() || attr.type == Attribute::Type::graph_ || attr.type == Attribute::Type::graphs_)
      return false;
  return true;
}

bool same_computation(const Node& a, const Node& b) {
  if (a.op_type != b.op_type || a.domain != b.domain || a.inputs != b.inputs || a.outputs.size() != b.outputs.size())
    return false;
  for (size_t k = 0; k < a.outputs.size(); ++k)
    if (a.outputs[k].empty() != b.outputs[k].empty()) return false;
  if (a.attributes.size() != b.attributes.size()) return false;
  for (auto ia = a.attributes.begin(), ib = b.attributes.begin(); ia != a.attributes.end(); ++ia, ++ib)
    if (ia->first != ib->first || !same_attribute(ia->second, ib->second)) return false;
  return true;
}

size_t node_hash(const Node& node) {
  size_t h = std::hash<std::string>()(node.op_type) * 31 + std::hash<std::string>()(node.domain);
  for (const std::string& in : node.inputs) h = h * 31 + std::hash<std::string>()(in);
  for (const auto& [name, attr] : node.attributes) {
    h = h * 31 + std::hash<std::string>()(name);
    if (attr.type == Attribute::Type::tensor_) h = h * 31 + tensor_hash(attr.t);
  }
  return h;
}

class CommonSubexpressionElimination final : public GraphTransformer {
 public:
  std::string_view name() const override { return "common_subexpression_elimination"; }

  Result<int> apply(Graph& graph, const TransformContext& ctx) const override {
    int merged = merge_initializers(graph);
    const GraphIndex index(graph, ctx);
    // Nodes are visited in order, so a node's inputs are already renamed to the kept copies when
    // it is looked up; `renamed` carries what this pass has merged so far.
    std::unordered_map<std::string, std::string> renamed;
    std::unordered_multimap<size_t, size_t> seen;  // hash -> node index
    std::vector<Bypass> bypasses;
    std::vector<bool> removed(graph.nodes.size(), false);
    std::vector<Node> keys(graph.nodes.size());
    for (size_t n = 0; n < graph.nodes.size(); ++n) {
      const Node& node = graph.nodes[n];
      if (!mergeable(node)) continue;
      Node key;
      key.op_type = node.op_type;
      key.domain = node.domain;
      key.outputs = node.outputs;
      key.attributes = node.attributes;
      for (const std::string& in : node.inputs) {
        auto it = renamed.find(in);
        key.inputs.push_back(it == renamed.end() ? in : it->second);
      }
      const size_t h = node_hash(key);
      bool found = false;
      for (auto [it, end] = seen.equal_range(h); it != end && !found; ++it) {
        const Node& earlier = keys[it->second];
        if (!same_computation(earlier, key)) continue;
        for (size_t k = 0; k < node.outputs.size(); ++k) {
          if (node.outputs[k].empty()) continue;
          bypasses.push_back({n, node.outputs[k], earlier.outputs[k]});
          renamed[node.outputs[k]] = earlier.outputs[k];
        }
        found = true;
      }
      if (!found) seen.emplace(h, n);
      keys[n] = std::move(key);
    }
    if (bypasses.empty()) return merged;
    // A node with several outputs goes only when every output can be rewired: bypass_nodes works
    // per output, so such nodes are merged only when none of their outputs escapes.
    std::vector<Bypass> safe;
    for (const Bypass& b : bypasses) {
      const Node& node = graph.nodes[b.node];
      bool multi_escaping = false;
      if (node.outputs.size() > 1)
        for (const std::string& out : node.outputs) multi_escaping = multi_escaping || (!out.empty() && index.escapes(out));
      if (!multi_escaping) safe.push_back(b);
    }
    return merged + bypass_nodes(graph, safe);
  }

 private:
  // Readers of a small initializer equal to an earlier one read the earlier one instead.
  static int merge_initializers(Graph& graph) {
    const GraphIndex index(graph);  // edges only
    std::unordered_set<std::string> fed;
    for (const ValueInfo& in : graph.inputs) fed.insert(in.name);
    std::unordered_multimap<size_t, const std::string*> seen;
    std::unordered_map<std::string, std::string> renamed;
    for (const auto& [name, t] : graph.initializers) {
      if (fed.count(name) || index.escapes(name) || t.size() > kMaxMergedInitializer) continue;
      const size_t h = tensor_hash(t);
      bool found = false;
      for (auto [it, end] = seen.equal_range(h); it != end && !found; ++it)
        if (same_tensor(graph.initializers.at(*it->second), t)) {
          renamed[name] = *it->second;
          found = true;
        }
      if (!found) seen.emplace(h, &name);
    }
    if (renamed.empty()) return 0;
    int rewired = 0;
    for (Node& node : graph.nodes)
      for (std::string& in : node.inputs) {
        auto it = renamed.find(in);
        if (it != renamed.end()) {
          in = it->second;
          ++rewired;
        }
      }
    return rewired;  // the copies, now unread, go with dead code elimination
  }
};

}  // namespace

std::unique_ptr<GraphTransformer> make_common_subexpression_elimination() {
  return std::make_unique<CommonSubexpressionElimination>();
}

}  // namespace tessera
