// Building IR by hand in tests.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "graph/graph.h"

namespace tessera {

inline Node node(const std::string& name, const std::string& op, std::vector<std::string> in, std::vector<std::string> out) {
  Node n;
  n.name = name;
  n.op_type = op;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

// A tensor value of fixed dims.
inline ValueInfo tensor_value(const std::string& name, DataType dtype, std::vector<int64_t> dims) {
  ValueInfo v;
  v.name = name;
  v.type.kind = TypeInfo::Kind::tensor;
  v.type.elem_type = dtype;
  std::vector<Dim> shape;
  for (int64_t d : dims) shape.push_back(Dim{d, ""});
  v.type.shape = shape;
  return v;
}

}  // namespace tessera
