#include "graph/op_schema.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <string_view>

namespace tessera {

namespace {

struct SchemaText {
  const char* domain;
  const char* name;
  int since_version;
  bool deprecated;
  int min_inputs, max_inputs, min_outputs, max_outputs;
  const char* inputs;
  const char* outputs;
  const char* attributes;
  const char* constraints;
};

const SchemaText kSchemaTable[] = {
#include "graph/op_schemas.inc"
#include "graph/tessera_op_schemas.inc"
#include "graph/microsoft_quant_op_schemas.inc"

#include "graph/microsoft_op_schemas.inc"
};

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> parts;
  if (text.empty()) return parts;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == sep) {
      parts.emplace_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

std::vector<FormalParameter> parse_params(std::string_view text) {
  std::vector<FormalParameter> params;
  for (const auto& item : split(text, '|')) {
    FormalParameter p;
    size_t colon = item.find(':');
    std::string name = item.substr(0, colon);
    while (!name.empty() && (name.back() == '?' || name.back() == '*')) {
      (name.back() == '?' ? p.optional : p.variadic) = true;
      name.pop_back();
    }
    p.name = name;
    p.type = colon == std::string::npos ? "" : item.substr(colon + 1);
    params.push_back(std::move(p));
  }
  return params;
}

OpSchema parse(const SchemaText& t) {
  OpSchema s;
  s.domain = t.domain;
  s.name = t.name;
  s.since_version = t.since_version;
  s.deprecated = t.deprecated;
  s.min_inputs = t.min_inputs;
  s.max_inputs = t.max_inputs;
  s.min_outputs = t.min_outputs;
  s.max_outputs = t.max_outputs;
  s.inputs = parse_params(t.inputs);
  s.outputs = parse_params(t.outputs);
  for (const auto& item : split(t.attributes, '|')) {
    AttributeSpec a;
    size_t colon = item.find(':');
    a.name = item.substr(0, colon);
    std::string kind = item.substr(colon + 1);
    size_t eq = kind.find('=');
    if (eq != std::string::npos) {
      a.default_value = kind.substr(eq + 1);
      kind = kind.substr(0, eq);
    }
    if (!kind.empty() && kind.back() == '!') {
      a.required = true;
      kind.pop_back();
    }
    a.kind = kind;
    s.attributes.push_back(std::move(a));
  }
  for (const auto& item : split(t.constraints, '|')) {
    size_t eq = item.find('=');
    s.constraints.push_back({item.substr(0, eq), split(std::string_view(item).substr(eq + 1), ';')});
  }
  return s;
}

// (domain, op) -> its versions, ascending by since_version.
using SchemaIndex = std::map<std::pair<std::string, std::string>, std::vector<OpSchema>>;

const SchemaIndex& schema_index() {
  static const SchemaIndex index = [] {
    SchemaIndex built;
    for (const auto& t : kSchemaTable) built[{t.domain, t.name}].push_back(parse(t));
    for (auto& [key, versions] : built)
      std::sort(versions.begin(), versions.end(), [](const OpSchema& a, const OpSchema& b) { return a.since_version < b.since_version; });
    return built;
  }();
  return index;
}

bool attribute_kind_matches(const Attribute& a, const std::string& kind) {
  using T = Attribute::Type;
  if (kind == "int") return a.type == T::int_;
  if (kind == "float") return a.type == T::float_;
  if (kind == "string") return a.type == T::string_;
  if (kind == "ints") return a.type == T::ints_;
  if (kind == "floats") return a.type == T::floats_;
  if (kind == "strings") return a.type == T::strings_;
  if (kind == "tensor") return a.type == T::tensor_;
  if (kind == "graph") return a.type == T::graph_;
  if (kind == "graphs") return a.type == T::graphs_;
  if (kind == "tensors") return a.type == T::tensors_;
  return true;  // sparse tensors, type protos: not checked
}

// "tensor(float)" for a declared tensor type; empty when not a fully known tensor type.
std::string type_string(const TypeInfo& t) {
  switch (t.kind) {
    case TypeInfo::Kind::tensor:
      return t.elem_type == DataType::undefined ? "" : "tensor(" + std::string(dtype_name(t.elem_type)) + ")";
    case TypeInfo::Kind::sequence: {
      std::string inner = t.inner ? type_string(*t.inner) : "";
      return inner.empty() ? "" : "seq(" + inner + ")";
    }
    case TypeInfo::Kind::optional: {
      std::string inner = t.inner ? type_string(*t.inner) : "";
      return inner.empty() ? "" : "optional(" + inner + ")";
    }
    default: return "";
  }
}

}  // namespace

const AttributeSpec* OpSchema::attribute(const std::string& attr_name) const {
  for (const auto& a : attributes)
    if (a.name == attr_name) return &a;
  return nullptr;
}

const TypeConstraint* OpSchema::constraint(const std::string& type_name) const {
  for (const auto& c : constraints)
    if (c.name == type_name) return &c;
  return nullptr;
}

const OpSchema* find_schema(const std::string& domain, const std::string& op, int64_t opset) {
  const auto& index = schema_index();
  auto it = index.find({domain, op});
  if (it == index.end()) return nullptr;
  const OpSchema* found = nullptr;
  for (const auto& s : it->second)
    if (s.since_version <= opset) found = &s;
  return found;
}

bool is_known_op(const std::string& domain, const std::string& op) { return first_version(domain, op) > 0; }

int64_t first_version(const std::string& domain, const std::string& op) {
  const auto& index = schema_index();
  auto it = index.find({domain, op});
  return it == index.end() ? 0 : it->second.front().since_version;
}

std::vector<int64_t> since_versions(const std::string& domain, const std::string& op) {
  std::vector<int64_t> out;
  const auto& index = schema_index();
  auto it = index.find({domain, op});
  if (it != index.end())
    for (const auto& s : it->second) out.push_back(s.since_version);
  return out;
}

int64_t latest_opset(const std::string& domain) {
  static const std::map<std::string, int64_t> latest = [] {
    std::map<std::string, int64_t> m;
    for (const auto& t : kSchemaTable) m[t.domain] = std::max<int64_t>(m[t.domain], t.since_version);
    return m;
  }();
  auto it = latest.find(domain);
  return it == latest.end() ? 0 : it->second;
}

Status check_node(const Node& node, int64_t opset, const std::map<std::string, TypeInfo>& known_types) {
  const std::string& domain = node.domain;
  std::string domain_name = domain.empty() ? "ai.onnx" : domain;
  bool standard_domain = domain.empty() || domain == "ai.onnx.ml" || domain == "ai.onnx.preview.training";
  if (!is_known_op(domain, node.op_type)) {
    if (!standard_domain) return Status::ok();  // custom domains: the kernel registry decides
    return not_implemented(node.describe(), ": ", node.op_type, " is not an operator of domain ", domain_name,
                           " (the model imports opset ", opset, ")");
  }
  const OpSchema* schema = find_schema(domain, node.op_type, opset);
  if (!schema)
    return invalid_model(node.describe(), ": ", node.op_type, " first appears in opset ", first_version(domain, node.op_type),
                         " of ", domain_name, ", but the model imports opset ", opset);
  if (schema->deprecated)
    return not_implemented(node.describe(), ": ", node.op_type, " was deprecated in opset ", schema->since_version, " of ",
                           domain_name, " (the model imports opset ", opset, ")");

  int inputs = static_cast<int>(node.inputs.size());
  if (inputs < schema->min_inputs || (schema->max_inputs >= 0 && inputs > schema->max_inputs))
    return invalid_model(node.describe(), ": has ", inputs, " inputs, but ", node.op_type, "-", schema->since_version,
                         " takes ", schema->min_inputs, schema->max_inputs == schema->min_inputs ? "" : " to ",
                         schema->max_inputs == schema->min_inputs ? "" : (schema->max_inputs < 0 ? "any number" : std::to_string(schema->max_inputs)));
  int outputs = static_cast<int>(node.outputs.size());
  if (outputs < schema->min_outputs || (schema->max_outputs >= 0 && outputs > schema->max_outputs))
    return invalid_model(node.describe(), ": has ", outputs, " outputs, but ", node.op_type, "-", schema->since_version,
                         " has ", schema->min_outputs, " to ", schema->max_outputs < 0 ? "any number" : std::to_string(schema->max_outputs));
  for (size_t i = 0; i < schema->inputs.size() && i < node.inputs.size(); ++i) {
    const FormalParameter& p = schema->inputs[i];
    if (!p.optional && !p.variadic && node.inputs[i].empty())
      return invalid_model(node.describe(), ": required input ", i, " ('", p.name, "') is missing");
  }

  for (const auto& spec : schema->attributes) {
    const Attribute* a = node.attribute(spec.name);
    if (!a) {
      if (spec.required) return invalid_model(node.describe(), ": required attribute '", spec.name, "' is missing");
      continue;
    }
    if (!attribute_kind_matches(*a, spec.kind))
      return invalid_model(node.describe(), ": attribute '", spec.name, "' must be of kind ", spec.kind);
  }

  // Type constraints: each type variable must bind one allowed type across the inputs.
  std::map<std::string, std::string> bound;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    if (node.inputs[i].empty()) continue;
    auto known = known_types.find(node.inputs[i]);
    if (known == known_types.end()) continue;
    std::string actual = type_string(known->second);
    if (actual.empty()) continue;
    const FormalParameter* p = nullptr;
    if (i < schema->inputs.size()) p = &schema->inputs[i];
    else if (!schema->inputs.empty() && schema->inputs.back().variadic) p = &schema->inputs.back();
    if (!p) continue;
    const TypeConstraint* c = schema->constraint(p->type);
    std::vector<std::string> allowed = c ? c->allowed : std::vector<std::string>{p->type};
    if (std::find(allowed.begin(), allowed.end(), actual) == allowed.end())
      return invalid_model(node.describe(), ": input ", i, " ('", node.inputs[i], "') is ", actual, ", but ", node.op_type,
                           "-", schema->since_version, " does not accept that type for '", p->name, "'");
    if (c && !p->variadic) {  // variadic inputs may be heterogeneous (Loop, Scan)
      auto [it, inserted] = bound.emplace(p->type, actual);
      if (!inserted && it->second != actual)
        return invalid_model(node.describe(), ": input ", i, " ('", node.inputs[i], "') is ", actual, ", but type ", p->type,
                             " is already ", it->second, " from an earlier input");
    }
  }
  return Status::ok();
}

}  // namespace tessera
