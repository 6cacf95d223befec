// The portable GEMM micro-kernels: 16-byte vectors (SSE2 on x86-64, NEON on arm64), no special
// compile flags, so they run on any CPU of the target architecture.
#define TS_GEMM_ISA portable
#include "providers/cpu/kernels/gemm_ukernel_impl.h"

namespace tessera::kernels::detail {

IsaKernels isa_kernels_portable() {
  return {"portable", portable::kernel_set<float, 16, 6, 2>(256, 480, 512),
          portable::kernel_set<double, 16, 6, 2>(256, 480, 256)};
}

}  // namespace tessera::kernels::detail
