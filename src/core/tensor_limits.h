// The one check of a tensor's size against ResourceLimits (max_tensor_elements, max_tensor_bytes):
// by the loader for every initializer before it is allocated, and by the allocation path of a run
// (core/buffer_pool.h, core/tensor_alloc.h) for every tensor a kernel makes.
#pragma once

#include <cstdint>

#include "tessera/resource_limits.h"
#include "tessera/status.h"
#include "tessera/tensor.h"

namespace tessera {

// Whether one tensor of `count` elements of `dtype` fits `limits`; the error names the limit, the
// size asked for and the field that raises it.
Status check_tensor_limits(DataType dtype, uint64_t count, const ResourceLimits& limits);
Status check_tensor_limits(DataType dtype, const Shape& shape, const ResourceLimits& limits);

}  // namespace tessera
