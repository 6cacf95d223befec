// Internal to microkernels/: the transforms of the Winograd F(2x2, 3x3) convolution
// (conv_winograd.h) in the channel-blocked layout, written with GCC vector extensions, one
// vector of L channels at a time, and included by each ISA translation unit after
// gemm_ukernel_impl.h (same TS_ISA namespace rules).
//
// Input tile d (4 x 4 pixels) -> V = B^T d B, output tile m (4 x 4) -> Y = A^T m A (2 x 2), with
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   A^T = [1 1 1 0; 0 1 -1 -1]
// Every coefficient is 0 or +-1, so the transforms round no more than the direct sum does.
#ifndef TS_ISA
#error "define TS_ISA (the namespace of this ISA) before including winograd_impl.h"
#endif

#include <cstring>

#include "providers/cpu/microkernels/isa_kernels.h"

namespace tessera::kernels::detail::TS_ISA {

template <int Bytes>
void winograd_input_tiles(const WinogradInputArgs& a) {
  using V = typename VecOf<float, Bytes>::type;
  constexpr int L = Bytes / 4;
  const bool rows_inside = a.row0 >= 0 && a.row0 + 4 <= a.H;
  for (int64_t j = 0; j < a.tiles; ++j) {
    const int64_t col = a.col0 + 2 * j;
    V d[4][4];
    if (rows_inside && col >= 0 && col + 4 <= a.W) {
      const float* base = a.x + (a.row0 * a.W + col) * L;
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r)
#pragma GCC unroll 4
        for (int c = 0; c < 4; ++c) std::memcpy(&d[r][c], base + (r * a.W + c) * L, Bytes);
    } else {  // a tile over the padding
      for (int r = 0; r < 4; ++r)
        for (int c = 0; c < 4; ++c) {
          const int64_t ih = a.row0 + r, iw = col + c;
          d[r][c] = V{};
          if (ih >= 0 && ih < a.H && iw >= 0 && iw < a.W) std::memcpy(&d[r][c], a.x + (ih * a.W + iw) * L, Bytes);
        }
    }
    V t[4][4];
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      t[0][c] = d[0][c] - d[2][c];
      t[1][c] = d[1][c] + d[2][c];
      t[2][c] = d[2][c] - d[1][c];
      t[3][c] = d[1][c] - d[3][c];
    }
    float* out = a.v + j * L;
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) {
      const V v0 = t[r][0] - t[r][2], v1 = t[r][1] + t[r][2], v2 = t[r][2] - t[r][1], v3 = t[r][1] - t[r][3];
      std::memcpy(out + (r * 4 + 0) * a.position_floats, &v0, Bytes);
      std::memcpy(out + (r * 4 + 1) * a.position_floats, &v1, Bytes);
      std::memcpy(out + (r * 4 + 2) * a.position_floats, &v2, Bytes);
      std::memcpy(out + (r * 4 + 3) * a.position_floats, &v3, Bytes);
    }
  }
}

template <int Bytes>
void winograd_output_tiles(const WinogradOutputArgs& a) {
  using V = typename VecOf<float, Bytes>::type;
  constexpr int L = Bytes / 4;
  V bias{};
  if (a.bias) std::memcpy(&bias, a.bias, Bytes);
  const V lo = V{} + a.lo, hi = V{} + a.hi;
  for (int64_t j = 0; j < a.tiles; ++j) {
    const float* in = a.m + j * L;
    V m[4][4];
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r)
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) std::memcpy(&m[r][c], in + (r * 4 + c) * a.position_floats, Bytes);
    V s[2][4];
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      s[0][c] = m[0][c] + m[1][c] + m[2][c];
      s[1][c] = m[1][c] - m[2][c] - m[3][c];
    }
    const int64_t cols = a.cols - 2 * j < 2 ? a.cols - 2 * j : 2;
    for (int r = 0; r < a.rows; ++r) {
      V out[2] = {s[r][0] + s[r][1] + s[r][2] + bias, s[r][1] - s[r][2] - s[r][3] + bias};
      for (int64_t c = 0; c < cols; ++c) {
        const int64_t at = r * a.row_floats + (2 * j + c) * L;
        V v = out[c];
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
  return {&winograd_input_tiles<Bytes>, &winograd_output_tiles<Bytes>};
}

}  // namespace tessera::kernels::detail::TS_ISA
