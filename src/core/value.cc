#include "tessera/value.h"

namespace tessera {

Value Value::sequence(std::vector<Value> items, DataType elem_type, Kind elem_kind) {
  Value v;
  v.kind_ = Kind::sequence;
  v.elem_kind_ = items.empty() ? elem_kind : items[0].kind();
  if (v.elem_kind_ == Kind::tensor) v.elem_type_ = items.empty() ? elem_type : items[0].tensor().dtype();
  v.items_ = std::move(items);
  return v;
}

Value Value::map(Tensor keys, Tensor values) {
  Value v;
  v.kind_ = Kind::map;
  v.tensor_ = std::move(keys);
  v.map_values_ = std::move(values);
  return v;
}

std::string value_type_string(const Value& value) {
  auto tensor_type = [](DataType t) {
    return t == DataType::undefined ? std::string("tensor(?)") : "tensor(" + std::string(dtype_name(t)) + ")";
  };
  switch (value.kind()) {
    case Value::Kind::absent: return "no value";
    case Value::Kind::empty_optional: return "an empty optional";
    case Value::Kind::tensor: return tensor_type(value.tensor().dtype());
    case Value::Kind::map:
      return "map(" + std::string(dtype_name(value.map_keys().dtype())) + "," + std::string(dtype_name(value.map_values().dtype())) +
             ")";
    case Value::Kind::sequence:
      if (!value.items().empty()) return "seq(" + value_type_string(value.items()[0]) + ")";
      switch (value.sequence_elem_kind()) {
        case Value::Kind::tensor: return "seq(" + tensor_type(value.sequence_elem_type()) + ")";
        case Value::Kind::sequence: return "seq(seq(?))";
        case Value::Kind::map: return "seq(map(?))";
        default: return "seq(?)";
      }
  }
  return "?";
}

}  // namespace tessera
