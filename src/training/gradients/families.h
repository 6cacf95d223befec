// The gradient builder families; each file registers its table (gradient_registry.h).
#pragma once

#include "training/gradient_registry.h"

namespace tessera {

bool register_elementwise_gradients(GradientRegistry& registry);  // Add Sub Mul Div Neg Pow Sqrt Exp Log Where
bool register_activation_gradients(GradientRegistry& registry);   // Relu Sigmoid Tanh Erf Softmax LogSoftmax Dropout
bool register_matmul_gradients(GradientRegistry& registry);       // MatMul Gemm
bool register_shape_gradients(GradientRegistry& registry);        // Identity Cast Reshape Flatten Squeeze Unsqueeze Transpose Concat Split
bool register_reduction_gradients(GradientRegistry& registry);    // ReduceSum ReduceMean
bool register_loss_gradients(GradientRegistry& registry);         // SoftmaxCrossEntropyLoss NegativeLogLikelihoodLoss
bool register_index_gradients(GradientRegistry& registry);        // Gather Slice
bool register_normalization_gradients(GradientRegistry& registry);  // LayerNormalization BatchNormalization
bool register_conv_gradients(GradientRegistry& registry);         // Conv MaxPool AveragePool GlobalAveragePool
bool register_sign_gradients(GradientRegistry& registry);         // Abs

}  // namespace tessera
