#include <cstdlib>
#include <string>

#include "providers/cpu/kernels/isa_kernels.h"

namespace tessera::kernels::detail {
namespace {

IsaKernels select_isa() {
  const char* env = std::getenv("TESSERA_ISA");
  const std::string forced = env ? env : "";
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  const bool has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool has_avx512 = __builtin_cpu_supports("avx512f") && has_avx2;
  if (has_avx512 && forced != "avx2" && forced != "portable") return isa_kernels_avx512();
  if (has_avx2 && forced != "portable") return isa_kernels_avx2();
#endif
  return isa_kernels_portable();
}

}  // namespace

const IsaKernels& active_isa() {
  static const IsaKernels kernels = select_isa();
  return kernels;
}

}  // namespace tessera::kernels::detail
