// Internal to microkernels/: the transforms of the Winograd convolutions F(2x2, 3x3) and
// F(4x4, 3x3) (conv_winograd.h) in the channel-blocked layout, written with GCC vector
// extensions, one vector of L channels at a time, and included by each ISA translation unit after
// gemm_ukernel_impl.h (same TS_ISA namespace rules).
//
// Weights g (3 x 3) become U = G g G^T (A x A, A = T + 2), an input tile d (A x A pixels)
// V = B^T d B, a product tile m (A x A) the outputs Y = A^T m A (T x T); each is a 1-D transform
// along the columns, then along the rows (G below, at winograd_weight_1d):
//   F(2x2, 3x3): B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]    A^T = [1 1 1 0; 0 1 -1 -1]
//   F(4x4, 3x3): B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0;
//                       0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//                A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
#ifndef TS_ISA
#error "define TS_ISA (the namespace of this ISA) before including winograd_impl.h"
#endif

#include <cstring>

#include "providers/cpu/microkernels/isa_kernels.h"

namespace tessera::kernels::detail::TS_ISA {

// out[i * step] = (B^T in)[i] for the A values in[k * step].
template <int T, class V>
inline __attribute__((always_inline)) void winograd_input_1d(const V* in, int step, V* out) {
  const V d0 = in[0], d1 = in[step], d2 = in[2 * step], d3 = in[3 * step];
  if constexpr (T == 2) {
    out[0] = d0 - d2;
    out[step] = d1 + d2;
    out[2 * step] = d2 - d1;
    out[3 * step] = d1 - d3;
  } else {
    const V d4 = in[4 * step], d5 = in[5 * step];
    const V four = V{} + 4.0f, five = V{} + 5.0f, two = V{} + 2.0f;
    const V a = d4 - four * d2, b = d3 - four * d1;  // rows 1 and 2: a +- b
    const V c = d4 - d2, e = two * (d3 - d1);         // rows 3 and 4: c +- e
    out[0] = four * d0 - five * d2 + d4;
    out[step] = a + b;
    out[2 * step] = a - b;
    out[3 * step] = c + e;
    out[4 * step] = c - e;
    out[5 * step] = four * d1 - five * d3 + d5;
  }
}

// out[i] = (A^T in)[i] for i < T, the A values in[k * step].
template <int T, class V>
inline __attribute__((always_inline)) void winograd_output_1d(const V* in, int step, V* out) {
  const V m0 = in[0], m1 = in[step], m2 = in[2 * step], m3 = in[3 * step];
  if constexpr (T == 2) {
    out[0] = m0 + m1 + m2;
    out[1] = m1 - m2 - m3;
  } else {
    const V m4 = in[4 * step], m5 = in[5 * step];
    const V sum12 = m1 + m2, dif12 = m1 - m2, sum34 = m3 + m4, dif34 = m3 - m4;
    const V two = V{} + 2.0f, four = V{} + 4.0f, eight = V{} + 8.0f;
    out[0] = m0 + sum12 + sum34;
    out[1] = dif12 + two * dif34;
    out[2] = sum12 + four * sum34;
    out[3] = dif12 + eight * dif34 + m5;
  }
}

// out[i] = (G g)[i] for the 3 values g0, g1, g2 (A outputs):
//   F(2x2, 3x3): G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
//   F(4x4, 3x3): G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
template <int T, class V>
inline __attribute__((always_inline)) void winograd_weight_1d(V g0, V g1, V g2, V* out) {
  const V even = g0 + g2;
  if constexpr (T == 2) {
    const V half = V{} + 0.5f;
    out[0] = g0;
    out[1] = half * (even + g1);
    out[2] = half * (even - g1);
    out[3] = g2;
  } else {
    const V sixth = V{} + (1.0f / 6), quarter = V{} + 0.25f;
    const V a = quarter * g0 + g2, b = 0.5f * g1;  // rows 3 and 4: (a +- b) / 6
    out[0] = quarter * g0;
    out[1] = -sixth * (even + g1);
    out[2] = -sixth * (even - g1);
    out[3] = sixth * (a + b);
    out[4] = sixth * (a - b);
    out[5] = g2;
  }
}

// One [L][L] block of weights: g holds [input lane][tap][output lane]; position k's transformed
// block goes to packed + k * position_floats as [input lane][output lane].
template <int Bytes, int T>
void winograd_weight_block(const float* g, float* packed, int64_t position_floats) {
  using V = typename VecOf<float, Bytes>::type;
  constexpr int L = Bytes / 4, A = T + 2;
  for (int li = 0; li < L; ++li) {
    V gv[9];
#pragma GCC unroll 9
    for (int t = 0; t < 9; ++t) std::memcpy(&gv[t], g + (li * 9 + t) * L, Bytes);
    V gg[3][A];  // gg[k][r] = (G g)[r][k]: G applied down each column k of the 3 x 3 kernel
#pragma GCC unroll 3
    for (int k = 0; k < 3; ++k) winograd_weight_1d<T>(gv[k], gv[3 + k], gv[6 + k], gg[k]);
#pragma GCC unroll 6
    for (int r = 0; r < A; ++r) {
      V u[A];  // ((G g) G^T)[r][q]
      winograd_weight_1d<T>(gg[0][r], gg[1][r], gg[2][r], u);
#pragma GCC unroll 6
      for (int q = 0; q < A; ++q) std::memcpy(packed + (r * A + q) * position_floats + li * L, &u[q], Bytes);
    }
  }
}

template <int Bytes, int T>
void winograd_input_tiles(const WinogradInputArgs& a) {
  using V = typename VecOf<float, Bytes>::type;
  constexpr int L = Bytes / 4, A = T + 2;
  const bool rows_inside = a.row0 >= 0 && a.row0 + A <= a.H;
  for (int64_t j = 0; j < a.tiles; ++j) {
    const int64_t col = a.col0 + T * j;
    V d[A][A];
    if (rows_inside && col >= 0 && col + A <= a.W) {
      const float* base = a.x + (a.row0 * a.W + col) * L;
#pragma GCC unroll 6
      for (int r = 0; r < A; ++r)
#pragma GCC unroll 6
        for (int c = 0; c < A; ++c) std::memcpy(&d[r][c], base + (r * a.W + c) * L, Bytes);
    } else {  // a tile over the padding
      for (int r = 0; r < A; ++r)
        for (int c = 0; c < A; ++c) {
          const int64_t ih = a.row0 + r, iw = col + c;
          d[r][c] = V{};
          if (ih >= 0 && ih < a.H && iw >= 0 && iw < a.W) std::memcpy(&d[r][c], a.x + (ih * a.W + iw) * L, Bytes);
        }
    }
    V t[A][A], v[A][A];
#pragma GCC unroll 6
    for (int c = 0; c < A; ++c) winograd_input_1d<T>(&d[0][c], A, &t[0][c]);
#pragma GCC unroll 6
    for (int r = 0; r < A; ++r) winograd_input_1d<T>(&t[r][0], 1, &v[r][0]);
    float* out = a.v + j * L;
#pragma GCC unroll 6
    for (int r = 0; r < A; ++r)
#pragma GCC unroll 6
      for (int c = 0; c < A; ++c) std::memcpy(out + (r * A + c) * a.position_floats, &v[r][c], Bytes);
  }
}

template <int Bytes, int T>
void winograd_output_tiles(const WinogradOutputArgs& a) {
  using V = typename VecOf<float, Bytes>::type;
  constexpr int L = Bytes / 4, A = T + 2;
  V bias{};
  if (a.bias) std::memcpy(&bias, a.bias, Bytes);
  const V lo = V{} + a.lo, hi = V{} + a.hi;
  for (int64_t j = 0; j < a.tiles; ++j) {
    const float* in = a.m + j * L;
    V m[A][A];
#pragma GCC unroll 6
    for (int r = 0; r < A; ++r)
#pragma GCC unroll 6
      for (int c = 0; c < A; ++c) std::memcpy(&m[r][c], in + (r * A + c) * a.position_floats, Bytes);
    V s[T][A];  // s[i][c] = (A^T m)[i][c]
#pragma GCC unroll 6
    for (int c = 0; c < A; ++c) {
      V col[T];
      winograd_output_1d<T>(&m[0][c], A, col);
#pragma GCC unroll 4
      for (int i = 0; i < T; ++i) s[i][c] = col[i];
    }
    const int64_t cols = a.cols - T * j < T ? a.cols - T * j : T;
    for (int r = 0; r < a.rows; ++r) {
      V out[T];
      winograd_output_1d<T>(&s[r][0], 1, out);
      for (int64_t c = 0; c < cols; ++c) {
        const int64_t at = r * a.row_floats + (T * j + c) * L;
        V v = out[c] + bias;
        if (a.z) {
          V zv;
          std::memcpy(&zv, a.z + at, Bytes);
          v += zv;
        }
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
        std::memcpy(a.y + at, &v, Bytes);
      }
    }
  }
}

template <int Bytes>
WinogradKernels winograd_kernels() {
  return {{&winograd_weight_block<Bytes, 2>, &winograd_weight_block<Bytes, 4>},
          {&winograd_input_tiles<Bytes, 2>, &winograd_input_tiles<Bytes, 4>},
          {&winograd_output_tiles<Bytes, 2>, &winograd_output_tiles<Bytes, 4>}};
}

}  // namespace tessera::kernels::detail::TS_ISA
