// GEMM micro-kernels and the depthwise row kernel for AVX-512F (compiled with -mavx512f -mfma;
// called only on CPUs that have it, see isa_select.cc). The 8 x 32 float tile measured best on
// Zen 5 (12 x 32 and 14 x 32 also fit the 32 registers but were no faster). float k blocks go to
// 1024 deep: C is loaded and stored once per block, and at 256 the reloads cost 3-6% (BERT's
// FFN1, whose C outgrows L2; docs/kernel_choices.md, "GEMM").
#define TS_ISA avx512
#include "providers/cpu/microkernels/gemm_ukernel_impl.h"
#include "providers/cpu/microkernels/depthwise_impl.h"
#include "providers/cpu/microkernels/conv_blocked_impl.h"
#include "providers/cpu/microkernels/winograd_impl.h"

namespace tessera::kernels::detail {

IsaKernels isa_kernels_avx512() {
  return {"avx512", avx512::kernel_set<float, 64, 8, 2>(1024, 480, 512),
          avx512::kernel_set<double, 64, 8, 2>(256, 480, 256),
          &avx512::depthwise_row<64>, &avx512::depthwise_direct_row<64>,
          &avx512::depthwise_block<64>, &avx512::unblock<64>, 16, avx512::conv_blocked_kernels<64, 32>(),
          avx512::winograd_kernels<64>()};
}

}  // namespace tessera::kernels::detail
