// Value: what flows along a graph edge: a tensor, a sequence of tensors, a map, or an optional
// that may hold nothing.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tessera/tensor.h"

namespace tessera {

class Value {
 public:
  enum class Kind { none, tensor, sequence, map };

  Value() = default;
  Value(Tensor tensor) : kind_(Kind::tensor), tensor_(std::move(tensor)) {}

  static Value sequence(DataType elem_type, std::vector<Tensor> items);
  // An optional with no value (kind none) remembers the element type it would carry.
  static Value none() { return Value(); }
  // Maps: keys are int64 or string (kept as a tensor of keys), values a tensor of the same length.
  static Value map(Tensor keys, Tensor values);

  Kind kind() const { return kind_; }
  bool is_tensor() const { return kind_ == Kind::tensor; }
  bool is_sequence() const { return kind_ == Kind::sequence; }
  bool is_map() const { return kind_ == Kind::map; }
  bool is_none() const { return kind_ == Kind::none; }

  const Tensor& tensor() const { return tensor_; }
  Tensor& tensor() { return tensor_; }
  const std::vector<Tensor>& items() const { return items_; }
  std::vector<Tensor>& items() { return items_; }
  DataType sequence_elem_type() const { return elem_type_; }
  const Tensor& map_keys() const { return tensor_; }
  const Tensor& map_values() const { return map_values_; }

 private:
  Kind kind_ = Kind::none;
  Tensor tensor_;  // the tensor, or the keys of a map
  Tensor map_values_;
  std::vector<Tensor> items_;
  DataType elem_type_ = DataType::undefined;
};

}  // namespace tessera
