// The com.microsoft quantized ops' registration: one call per family file (microsoft_quant.h).
#include "providers/cpu/quantization/microsoft_quant.h"

namespace tessera {

void register_microsoft_quantization(KernelRegistry& registry) {
  quant::register_matmul_nbits(registry);
  quant::register_quantized_matmul_contrib(registry);
  quant::register_qlinear_elementwise(registry);
  quant::register_qlinear_tensor_ops(registry);
}

}  // namespace tessera
