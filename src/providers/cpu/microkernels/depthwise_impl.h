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

// The lanes of the concatenation a:b that idx picks (GCC's two-vector __builtin_shuffle). Clang
// (the sanitizer and fuzzing builds) has no shuffle by a vector of indices, so it gets the lane
// loop: the same result; the kernels' speed is measured with GCC.
template <class V, class M>
inline V shuffle2(V a, V b, M idx) {
#if defined(__clang__)
  constexpr int L = sizeof(V) / sizeof(a[0]);
  V r;
  for (int l = 0; l < L; ++l) r[l] = idx[l] < L ? a[idx[l]] : b[idx[l] - L];
  return r;
#else
  return __builtin_shuffle(a, b, idx);
#endif
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
      return shuffle2(a, b, even);
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

// Transposes the L x L block of floats in r[0, L) (lane j of r[i] trades places with lane i of
// r[j]) in log2(L) rounds of two-input shuffles; round H swaps, for each pair of rows H apart,
// the lanes whose bit H differs from the row's, so after all rounds (i, j) sits at (j, i).
template <int Bytes, int H>
inline void transpose_rounds(typename VecOf<float, Bytes>::type* r) {
  using V = typename VecOf<float, Bytes>::type;
  using M = typename VecOf<int32_t, Bytes>::type;
  constexpr int L = Bytes / 4;
  M lo, hi;
  for (int j = 0; j < L; ++j) {
    lo[j] = (j & H) ? L + j - H : j;
    hi[j] = (j & H) ? L + j : j + H;
  }
#pragma GCC unroll 16
  for (int i = 0; i < L; ++i) {
    if (i & H) continue;
    const V a = r[i], b = r[i + H];
    r[i] = shuffle2(a, b, lo);
    r[i + H] = shuffle2(a, b, hi);
  }
  if constexpr (H > 1) transpose_rounds<Bytes, H / 2>(r);
}

// Copies the L planes into the zero-padded, channel-interleaved buffer: input (r, c) of channel
// l goes to padded[((r + ph) * Wp + c + pw) * L + l] when that lies inside Hp x Wp. Positions
// go L at a time through a transpose; the last group is shifted back to end at the last
// position (rewriting a few with the same values) so no position goes one by one.
template <int Bytes>
void pack_block(const DepthwiseBlockArgs& a, int64_t Hp, int64_t Wp) {
  using V = typename VecOf<float, Bytes>::type;
  constexpr int L = Bytes / 4;
  const int64_t P = a.H * a.W;
  // Zero what the image does not cover: rows above and below it, the pad columns beside it.
  const int64_t r0 = a.ph < Hp ? a.ph : Hp, r1 = a.ph + a.H < Hp ? a.ph + a.H : Hp;
  const int64_t c0 = a.pw < Wp ? a.pw : Wp, c1 = a.pw + a.W < Wp ? a.pw + a.W : Wp;
  const size_t position_bytes = L * sizeof(float);
  std::memset(a.padded, 0, static_cast<size_t>(r0 * Wp) * position_bytes);
  std::memset(a.padded + r1 * Wp * L, 0, static_cast<size_t>((Hp - r1) * Wp) * position_bytes);
  for (int64_t r = r0; r < r1; ++r) {
    std::memset(a.padded + r * Wp * L, 0, static_cast<size_t>(c0) * position_bytes);
    std::memset(a.padded + (r * Wp + c1) * L, 0, static_cast<size_t>(Wp - c1) * position_bytes);
  }
  if (a.interleaved) {  // already [H][W][L]: whole rows, clipped to the padded buffer
    const int64_t cols = a.W < Wp - c0 ? a.W : Wp - c0;
    for (int64_t row = r0; row < r1; ++row)
      std::memcpy(a.padded + (row * Wp + c0) * L, a.x + (row - a.ph) * a.W * L, static_cast<size_t>(cols) * position_bytes);
    return;
  }
  // Position p is input (r, c), walked by increments (no division per position).
  int64_t r = 0, c = 0;
  auto dest = [&]() -> float* {
    float* d = r + a.ph < Hp && c + a.pw < Wp ? a.padded + ((r + a.ph) * Wp + c + a.pw) * L : nullptr;
    if (++c == a.W) {
      c = 0;
      ++r;
    }
    return d;
  };
  if (P < L) {
    for (int64_t p = 0; p < P; ++p)
      if (float* d = dest())
        for (int l = 0; l < L; ++l) d[l] = a.x[l * a.plane + p];
    return;
  }
  for (int64_t p = 0; p < P; p += L) {
    if (p + L > P) {
      p = P - L;
      r = p / a.W;
      c = p % a.W;
    }
    V v[L];
#pragma GCC unroll 16
    for (int l = 0; l < L; ++l) std::memcpy(&v[l], a.x + l * a.plane + p, Bytes);
    transpose_rounds<Bytes, L / 2>(v);
#pragma GCC unroll 16
    for (int j = 0; j < L; ++j)
      if (float* d = dest()) std::memcpy(d, &v[j], Bytes);
  }
}

// The NO accumulators clamped to [lo, hi] (the fused activation) and stored, L lanes each.
template <int Bytes, int NO>
inline void store_clamped(const DepthwiseBlockArgs& a, const typename VecOf<float, Bytes>::type* acc, float* out) {
  using V = typename VecOf<float, Bytes>::type;
  constexpr int L = Bytes / 4;
  const V vlo = V{} + a.lo, vhi = V{} + a.hi;
#pragma GCC unroll 8
  for (int j = 0; j < NO; ++j) {
    V r = acc[j] < vlo ? vlo : acc[j];
    r = r > vhi ? vhi : r;
    std::memcpy(out + j * L, &r, Bytes);
  }
}

// NO adjacent outputs of one output row of a fixed K x K window at stride S: row kh of the
// first output's window starts at rows[kh]. NO accumulators share each weight vector.
template <int Bytes, int K, int S, int NO>
inline void window_outputs(const DepthwiseBlockArgs& a, const float* const* rows, float* out) {
  using V = typename VecOf<float, Bytes>::type;
  constexpr int L = Bytes / 4;
  V acc[NO];
  std::memcpy(&acc[0], a.bias, Bytes);
#pragma GCC unroll 8
  for (int j = 1; j < NO; ++j) acc[j] = acc[0];
#pragma GCC unroll 5
  for (int kh = 0; kh < K; ++kh) {
#pragma GCC unroll 5
    for (int kw = 0; kw < K; ++kw) {
      V wv;
      std::memcpy(&wv, a.w + (kh * K + kw) * L, Bytes);
      const float* src = rows[kh] + kw * L;
#pragma GCC unroll 8
      for (int j = 0; j < NO; ++j) {
        V x;
        std::memcpy(&x, src + j * S * L, Bytes);
        acc[j] += wv * x;
      }
    }
  }
  store_clamped<Bytes, NO>(a, acc, out);
}

// NO adjacent outputs of one output row, starting at `in` (the padded input under the first
// one's first tap): NO accumulators share each weight vector. K > 0 fixes a K x K kernel with
// stride S and no dilation so the tap loops unroll; K == 0 reads the geometry from `a`.
template <int Bytes, int K, int S, int NO>
inline void block_outputs(const DepthwiseBlockArgs& a, const float* in, int64_t Wp, float* out) {
  using V = typename VecOf<float, Bytes>::type;
  constexpr int L = Bytes / 4;
  if constexpr (K > 0) {
    const float* rows[K];
    for (int kh = 0; kh < K; ++kh) rows[kh] = in + kh * Wp * L;
    return window_outputs<Bytes, K, S, NO>(a, rows, out);
  }
  V acc[NO];
  std::memcpy(&acc[0], a.bias, Bytes);
#pragma GCC unroll 8
  for (int j = 1; j < NO; ++j) acc[j] = acc[0];
  for (int64_t kh = 0; kh < a.KH; ++kh) {
    const float* row = in + kh * a.dh * Wp * L;
    for (int64_t kw = 0; kw < a.KW; ++kw) {
      V wv;
      std::memcpy(&wv, a.w + (kh * a.KW + kw) * L, Bytes);
      const float* src = row + kw * a.dw * L;
#pragma GCC unroll 8
      for (int j = 0; j < NO; ++j) {
        V x;
        std::memcpy(&x, src + j * a.sw * L, Bytes);
        acc[j] += wv * x;
      }
    }
  }
  store_clamped<Bytes, NO>(a, acc, out);
}

// Seven outputs at a time: ImageNet planes (112, 56, 28, 14, 7) are multiples of 7, and seven
// accumulators plus a weight and an input vector fit the 16 registers of AVX2.
constexpr int kOutputsPerGroup = 7;

template <int Bytes, int K, int S>
void block_conv(const DepthwiseBlockArgs& a, int64_t Wp) {
  constexpr int L = Bytes / 4, NO = kOutputsPerGroup;
  const int64_t sh = K ? S : a.sh, sw = K ? S : a.sw;
  for (int64_t oh = 0; oh < a.OH; ++oh) {
    const float* in = a.padded + oh * sh * Wp * L;
    float* out = a.out + oh * a.OW * L;
    int64_t ow = 0;
    for (; ow + NO <= a.OW; ow += NO) block_outputs<Bytes, K, S, NO>(a, in + ow * sw * L, Wp, out + ow * L);
    for (; ow < a.OW; ++ow) block_outputs<Bytes, K, S, 1>(a, in + ow * sw * L, Wp, out + ow * L);
  }
}

// One output whose window crosses the left or right edge: the taps outside [0, W) are skipped.
// rows[kh] is input row kh of the window (a zero row where it lies in the padding).
template <int Bytes, int K, int S>
inline void edge_output(const DepthwiseBlockArgs& a, const float* const* rows, int64_t ow, float* out) {
  using V = typename VecOf<float, Bytes>::type;
  constexpr int L = Bytes / 4;
  V acc;
  std::memcpy(&acc, a.bias, Bytes);
  for (int kh = 0; kh < K; ++kh)
    for (int kw = 0; kw < K; ++kw) {
      const int64_t iw = ow * S - a.pw + kw;
      if (iw < 0 || iw >= a.W) continue;
      V wv, x;
      std::memcpy(&wv, a.w + (kh * K + kw) * L, Bytes);
      std::memcpy(&x, rows[kh] + iw * L, Bytes);
      acc += wv * x;
    }
  const V vlo = V{} + a.lo, vhi = V{} + a.hi;
  acc = acc < vlo ? vlo : acc;
  acc = acc > vhi ? vhi : acc;
  std::memcpy(out, &acc, Bytes);
}

// The last `count` (< NO) inside outputs of a row as one group: with pad 1 a 3x3 row keeps 5 or 6
// of them past its groups of seven (56 wide: 7 x 7 + 5), and run one by one each was a single
// chain of K * K dependent FMAs, four times a grouped output's time.
template <int Bytes, int K, int S, int Max>
inline void window_outputs_tail(const DepthwiseBlockArgs& a, const float* const* rows, float* out, int64_t count) {
  if constexpr (Max > 0) {
    if (count == Max) return window_outputs<Bytes, K, S, Max>(a, rows, out);
    window_outputs_tail<Bytes, K, S, Max - 1>(a, rows, out, count);
  }
}

constexpr int64_t kInPlaceMinWidth = 28;

// The blocked layout's input ([H][W][L] rows) read in place, with no padded copy: windows inside
// the image read the rows directly, a row in the top or bottom padding is a zero row (the
// scratch's first W vectors, which Hp x Wp always covers for K >= 3), and the few outputs whose
// windows cross the left or right edge skip the taps outside.
template <int Bytes, int K, int S>
void block_conv_in_place(const DepthwiseBlockArgs& a) {
  constexpr int L = Bytes / 4, NO = kOutputsPerGroup;
  float* zero_row = a.padded;
  std::memset(zero_row, 0, static_cast<size_t>(a.W * L) * sizeof(float));
  // Outputs [lo, hi) have every tap inside [0, W). (No std::min here: see gemm_ukernel_impl.h.)
  const int64_t first_inside = (a.pw + S - 1) / S, last_inside = a.W + a.pw < K ? -1 : (a.W + a.pw - K) / S;
  const int64_t lo = first_inside < a.OW ? first_inside : a.OW;
  const int64_t hi_raw = last_inside + 1 < a.OW ? last_inside + 1 : a.OW, hi = hi_raw > lo ? hi_raw : lo;
  for (int64_t oh = 0; oh < a.OH; ++oh) {
    const float* rows[K];
    for (int kh = 0; kh < K; ++kh) {
      const int64_t ih = oh * S + kh - a.ph;  // row of a.x (the band's first input row is row 0)
      rows[kh] = ih >= 0 && ih < a.H ? a.x + ih * a.W * L : zero_row;
    }
    float* out = a.out + oh * a.OW * L;
    for (int64_t ow = 0; ow < lo; ++ow) edge_output<Bytes, K, S>(a, rows, ow, out + ow * L);
    int64_t ow = lo;
    const float* at[K];
    for (; ow + NO <= hi; ow += NO) {
      for (int kh = 0; kh < K; ++kh) at[kh] = rows[kh] + (ow * S - a.pw) * L;
      window_outputs<Bytes, K, S, NO>(a, at, out + ow * L);
    }
    if (ow < hi) {
      for (int kh = 0; kh < K; ++kh) at[kh] = rows[kh] + (ow * S - a.pw) * L;
      window_outputs_tail<Bytes, K, S, NO - 1>(a, at, out + ow * L, hi - ow);
    }
    for (ow = hi; ow < a.OW; ++ow) edge_output<Bytes, K, S>(a, rows, ow, out + ow * L);
  }
}

template <int Bytes>
void depthwise_block(const DepthwiseBlockArgs& a) {
  const int64_t Hp = (a.OH - 1) * a.sh + (a.KH - 1) * a.dh + 1;
  const int64_t Wp = (a.OW - 1) * a.sw + (a.KW - 1) * a.dw + 1;
  const bool square = a.KH == a.KW && a.sh == a.sw && a.dh == 1 && a.dw == 1;
  // In place only on rows of at least kInPlaceMinWidth inputs: on narrower ones most outputs are
  // edge outputs or singles past the last group of seven, and the padded copy (cheap there) ran
  // faster (MobileNetV2 / EfficientNet-B0, 1 thread: 0.72-0.89x the copy's time from 28 columns
  // up, 1.06-1.9x on 14 and 7).
  if (square && a.interleaved && a.W >= kInPlaceMinWidth && (a.KH == 3 || a.KH == 5) && (a.sh == 1 || a.sh == 2)) {
    if (a.KH == 3) return a.sh == 1 ? block_conv_in_place<Bytes, 3, 1>(a) : block_conv_in_place<Bytes, 3, 2>(a);
    return a.sh == 1 ? block_conv_in_place<Bytes, 5, 1>(a) : block_conv_in_place<Bytes, 5, 2>(a);
  }
  pack_block<Bytes>(a, Hp, Wp);
  if (square && a.KH == 3 && a.sh == 1) return block_conv<Bytes, 3, 1>(a, Wp);
  if (square && a.KH == 3 && a.sh == 2) return block_conv<Bytes, 3, 2>(a, Wp);
  if (square && a.KH == 5 && a.sh == 1) return block_conv<Bytes, 5, 1>(a, Wp);
  if (square && a.KH == 5 && a.sh == 2) return block_conv<Bytes, 5, 2>(a, Wp);
  block_conv<Bytes, 0, 0>(a, Wp);
}

// The inverse of pack_block's interleaving for an unpadded [positions][L] block, L positions at
// a time through a transpose (the last group shifted back like pack_block's).
template <int Bytes>
void unblock(const float* src, int64_t positions, int64_t ld, float* y) {
  using V = typename VecOf<float, Bytes>::type;
  constexpr int L = Bytes / 4;
  if (positions < L) {
    for (int64_t p = 0; p < positions; ++p)
      for (int l = 0; l < L; ++l) y[l * ld + p] = src[p * L + l];
    return;
  }
  for (int64_t p = 0; p < positions; p += L) {
    if (p + L > positions) p = positions - L;
    V v[L];
#pragma GCC unroll 16
    for (int j = 0; j < L; ++j) std::memcpy(&v[j], src + (p + j) * L, Bytes);
    transpose_rounds<Bytes, L / 2>(v);
#pragma GCC unroll 16
    for (int l = 0; l < L; ++l) std::memcpy(y + l * ld + p, &v[l], Bytes);
  }
}

}  // namespace tessera::kernels::detail::TS_ISA
