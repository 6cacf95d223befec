#include "tessera/value.h"

namespace tessera {

Value Value::sequence(std::vector<Value> items, DataType elem_type, Kind elem_kind) {
  Value v;
  v.kind_ = Kind::sequence;
  // In a sequence of optionals some items may be empty: the first that is not says what they hold.
  const Value* first = nullptr;
  for (const Value& item : items)
    if (!item.is_empty_optional()) {
      first = &item;
      break;
    }
  v.elem_kind_ = first ? first->kind() : elem_kind;
  if (v.elem_kind_ == Kind::tensor) v.elem_type_ = first ? first->tensor().dtype() : elem_type;
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
      for (const Value& item : value.items())
        if (!item.is_empty_optional()) return "seq(" + value_type_string(item) + ")";
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
