// The one choice of SIMD instruction set, shared by GEMM, the vector math kernels and the
// elementwise SIMD loops so they never disagree.
#pragma once

namespace tessera {

// Ordered: a level can run everything below it.
enum class CpuIsa { portable, avx2, avx512 };  // avx2 means AVX2 + FMA

// The best level this CPU supports.
CpuIsa cpu_isa_supported();

// The level the kernels use: cpu_isa_supported(), lowered by TESSERA_ISA=avx2|portable.
// The environment is read once, on first use.
CpuIsa cpu_isa();

}  // namespace tessera
