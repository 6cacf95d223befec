// Allocation inside a kernel (its creation or compute), where the value is needed in the middle
// of an expression: an absurd shape throws std::length_error (and exhausted memory
// std::bad_alloc), which the executor catches and turns into an error naming the node.
// Exceptions never leave the runtime; code that can return a Status uses Tensor::create.
#pragma once

#include <stdexcept>
#include <vector>

#include "tessera/tensor.h"

namespace tessera {

Tensor allocate_or_throw(DataType dtype, Shape shape);

// A 1-D tensor holding `values`, for kernels building tables at creation.
template <class T>
Tensor vector_or_throw(DataType dtype, const std::vector<T>& values) {
  auto t = Tensor::from_vector<T>(dtype, {static_cast<int64_t>(values.size())}, values);
  if (!t.is_ok()) throw std::length_error(t.status().message());
  return std::move(t).value();
}

}  // namespace tessera
