// com.tessera ActivationGrad: the gradient of an activation from its output, one pass, written by
// the Relu, Sigmoid and Tanh gradient builders (src/training/gradients/activation_gradients.cc)
// in place of two or three elementwise ONNX nodes (a training MLP's backward graph ran 5 such
// nodes for 2 activations, each a pass over memory and a step of the executor).
//
// Inputs dY and Y (the activation's output), same shape; output dX like Y (activation_grad.h
// says what each activation computes). float runs a vector at a time (simd::with_best_isa: 8
// lanes where the CPU has AVX2), double and the tails one element at a time.
#include "providers/cpu/training/activation_grad.h"

#include <memory>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/microkernels/elementwise_simd.h"

namespace tessera {
namespace {

using Activation = GradActivation;

constexpr TypeSet kGradTypes = type_bit(DataType::float32) | type_bit(DataType::float64);
constexpr int64_t kGrain = 1 << 15;  // elements worth a parallel task

template <class T>
void activation_grad(Activation a, const T* g, const T* y, T* dx, int64_t n) {
  switch (a) {
    case Activation::relu:
      for (int64_t i = 0; i < n; ++i) dx[i] = y[i] > T(0) ? g[i] : T(0);
      return;
    case Activation::sigmoid:
      for (int64_t i = 0; i < n; ++i) dx[i] = g[i] * (y[i] * (T(1) - y[i]));
      return;
    case Activation::tanh:
      for (int64_t i = 0; i < n; ++i) dx[i] = g[i] * (T(1) - y[i] * y[i]);
      return;
  }
}

// The float loops, N lanes a step; the tail goes to activation_grad.
template <int N>
TS_SIMD void activation_grad_lanes(Activation a, const float* g, const float* y, float* dx, int64_t n) {
  using VF = typename simd::Lanes<N>::f;
  const VF zero{}, one = simd::splat<VF>(1.0f);
  int64_t i = 0;
  switch (a) {
    case Activation::relu:
      for (; i + N <= n; i += N) {
        const VF yv = simd::load<VF>(y + i);
        simd::store(dx + i, simd::select<VF>(yv > zero, simd::load<VF>(g + i), zero));
      }
      break;
    case Activation::sigmoid:
      for (; i + N <= n; i += N) {
        const VF yv = simd::load<VF>(y + i);
        simd::store(dx + i, simd::load<VF>(g + i) * (yv * (one - yv)));
      }
      break;
    case Activation::tanh:
      for (; i + N <= n; i += N) {
        const VF yv = simd::load<VF>(y + i);
        simd::store(dx + i, simd::load<VF>(g + i) * (one - yv * yv));
      }
      break;
  }
  activation_grad(a, g + i, y + i, dx + i, n - i);
}

}  // namespace

std::optional<GradActivation> grad_activation_named(std::string_view name) {
  if (name == "Relu") return GradActivation::relu;
  if (name == "Sigmoid") return GradActivation::sigmoid;
  if (name == "Tanh") return GradActivation::tanh;
  return std::nullopt;
}

void activation_grad_span(GradActivation a, const float* dy, const float* y, float* dx, int64_t n) {
  simd::with_best_isa([&]<int N>() TS_SIMD_BODY { activation_grad_lanes<N>(a, dy, y, dx, n); });
}

void activation_grad_span(GradActivation a, const double* dy, const double* y, double* dx, int64_t n) {
  activation_grad(a, dy, y, dx, n);
}

namespace {

class ActivationGradKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    const std::string name = info.attr_string("activation");
    const std::optional<Activation> a = grad_activation_named(name);
    if (!a) return info.error("activation '", name, "' has no ActivationGrad (Relu, Sigmoid or Tanh)");
    return std::unique_ptr<OpKernel>(new ActivationGradKernel(*a));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* dy, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* y, ctx.required_input(1));
    if (dy->shape() != y->shape())
      return ctx.error("dY ", shape_to_string(dy->shape()), " and Y ", shape_to_string(y->shape()), " differ in shape");
    if (dy->dtype() != y->dtype()) return ctx.error("dY and Y must have one element type, got ", dtype_name(dy->dtype()),
                                                    " and ", dtype_name(y->dtype()));
    Tensor& dx = ctx.allocate_output_uninitialized(0, y->dtype(), y->shape());
    return dispatch<kGradTypes>(
        y->dtype(),
        [&]<class T>() -> Status {
          const T *g = dy->data<T>(), *yd = y->data<T>();
          T* out = dx.data<T>();
          ctx.thread_pool().parallel_for(y->size(), kGrain, [&](int64_t i0, int64_t i1) {
            activation_grad_span(activation_, g + i0, yd + i0, out + i0, i1 - i0);
          });
          return Status::ok();
        },
        ctx.node());
  }

 private:
  explicit ActivationGradKernel(Activation a) : activation_(a) {}
  Activation activation_;
};

}  // namespace

void register_activation_grad(KernelRegistry& r) {
  r.add({"com.tessera", "ActivationGrad", 1, 1, [](const KernelInfo& i) { return ActivationGradKernel::create(i); }});
}

}  // namespace tessera
