#include "core/cpu_isa.h"

#include <cstdlib>
#include <string>

namespace tessera {
namespace {

CpuIsa detect() {
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2 && __builtin_cpu_supports("avx512f")) return CpuIsa::avx512;
  if (avx2) return CpuIsa::avx2;
#endif
  return CpuIsa::portable;
}

CpuIsa choose() {
  CpuIsa isa = cpu_isa_supported();
  const char* env = std::getenv("TESSERA_ISA");
  const std::string forced = env ? env : "";
  if (forced == "portable") isa = CpuIsa::portable;
  else if (forced == "avx2" && isa > CpuIsa::avx2) isa = CpuIsa::avx2;
  return isa;
}

}  // namespace

CpuIsa cpu_isa_supported() {
  static const CpuIsa isa = detect();
  return isa;
}

CpuIsa cpu_isa() {
  static const CpuIsa isa = choose();
  return isa;
}

}  // namespace tessera
