#include "core/tensor_alloc.h"

#include <stdexcept>

#include "core/tensor_limits.h"

namespace tessera {

// Checked against the default limits: the callers (kernel creation, contexts without a session)
// have no session's; a run's tensors come from the buffer pool, which checks the session's.
Tensor allocate_or_throw(DataType dtype, Shape shape) {
  Status fits = check_tensor_limits(dtype, shape, ResourceLimits{});
  if (!fits.is_ok()) throw std::length_error(fits.message());
  auto t = Tensor::create(dtype, std::move(shape));
  if (!t.is_ok()) throw std::length_error(t.status().message());
  return std::move(t).value();
}

}  // namespace tessera
