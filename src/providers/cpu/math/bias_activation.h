// ONNX Runtime's bias activations (com.microsoft BiasGelu, FastGelu, BiasAdd), registered with
// the unary elementwise family (register_unary_elementwise calls this).
#pragma once

#include "framework/kernel_registry.h"

namespace tessera {

void register_bias_activation(KernelRegistry& registry);  // math/bias_activation.cc

}  // namespace tessera
