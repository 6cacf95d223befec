// Widening float16/bfloat16 buffers to float and back, for kernels that compute half-precision
// tensors through the float32 GEMM.
#pragma once

#include <cstdint>
#include <type_traits>

#include "core/float_types.h"

namespace tessera::kernels {

template <class T>
constexpr bool is_half_float_v = std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>;

template <class T>
inline float to_float32(T v) {
  if constexpr (is_half_float_v<T>)
    return to_float(v);
  else
    return static_cast<float>(v);
}

template <class T>
inline T from_float32(float v) {
  if constexpr (std::is_same_v<T, float16_t>)
    return float16_t{float_to_half(v)};
  else if constexpr (std::is_same_v<T, bfloat16_t>)
    return bfloat16_t{float_to_bfloat16(v)};
  else
    return static_cast<T>(v);
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
