#include "tessera/value.h"

namespace tessera {

Value Value::sequence(DataType elem_type, std::vector<Tensor> items) {
  Value v;
  v.kind_ = Kind::sequence;
  v.elem_type_ = elem_type;
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

}  // namespace tessera
