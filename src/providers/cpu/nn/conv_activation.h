// The activations FusedConv applies after the convolution (its `activation` and
// `activation_params` attributes): parsed once when the kernel is created, applied by the conv
// paths to each block of output while it is still in cache (a GEMM task's rows, a depthwise
// plane). Relu and Clip are clamps that the GEMM and depthwise kernels fold into their stores.
#pragma once

#include <cstdint>

#include "framework/kernel.h"

namespace tessera {

struct ConvActivation {
  enum class Kind { none, relu, clip, leaky_relu, sigmoid, tanh, hard_sigmoid, hard_swish, silu, gelu } kind = Kind::none;
  float a = 0, b = 0;

  // True when the activation is a clamp [lo, hi] (none, Relu, Clip).
  bool is_clamp() const { return kind == Kind::none || kind == Kind::relu || kind == Kind::clip; }
  float clamp_min() const;
  float clamp_max() const;
};

// The one place FusedConv's activation names are read: Relu, Clip (min, max), LeakyRelu (alpha),
// Sigmoid, Tanh, HardSigmoid (alpha, beta), HardSwish, Silu (x * sigmoid(x)) and Gelu (erf
// form); an empty name is none. The parameters come from `activation_params`, else from
// FusedGemm's `activation_alpha` / `activation_beta` / `leaky_relu_alpha`.
Result<ConvActivation> parse_activation(const KernelInfo& info);

// Applies a non-clamp activation to y[0, n) in place, vectorized for float; clamps do nothing
// here (the producing kernel already applied them).
void apply_activation(const ConvActivation& act, float* y, int64_t n);
void apply_activation(const ConvActivation& act, double* y, int64_t n);

}  // namespace tessera
