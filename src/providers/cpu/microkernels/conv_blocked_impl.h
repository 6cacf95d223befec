// Internal to microkernels/: the direct convolution in the channel-blocked layout, written with
// GCC vector extensions and included by each ISA translation unit after gemm_ukernel_impl.h
// (same TS_ISA namespace rules: no inline library templates).
//
// A tile is R output pixels of one row times NB output-channel blocks, R * NB vectors of
// accumulators held in registers. For each input channel block, tap and input lane it loads the
// NB weight vectors once and, per pixel, broadcasts one input value and multiplies it into the NB
// accumulators: R * NB FMAs per R + NB loads.
#ifndef TS_ISA
#error "define TS_ISA (the namespace of this ISA) before including conv_blocked_impl.h"
#endif

#include <cstring>

#include "providers/cpu/microkernels/isa_kernels.h"

namespace tessera::kernels::detail::TS_ISA {

// R pixels x NB blocks; x, y and z (or null) at the tile's first pixel. S: the stride along W.
// The pixels are R / RW output rows of RW (whole rows when R > RW: the outputs run on), whose
// inputs are x_prow floats apart. Planar: the input is NCHW (pixels 1 float apart, lanes x_lane).
template <int Bytes, int S, int NB, int R, int RW, bool Planar>
void conv_blocked_tile(const ConvBlockedRowArgs& a, const float* x, float* y, const float* z) {
  using V = typename VecOf<float, Bytes>::type;
  constexpr int L = Bytes / 4;
  constexpr int P = Planar ? 1 : L;  // floats between two adjacent input pixels
  // The residual lines the last chunk's epilogue adds, requested now so that they arrive during
  // the FMAs: a short-K tile (ResNet-50's 64 -> 256 expansions, K = 64) otherwise waits for their
  // misses at its end. (The stores of y need no such help: the store buffer absorbs them.)
  if (a.last && z) {
#pragma GCC unroll 4
    for (int nb = 0; nb < NB; ++nb)
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) __builtin_prefetch(z + nb * a.y_block + r * L, 0, 3);
  }
  V acc[R][NB];
#pragma GCC unroll 4
  for (int nb = 0; nb < NB; ++nb) {
    V b{};
    if (a.first && a.bias) std::memcpy(&b, a.bias + nb * L, Bytes);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      if (a.first) acc[r][nb] = b;
      else std::memcpy(&acc[r][nb], y + nb * a.y_block + r * L, Bytes);
    }
  }
  // Input lane l of the tap at xp times its weights wp: NB weight vectors, one broadcast per pixel.
  auto lane = [&](const float* xp, const float* wp, int l) __attribute__((always_inline)) {
    V wv[NB];
#pragma GCC unroll 4
    for (int nb = 0; nb < NB; ++nb) std::memcpy(&wv[nb], wp + nb * a.w_block + l * L, Bytes);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const float s = xp[(r / RW) * a.x_prow + (r % RW) * S * P + (Planar ? l * a.x_lane : l)];
#pragma GCC unroll 4
      for (int nb = 0; nb < NB; ++nb) acc[r][nb] += s * wv[nb];
    }
  };
  const int64_t taps = a.kh * a.kw;
  for (int64_t cb = 0; cb < a.cb; ++cb) {
    const float* wc = a.w + cb * taps * L * L;
    const bool whole = a.lanes == L || cb + 1 < a.cb;  // a part last block runs only its channels
    for (int64_t kh = 0; kh < a.kh; ++kh) {
      const float* xr = x + cb * a.x_block + kh * a.x_row;
      for (int64_t kw = 0; kw < a.kw; ++kw) {
        const float* xp = xr + kw * a.x_tap;
        const float* wp = wc + (kh * a.kw + kw) * L * L;
        if (whole) {
#pragma GCC unroll 16
          for (int l = 0; l < L; ++l) lane(xp, wp, l);
        } else {
          for (int l = 0; l < a.lanes; ++l) lane(xp, wp, l);
        }
      }
    }
  }
  const V lo = V{} + a.lo, hi = V{} + a.hi;
#pragma GCC unroll 4
  for (int nb = 0; nb < NB; ++nb)
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      V v = acc[r][nb];
      if (a.last) {
        if (z) {
          V zv;
          std::memcpy(&zv, z + nb * a.y_block + r * L, Bytes);
          v += zv;
        }
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
      }
      std::memcpy(y + nb * a.y_block + r * L, &v, Bytes);
    }
}

