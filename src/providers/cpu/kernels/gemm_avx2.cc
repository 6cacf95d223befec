// GEMM micro-kernels for AVX2 + FMA (compiled with -mavx2 -mfma; called only on CPUs that have
// both, see gemm.cc).
#define TS_GEMM_ISA avx2
#include "providers/cpu/kernels/gemm_ukernel_impl.h"

namespace tessera::kernels::detail {

IsaKernels isa_kernels_avx2() {
  return {"avx2", avx2::kernel_set<float, 32, 6, 2>(256, 480, 512),
          avx2::kernel_set<double, 32, 6, 2>(256, 480, 256)};
}

}  // namespace tessera::kernels::detail
