#include "core/cpu_isa.h"
#include "providers/cpu/microkernels/isa_kernels.h"

namespace tessera::kernels::detail {

const IsaKernels& active_isa() {
  static const IsaKernels kernels = [] {
#if defined(__x86_64__) || defined(_M_X64)
    if (cpu_isa() == CpuIsa::avx512) return isa_kernels_avx512();
    if (cpu_isa() == CpuIsa::avx2) return isa_kernels_avx2();
#endif
    return isa_kernels_portable();
  }();
  return kernels;
}

}  // namespace tessera::kernels::detail
