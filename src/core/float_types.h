// Reduced-precision float storage types and their conversions to and from float.
// Each is a plain struct holding the bits so kernels can tell them apart in templates.
#pragma once

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

// float16 and bfloat16: stored in 16 bits, computed in float.
template <class T>
inline constexpr bool is_half_float_v = std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>;

// A stored element as the wider type C it is computed in (16-bit floats go through float).
template <class C, class T>
inline C to_computed(T v) {
  if constexpr (is_half_float_v<T>)
    return static_cast<C>(to_float(v));
  else
    return static_cast<C>(v);
}

// A computed value back to storage type T (16-bit floats round to nearest even).
template <class T, class C>
inline T from_computed(C v) {
  if constexpr (std::is_same_v<T, float16_t>)
    return float16_t{float_to_half(static_cast<float>(v))};
  else if constexpr (std::is_same_v<T, bfloat16_t>)
    return bfloat16_t{float_to_bfloat16(static_cast<float>(v))};
  else
    return static_cast<T>(v);
}

}  // namespace tessera
