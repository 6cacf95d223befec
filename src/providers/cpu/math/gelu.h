// GELU, the one scalar and vector definition behind Gelu (both forms), com.microsoft BiasGelu
// (erf form) and FastGelu (tanh form): 0.5 x (1 + erf(x / sqrt 2)), or with the tanh
// approximation 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))). 1 + erf(z) is taken as
// erfc(-z) and 1 + tanh(u) as 2 / (1 + e^{-2u}), so that x << 0 keeps its relative precision.
#pragma once

#include <cmath>

#include "providers/cpu/microkernels/elementwise_simd.h"

namespace tessera {

struct GeluFunction {
  bool tanh_form = false;
  template <class C>
  C operator()(C x) const {
    if (tanh_form) {
      const C u = C(0.7978845608028654) * (x + C(0.044715) * x * x * x);
      return x / (C(1) + std::exp(C(-2) * u));
    }
    return C(0.5) * x * std::erfc(x * C(-0.7071067811865476));
  }
  template <class VF>
  TS_SIMD VF vec(const VF& x) const { return tanh_form ? simd::gelu_tanh(x) : simd::gelu(x); }
};

}  // namespace tessera
