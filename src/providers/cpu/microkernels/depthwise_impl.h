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

}  // namespace tessera::kernels::detail::TS_ISA
