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
#include "providers/cpu/math/gelu.h"
#include "providers/cpu/microkernels/elementwise_simd.h"

namespace tessera {
namespace {

enum class BiasAct { gelu_erf, gelu_tanh, none };

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
              if (act_ != BiasAct::none) elementwise::map_span(row.data(), row.data(), cols, GeluFunction{act_ == BiasAct::gelu_tanh});
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
