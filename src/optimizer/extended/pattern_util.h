// Small helpers the extended fusions share to match decomposed subgraphs strictly: a node of a
// given standard op, the sole reader of a value, float constants within a tolerance. Matching
// uses constants and graph structure, and inferred types through known_type where a shape decides.
#pragma once

#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "optimizer/graph_edit.h"
#include "optimizer/optimizer.h"

namespace tessera::pattern {

inline bool is_op(const Node& n, std::string_view op) { return n.domain.empty() && n.op_type == op; }

// The node (index) that produces `value` when it is the standard op `op`, not yet claimed by
// another rewrite, with one output; else -1.
inline int producer_op(const Graph& g, const GraphIndex& index, const std::vector<bool>& dead, const std::string& value,
                       std::string_view op) {
  const int p = index.producer(value);
  if (p < 0 || dead[static_cast<size_t>(p)]) return -1;
  const Node& n = g.nodes[static_cast<size_t>(p)];
  return is_op(n, op) && n.outputs.size() == 1 ? p : -1;
}

// The one node reading `value` (which must not escape) when it is the standard op `op` with
// one output and not yet claimed; else -1.
inline int sole_user_op(const Graph& g, const GraphIndex& index, const std::vector<bool>& dead, const std::string& value,
                        std::string_view op) {
  if (!index.has_single_use(value)) return -1;
  const size_t u = index.uses(value)[0].node;
  const Node& n = g.nodes[u];
  if (dead[u] || !is_op(n, op) || n.outputs.size() != 1) return -1;
  return static_cast<int>(u);
}

inline bool near(std::optional<float> v, double want, double tol = 1e-6) {
  return v && std::abs(static_cast<double>(*v) - want) <= tol * std::max(1.0, std::abs(want));
}

// For a two-input node with one input a float scalar constant equal to `want`: the other input's
// slot (0 or 1); -1 otherwise. `commutes` false: the constant must be input 1.
inline int other_than_scalar(const Graph& g, const GraphIndex& index, const Node& n, double want, bool commutes = true,
                             double tol = 1e-6) {
  if (n.inputs.size() != 2) return -1;
  if (near(scalar_constant(g, index, n.inputs[1]), want, tol)) return 0;
  if (commutes && near(scalar_constant(g, index, n.inputs[0]), want, tol)) return 1;
  return -1;
}

// The name of the constant that `value` is, looking through Identity nodes (exporters write
// shared or tied weights as Identity of an initializer); empty when it is not a constant. A
// fused node reads the constant itself, so its kernel sees it (to prepack it) and the Identity
// can go.
inline std::string constant_source(const Graph& g, const GraphIndex& index, const std::string& value) {
  std::string v = value;
  for (int hops = 0; hops < 8; ++hops) {
    if (constant_value(g, index, v)) return v;
    const int p = index.producer(v);
    if (p < 0) return {};
    const Node& n = g.nodes[static_cast<size_t>(p)];
    if (!is_op(n, "Identity") || n.inputs.size() != 1) return {};
    v = n.inputs[0];
  }
  return {};
}

// A float32 constant of rank 1 (n > 0 elements, or exactly `n` when n > 0 is given).
inline const Tensor* float_vector(const Graph& g, const GraphIndex& index, const std::string& value, int64_t n = -1) {
  const std::string source = constant_source(g, index, value);
  const Tensor* t = source.empty() ? nullptr : constant_value(g, index, source);
  if (!t || t->dtype() != DataType::float32 || t->rank() != 1 || t->size() == 0) return nullptr;
  return n < 0 || t->size() == n ? t : nullptr;
}

// ReduceMean over exactly the last axis (attribute, or opset 18's constant input), keeping dims.
inline bool is_last_axis_mean(const Graph& g, const GraphIndex& index, const Node& n) {
  if (!is_op(n, "ReduceMean") || n.inputs.empty() || n.outputs.size() != 1) return false;
  const Attribute* keep = n.attribute("keepdims");
  if (keep && keep->i != 1) return false;
  const Attribute* axes = n.attribute("axes");
  if (axes) return n.inputs.size() == 1 && axes->ints == std::vector<int64_t>{-1};
  if (n.inputs.size() != 2) return false;
  const Tensor* t = constant_value(g, index, n.inputs[1]);
  return t && t->dtype() == DataType::int64 && t->size() == 1 && t->data<int64_t>()[0] == -1;
}

inline bool has_perm(const Node& t, const std::vector<int64_t>& perm) {
  const Attribute* p = t.attribute("perm");
  return p && p->ints == perm;
}

// `value` = Transpose(Reshape(data, target), perm) with the Reshape's allowzero 0 and each
// intermediate read once and not yet claimed (how attention exports split heads): the Reshape's
// node index, the Transpose's in `transpose`; -1 otherwise.
inline int reshape_then_transpose(const Graph& g, const GraphIndex& index, const std::vector<bool>& dead,
                                  const std::string& value, const std::vector<int64_t>& perm, int& transpose) {
  if (!index.has_single_use(value)) return -1;
  const int tr = producer_op(g, index, dead, value, "Transpose");
  if (tr < 0 || !has_perm(g.nodes[static_cast<size_t>(tr)], perm)) return -1;
  const std::string& reshaped = g.nodes[static_cast<size_t>(tr)].inputs[0];
  if (!index.has_single_use(reshaped)) return -1;
  const int rs = producer_op(g, index, dead, reshaped, "Reshape");
  if (rs < 0 || g.nodes[static_cast<size_t>(rs)].inputs.size() != 2) return -1;
  const Attribute* allowzero = g.nodes[static_cast<size_t>(rs)].attribute("allowzero");
  if (allowzero && allowzero->i != 0) return -1;
  transpose = tr;
  return rs;
}

// `value` = Div(x, c) or Mul(x, c) / Mul(c, x) by a finite float scalar, read once: x and the
// factor it scales by (the Div or Mul node in `node`). Else nullopt.
inline std::optional<std::pair<std::string, float>> scaled_by_scalar(const Graph& g, const GraphIndex& index,
                                                                     const std::vector<bool>& dead, const std::string& value,
                                                                     int& node) {
  if (!index.has_single_use(value)) return std::nullopt;
  if (int div = producer_op(g, index, dead, value, "Div"); div >= 0) {
    const Node& d = g.nodes[static_cast<size_t>(div)];
    std::optional<float> c = d.inputs.size() == 2 ? scalar_constant(g, index, d.inputs[1]) : std::nullopt;
    if (!c || *c == 0.0f || !std::isfinite(*c)) return std::nullopt;
    node = div;
    return std::make_pair(d.inputs[0], 1.0f / *c);
  }
  if (int mul = producer_op(g, index, dead, value, "Mul"); mul >= 0) {
    const Node& m = g.nodes[static_cast<size_t>(mul)];
    if (m.inputs.size() != 2) return std::nullopt;
    for (size_t slot = 0; slot < 2; ++slot) {
      std::optional<float> c = scalar_constant(g, index, m.inputs[1 - slot]);
      if (!c || !std::isfinite(*c)) continue;
      node = mul;
      return std::make_pair(m.inputs[slot], *c);
    }
  }
  return std::nullopt;
}

// True when none of `nodes` is claimed yet.
inline bool all_free(const std::vector<bool>& dead, const std::vector<int>& nodes) {
  for (int n : nodes)
    if (n < 0 || dead[static_cast<size_t>(n)]) return false;
  return true;
}

// Replaces a matched pattern by one fused node: every node of `parts` is marked dead except
// `slot`, whose place in graph order the fused node takes (so it keeps the pattern's output).
inline void fuse_into(Graph& g, std::vector<bool>& dead, const std::vector<int>& parts, int slot, Node fused) {
  for (int p : parts) dead[static_cast<size_t>(p)] = true;
  dead[static_cast<size_t>(slot)] = false;
  g.nodes[static_cast<size_t>(slot)] = std::move(fused);
}

// The com.tessera Attention that takes the place of `last`, the pattern's final node, and writes
// its output. `mask` may be empty (no mask input).
inline Node attention_node(const Node& last, const std::string& q, const std::string& k, const std::string& v,
                           const std::string& mask, int64_t heads, float scale, bool sequence_first) {
  Node att;
  att.name = last.name + "_attention";
  att.op_type = "Attention";
  att.domain = kTesseraDomain;
  att.inputs = {q, k, v};
  if (!mask.empty()) att.inputs.push_back(mask);
  att.outputs = {last.outputs[0]};
  att.attributes["num_heads"] = int_attr("num_heads", heads);
  att.attributes["scale"] = float_attr("scale", scale);
  if (sequence_first) att.attributes["sequence_first"] = int_attr("sequence_first", 1);
  return att;
}

}  // namespace tessera::pattern
