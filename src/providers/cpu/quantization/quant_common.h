// Shared pieces of the quantization kernels: reading any numeric tensor (including float8 and
// the sub-byte types, stored one element per byte) as float or int32, and round-and-clamp to a
// quantized integer type.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
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

inline bool is_8bit(DataType t) { return t == DataType::int8 || t == DataType::uint8; }

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

// DynamicQuantizeLinear's uint8 quantization of x[0, n) into y: the range [min(x, 0), max(x, 0)]
// over 0..255, the zero point rounded half to even and each value rounded half to even.
inline void dynamic_quantize_uint8(const float* x, int64_t n, uint8_t* y, float& scale, uint8_t& zero_point) {
  float mx = 0, mn = 0;
  for (int64_t i = 0; i < n; ++i) {
    mx = std::max(mx, x[i]);
    mn = std::min(mn, x[i]);
  }
  const float qmax = 255.0f;
  scale = (mx == mn ? 1.0f : mx - mn) / qmax;
  const float zp = std::nearbyint(std::clamp(0.0f - mn / scale, 0.0f, qmax));
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<uint8_t>(round_clamp(std::nearbyint(x[i] / scale) + zp, 0, 255));
  zero_point = static_cast<uint8_t>(zp);
}

// numpy matmul shapes: batch dims broadcast, a 1-D A is a row and a 1-D B a column (their unit
// dims are dropped from the output).
struct MatMulPlan {
  int64_t M = 1, K = 1, N = 1;
  Shape out;
  std::vector<int64_t> a_batch, b_batch;  // per output batch: index of the A / B matrix
  int64_t a_mats = 1, b_mats = 1;
};
Status plan_matmul(const KernelContext& ctx, const Shape& a, const Shape& b, MatMulPlan& p);

// acc[o] = (A - a_zp) x (B - b_zp) for every output batch o, int32 with wrap-around (A, B int8 or
// uint8). a_zp: scalar, per row or per matrix and row; b_zp: scalar, per column or per matrix and
// column; each of A's type. In qlinear_ops.cc.
Status int_matmul(const KernelContext& ctx, const Tensor& a, const Tensor* a_zp, const Tensor& b, const Tensor* b_zp,
                  MatMulPlan& p, std::vector<int32_t>& acc);

// A per-tensor quantization: a float scale and a zero point (0 when omitted).
struct QParams {
  float scale = 1.0f;
  float zero = 0.0f;
};

// QParams from input `scale_index` (a float scalar) and the optional `zp_index` (a scalar of
// `data_type`), as the com.microsoft QLinear ops take them.
inline Status read_qparams(const KernelContext& ctx, size_t scale_index, size_t zp_index, DataType data_type, QParams& q) {
  TS_ASSIGN_OR_RETURN(const Tensor* s, ctx.required_input(scale_index));
  if (s->dtype() != DataType::float32 || s->size() != 1)
    return ctx.error("input ", scale_index, " (scale) must be a float scalar, not ", dtype_name(s->dtype()), " ",
                     shape_to_string(s->shape()));
  q.scale = s->data<float>()[0];
  q.zero = 0.0f;
  if (const Tensor* z = ctx.input(zp_index)) {
    if (z->dtype() != data_type || z->size() != 1)
      return ctx.error("input ", zp_index, " (zero point) must be a ", dtype_name(data_type), " scalar");
    q.zero = static_cast<float>(data_type == DataType::uint8 ? z->data<uint8_t>()[0] : z->data<int8_t>()[0]);
  }
  return Status::ok();
}

// Runs fn.template operator()<T>() with T = uint8_t or int8_t for t; other types are an error.
template <class Fn>
Status with_8bit_type(const KernelContext& ctx, DataType t, const Fn& fn) {
  if (t == DataType::uint8) return fn.template operator()<uint8_t>();
  if (t == DataType::int8) return fn.template operator()<int8_t>();
  return ctx.error("expects uint8 or int8 tensors, not ", dtype_name(t));
}

// round(v / scale) + zero, saturated to T (uint8_t or int8_t): float math, half to even.
template <class T>
T quantize_value(float v, const QParams& q) {
  int32_t lo = 0, hi = 0;
  int_range(dtype_of<T>(), lo, hi);
  return static_cast<T>(round_clamp(std::nearbyint(v / q.scale) + q.zero, lo, hi));
}

// Where a code of T sits in a 256-entry table (int8 codes shifted by 128), and the code at slot c.
template <class T>
int table_slot(T code) { return static_cast<int>(code) + (std::is_signed_v<T> ? 128 : 0); }
template <class T>
float table_code(int c) { return static_cast<float>(std::is_signed_v<T> ? c - 128 : c); }

// MatMulInteger, QLinearMatMul, ConvInteger and QLinearConv live in qlinear_ops.cc.
void register_quantized_linear(KernelRegistry& r);

}  // namespace tessera::quant
