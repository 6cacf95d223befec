// ONNX Runtime's quantized contrib ops (com.microsoft), one family per file; each file's
// registration function is called by register_microsoft_quantization (microsoft_quant.cc), which
// cpu_provider.cc calls after the families of families.h.
#pragma once

#include "framework/kernel_registry.h"

namespace tessera {
void register_microsoft_quantization(KernelRegistry& registry);
}  // namespace tessera

namespace tessera::quant {

void register_matmul_nbits(KernelRegistry& r);           // matmul_nbits.cc (MatMulNBits)
void register_quantized_matmul_contrib(KernelRegistry& r);  // quantized_matmul_contrib.cc (DynamicQuantizeMatMul, MatMulIntegerToFloat, QGemm)
void register_qlinear_elementwise(KernelRegistry& r);     // qlinear_elementwise.cc (QLinearAdd, QLinearMul, QLinearSigmoid, QLinearLeakyRelu)
void register_qlinear_tensor_ops(KernelRegistry& r);      // qlinear_tensor_ops.cc (QLinearGlobalAveragePool, QLinearConcat, QLinearSoftmax)

}  // namespace tessera::quant
