// Internal to microkernels/: the GEMM micro-kernel, written once with GCC vector extensions and
// included by each ISA translation unit, which instantiates it with its vector width and tile
// shape. The compiler turns `acc += a * b` into FMAs of that ISA and keeps the MR x NV tile of
// accumulators in registers.
//
// Everything here lives in a namespace named by the including file (TS_ISA) and calls no
// inline library templates: a function compiled with AVX-512 flags must never be merged by the
// linker with a same-named copy that the portable path calls.
#ifndef TS_ISA
#error "define TS_ISA (the namespace of this ISA) before including gemm_ukernel_impl.h"
#endif

#include <cstring>
#include <utility>

#include "providers/cpu/microkernels/isa_kernels.h"

namespace tessera::kernels::detail::TS_ISA {

template <class T>
inline T clamp_value(T v, T lo, T hi) {
  v = v < lo ? lo : v;
  return v > hi ? hi : v;
}

template <class T, int Bytes>
struct VecOf {
  typedef T type __attribute__((vector_size(Bytes)));
};

// C[i][j] = alpha * sum + beta * C[i][j] + residual, then, after the last k block, the biases and
// the clamp: a tile's store one element at a time (partial tiles, narrow columns).
template <class T>
inline void store_element(T sum, T* c, int64_t ldc, int i, int64_t j, const UkernelArgs<T>& p) {
  T& out = c[i * ldc + j];
  T r = p.alpha * sum;
  if (p.beta != T(0)) r += p.beta * out;
  if (p.residual) r += p.residual[i * p.ld_residual + j];
  if (p.last) {
    if (p.bias_m) r += p.bias_m[i];
    if (p.bias_n) r += p.bias_n[j];
    r = clamp_value(r, p.clip_min, p.clip_max);
  }
  out = r;
}

// MR x (NV vectors) register tile; `Rows` <= MR rows are computed, the A panel's values for one
// k are Rows consecutive values, the next k's p.a_step (MR when 0: a packed panel) further on
// (DirectA: A is row-major, rows p.lda apart, read in place).
template <class T, int Bytes, int MR, int NV, int Rows, bool DirectA = false>
void ukernel(int64_t kc, const T* __restrict a, const T* __restrict b, int64_t ldb, T* __restrict c, int64_t ldc,
             int64_t nr, const UkernelArgs<T>& p) {
  using V = typename VecOf<T, Bytes>::type;
  constexpr int L = Bytes / static_cast<int>(sizeof(T));
  constexpr int NR = NV * L;
  const int64_t lda = p.lda;
  const int64_t a_step = DirectA ? 1 : (p.a_step != 0 ? p.a_step : MR);
  V acc[Rows][NV];
#pragma GCC unroll 16
  for (int i = 0; i < Rows; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = V{};

  // The C tile (and the residual the first k block adds) is requested now, so that its lines
  // arrive during the FMAs: a C too large for L2 (BERT's 128 x 3072 FFN1) otherwise waits for
  // them after the k loop, once per tile and k block.
#pragma GCC unroll 16
  for (int i = 0; i < Rows; ++i)
#pragma GCC unroll 4
    for (int byte = 0; byte < NR * static_cast<int>(sizeof(T)); byte += 64) {
      __builtin_prefetch(reinterpret_cast<const char*>(c + i * ldc) + byte, 1, 3);
      if (p.residual) __builtin_prefetch(reinterpret_cast<const char*>(p.residual + i * p.ld_residual) + byte, 0, 3);
    }
  for (int64_t k = 0; k < kc; ++k) {
    V bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) std::memcpy(&bv[v], b + v * L, Bytes);
#pragma GCC unroll 16
    for (int i = 0; i < Rows; ++i) {
      const T av = DirectA ? a[i * lda] : a[i];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] += av * bv[v];
    }
    a += a_step;
    b += ldb;
  }

  const T alpha = p.alpha, beta = p.beta;
  if (nr == NR) {
    const bool clip = p.last && (p.clip_min > -__builtin_huge_val() || p.clip_max < __builtin_huge_val());
#pragma GCC unroll 16
    for (int i = 0; i < Rows; ++i) {
      T* crow = c + i * ldc;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        V r = alpha * acc[i][v];
        if (beta != T(0)) {
          V old;
          std::memcpy(&old, crow + v * L, Bytes);
          r += beta * old;
        }
        if (p.residual) {
          V res;
          std::memcpy(&res, p.residual + i * p.ld_residual + v * L, Bytes);
          r += res;
        }
        if (p.last) {
          if (p.bias_m) r += p.bias_m[i];
          if (p.bias_n) {
            V bn;
            std::memcpy(&bn, p.bias_n + v * L, Bytes);
            r += bn;
          }
          if (clip) {
            V lo = V{} + p.clip_min, hi = V{} + p.clip_max;
            r = r < lo ? lo : r;
            r = r > hi ? hi : r;
          }
        }
        std::memcpy(crow + v * L, &r, Bytes);
      }
    }
    return;
  }
  // Partial tile at the right edge of C: spill the accumulators and finish in scalar code.
  alignas(64) T tile[Rows][NR];
  for (int i = 0; i < Rows; ++i)
    for (int v = 0; v < NV; ++v) std::memcpy(&tile[i][v * L], &acc[i][v], Bytes);
  for (int i = 0; i < Rows; ++i)
    for (int64_t j = 0; j < nr; ++j) store_element(tile[i][j], c, ldc, i, j, p);
}

