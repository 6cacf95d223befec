// Internal to kernels/: the per-ISA part of the GEMM. Each ISA translation unit
// (gemm_portable.cc, gemm_avx2.cc, gemm_avx512.cc) compiles gemm_ukernel.inc with its own flags
// and returns a table of function pointers; gemm.cc picks one table at start-up.
#pragma once

#include <cstdint>

namespace tessera::kernels::detail {

constexpr int kMaxMR = 16;

// What a micro-kernel does after the k loop, for one MR x NR tile of C.
template <class T>
struct UkernelArgs {
  T alpha;
  T beta;          // 0: C is not read
  const T* bias_m;  // already offset to the tile's first row, or null
  const T* bias_n;  // already offset to the tile's first column, or null
  T clip_min, clip_max;
  bool last;       // last k block: apply bias and clamp
};

// C tile (mr rows, where mr is fixed per entry of the table, and nr <= NR columns)
//   = alpha * Apanel[kc x MR] * Bpanel[kc x NR] + beta * C.
// The A panel holds MR values per k (rows beyond mr are padding), the B panel NR values per k.
template <class T>
using UkernelFn = void (*)(int64_t kc, const T* a, const T* b, T* c, int64_t ldc, int64_t nr,
                           const UkernelArgs<T>& args);

template <class T>
struct KernelSet {
  int mr = 0;
  int nr = 0;
  int64_t kc = 0;  // depth of one packed block
  int64_t mc = 0;  // rows of A per packed block (multiple of mr)
  int64_t nc = 0;  // columns of B per packed block (multiple of nr)
  UkernelFn<T> ukernel[kMaxMR] = {};  // entry r-1 computes r rows
  void (*axpy)(int64_t n, T s, const T* x, T* y) = nullptr;  // y += s * x
  T (*dot)(int64_t n, const T* x, const T* y) = nullptr;
};

struct IsaKernels {
  const char* name;
  KernelSet<float> f32;
  KernelSet<double> f64;
};

IsaKernels isa_kernels_portable();
IsaKernels isa_kernels_avx2();
IsaKernels isa_kernels_avx512();

}  // namespace tessera::kernels::detail
