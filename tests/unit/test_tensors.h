// Making tensors in tests: the public API returns a Result (making a tensor can fail); a test
// that asks for an impossible one fails here, with the reason.
#pragma once

#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "tessera/tensor.h"

namespace tessera {

// A zero-filled tensor.
inline Tensor zeros(DataType dtype, Shape shape) {
  auto t = Tensor::create(dtype, std::move(shape));
  EXPECT_TRUE(t.is_ok()) << t.status().message();
  return t.is_ok() ? std::move(t).value() : Tensor();
}

// A tensor holding `values` row-major.
template <class T>
Tensor tensor_of(DataType dtype, Shape shape, const std::vector<T>& values) {
  auto t = Tensor::from_vector<T>(dtype, std::move(shape), values);
  EXPECT_TRUE(t.is_ok()) << t.status().message();
  return t.is_ok() ? std::move(t).value() : Tensor();
}

}  // namespace tessera
