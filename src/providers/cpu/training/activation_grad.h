// The gradient of an activation from its output, over a span: the loop of com.tessera
// ActivationGrad (activation_grad.cc), shared with LinearGrad (linear_grad.cc), which applies it
// into scratch before its GEMMs.
//   Relu:    dX = Y > 0 ? dY : 0
//   Sigmoid: dX = dY * (Y * (1 - Y))
//   Tanh:    dX = dY * (1 - Y * Y)
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace tessera {

enum class GradActivation { relu, sigmoid, tanh };

// The activation named by an `activation` attribute ("Relu", "Sigmoid", "Tanh"), or nullopt.
std::optional<GradActivation> grad_activation_named(std::string_view name);

// dx[i] from dy[i] and the activation's output y[i], i < n; single-threaded (callers split
// larger spans over their pool). float runs a vector at a time where the CPU allows.
void activation_grad_span(GradActivation a, const float* dy, const float* y, float* dx, int64_t n);
void activation_grad_span(GradActivation a, const double* dy, const double* y, double* dx, int64_t n);

}  // namespace tessera
