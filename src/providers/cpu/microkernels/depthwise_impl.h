// Internal to microkernels/: the depthwise-convolution row kernel, written with GCC vector extensions
// and included by each ISA translation unit after gemm_ukernel_impl.h (same TS_ISA namespace
// rules: no inline library templates).
#ifndef TS_ISA
#error "define TS_ISA (the namespace of this ISA) before including depthwise_impl.h"
#endif

#include <cstring>

#include "providers/cpu/microkernels/isa_kernels.h"

namespace tessera::kernels::detail::TS_ISA {

// y[i] = clamp(bias + sum_t w[t] * src[t][i]) over [0, n): four vectors of outputs at a time
// keep four independent FMA chains in flight; every tap is read from L1. Reads up to one vector
// past src[t] + n (see isa_kernels.h).
template <int Bytes>
void depthwise_row(int64_t taps, const float* const* src, const float* w, float bias, int64_t n, float lo, float hi,
                   float* y) {
  using V = typename VecOf<float, Bytes>::type;
  constexpr int L = Bytes / 4;
  const V vlo = V{} + lo, vhi = V{} + hi;
  auto finish = [&](V r, float* dst) {
    r = r < vlo ? vlo : r;
    r = r > vhi ? vhi : r;
    std::memcpy(dst, &r, Bytes);
  };
  int64_t i = 0;
  for (; i + 4 * L <= n; i += 4 * L) {
    V a0 = V{} + bias, a1 = a0, a2 = a0, a3 = a0;
    for (int64_t t = 0; t < taps; ++t) {
      const float* s = src[t] + i;
      const float wt = w[t];
      V x0, x1, x2, x3;
      std::memcpy(&x0, s, Bytes);
      std::memcpy(&x1, s + L, Bytes);
      std::memcpy(&x2, s + 2 * L, Bytes);
      std::memcpy(&x3, s + 3 * L, Bytes);
      a0 += wt * x0;
      a1 += wt * x1;
      a2 += wt * x2;
      a3 += wt * x3;
    }
    finish(a0, y + i);
    finish(a1, y + i + L);
    finish(a2, y + i + 2 * L);
    finish(a3, y + i + 3 * L);
  }
  // The last vector may be partial: the caller guarantees that reading a whole vector past
  // src[t] + n is safe, and only n - i results are stored.
  for (; i < n; i += L) {
    V a = V{} + bias;
    for (int64_t t = 0; t < taps; ++t) {
      V x;
      std::memcpy(&x, src[t] + i, Bytes);
      a += w[t] * x;
    }
    if (i + L <= n) {
      finish(a, y + i);
    } else {
      alignas(64) float tail[L];
      finish(a, tail);
      std::memcpy(y + i, tail, static_cast<size_t>(n - i) * sizeof(float));
    }
  }
}

// The direct row kernel (see DepthwiseDirectFn): `rows` input rows `ld` apart starting at x,
// KW taps per row at stride S. Templated on KW and S so the tap loops unroll; KW == 0 reads
// the width from `kw` at run time.
template <int Bytes, int S, int KW>
void depthwise_direct(const float* x, int64_t ld, int64_t rows, int64_t kw_runtime, const float* w, float bias,
                      int64_t n, float lo, float hi, float* y) {
  using V = typename VecOf<float, Bytes>::type;
  using M = typename VecOf<int32_t, Bytes>::type;
  constexpr int L = Bytes / 4;
  const int64_t kw = KW > 0 ? KW : kw_runtime;
  const V vlo = V{} + lo, vhi = V{} + hi;
  M even{};  // lanes 0, 2, 4, ... of two concatenated vectors: the stride-2 taps
  for (int l = 0; l < L; ++l) even[l] = 2 * l;
  // L outputs starting at output i for tap (r, k).
  auto load_tap = [&](int64_t r, int64_t k, int64_t i) -> V {
    const float* p = x + r * ld + i * S + k;
    V a;
    std::memcpy(&a, p, Bytes);
    if constexpr (S == 1) {
      return a;
    } else {
      V b;
      std::memcpy(&b, p + L, Bytes);
      return __builtin_shuffle(a, b, even);
    }
  };
  auto clamp_store = [&](V r, float* dst) {
    r = r < vlo ? vlo : r;
    r = r > vhi ? vhi : r;
    std::memcpy(dst, &r, Bytes);
  };
  // Stride 2 loads 2L inputs per vector, one past the last tap: the vector loop stops one output
  // early so that it never reads past the row's last used element.
  const int64_t vec_end = S == 1 ? n : n - 1;
  int64_t i = 0;
  for (; i + 2 * L <= vec_end; i += 2 * L) {
    V a0 = V{} + bias, a1 = a0;
    for (int64_t r = 0; r < rows; ++r) {
#pragma GCC unroll 8
      for (int64_t k = 0; k < kw; ++k) {
        const float wt = w[r * kw + k];
        a0 += wt * load_tap(r, k, i);
        a1 += wt * load_tap(r, k, i + L);
      }
    }
    clamp_store(a0, y + i);
    clamp_store(a1, y + i + L);
  }
  // The rest as whole vectors, the last one shifted back to end at vec_end (recomputing a few
  // outputs is cheaper than a scalar tail); only planes narrower than a vector go scalar.
  if (vec_end >= L) {
    for (bool more = i < vec_end; more;) {
      if (i + L > vec_end) i = vec_end - L;
      V a = V{} + bias;
      for (int64_t r = 0; r < rows; ++r) {
#pragma GCC unroll 8
        for (int64_t k = 0; k < kw; ++k) a += w[r * kw + k] * load_tap(r, k, i);
      }
      clamp_store(a, y + i);
      i += L;
      more = i < vec_end;
    }
    i = vec_end;
  }
  for (; i < n; ++i) {
    float a = bias;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < kw; ++k) a += w[r * kw + k] * x[r * ld + i * S + k];
    y[i] = clamp_value(a, lo, hi);
  }
}

template <int Bytes>
void depthwise_direct_row(const float* x, int64_t ld, int64_t rows, int64_t kw, int64_t stride, const float* w,
                          float bias, int64_t n, float lo, float hi, float* y) {
  if (stride == 1) {
    if (kw == 3) return depthwise_direct<Bytes, 1, 3>(x, ld, rows, kw, w, bias, n, lo, hi, y);
    if (kw == 5) return depthwise_direct<Bytes, 1, 5>(x, ld, rows, kw, w, bias, n, lo, hi, y);
    return depthwise_direct<Bytes, 1, 0>(x, ld, rows, kw, w, bias, n, lo, hi, y);
  }
  if (kw == 3) return depthwise_direct<Bytes, 2, 3>(x, ld, rows, kw, w, bias, n, lo, hi, y);
  if (kw == 5) return depthwise_direct<Bytes, 2, 5>(x, ld, rows, kw, w, bias, n, lo, hi, y);
  return depthwise_direct<Bytes, 2, 0>(x, ld, rows, kw, w, bias, n, lo, hi, y);
}

}  // namespace tessera::kernels::detail::TS_ISA
