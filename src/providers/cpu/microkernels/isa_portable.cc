// The portable GEMM micro-kernels and depthwise row kernel: 16-byte vectors (SSE2 on x86-64,
// NEON on arm64) and no special compile flags, so they run on any CPU of the architecture.
#define TS_ISA portable
#include "providers/cpu/microkernels/gemm_ukernel_impl.h"
#include "providers/cpu/microkernels/depthwise_impl.h"
#include "providers/cpu/microkernels/conv_blocked_impl.h"
#include "providers/cpu/microkernels/winograd_impl.h"

namespace tessera::kernels::detail {

IsaKernels isa_kernels_portable() {
  return {"portable", portable::kernel_set<float, 16, 6, 2>(256, 480, 512),
          portable::kernel_set<double, 16, 6, 2>(256, 480, 256),
          &portable::depthwise_row<16>, &portable::depthwise_direct_row<16>,
          &portable::depthwise_block<16>, &portable::unblock<16>, 4, portable::conv_blocked_kernels<16, 16>(),
          portable::winograd_kernels<16>()};
}

}  // namespace tessera::kernels::detail