// The last 1..kMaxNarrowCols columns of a tile (N = 49 is a half panel plus one column): the
// MR rows of the A panel are one vector, each column of B one broadcast, so a column costs
// 1/NV of a vector tile's column instead of a padded half panel. Same contract as ukernel.
template <class T, int MR, int Rows>
void ukernel_narrow(int64_t kc, const T* __restrict a, const T* __restrict b, int64_t ldb, T* __restrict c,
                    int64_t ldc, int64_t nr, const UkernelArgs<T>& p) {
  constexpr int Bytes = MR * static_cast<int>(sizeof(T));
  T acc[kMaxNarrowCols][MR] = {};
  if constexpr (Bytes == 32 || Bytes == 64) {
    using V = typename VecOf<T, Bytes>::type;
    V sum[kMaxNarrowCols] = {};
    for (int64_t k = 0; k < kc; ++k, a += MR, b += ldb) {
      V av;
      std::memcpy(&av, a, Bytes);
      for (int j = 0; j < kMaxNarrowCols; ++j)
        if (j < nr) sum[j] += av * b[j];
    }
    for (int j = 0; j < kMaxNarrowCols; ++j) std::memcpy(acc[j], &sum[j], Bytes);
  } else {
    for (int64_t k = 0; k < kc; ++k, a += MR, b += ldb)
      for (int64_t j = 0; j < nr; ++j)
        for (int i = 0; i < MR; ++i) acc[j][i] += a[i] * b[j];
  }
  for (int i = 0; i < Rows; ++i)
    for (int64_t j = 0; j < nr; ++j) store_element(acc[j][i], c, ldc, i, j, p);
}

template <class T>
void axpy_impl(int64_t n, T s, const T* __restrict x, T* __restrict y) {
  for (int64_t i = 0; i < n; ++i) y[i] += s * x[i];
}

// One packed A panel times a column. The MR values of each k are one vector where MR floats fill
// one (8 x 4 bytes, 8 x 8 bytes); four accumulators keep the FMAs independent.
template <class T, int MR>
void gemv_panel_impl(int64_t kc, const T* __restrict a, const T* __restrict x, T* __restrict acc) {
  constexpr int Bytes = MR * static_cast<int>(sizeof(T));
  if constexpr (Bytes == 32 || Bytes == 64) {
    using V = typename VecOf<T, Bytes>::type;
    V s[4] = {};
    int64_t k = 0;
    for (; k + 4 <= kc; k += 4, a += 4 * MR)
#pragma GCC unroll 4
      for (int u = 0; u < 4; ++u) {
        V av;
        std::memcpy(&av, a + u * MR, Bytes);
        s[u] += av * x[k + u];
      }
    for (; k < kc; ++k, a += MR) {
      V av;
      std::memcpy(&av, a, Bytes);
      s[0] += av * x[k];
    }
    const V sum = (s[0] + s[1]) + (s[2] + s[3]);
    for (int i = 0; i < MR; ++i) acc[i] += sum[i];
  } else {
    for (int64_t k = 0; k < kc; ++k, a += MR)
      for (int i = 0; i < MR; ++i) acc[i] += a[i] * x[k];
  }
}

// Dot product with several independent vector accumulators (the compiler may not reassociate a
// scalar sum by itself).
template <class T, int Bytes>
T dot_impl(int64_t n, const T* __restrict x, const T* __restrict y) {
  using V = typename VecOf<T, Bytes>::type;
  constexpr int L = Bytes / static_cast<int>(sizeof(T));
  V acc0{}, acc1{}, acc2{}, acc3{};
  int64_t i = 0;
  for (; i + 4 * L <= n; i += 4 * L) {
    V x0, x1, x2, x3, y0, y1, y2, y3;
    std::memcpy(&x0, x + i, Bytes);
    std::memcpy(&x1, x + i + L, Bytes);
    std::memcpy(&x2, x + i + 2 * L, Bytes);
    std::memcpy(&x3, x + i + 3 * L, Bytes);
    std::memcpy(&y0, y + i, Bytes);
    std::memcpy(&y1, y + i + L, Bytes);
    std::memcpy(&y2, y + i + 2 * L, Bytes);
    std::memcpy(&y3, y + i + 3 * L, Bytes);
    acc0 += x0 * y0;
    acc1 += x1 * y1;
    acc2 += x2 * y2;
    acc3 += x3 * y3;
  }
  for (; i + L <= n; i += L) {
    V x0, y0;
    std::memcpy(&x0, x + i, Bytes);
    std::memcpy(&y0, y + i, Bytes);
    acc0 += x0 * y0;
  }
  V acc = (acc0 + acc1) + (acc2 + acc3);
  T sum = 0;
  for (int l = 0; l < L; ++l) sum += acc[l];
  for (; i < n; ++i) sum += x[i] * y[i];
  return sum;
}

