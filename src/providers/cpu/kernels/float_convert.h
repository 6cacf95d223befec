// Widening float16/bfloat16 buffers to float and back, for kernels that compute half-precision
// tensors through the float32 GEMM.
#pragma once

#include <cstdint>
#include <type_traits>

#include "core/float_types.h"

namespace tessera::kernels {

using tessera::is_half_float_v;

template <class T>
inline float to_float32(T v) {
  return to_computed<float>(v);
}

template <class T>
inline T from_float32(float v) {
  return from_computed<T>(v);
}

template <class T>
inline void widen_to_float(const T* in, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = to_float32(in[i]);
}

template <class T>
inline void narrow_from_float(const float* in, T* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = from_float32<T>(in[i]);
}

}  // namespace tessera::kernels
