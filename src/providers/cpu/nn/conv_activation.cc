#include "providers/cpu/nn/conv_activation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "providers/cpu/math/gelu.h"
#include "providers/cpu/microkernels/elementwise_simd.h"

namespace tessera {

float ConvActivation::clamp_min() const {
  if (kind == Kind::relu) return 0.0f;
  if (kind == Kind::clip) return a;
  return -std::numeric_limits<float>::infinity();
}

float ConvActivation::clamp_max() const {
  return kind == Kind::clip ? b : std::numeric_limits<float>::infinity();
}

Result<ConvActivation> parse_activation(const KernelInfo& info) {
  using Kind = ConvActivation::Kind;
  ConvActivation act;
  const std::string name = info.attr_string("activation");
  std::vector<float> params = info.attr_floats("activation_params");
  // com.microsoft FusedGemm spells them activation_alpha / activation_beta (LeakyRelu's alpha
  // also leaky_relu_alpha).
  if (params.empty() && info.has_attr("activation_alpha")) {
    params.push_back(info.attr_float("activation_alpha", 0.0f));
    if (info.has_attr("activation_beta")) params.push_back(info.attr_float("activation_beta", 0.0f));
  } else if (params.empty() && info.has_attr("leaky_relu_alpha")) {
    params.push_back(info.attr_float("leaky_relu_alpha", 0.01f));
  }
  auto param = [&](size_t i, float dflt) { return i < params.size() ? params[i] : dflt; };
  if (name.empty()) act.kind = Kind::none;
  else if (name == "Relu") act.kind = Kind::relu;
  else if (name == "Clip") act = {Kind::clip, param(0, -INFINITY), param(1, INFINITY)};
  else if (name == "LeakyRelu") act = {Kind::leaky_relu, param(0, 0.01f), 0};
  else if (name == "Sigmoid") act.kind = Kind::sigmoid;
  else if (name == "Tanh") act.kind = Kind::tanh;
  else if (name == "HardSigmoid") act = {Kind::hard_sigmoid, param(0, 0.2f), param(1, 0.5f)};
  else if (name == "HardSwish") act.kind = Kind::hard_swish;
  else if (name == "Silu") act.kind = Kind::silu;
  else if (name == "Gelu") act.kind = Kind::gelu;
  else return info.error("unsupported fused activation '", name, "'");
  return act;
}

namespace {

// One activation over y[0, n): whole vectors of N lanes, then the tail through a zero-padded
// vector so every element sees the same arithmetic.
template <int N, class F>
TS_SIMD void apply_vec(float* y, int64_t n, const F& f) {
  using VF = typename simd::Lanes<N>::f;
  int64_t i = 0;
  for (; i + N <= n; i += N) simd::store(y + i, f(simd::load<VF>(y + i)));
  if (i < n) {
    float tail[N] = {};
    std::copy(y + i, y + n, tail);
    simd::store(tail, f(simd::load<VF>(tail)));
    std::copy(tail, tail + (n - i), y + i);
  }
}

template <class T>
T scalar_activation(const ConvActivation& act, T x) {
  using Kind = ConvActivation::Kind;
  const T a = static_cast<T>(act.a), b = static_cast<T>(act.b);
  switch (act.kind) {
    case Kind::leaky_relu: return x < T(0) ? a * x : x;
    case Kind::sigmoid: return T(1) / (T(1) + std::exp(-x));
    case Kind::tanh: return std::tanh(x);
    case Kind::hard_sigmoid: return std::clamp(a * x + b, T(0), T(1));
    case Kind::hard_swish: return x * std::clamp(x / T(6) + T(0.5), T(0), T(1));
    case Kind::silu: return x / (T(1) + std::exp(-x));
    case Kind::gelu: return GeluFunction{}(x);
    default: return x;
  }
}

}  // namespace

void apply_activation(const ConvActivation& act, float* y, int64_t n) {
  using Kind = ConvActivation::Kind;
  if (act.is_clamp() || n <= 0) return;
  const float a = act.a, b = act.b;
  simd::with_widest_isa([&]<int N>() TS_SIMD_BODY {
    using VF = typename simd::Lanes<N>::f;
    const VF zero = simd::splat<VF>(0.0f), one = simd::splat<VF>(1.0f);
    switch (act.kind) {
      case Kind::leaky_relu:
        apply_vec<N>(y, n, [&](VF x) TS_SIMD_BODY { return simd::select(x < 0.0f, a * x, x); });
        break;
      case Kind::sigmoid:
        apply_vec<N>(y, n, [&](VF x) TS_SIMD_BODY { return simd::sigmoid(x); });
        break;
      case Kind::tanh:
        apply_vec<N>(y, n, [&](VF x) TS_SIMD_BODY { return simd::tanh(x); });
        break;
      case Kind::hard_sigmoid:
        apply_vec<N>(y, n, [&](VF x) TS_SIMD_BODY { return simd::max(simd::min(a * x + b, one), zero); });
        break;
      case Kind::hard_swish:
        apply_vec<N>(y, n, [&](VF x) TS_SIMD_BODY {
          return x * simd::max(simd::min(x * (1.0f / 6.0f) + 0.5f, one), zero);
        });
        break;
      case Kind::silu:
        apply_vec<N>(y, n, [&](VF x) TS_SIMD_BODY { return simd::silu(x); });
        break;
      case Kind::gelu:
        apply_vec<N>(y, n, [&](VF x) TS_SIMD_BODY { return simd::gelu(x); });
        break;
      default:
        break;
    }
  });
}

void apply_activation(const ConvActivation& act, double* y, int64_t n) {
  if (act.is_clamp()) return;
  for (int64_t i = 0; i < n; ++i) y[i] = scalar_activation(act, y[i]);
}

}  // namespace tessera
