// GEMM micro-kernels and the depthwise row kernel for AVX2 + FMA (compiled with -mavx2 -mfma;
// called only on CPUs that have both, see isa_select.cc). float k blocks of up to 1024, as on
// AVX-512.
#define TS_ISA avx2
#include "providers/cpu/microkernels/gemm_ukernel_impl.h"
#include "providers/cpu/microkernels/depthwise_impl.h"
#include "providers/cpu/microkernels/conv_blocked_impl.h"
#include "providers/cpu/microkernels/winograd_impl.h"

namespace tessera::kernels::detail {

IsaKernels isa_kernels_avx2() {
  return {"avx2", avx2::kernel_set<float, 32, 6, 2>(1024, 480, 512),
          avx2::kernel_set<double, 32, 6, 2>(256, 480, 256),
          &avx2::depthwise_row<32>, &avx2::depthwise_direct_row<32>,
          &avx2::depthwise_block<32>, &avx2::unblock<32>, 8, avx2::conv_blocked_kernels<32, 16>(),
          avx2::winograd_kernels<32>()};
}

}  // namespace tessera::kernels::detail
