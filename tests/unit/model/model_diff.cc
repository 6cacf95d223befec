#include "tests/unit/model/model_diff.h"

#include <cstring>

namespace tessera::test {

namespace {

std::string diff_graphs(const Graph& a, const Graph& b);

template <class T>
std::string join(const std::vector<T>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + str_cat(v[i]);
  return s + "]";
}

std::string diff_types(const TypeInfo& a, const TypeInfo& b) {
  // to_string covers kind, element type, rank and fixed dims; symbolic names are checked below.
  if (a.to_string() != b.to_string()) return a.to_string() + " vs " + b.to_string();
  if (a.shape && b.shape)
    for (size_t i = 0; i < a.shape->size(); ++i)
      if ((*a.shape)[i].param != (*b.shape)[i].param || (*a.shape)[i].value != (*b.shape)[i].value)
        return str_cat("dim ", i, ": '", (*a.shape)[i].param, "' vs '", (*b.shape)[i].param, "'");
  const bool a_inner = a.inner && a.inner->kind != TypeInfo::Kind::unknown;
  const bool b_inner = b.inner && b.inner->kind != TypeInfo::Kind::unknown;
  if (a_inner != b_inner) return "inner type present on one side only";
  if (a_inner) return diff_types(*a.inner, *b.inner);
  return "";
}

std::string diff_value_infos(const std::vector<ValueInfo>& a, const std::vector<ValueInfo>& b, const std::string& role) {
  if (a.size() != b.size()) return str_cat(a.size(), " vs ", b.size(), " ", role, "s");
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name) return str_cat(role, " ", i, ": name '", a[i].name, "' vs '", b[i].name, "'");
    std::string d = diff_types(a[i].type, b[i].type);
    if (!d.empty()) return str_cat(role, " '", a[i].name, "': ", d);
  }
  return "";
}

std::string diff_attributes(const Attribute& a, const Attribute& b) {
  if (a.type != b.type) return str_cat("type ", static_cast<int>(a.type), " vs ", static_cast<int>(b.type));
  if (a.ref_attr_name != b.ref_attr_name) return "ref_attr_name '" + a.ref_attr_name + "' vs '" + b.ref_attr_name + "'";
  if (!a.ref_attr_name.empty()) return "";  // a reference carries no value
  using T = Attribute::Type;
  switch (a.type) {
    case T::float_:
      if (std::memcmp(&a.f, &b.f, sizeof(float)) != 0) return str_cat("f ", a.f, " vs ", b.f);
      return "";
    case T::int_: return a.i == b.i ? "" : str_cat("i ", a.i, " vs ", b.i);
    case T::string_: return a.s == b.s ? "" : "s '" + a.s + "' vs '" + b.s + "'";
    case T::tensor_: return diff_tensors(a.t, b.t);
    case T::graph_:
      if (!a.g || !b.g) return a.g == b.g ? "" : "graph present on one side only";
      return diff_graphs(*a.g, *b.g);
    case T::type_proto: return diff_types(a.tp, b.tp);
    case T::floats_:
      if (a.floats.size() != b.floats.size() ||
          (!a.floats.empty() && std::memcmp(a.floats.data(), b.floats.data(), a.floats.size() * sizeof(float)) != 0))
        return "floats " + join(a.floats) + " vs " + join(b.floats);
      return "";
    case T::ints_: return a.ints == b.ints ? "" : "ints " + join(a.ints) + " vs " + join(b.ints);
    case T::strings_: return a.strings == b.strings ? "" : "strings differ";
    case T::tensors_:
      if (a.tensors.size() != b.tensors.size()) return str_cat(a.tensors.size(), " vs ", b.tensors.size(), " tensors");
      for (size_t i = 0; i < a.tensors.size(); ++i) {
        std::string d = diff_tensors(a.tensors[i], b.tensors[i]);
        if (!d.empty()) return str_cat("tensor ", i, ": ", d);
      }
      return "";
    case T::graphs_:
      if (a.graphs.size() != b.graphs.size()) return str_cat(a.graphs.size(), " vs ", b.graphs.size(), " graphs");
      for (size_t i = 0; i < a.graphs.size(); ++i) {
        std::string d = diff_graphs(*a.graphs[i], *b.graphs[i]);
        if (!d.empty()) return str_cat("graph ", i, ": ", d);
      }
      return "";
    case T::undefined: return "";
  }
  return "";
}

