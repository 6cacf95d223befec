// The in-memory IR of an ONNX model: graphs, nodes, attributes, value types. Built by the model
// loader (src/model), read by everything after it. Protobuf never appears here.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tessera/status.h"
#include "tessera/tensor.h"

namespace tessera {

struct Graph;

// One dimension of a declared shape: a fixed size, a symbolic name, or unknown.
struct Dim {
  int64_t value = -1;  // -1 when not fixed
  std::string param;   // symbolic name ("batch"), empty when fixed or unknown
  bool is_fixed() const { return value >= 0; }
};

// The declared type of a graph value (ONNX TypeProto).
struct TypeInfo {
  enum class Kind { unknown, tensor, sparse_tensor, sequence, map, optional };
  Kind kind = Kind::unknown;
  DataType elem_type = DataType::undefined;  // tensor element type, or map key type
  std::optional<std::vector<Dim>> shape;     // absent when the rank is unknown
  std::shared_ptr<TypeInfo> inner;           // element of sequence/optional, value of map
  std::string to_string() const;             // "tensor(float)[N,3,224,224]", "seq(tensor(int64))"
  // The shape when its rank is known and every dim is fixed, else nullopt.
  std::optional<Shape> static_shape() const;
};

struct ValueInfo {
  std::string name;
  TypeInfo type;
};

struct Attribute {
  enum class Type { undefined, floats_, ints_, strings_, tensors_, graphs_, float_, int_, string_, tensor_, graph_, type_proto };
  std::string name;
  Type type = Type::undefined;
  std::string ref_attr_name;  // inside functions: refers to the caller's attribute
  float f = 0;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::shared_ptr<Graph> g;
  TypeInfo tp;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;
  std::vector<std::shared_ptr<Graph>> graphs;
};

// Builders for code that writes nodes (optimizer passes, tests): one per attribute kind.
Attribute int_attr(const std::string& name, int64_t value);
Attribute float_attr(const std::string& name, float value);
Attribute string_attr(const std::string& name, std::string value);
Attribute ints_attr(const std::string& name, std::vector<int64_t> values);
Attribute floats_attr(const std::string& name, std::vector<float> values);
Attribute strings_attr(const std::string& name, std::vector<std::string> values);
Attribute tensor_attr(const std::string& name, Tensor value);

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;               // "" is the default ONNX domain
  std::vector<std::string> inputs;  // "" marks an omitted optional input
  std::vector<std::string> outputs;
  std::map<std::string, Attribute> attributes;

  const Attribute* attribute(const std::string& attr_name) const;
  // "Conv", or "com.tessera.FusedConv" outside the default domain: how op counts, profiles and
  // messages name the op
  std::string qualified_op_type() const;
  // "node 'conv_3' (Conv)" for error messages
  std::string describe() const;
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;
  std::vector<ValueInfo> inputs;  // may include names that also have an initializer
  std::vector<ValueInfo> outputs;
  std::vector<ValueInfo> value_infos;
  std::map<std::string, Tensor> initializers;

  bool is_initializer(const std::string& value_name) const { return initializers.count(value_name) > 0; }
  // Inputs a caller must (or may) feed: graph inputs without an initializer.
  std::vector<const ValueInfo*> feed_inputs() const;
};

// A model-local function (FunctionProto).
struct Function {
  std::string name;
  std::string domain;
  std::vector<std::string> inputs, outputs;
  std::vector<std::string> attribute_names;
  std::map<std::string, Attribute> attribute_defaults;
  std::vector<Node> nodes;
  std::map<std::string, int64_t> opset_imports;
};

struct Model {
  int64_t ir_version = 0;
  std::map<std::string, int64_t> opset_imports;  // domain ("" for ai.onnx) -> version
  std::string producer_name;
  std::string source;  // path or "<bytes>", for error messages
  Graph graph;
  std::vector<Function> functions;

  // Opset version of `domain` ("" for the default domain), or 0 when not imported.
  int64_t opset_version(const std::string& domain) const;
};

// Nodes of `graph` by op ("Conv", or "domain.Op" outside the default domain), the nodes of its
// subgraphs (If/Loop/Scan bodies) included.
std::map<std::string, size_t> count_ops(const Graph& graph);

// Nodes of `graph` in an order where each node's inputs are produced before it. Values that come
// from outside the graph (outer scope of a subgraph) are taken as given. Fails on a cycle or on
// an input that nothing produces and that is not in `outer_scope`. `implicit_inputs`, when not
// empty, adds per node the values its subgraphs read (they must be produced first too).
Result<std::vector<size_t>> topological_order(const Graph& graph, const std::vector<std::string>& outer_scope,
                                              const std::vector<std::vector<std::string>>& implicit_inputs = {});

// Names a graph reads but does not define (recursively through its subgraphs).
std::vector<std::string> free_variables(const Graph& graph);
// Free variables of the subgraphs attached to `node`: values the node reads implicitly.
std::vector<std::string> node_implicit_inputs(const Node& node);

}  // namespace tessera
