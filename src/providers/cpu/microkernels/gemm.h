// microkernels/: the CPU EP's micro-kernel layer: the hot loops (GEMM, im2col, depthwise, elementwise
// SIMD, vector math), one variant per ISA, chosen once at start-up through core/cpu_isa.h.
// Op kernels call this layer; it calls nothing above core/.
//
// The one GEMM of the CPU EP: C = alpha * op(A) * op(B) + beta * C on row-major matrices, used
// by Conv, ConvTranspose, Gemm, MatMul and Einsum.
//
// float and double go through a blocked, packed, register-tiled kernel (BLIS-style loops) whose
// micro-kernel is compiled once per ISA (portable, AVX2+FMA, AVX-512) and chosen at start-up;
// other element types use a plain contiguous loop. Either operand may be packed ahead of time
// (constant weights) with pack_a / pack_b, and an epilogue can add a per-row or per-column bias,
// add a residual matrix and clamp the result (fused Relu / Clip) while the tile is still in
// registers.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/thread_pool.h"

namespace tessera::kernels {

// Applied once, after alpha * op(A) * op(B) + beta * C: add residual[i * ld_residual + j] (a
// residual input such as FusedConv's Z, read instead of copying it into C first), bias_m[i] to
// row i and bias_n[j] to column j (any may be null), then clamp to [clip_min, clip_max], then
// `finish` (when set) over each finished block of C (rows x cols at c, row stride ldc): an
// activation the micro-kernels lack (GELU), run while the block is still in cache instead of in
// another pass over C.
template <class T>
struct GemmEpilogue {
  const T* residual = nullptr;
  int64_t ld_residual = 0;
  const T* bias_m = nullptr;
  const T* bias_n = nullptr;
  T clip_min = -std::numeric_limits<T>::infinity();
  T clip_max = std::numeric_limits<T>::infinity();
  void (*finish)(T* c, int64_t ldc, int64_t rows, int64_t cols) = nullptr;
};

// A matrix packed into the micro-kernel's panel layout by pack_a / pack_b. Only valid with the
// ISA that was active when it was packed (fixed for the life of the process).
template <class T>
struct PackedMatrix {
  std::unique_ptr<T[], void (*)(T*)> data{nullptr, nullptr};
  int64_t rows = 0;  // M for a packed A, K for a packed B
  int64_t cols = 0;  // K for a packed A, N for a packed B
  int64_t panel_width = 0;  // MR (A) or NR (B) of the kernel it was packed for
  int64_t kc = 0;           // depth blocking it was packed with
  bool defined() const { return data != nullptr; }
};

// One GEMM operand: plain row-major memory (`ld` is the row stride, `trans` means the operand is
// stored transposed), or a matrix packed ahead of time (then data/ld/trans are ignored).
template <class T>
struct MatrixArg {
  const T* data = nullptr;
  int64_t ld = 0;
  bool trans = false;
  const PackedMatrix<T>* packed = nullptr;
};

// C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, then the epilogue. When beta == 0, C is
// not read (it may hold garbage or NaN). `pool` may be null (single-threaded).
void gemm(int64_t M, int64_t N, int64_t K, float alpha, MatrixArg<float> a, MatrixArg<float> b, float beta,
          float* c, int64_t ldc, const GemmEpilogue<float>& epilogue = {}, ThreadPool* pool = nullptr);
void gemm(int64_t M, int64_t N, int64_t K, double alpha, MatrixArg<double> a, MatrixArg<double> b, double beta,
          double* c, int64_t ldc, const GemmEpilogue<double>& epilogue = {}, ThreadPool* pool = nullptr);

// BLAS-style convenience forms.
inline void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                  int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
                  ThreadPool* pool = nullptr) {
  gemm(M, N, K, alpha, {A, lda, trans_a}, {B, ldb, trans_b}, beta, C, ldc, {}, pool);
}
inline void dgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha, const double* A,
                  int64_t lda, const double* B, int64_t ldb, double beta, double* C, int64_t ldc,
                  ThreadPool* pool = nullptr) {
  gemm(M, N, K, alpha, {A, lda, trans_a}, {B, ldb, trans_b}, beta, C, ldc, {}, pool);
}

// Packs op(A) (M x K) or op(B) (K x N) for repeated use as a GEMM operand.
PackedMatrix<float> pack_a(int64_t M, int64_t K, const float* A, int64_t lda, bool trans_a);
PackedMatrix<float> pack_b(int64_t K, int64_t N, const float* B, int64_t ldb, bool trans_b);
PackedMatrix<double> pack_a(int64_t M, int64_t K, const double* A, int64_t lda, bool trans_a);
PackedMatrix<double> pack_b(int64_t K, int64_t N, const double* B, int64_t ldb, bool trans_b);

// Reference-quality GEMM for any arithmetic type (integers wrap around like unsigned
// arithmetic): contiguous inner loops, no packing, no threads. Also the reference that tests
// diff the fast path against.
template <class T>
void gemm_generic(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
                  const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  // Integers accumulate in uint64_t: wrap-around is defined and truncation gives the same bits.
  using Acc = std::conditional_t<std::is_integral_v<T>, uint64_t, T>;
  std::vector<Acc> row(static_cast<size_t>(N));
  for (int64_t i = 0; i < M; ++i) {
    if (!trans_b) {
      for (auto& v : row) v = Acc(0);
      for (int64_t k = 0; k < K; ++k) {
        const Acc a = static_cast<Acc>(trans_a ? A[k * lda + i] : A[i * lda + k]);
        const T* b = B + k * ldb;
        for (int64_t j = 0; j < N; ++j) row[static_cast<size_t>(j)] += a * static_cast<Acc>(b[j]);
      }
    } else {
      for (int64_t j = 0; j < N; ++j) {
        const T* b = B + j * ldb;
        Acc sum = 0;
        for (int64_t k = 0; k < K; ++k)
          sum += static_cast<Acc>(trans_a ? A[k * lda + i] : A[i * lda + k]) * static_cast<Acc>(b[k]);
        row[static_cast<size_t>(j)] = sum;
      }
    }
    T* c = C + i * ldc;
    for (int64_t j = 0; j < N; ++j) {
      Acc v = static_cast<Acc>(alpha) * row[static_cast<size_t>(j)];
      if (beta != T(0)) v += static_cast<Acc>(beta) * static_cast<Acc>(c[j]);
      c[j] = static_cast<T>(v);
    }
  }
}

// The micro-kernel ISA in use: "avx512", "avx2" or "portable". Chosen once from the CPU; the
// environment variable TESSERA_ISA=avx2|portable forces a lower one.
std::string_view gemm_isa();

}  // namespace tessera::kernels
