// GEMM micro-kernels for AVX-512F (compiled with -mavx512f -mfma; called only on CPUs that have
// it, see gemm.cc). 32 vector registers allow a 12 x 32 float tile.
#define TS_GEMM_ISA avx512
#include "providers/cpu/kernels/gemm_ukernel_impl.h"

namespace tessera::kernels::detail {

IsaKernels isa_kernels_avx512() {
  return {"avx512", avx512::kernel_set<float, 64, 12, 2>(256, 96, 1024),
          avx512::kernel_set<double, 64, 12, 2>(256, 96, 512)};
}

}  // namespace tessera::kernels::detail
