// ONNX Runtime's BERT ops (com.microsoft Attention, MultiHeadAttention, GroupQueryAttention,
// EmbedLayerNormalization),
// registered with the attention family (register_attention calls this).
#pragma once

#include "framework/kernel_registry.h"

namespace tessera {

void register_contrib_attention(KernelRegistry& registry);  // nn/contrib_attention.cc

}  // namespace tessera
