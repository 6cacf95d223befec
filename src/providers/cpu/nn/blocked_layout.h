// The channel-blocked layout of the optimizer's `all` level (docs/fused_ops.md): a float32
// image [N, C, H, W] stored as [N, ceil(C / block), H, W, block], one vector of `block` channels
// per position; channels past C in the last block hold zeros. Convolution chains run in it with
// no layout change between them (com.tessera BlockedConv); these are the conversions at the
// chain's ends, also used by BlockedConv when oneDNN declines a geometry.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"
#include "tessera/tensor.h"

namespace tessera {

// [N, C, spatial...] -> [N, ceil(C / block), spatial..., block].
Shape blocked_shape(const Shape& nchw, int64_t block);

// x [N, C, plane] (NCHW) into y [N, ceil(C / block), plane, block], zeros past C.
void to_blocked(const float* x, int64_t N, int64_t C, int64_t plane, int64_t block, float* y, ThreadPool* pool);
// The inverse: the first C channels of y back into x [N, C, plane].
void from_blocked(const float* y, int64_t N, int64_t C, int64_t plane, int64_t block, float* x, ThreadPool* pool);

}  // namespace tessera
