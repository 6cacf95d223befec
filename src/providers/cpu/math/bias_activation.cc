// ONNX Runtime's bias activations (com.microsoft), written by its optimizer where a bias Add
// feeds a GELU or a residual Add: BiasGelu(A, B) = Gelu(A + B) (erf form), FastGelu(X[, bias]) =
// Gelu(X + bias) (tanh form), BiasAdd(X, bias, skip) = X + bias + skip. The bias is a vector
// along X's last axis, skip has X's shape. Float types; 16-bit floats are computed in float.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/dispatch.h"
#include "core/float_types.h"
#include "framework/kernel_registry.h"
#include "providers/cpu/math/bias_activation.h"
#include "providers/cpu/math/elementwise.h"
#include "providers/cpu/microkernels/elementwise_simd.h"

namespace tessera {
namespace {

enum class BiasAct { gelu_erf, gelu_tanh, none };

// GELU over a span: erf form, or tanh form with 1 + tanh(u) written as 2 / (1 + e^{-2u}).
struct GeluMap {
  bool tanh_form;
  template <class C>
  C operator()(C x) const {
    if (!tanh_form) return C(0.5) * x * std::erfc(x * C(-0.7071067811865476));
    const C u = C(0.7978845608028654) * (x + C(0.044715) * x * x * x);
    return x / (C(1) + std::exp(C(-2) * u));
  }
  template <class VF>
  TS_SIMD VF vec(const VF& x) const { return tanh_form ? simd::gelu_tanh(x) : simd::gelu(x); }
};

class BiasActivationKernel final : public OpKernel {
 public:
  BiasActivationKernel(const KernelInfo&, BiasAct act) : act_(act) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    const Tensor* bias = ctx.input(1);
    const Tensor* skip = act_ == BiasAct::none ? ctx.input(2) : nullptr;
    if (x->rank() < 1) return ctx.error("input must have rank >= 1, got a scalar");
    const int64_t cols = x->shape().back();
    if (bias && (bias->dtype() != x->dtype() || bias->rank() != 1 || bias->dim(0) != cols))
      return ctx.error("bias must be a 1-D ", dtype_name(x->dtype()), " tensor of ", cols, " elements (the last dim of ",
                       shape_to_string(x->shape()), "), got ", dtype_name(bias->dtype()), " ", shape_to_string(bias->shape()));
    if (skip && (skip->dtype() != x->dtype() || skip->shape() != x->shape()))
      return ctx.error("skip must have the type and shape of the input ", shape_to_string(x->shape()), ", got ",
                       dtype_name(skip->dtype()), " ", shape_to_string(skip->shape()));
    Tensor& y = ctx.allocate_output(0, x->dtype(), x->shape());
    if (y.size() == 0) return Status::ok();
    const int64_t rows = y.size() / cols;
    return dispatch<kFloatTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          using C = compute_t<T>;
          std::vector<C> b(static_cast<size_t>(cols), C(0));
          if (bias) widen_span(bias->data<T>(), b.data(), cols);
          const T* px = x->data<T>();
          const T* ps = skip ? skip->data<T>() : nullptr;
          T* py = y.data<T>();
          const int64_t grain = std::max<int64_t>(1, (act_ == BiasAct::none ? elementwise::kCheapChunk : elementwise::kCostlyChunk) / cols);
          ctx.thread_pool().parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
            std::vector<C> row(static_cast<size_t>(cols));
            for (int64_t r = r0; r < r1; ++r) {
              const int64_t off = r * cols;
              for (int64_t i = 0; i < cols; ++i) row[i] = to_computed<C>(px[off + i]) + b[i];
              if (ps)
                for (int64_t i = 0; i < cols; ++i) row[i] += to_computed<C>(ps[off + i]);
              if (act_ != BiasAct::none) elementwise::map_span(row.data(), row.data(), cols, GeluMap{act_ == BiasAct::gelu_tanh});
              narrow_span(row.data(), py + off, cols);
            }
          });
          return Status::ok();
        },
        ctx.node());
  }

 private:
  BiasAct act_;
};

KernelFactory bias_activation(BiasAct act) {
  return [act](const KernelInfo& info) -> Result<std::unique_ptr<OpKernel>> {
    return std::unique_ptr<OpKernel>(new BiasActivationKernel(info, act));
  };
}

}  // namespace

void register_bias_activation(KernelRegistry& r) {
  r.add({"com.microsoft", "BiasGelu", 1, 1, bias_activation(BiasAct::gelu_erf)});
  r.add({"com.microsoft", "FastGelu", 1, 1, bias_activation(BiasAct::gelu_tanh)});
  r.add({"com.microsoft", "BiasAdd", 1, 1, bias_activation(BiasAct::none)});
}

}  // namespace tessera