std::string diff_nodes(const std::vector<Node>& a, const std::vector<Node>& b) {
  if (a.size() != b.size()) return str_cat(a.size(), " vs ", b.size(), " nodes");
  for (size_t i = 0; i < a.size(); ++i) {
    const Node& x = a[i];
    const Node& y = b[i];
    const std::string where = str_cat("node ", i, " ", x.describe(), ": ");
    if (x.name != y.name || x.op_type != y.op_type || x.domain != y.domain)
      return where + "is " + y.domain + "." + y.op_type + " '" + y.name + "' on the other side";
    if (x.inputs != y.inputs) return where + "inputs " + join(x.inputs) + " vs " + join(y.inputs);
    if (x.outputs != y.outputs) return where + "outputs " + join(x.outputs) + " vs " + join(y.outputs);
    if (x.attributes.size() != y.attributes.size())
      return str_cat(where, x.attributes.size(), " vs ", y.attributes.size(), " attributes");
    for (const auto& [name, attr] : x.attributes) {
      auto it = y.attributes.find(name);
      if (it == y.attributes.end()) return where + "attribute '" + name + "' missing on the other side";
      if (attr.name != it->second.name) return where + "attribute '" + name + "' has name '" + it->second.name + "'";
      std::string d = diff_attributes(attr, it->second);
      if (!d.empty()) return where + "attribute '" + name + "': " + d;
    }
  }
  return "";
}

std::string diff_graphs(const Graph& a, const Graph& b) {
  const std::string where = "graph '" + a.name + "': ";
  if (a.name != b.name) return where + "named '" + b.name + "' on the other side";
  for (auto d : {diff_value_infos(a.inputs, b.inputs, "input"), diff_value_infos(a.outputs, b.outputs, "output"),
                 diff_value_infos(a.value_infos, b.value_infos, "value_info")})
    if (!d.empty()) return where + d;
  if (a.initializers.size() != b.initializers.size())
    return str_cat(where, a.initializers.size(), " vs ", b.initializers.size(), " initializers");
  for (const auto& [name, tensor] : a.initializers) {
    auto it = b.initializers.find(name);
    if (it == b.initializers.end()) return where + "initializer '" + name + "' missing on the other side";
    std::string d = diff_tensors(tensor, it->second);
    if (!d.empty()) return where + "initializer '" + name + "': " + d;
  }
  std::string d = diff_nodes(a.nodes, b.nodes);
  return d.empty() ? "" : where + d;
}

std::string diff_functions(const Function& a, const Function& b) {
  if (a.name != b.name || a.domain != b.domain) return "function '" + b.domain + "." + b.name + "' on the other side";
  if (a.inputs != b.inputs || a.outputs != b.outputs) return "inputs or outputs differ";
  if (a.attribute_names != b.attribute_names) return "attribute names differ";
  if (a.opset_imports != b.opset_imports) return "opset imports differ";
  if (a.attribute_defaults.size() != b.attribute_defaults.size()) return "attribute defaults differ in number";
  for (const auto& [name, attr] : a.attribute_defaults) {
    auto it = b.attribute_defaults.find(name);
    if (it == b.attribute_defaults.end()) return "default of '" + name + "' missing on the other side";
    std::string d = diff_attributes(attr, it->second);
    if (!d.empty()) return "default of '" + name + "': " + d;
  }
  return diff_nodes(a.nodes, b.nodes);
}

}  // namespace

std::string diff_tensors(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype())
    return str_cat("dtype ", dtype_name(a.dtype()), " vs ", dtype_name(b.dtype()));
  if (a.shape() != b.shape()) return "shape " + shape_to_string(a.shape()) + " vs " + shape_to_string(b.shape());
  if (!a.defined()) return "";
  if (a.dtype() == DataType::string) {
    for (int64_t i = 0; i < a.size(); ++i)
      if (a.data<std::string>()[i] != b.data<std::string>()[i]) return str_cat("string element ", i, " differs");
    return "";
  }
  if (a.byte_size() && std::memcmp(a.raw_data(), b.raw_data(), a.byte_size()) != 0) return "bytes differ";
  return "";
}

std::string diff_models(const Model& a, const Model& b) {
  if (a.ir_version != b.ir_version) return str_cat("ir_version ", a.ir_version, " vs ", b.ir_version);
  if (a.producer_name != b.producer_name) return "producer '" + a.producer_name + "' vs '" + b.producer_name + "'";
  if (a.opset_imports != b.opset_imports) return "opset imports differ";
  std::string d = diff_graphs(a.graph, b.graph);
  if (!d.empty()) return d;
  if (a.functions.size() != b.functions.size()) return str_cat(a.functions.size(), " vs ", b.functions.size(), " functions");
  for (size_t i = 0; i < a.functions.size(); ++i) {
    d = diff_functions(a.functions[i], b.functions[i]);
    if (!d.empty()) return "function '" + a.functions[i].name + "': " + d;
  }
  return "";
}

}  // namespace tessera::test
