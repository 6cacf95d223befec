// The oneDNN EP's op families, one per file; dnnl_ep.cc asks them in this order.
#pragma once

#include "common.h"

namespace tessera_dnnl {

Family conv_family();     // conv.cc: Conv, com.tessera/com.microsoft FusedConv
Family matmul_family();   // matmul.cc: MatMul, Gemm, com.tessera FusedMatMul
Family pool_family();     // pool.cc: MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool
Family norm_family();     // norm.cc: BatchNormalization (inference), LayerNormalization
Family eltwise_family();  // eltwise.cc: activations
Family softmax_family();  // eltwise.cc: Softmax, LogSoftmax
Family binary_family();   // binary.cc: Add, Sub, Mul, Div, Max, Min
Family concat_family();   // concat.cc: Concat

}  // namespace tessera_dnnl