// Lane l of the result takes a[l] or a[l + S] where bit S of l is clear, else b[l - S] or b[l]:
// one step of an in-register transpose, swapping the S x S blocks across the diagonal of each
// 2S x 2S block of rows a (top) and b (bottom).
template <class V, int S, int... I>
inline V butterfly_low(V a, V b, std::integer_sequence<int, I...>) {
  return __builtin_shufflevector(a, b, ((I & S) == 0 ? I : I - S + static_cast<int>(sizeof...(I)))...);
}
template <class V, int S, int... I>
inline V butterfly_high(V a, V b, std::integer_sequence<int, I...>) {
  return __builtin_shufflevector(a, b, ((I & S) == 0 ? I + S : I + static_cast<int>(sizeof...(I)))...);
}

// Swapping the blocks at every scale S = 1, 2, ..., L/2 swaps the row and column bits of each
// position: the transpose (L log2 L shuffles for L x L values).
template <class V, int L, int S>
inline void transpose_steps(V* v) {
  if constexpr (S < L) {
    using Lanes = std::make_integer_sequence<int, L>;
#pragma GCC unroll 16
    for (int i = 0; i < L; ++i) {
      if (i & S) continue;
      const V a = v[i], b = v[i + S];
      v[i] = butterfly_low<V, S>(a, b, Lanes{});
      v[i + S] = butterfly_high<V, S>(a, b, Lanes{});
    }
    transpose_steps<V, L, 2 * S>(v);
  }
}

template <class T, int Bytes>
void transpose_tile_impl(const T* __restrict src, int64_t lds, int64_t rows, T* __restrict dst, int64_t ldd) {
  using V = typename VecOf<T, Bytes>::type;
  constexpr int L = Bytes / static_cast<int>(sizeof(T));
  V v[L];
#pragma GCC unroll 16
  for (int i = 0; i < L; ++i) {
    v[i] = V{};
    if (i < rows) std::memcpy(&v[i], src + i * lds, Bytes);
  }
  transpose_steps<V, L, 1>(v);
#pragma GCC unroll 16
  for (int i = 0; i < L; ++i) std::memcpy(dst + i * ldd, &v[i], Bytes);
}

template <class T, int Bytes, int MR, int NV, size_t... Rows>
KernelSet<T> make_kernel_set(int64_t kc, int64_t mc, int64_t nc, std::index_sequence<Rows...>) {
  KernelSet<T> set;
  set.mr = MR;
  set.nr = NV * Bytes / static_cast<int>(sizeof(T));
  set.kc = kc;
  set.mc = mc / MR * MR;
  set.nc = nc / set.nr * set.nr;
  ((set.ukernel[Rows] = &ukernel<T, Bytes, MR, NV, static_cast<int>(Rows) + 1>), ...);
  ((set.ukernel_direct_a[Rows] = &ukernel<T, Bytes, MR, NV, static_cast<int>(Rows) + 1, true>), ...);
  if constexpr (NV % 2 == 0) {
    ((set.ukernel_half[Rows] = &ukernel<T, Bytes, MR, NV / 2, static_cast<int>(Rows) + 1>), ...);
    ((set.ukernel_half_direct_a[Rows] = &ukernel<T, Bytes, MR, NV / 2, static_cast<int>(Rows) + 1, true>), ...);
  }
  ((set.ukernel_narrow[Rows] = &ukernel_narrow<T, MR, static_cast<int>(Rows) + 1>), ...);
  set.axpy = &axpy_impl<T>;
  set.gemv_panel = &gemv_panel_impl<T, MR>;
  set.dot = &dot_impl<T, Bytes>;
  set.lanes = Bytes / static_cast<int>(sizeof(T));
  set.transpose_tile = &transpose_tile_impl<T, Bytes>;
  return set;
}

// MR x (NV vectors of `Bytes`), packed blocks of kc x mc (A) and kc x nc (B).
template <class T, int Bytes, int MR, int NV>
KernelSet<T> kernel_set(int64_t kc, int64_t mc, int64_t nc) {
  static_assert(MR <= kMaxMR);
  return make_kernel_set<T, Bytes, MR, NV>(kc, mc, nc, std::make_index_sequence<MR>());
}

}  // namespace tessera::kernels::detail::TS_ISA
