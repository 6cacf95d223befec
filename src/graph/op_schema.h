// ONNX operator schemas: for each (domain, op, since_version), the formal inputs and outputs,
// attributes with defaults and the type constraints. The table is generated from the spec
// (scripts/gen_op_schemas.py -> op_schemas.inc) and parsed once, on first use.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace tessera {

struct FormalParameter {
  std::string name;
  std::string type;  // a type variable ("T") or a concrete type ("tensor(int64)")
  bool optional = false;
  bool variadic = false;
};

struct AttributeSpec {
  std::string name;
  std::string kind;  // int, float, string, ints, floats, strings, tensor, graph, ...
  bool required = false;
  std::string default_value;  // as the spec writes it; empty when none
};

struct TypeConstraint {
  std::string name;
  std::vector<std::string> allowed;  // "tensor(float)", "seq(tensor(int64))", ...
};

struct OpSchema {
  std::string domain;  // "" for ai.onnx
  std::string name;
  int64_t since_version = 1;
  bool deprecated = false;
  int min_inputs = 0, max_inputs = 0;  // max -1: unbounded (variadic)
  int min_outputs = 0, max_outputs = 0;
  std::vector<FormalParameter> inputs, outputs;
  std::vector<AttributeSpec> attributes;
  std::vector<TypeConstraint> constraints;

  const AttributeSpec* attribute(const std::string& attr_name) const;
  const TypeConstraint* constraint(const std::string& type_name) const;
};

// The schema in force for `op` of `domain` at `opset`: the one with the greatest since_version
// not above opset. nullptr when the op is unknown or not yet defined at that opset.
const OpSchema* find_schema(const std::string& domain, const std::string& op, int64_t opset);
// Whether any version of the op exists in the spec.
bool is_known_op(const std::string& domain, const std::string& op);
// The earliest since_version of the op (0 when unknown).
int64_t first_version(const std::string& domain, const std::string& op);
// Every since_version of the op, ascending (empty when unknown).
std::vector<int64_t> since_versions(const std::string& domain, const std::string& op);
// The newest opset version of `domain` the table describes (0 for domains without schemas).
// Kernel registrations end at these; a model importing a newer version is refused.
int64_t latest_opset(const std::string& domain);
constexpr int64_t kLatestOnnxOpset = 28;
constexpr int64_t kLatestOnnxMlOpset = 5;
constexpr int64_t kLatestPreviewOpset = 1;   // ai.onnx.preview
constexpr int64_t kLatestTrainingOpset = 1;  // ai.onnx.preview.training

// Checks a node against its schema: the op exists at the model's opset, input/output counts,
// required inputs and attributes, attribute kinds, and the element types of inputs whose type is
// known (`known_types`, by value name) against the type constraints. Nodes of domains without
// schemas (custom ops) pass.
Status check_node(const Node& node, int64_t opset, const std::map<std::string, TypeInfo>& known_types);

}  // namespace tessera
