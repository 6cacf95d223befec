// Shared pieces of the quantization kernels: reading any numeric tensor (including float8 and
// the sub-byte types, stored one element per byte) as float or int32, and round-and-clamp to a
// quantized integer type.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/float_types.h"
#include "framework/kernel_registry.h"
#include "tessera/status.h"
#include "tessera/tensor.h"

namespace tessera::quant {

// Converts n elements at p, stored as S, with conv(S) -> C.
template <class S, class C, class Conv>
void convert_run(const void* p, C* out, int64_t n, Conv conv) {
  const S* s = static_cast<const S*>(p);
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<C>(conv(s[i]));
}

// The whole tensor as C values (C = float, double or int32_t), from any numeric element type
// including float8/float4 and the sub-byte integers.
template <class C>
Status read_all(const Tensor& t, std::vector<C>& out, const std::string& where) {
  out.resize(static_cast<size_t>(t.size()));
  const void* p = t.raw_data();
  C* o = out.data();
  const int64_t n = t.size();
  auto same = [](auto v) { return v; };
  switch (t.dtype()) {
    case DataType::float32: convert_run<float>(p, o, n, same); break;
    case DataType::float64: convert_run<double>(p, o, n, same); break;
    case DataType::float16: convert_run<uint16_t>(p, o, n, half_to_float); break;
    case DataType::bfloat16: convert_run<uint16_t>(p, o, n, bfloat16_to_float); break;
    case DataType::int8: case DataType::int4: case DataType::int2: convert_run<int8_t>(p, o, n, same); break;
    case DataType::uint8: case DataType::uint4: case DataType::uint2: convert_run<uint8_t>(p, o, n, same); break;
    case DataType::boolean: convert_run<bool>(p, o, n, same); break;
    case DataType::int16: convert_run<int16_t>(p, o, n, same); break;
    case DataType::uint16: convert_run<uint16_t>(p, o, n, same); break;
    case DataType::int32: convert_run<int32_t>(p, o, n, same); break;
    case DataType::uint32: convert_run<uint32_t>(p, o, n, same); break;
    case DataType::int64: convert_run<int64_t>(p, o, n, same); break;
    case DataType::uint64: convert_run<uint64_t>(p, o, n, same); break;
    case DataType::float8e4m3fn: convert_run<uint8_t>(p, o, n, float8e4m3fn_to_float); break;
    case DataType::float8e4m3fnuz: convert_run<uint8_t>(p, o, n, float8e4m3fnuz_to_float); break;
    case DataType::float8e5m2: convert_run<uint8_t>(p, o, n, float8e5m2_to_float); break;
    case DataType::float8e5m2fnuz: convert_run<uint8_t>(p, o, n, float8e5m2fnuz_to_float); break;
    case DataType::float8e8m0: convert_run<uint8_t>(p, o, n, float8e8m0_to_float); break;
    case DataType::float4e2m1: convert_run<uint8_t>(p, o, n, float4e2m1_to_float); break;
    default: return not_implemented(where, ": element type ", dtype_name(t.dtype()), " is not supported here");
  }
  return Status::ok();
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
  const int64_t n = t.size();
  auto store = [&]<class S>(S* out) { for (int64_t i = 0; i < n; ++i) out[i] = static_cast<S>(v[i]); };
  switch (t.dtype()) {
    case DataType::uint8: case DataType::uint4: case DataType::uint2: store(t.data<uint8_t>()); break;
    case DataType::int8: case DataType::int4: case DataType::int2: store(t.data<int8_t>()); break;
    case DataType::uint16: store(t.data<uint16_t>()); break;
    case DataType::int16: store(t.data<int16_t>()); break;
    case DataType::int32: store(t.data<int32_t>()); break;
    default: break;
  }
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
  const int64_t n = t.size();
  switch (t.dtype()) {
    case DataType::float32: for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = static_cast<float>(v[i]); break;
    case DataType::float64: for (int64_t i = 0; i < n; ++i) t.data<double>()[i] = static_cast<double>(v[i]); break;
    case DataType::float16: for (int64_t i = 0; i < n; ++i) t.data<uint16_t>()[i] = float_to_half(static_cast<float>(v[i])); break;
    case DataType::bfloat16: for (int64_t i = 0; i < n; ++i) t.data<uint16_t>()[i] = float_to_bfloat16(static_cast<float>(v[i])); break;
    default: break;
  }
}

// MatMulInteger, QLinearMatMul, ConvInteger and QLinearConv live in qlinear_ops.cc.
void register_quantized_linear(KernelRegistry& r);

}  // namespace tessera::quant
