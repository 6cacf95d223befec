// Moving float tensors between their storage type and the type arithmetic happens in: float for
// float16/bfloat16/float, double for double. Used by the kernels that compute in a wider type
// than they store (attention, losses, signal ops, quantization).
#pragma once

#include <cstdint>
#include <type_traits>

#include "core/float_types.h"
#include "providers/cpu/dispatch.h"
#include "tessera/tensor.h"

namespace tessera::widen {

template <class T>
constexpr bool is_half_v = is_half_float_v<T>;

// The arithmetic type of a float storage type.
template <class T>
using wide_t = std::conditional_t<std::is_same_v<T, double>, double, float>;

template <class C, class T>
inline C to_wide(T v) {
  return to_computed<C>(v);
}

template <class T, class C>
inline T from_wide(C v) {
  return from_computed<T>(v);
}

template <class T, class C>
inline void widen_span(const T* in, C* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = to_wide<C>(in[i]);
}

template <class T, class C>
inline void narrow_span(const C* in, T* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = from_wide<T>(in[i]);
}

// Rounds v to the storage type T and back: the value the reference would hold after storing an
// intermediate result in T.
template <class T, class C>
inline C round_to(C v) {
  if constexpr (is_half_v<T>)
    return to_wide<C>(from_wide<T>(v));
  else
    return static_cast<C>(static_cast<T>(v));
}

// Any numeric or bool tensor, converted element by element into out[0..t.size()).
template <class C>
Status widen_tensor(const Tensor& t, C* out, const std::string& where) {
  return dispatch<kNumericTypes | type_bit(DataType::boolean)>(t.dtype(), [&]<class T>() -> Status {
    widen_span(t.data<T>(), out, t.size());
    return Status::ok();
  }, where);
}

}  // namespace tessera::widen
