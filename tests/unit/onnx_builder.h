// Building small ModelProtos in tests, for models a test crafts in code (limits, control flow).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "onnx.pb.h"

namespace tessera::test_util {

namespace pb = tessera::onnx;

enum ElemType : int { kFloat = 1, kInt64 = 7, kBool = 9 };

// A tensor type with fixed dims; a dim of -1 is left unknown (symbolic "d<i>").
inline void set_type(pb::ValueInfoProto* info, const std::string& name, int elem_type, const std::vector<int64_t>& dims) {
  info->set_name(name);
  auto* t = info->mutable_type()->mutable_tensor_type();
  t->set_elem_type(elem_type);
  auto* shape = t->mutable_shape();
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] < 0) shape->add_dim()->set_dim_param("d" + std::to_string(i));
    else shape->add_dim()->set_dim_value(dims[i]);
  }
}

inline pb::NodeProto* add_node(pb::GraphProto* g, const std::string& name, const std::string& op,
                               const std::vector<std::string>& in, const std::vector<std::string>& out) {
  auto* n = g->add_node();
  n->set_name(name);
  n->set_op_type(op);
  for (const auto& i : in) n->add_input(i);
  for (const auto& o : out) n->add_output(o);
  return n;
}

// A graph attribute of `node` (If branches, Loop bodies), empty, named `graph_name`.
inline pb::GraphProto* add_graph_attribute(pb::NodeProto* node, const std::string& attr_name, const std::string& graph_name) {
  auto* attr = node->add_attribute();
  attr->set_name(attr_name);
  attr->set_type(pb::AttributeProto::GRAPH);
  attr->mutable_g()->set_name(graph_name);
  return attr->mutable_g();
}

inline pb::TensorProto* add_initializer(pb::GraphProto* g, const std::string& name, int elem_type,
                                        const std::vector<int64_t>& dims) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(elem_type);
  for (int64_t d : dims) t->add_dims(d);
  return t;
}

// An empty model importing the default domain at `opset`.
inline pb::ModelProto model_proto(const std::string& graph_name, int64_t opset = 17) {
  pb::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(opset);
  m.mutable_graph()->set_name(graph_name);
  return m;
}

}  // namespace tessera::test_util
