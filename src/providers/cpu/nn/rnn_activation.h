// The activation functions the recurrent ops (RNN, GRU, LSTM) accept by name, applied in place
// to contiguous spans. alpha/beta are consumed from the node's activation_alpha/beta lists only
// by the functions that take them, in the order of the activations list.
#pragma once

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "providers/cpu/microkernels/elementwise_simd.h"

namespace tessera::rnn {

enum class ActKind { sigmoid, tanh, relu, affine, leaky_relu, thresholded_relu, scaled_tanh, hard_sigmoid, elu, softsign, softplus };

struct Activation {
  ActKind kind = ActKind::tanh;
  float alpha = 0;
  float beta = 0;
};

struct ActSpec {
  const char* name;  // lower case
  ActKind kind;
  bool uses_alpha, uses_beta;
  float alpha, beta;  // defaults, as in the matching ONNX operators
};

inline constexpr ActSpec kActSpecs[] = {
    {"sigmoid", ActKind::sigmoid, false, false, 0, 0},
    {"tanh", ActKind::tanh, false, false, 0, 0},
    {"relu", ActKind::relu, false, false, 0, 0},
    {"affine", ActKind::affine, true, true, 1.0f, 0.0f},
    {"leakyrelu", ActKind::leaky_relu, true, false, 0.01f, 0},
    {"thresholdedrelu", ActKind::thresholded_relu, true, false, 1.0f, 0},
    {"scaledtanh", ActKind::scaled_tanh, true, true, 1.0f, 1.0f},
    {"hardsigmoid", ActKind::hard_sigmoid, true, true, 0.2f, 0.5f},
    {"elu", ActKind::elu, true, false, 1.0f, 0},
    {"softsign", ActKind::softsign, false, false, 0, 0},
    {"softplus", ActKind::softplus, false, false, 0, 0},
};

// Resolves names to activations; nullopt names the first unknown one through `bad`.
inline std::optional<std::vector<Activation>> parse_activations(const std::vector<std::string>& names,
                                                                const std::vector<float>& alphas,
                                                                const std::vector<float>& betas, std::string* bad) {
  std::vector<Activation> out;
  size_t next_alpha = 0, next_beta = 0;
  for (const std::string& name : names) {
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    const ActSpec* spec = nullptr;
    for (const ActSpec& s : kActSpecs)
      if (lower == s.name) spec = &s;
    if (!spec) {
      *bad = name;
      return std::nullopt;
    }
    Activation a{spec->kind, spec->alpha, spec->beta};
    if (spec->uses_alpha && next_alpha < alphas.size()) a.alpha = alphas[next_alpha++];
    if (spec->uses_beta && next_beta < betas.size()) a.beta = betas[next_beta++];
    out.push_back(a);
  }
  return out;
}

// Sigmoid and tanh on float spans, vectorized: they dominate the cell updates. The tail goes
// through one padded vector so every element takes the same code path.
template <bool kSigmoid>
inline void sigmoid_or_tanh(float* x, int64_t n) {
  simd::with_best_isa([&]<int N>() TS_SIMD_BODY {
    using VF = typename simd::Lanes<N>::f;
    auto f = [](const VF& v) TS_SIMD_BODY { return kSigmoid ? simd::sigmoid(v) : simd::tanh(v); };
    int64_t i = 0;
    for (; i + N <= n; i += N) simd::store(x + i, f(simd::load<VF>(x + i)));
    if (i < n) {
      float buf[N] = {};
      std::copy(x + i, x + n, buf);
      simd::store(buf, f(simd::load<VF>(buf)));
      std::copy(buf, buf + (n - i), x + i);
    }
  });
}

template <class C>
inline void apply_activation(const Activation& act, C* x, int64_t n) {
  if constexpr (std::is_same_v<C, float>) {
    if (act.kind == ActKind::sigmoid) return sigmoid_or_tanh<true>(x, n);
    if (act.kind == ActKind::tanh) return sigmoid_or_tanh<false>(x, n);
  }
  const C alpha = static_cast<C>(act.alpha), beta = static_cast<C>(act.beta);
  switch (act.kind) {
    case ActKind::sigmoid:
      for (int64_t i = 0; i < n; ++i) x[i] = C(1) / (C(1) + std::exp(-x[i]));
      break;
    case ActKind::tanh:
      for (int64_t i = 0; i < n; ++i) x[i] = std::tanh(x[i]);
      break;
    case ActKind::relu:
      for (int64_t i = 0; i < n; ++i) x[i] = std::max(x[i], C(0));
      break;
    case ActKind::affine:
      for (int64_t i = 0; i < n; ++i) x[i] = alpha * x[i] + beta;
      break;
    case ActKind::leaky_relu:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] >= C(0) ? x[i] : alpha * x[i];
      break;
    case ActKind::thresholded_relu:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] > alpha ? x[i] : C(0);
      break;
    case ActKind::scaled_tanh:
      for (int64_t i = 0; i < n; ++i) x[i] = alpha * std::tanh(beta * x[i]);
      break;
    case ActKind::hard_sigmoid:
      for (int64_t i = 0; i < n; ++i) x[i] = std::min(std::max(alpha * x[i] + beta, C(0)), C(1));
      break;
    case ActKind::elu:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] >= C(0) ? x[i] : alpha * (std::exp(x[i]) - C(1));
      break;
    case ActKind::softsign:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (C(1) + std::abs(x[i]));
      break;
    case ActKind::softplus:
      // log(1 + e^x) without overflow for large x.
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] > C(0) ? x[i] + std::log1p(std::exp(-x[i])) : std::log1p(std::exp(x[i]));
      break;
  }
}

}  // namespace tessera::rnn
