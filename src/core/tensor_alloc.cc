#include "core/tensor_alloc.h"

#include <stdexcept>

namespace tessera {

Tensor allocate_or_throw(DataType dtype, Shape shape) {
  auto t = Tensor::create(dtype, std::move(shape));
  if (!t.is_ok()) throw std::length_error(t.status().message());
  return std::move(t).value();
}

}  // namespace tessera
