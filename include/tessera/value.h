// Value: what flows along a graph edge, as ONNX types it: a tensor, a sequence of values, a map,
// or an optional. An optional that holds something is that value itself (so wrapping and
// unwrapping copy nothing); one that holds nothing is Kind::empty_optional. Kind::absent is
// no value at all: an input that was not fed, or an omitted optional input or output.
#pragma once

#include <vector>

#include "tessera/tensor.h"

namespace tessera {

class Value {
 public:
  enum class Kind { absent, empty_optional, tensor, sequence, map };

  Value() = default;  // absent
  Value(Tensor tensor) : kind_(Kind::tensor), tensor_(std::move(tensor)) {}

  static Value empty_optional() {
    Value v;
    v.kind_ = Kind::empty_optional;
    return v;
  }
  // A sequence of values of one kind (in a sequence of optionals, some may be empty optionals).
  // `elem_kind` and, for tensors, `elem_type` say what an empty sequence would hold; a sequence
  // with items takes both from its first item that is not an empty optional.
  static Value sequence(std::vector<Value> items, DataType elem_type = DataType::undefined,
                        Kind elem_kind = Kind::tensor);
  // An ONNX map: keys[i] -> values[i]. keys are a 1-D int64 or string tensor, values a 1-D tensor
  // of the same length.
  static Value map(Tensor keys, Tensor values);

  Kind kind() const { return kind_; }
  bool is_absent() const { return kind_ == Kind::absent; }
  bool is_empty_optional() const { return kind_ == Kind::empty_optional; }
  bool is_tensor() const { return kind_ == Kind::tensor; }
  bool is_sequence() const { return kind_ == Kind::sequence; }
  bool is_map() const { return kind_ == Kind::map; }

  // Each accessor is meaningful for its kind only; for others it returns an empty object.
  const Tensor& tensor() const { return tensor_; }
  Tensor& tensor() { return tensor_; }
  const std::vector<Value>& items() const { return items_; }
  Kind sequence_elem_kind() const { return elem_kind_; }
  DataType sequence_elem_type() const { return elem_type_; }  // undefined unless items are tensors
  const Tensor& map_keys() const { return tensor_; }
  const Tensor& map_values() const { return map_values_; }

 private:
  Kind kind_ = Kind::absent;
  Tensor tensor_;  // the tensor, or the keys of a map
  Tensor map_values_;
  std::vector<Value> items_;
  Kind elem_kind_ = Kind::absent;
  DataType elem_type_ = DataType::undefined;
};

// Short description of a value's type for messages: "tensor(float)", "seq(map(int64,float))".
std::string value_type_string(const Value& value);

}  // namespace tessera
