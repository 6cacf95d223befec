// Shared pieces of the quantization kernels: reading any numeric tensor (including float8 and
// the sub-byte types, stored one element per byte) as float or int32, and round-and-clamp to a
// quantized integer type.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "core/float_types.h"
#include "framework/kernel_registry.h"
#include "tessera/status.h"
#include "tessera/tensor.h"

namespace tessera::quant {

// The whole tensor as C values (C = float, double or int32_t), from any numeric element type
// including float8/float4 and the sub-byte integers.
template <class C, class Where>
Status read_all(const Tensor& t, std::vector<C>& out, const Where& where) {
  out.resize(static_cast<size_t>(t.size()));
  return dispatch<kNumericTypes | type_bit(DataType::boolean) | kCodedFloatTypes | kSubByteIntTypes>(
      t.dtype(),
      [&]<class T>() -> Status {
        widen_span(t.data<T>(), out.data(), t.size());
        return Status::ok();
      },
      where);
}

// The value range of an integer quantized type; false for other types.
inline bool int_range(DataType t, int32_t& lo, int32_t& hi) {
  switch (t) {
    case DataType::uint8: lo = 0; hi = 255; return true;
    case DataType::int8: lo = -128; hi = 127; return true;
    case DataType::uint16: lo = 0; hi = 65535; return true;
    case DataType::int16: lo = -32768; hi = 32767; return true;
    case DataType::uint4: lo = 0; hi = 15; return true;
    case DataType::int4: lo = -8; hi = 7; return true;
    case DataType::uint2: lo = 0; hi = 3; return true;
    case DataType::int2: lo = -2; hi = 1; return true;
    case DataType::int32: lo = INT32_MIN; hi = INT32_MAX; return true;
    default: return false;
  }
}

// Stores integers already clamped to the range of t's integer type into t.
inline void write_ints(Tensor& t, const int32_t* v) {
  constexpr TypeSet kQuantized = type_bit(DataType::uint8) | type_bit(DataType::int8) | type_bit(DataType::uint16) |
                                 type_bit(DataType::int16) | type_bit(DataType::int32) | kSubByteIntTypes;
  Status ignored = dispatch<kQuantized>(t.dtype(), [&]<class T>() {
    narrow_span(v, t.data<T>(), t.size());
    return Status::ok();
  }, "");
  (void)ignored;  // other types are left as they are
}

// Round half to even, then clamp to [lo, hi]; NaN goes to lo (as a cast of NaN to int32 would
// before the clamp in the reference).
inline int32_t round_clamp(double v, int32_t lo, int32_t hi) {
  if (std::isnan(v)) return lo;
  v = std::nearbyint(v);
  return static_cast<int32_t>(std::clamp(v, static_cast<double>(lo), static_cast<double>(hi)));
}

// Stores float values into a float tensor (float, double, float16, bfloat16), rounding as needed.
template <class C>
void write_floats(Tensor& t, const C* v) {
  Status ignored = dispatch<kFloatTypes>(t.dtype(), [&]<class T>() {
    narrow_span(v, t.data<T>(), t.size());
    return Status::ok();
  }, "");
  (void)ignored;  // other types are left as they are
}

// MatMulInteger, QLinearMatMul, ConvInteger and QLinearConv live in qlinear_ops.cc.
void register_quantized_linear(KernelRegistry& r);

}  // namespace tessera::quant
