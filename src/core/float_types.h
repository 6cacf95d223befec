// Storage types of the element types that have no C++ type of their own (reduced-precision floats,
// 4- and 2-bit integers) and their conversions to and from float. Each is a plain struct holding the
// stored byte(s) so kernels can tell them apart in templates.
#pragma once

#include <concepts>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace tessera {

struct float16_t { uint16_t bits = 0; };
struct bfloat16_t { uint16_t bits = 0; };
// float8 variants and float4: one byte each (float4 is kept unpacked, low nibble).
struct float8e4m3fn_t { uint8_t bits = 0; };
struct float8e4m3fnuz_t { uint8_t bits = 0; };
struct float8e5m2_t { uint8_t bits = 0; };
struct float8e5m2fnuz_t { uint8_t bits = 0; };
struct float8e8m0_t { uint8_t bits = 0; };
struct float4e2m1_t { uint8_t bits = 0; };
// 4- and 2-bit integers, kept unpacked one per byte; signed ones are sign-extended.
struct int4_t { int8_t value = 0; };
struct uint4_t { uint8_t value = 0; };
struct int2_t { int8_t value = 0; };
struct uint2_t { uint8_t value = 0; };
// Tensors index their buffers with these, so each must be exactly the stored width.
static_assert(sizeof(float16_t) == 2 && sizeof(bfloat16_t) == 2);
static_assert(sizeof(float8e4m3fn_t) == 1 && sizeof(float8e4m3fnuz_t) == 1 && sizeof(float8e5m2_t) == 1 &&
              sizeof(float8e5m2fnuz_t) == 1 && sizeof(float8e8m0_t) == 1 && sizeof(float4e2m1_t) == 1);
static_assert(sizeof(int4_t) == 1 && sizeof(uint4_t) == 1 && sizeof(int2_t) == 1 && sizeof(uint2_t) == 1);

float half_to_float(uint16_t bits);
uint16_t float_to_half(float value);  // round to nearest even

inline float bfloat16_to_float(uint16_t bits) {
  uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t float_to_bfloat16(float value);  // round to nearest even, NaN stays NaN

// float8 / float4 conversions follow the ONNX Cast spec. `saturate` clamps out-of-range finite
// values to the largest finite value (the Cast default) instead of producing inf/NaN.
float float8e4m3fn_to_float(uint8_t bits);
float float8e4m3fnuz_to_float(uint8_t bits);
float float8e5m2_to_float(uint8_t bits);
float float8e5m2fnuz_to_float(uint8_t bits);
float float8e8m0_to_float(uint8_t bits);
float float4e2m1_to_float(uint8_t bits);
uint8_t float_to_float8e4m3fn(float value, bool saturate = true);
uint8_t float_to_float8e4m3fnuz(float value, bool saturate = true);
uint8_t float_to_float8e5m2(float value, bool saturate = true);
uint8_t float_to_float8e5m2fnuz(float value, bool saturate = true);
uint8_t float_to_float8e8m0(float value, bool saturate = true);
uint8_t float_to_float4e2m1(float value, bool saturate = true);

inline float to_float(float16_t v) { return half_to_float(v.bits); }
inline float to_float(bfloat16_t v) { return bfloat16_to_float(v.bits); }
inline float to_float(float8e4m3fn_t v) { return float8e4m3fn_to_float(v.bits); }
inline float to_float(float8e4m3fnuz_t v) { return float8e4m3fnuz_to_float(v.bits); }
inline float to_float(float8e5m2_t v) { return float8e5m2_to_float(v.bits); }
inline float to_float(float8e5m2fnuz_t v) { return float8e5m2fnuz_to_float(v.bits); }
inline float to_float(float8e8m0_t v) { return float8e8m0_to_float(v.bits); }
inline float to_float(float4e2m1_t v) { return float4e2m1_to_float(v.bits); }

// float16 and bfloat16: stored in 16 bits, computed in float.
template <class T>
inline constexpr bool is_half_float_v = std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>;

// Floats stored as a code (16-bit floats, float8 family, float4): decoded to float to compute.
template <class T>
inline constexpr bool is_coded_float_v = requires(T v) { { to_float(v) } -> std::same_as<float>; };

template <class T>
inline constexpr bool is_subbyte_int_v = std::is_same_v<T, int4_t> || std::is_same_v<T, uint4_t> ||
                                         std::is_same_v<T, int2_t> || std::is_same_v<T, uint2_t>;

// ---- the one widen/narrow pair ----------------------------------------------------------------
// compute_t<T>: the type arithmetic on stored T happens in: float for coded floats, the storing
// byte type for 4- and 2-bit ints, T itself otherwise.
template <class T>
struct compute_type {
  using type = T;
};
template <class T>
  requires is_coded_float_v<T>
struct compute_type<T> {
  using type = float;
};
template <class T>
  requires is_subbyte_int_v<T>
struct compute_type<T> {
  using type = decltype(T::value);
};
template <class T>
using compute_t = typename compute_type<T>::type;

// A stored element widened to its compute type, or to C when given (to_computed<double>(h)).
// Types computed as themselves come back by reference, so no copy is made.
template <class C = void, class T>
inline decltype(auto) to_computed(const T& v) {
  if constexpr (!std::is_void_v<C>) {
    return static_cast<C>(to_computed(v));
  } else if constexpr (is_coded_float_v<T>) {
    return to_float(v);
  } else if constexpr (is_subbyte_int_v<T>) {
    return v.value;
  } else {
    return (v);
  }
}

// A computed value narrowed back to storage type T (floats round to nearest even; float8 and
// float4 saturate, the Cast default; 4- and 2-bit ints are stored as given).
template <class T, class C>
inline T from_computed(const C& v) {
  if constexpr (std::is_same_v<T, float16_t>)
    return float16_t{float_to_half(static_cast<float>(v))};
  else if constexpr (std::is_same_v<T, bfloat16_t>)
    return bfloat16_t{float_to_bfloat16(static_cast<float>(v))};
  else if constexpr (std::is_same_v<T, float8e4m3fn_t>)
    return T{float_to_float8e4m3fn(static_cast<float>(v))};
  else if constexpr (std::is_same_v<T, float8e4m3fnuz_t>)
    return T{float_to_float8e4m3fnuz(static_cast<float>(v))};
  else if constexpr (std::is_same_v<T, float8e5m2_t>)
    return T{float_to_float8e5m2(static_cast<float>(v))};
  else if constexpr (std::is_same_v<T, float8e5m2fnuz_t>)
    return T{float_to_float8e5m2fnuz(static_cast<float>(v))};
  else if constexpr (std::is_same_v<T, float8e8m0_t>)
    return T{float_to_float8e8m0(static_cast<float>(v))};
  else if constexpr (std::is_same_v<T, float4e2m1_t>)
    return T{float_to_float4e2m1(static_cast<float>(v))};
  else if constexpr (is_subbyte_int_v<T>)
    return T{static_cast<compute_t<T>>(v)};
  else
    return static_cast<T>(v);
}

// Spans of the same.
template <class T, class C>
inline void widen_span(const T* in, C* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = to_computed<C>(in[i]);
}
template <class T, class C>
inline void narrow_span(const C* in, T* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = from_computed<T>(in[i]);
}

// Rounds v to the storage type T and back: the value the reference would hold after storing an
// intermediate result in T.
template <class T, class C>
inline C round_to(C v) {
  return to_computed<C>(from_computed<T>(v));
}

}  // namespace tessera