using ConvBlockedTileFn = void (*)(const ConvBlockedRowArgs&, const float*, float*, const float*);

// Rows == 1: tiles[r - 1] computes r pixels of one row; Rows == 2: r pixels of each of two rows.
template <int Bytes, int S, int NB, bool Planar, int Rows, int... Rs>
struct ConvBlockedTiles {
  static constexpr ConvBlockedTileFn fns[] = {&conv_blocked_tile<Bytes, S, NB, Rows * (Rs + 1), Rs + 1, Planar>...};
};

template <int Bytes, int S, int NB, bool Planar, int Rows, int RMax, int... Rs>
constexpr const ConvBlockedTileFn* conv_blocked_tiles() {
  if constexpr (sizeof...(Rs) == RMax) return ConvBlockedTiles<Bytes, S, NB, Planar, Rows, Rs...>::fns;
  else return conv_blocked_tiles<Bytes, S, NB, Planar, Rows, RMax, Rs..., sizeof...(Rs)>();
}

// `count` pixels in tiles of at most RMax, as even as possible (56 at RMax 6: 6 x 6 + 4 x 5,
// not 9 x 6 + 2): a narrow tile keeps fewer FMA chains in flight.
template <int Bytes, int S, int NB, int RMax, bool Planar = false>
void conv_blocked_row(const ConvBlockedRowArgs& a) {
  constexpr int L = Bytes / 4, P = Planar ? 1 : L;
  const ConvBlockedTileFn* tiles = conv_blocked_tiles<Bytes, S, NB, Planar, 1, RMax>();
  const int64_t n = (a.count + RMax - 1) / RMax;
  if (n == 0) return;
  const int64_t base = a.count / n, extra = a.count % n;
  int64_t p = 0;
  for (int64_t t = 0; t < n; ++t) {
    const int64_t r = base + (t < extra ? 1 : 0);
    tiles[r - 1](a, a.x + p * S * P, a.y + p * L, a.z ? a.z + p * L : nullptr);
    p += r;
  }
}

// Two whole output rows of count <= RMax / 2 pixels in one tile: 7x7 planes fill 14 pixels, not 7.
template <int Bytes, int S, int NB, int RMax>
void conv_blocked_two_rows(const ConvBlockedRowArgs& a) {
  conv_blocked_tiles<Bytes, S, NB, false, 2, RMax / 2>()[a.count - 1](a, a.x, a.y, a.z);
}

// The row kernels of this ISA, NB = 1 and 2 blocks, stride 1 and 2 (and their two-row and planar forms): the widest tile whose
// accumulators, NB weight vectors and a broadcast fit its Regs vector registers, at most 14
// pixels (AVX-512: 14 x 2; AVX2: 6 x 2). Four blocks (6 x 4 on AVX-512) ran ResNet-50's layers
// up to 1.7x slower: the narrower tile streams the weights twice as often.
template <int Bytes, int Regs>
ConvBlockedKernels conv_blocked_kernels() {
  constexpr int R1 = Regs - 2 < 14 ? Regs - 2 : 14;
  constexpr int R2 = (Regs - 3) / 2 < 14 ? (Regs - 3) / 2 : 14;
  ConvBlockedKernels k;
  k.row[0][0] = &conv_blocked_row<Bytes, 1, 1, R1>;
  k.row[0][1] = &conv_blocked_row<Bytes, 1, 2, R2>;
  k.row[1][0] = &conv_blocked_row<Bytes, 2, 1, R1>;
  k.row[1][1] = &conv_blocked_row<Bytes, 2, 2, R2>;
  k.two_rows[0][0] = &conv_blocked_two_rows<Bytes, 1, 1, R1>;
  k.two_rows[0][1] = &conv_blocked_two_rows<Bytes, 1, 2, R2>;
  k.two_rows[1][0] = &conv_blocked_two_rows<Bytes, 2, 1, R1>;
  k.two_rows[1][1] = &conv_blocked_two_rows<Bytes, 2, 2, R2>;
  k.planar_row[0][0] = &conv_blocked_row<Bytes, 1, 1, R1, true>;
  k.planar_row[0][1] = &conv_blocked_row<Bytes, 1, 2, R2, true>;
  k.planar_row[1][0] = &conv_blocked_row<Bytes, 2, 1, R1, true>;
  k.planar_row[1][1] = &conv_blocked_row<Bytes, 2, 2, R2, true>;
  k.two_rows_width = R2 / 2;
  return k;
}

}  // namespace tessera::kernels::detail::TS_ISA
