#include "core/tensor_limits.h"

#include <string>

namespace tessera {

Status check_tensor_limits(DataType dtype, uint64_t count, const ResourceLimits& limits) {
  if (count > limits.max_tensor_elements)
    return runtime_error("a ", dtype_name(dtype), " tensor of ", count,
                         " elements is over the limit max_tensor_elements = ", limits.max_tensor_elements,
                         " (raise SessionOptions::limits.max_tensor_elements)");
  // Strings are counted by elements only: their bytes live outside the tensor.
  const uint64_t elem = dtype == DataType::string ? 0 : dtype_size(dtype);
  uint64_t bytes = 0;
  const bool overflows = __builtin_mul_overflow(count, elem, &bytes);
  if (overflows || bytes > limits.max_tensor_bytes)
    return runtime_error("a ", dtype_name(dtype), " tensor of ", count, " elements needs ",
                         overflows ? std::string("more than 2^64") : std::to_string(bytes),
                         " bytes, over the limit max_tensor_bytes = ", limits.max_tensor_bytes,
                         " (raise SessionOptions::limits.max_tensor_bytes)");
  return Status::ok();
}

Status check_tensor_limits(DataType dtype, const Shape& shape, const ResourceLimits& limits) {
  TS_ASSIGN_OR_RETURN(int64_t count, checked_element_count(shape));
  return check_tensor_limits(dtype, static_cast<uint64_t>(count), limits);
}

}  // namespace tessera
