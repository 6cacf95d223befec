// com.tessera LinearGrad (docs/fused_ops.md): the backward of a Linear layer Y = X W^T + b in one
// node, written by fuse_backward_linears (src/training/backward_fusion.cc) in place of the
// Gemm gradient builder's two Gemms, the bias's ReduceSum and, when the layer feeds an activation
// the backward differentiates from its output, that activation's ActivationGrad. In a training
// MLP each of those ran a few hundred floats of work behind a step of the executor and an output
// allocation, which cost more than the work itself when the step's data were cold.
//
// Inputs dY [M, N], X [M, K], W [N, K] (optional: only dX reads it) and, with `activation`
// (Relu, Sigmoid, Tanh), Y [M, N], the activation's output, dY then being dL/dY of the
// activation. Outputs (dX and db optional): g = dY, or ActivationGrad(dY, Y) into scratch;
// dX = g W [M, K], dW = g^T X [N, K], db = the column sums of g [N]. Both products run on the
// one GEMM (microkernels/gemm.h) over the run's thread pool. float and double.
#include <algorithm>
#include <memory>
#include <optional>
#include <type_traits>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/microkernels/gemm.h"
#include "providers/cpu/microkernels/vector_math.h"
#include "providers/cpu/training/activation_grad.h"

namespace tessera {
namespace {

constexpr TypeSet kGradTypes = type_bit(DataType::float32) | type_bit(DataType::float64);
constexpr int64_t kGrain = 1 << 15;  // elements worth a parallel task

// db[j] = sum over the M rows of g[i, j], row by row (as ReduceSum over axis 0 adds them), the
// float rows by the reductions' vector kernel.
template <class T>
void column_sums(const T* g, int64_t M, int64_t N, T* db) {
  std::fill(db, db + N, T(0));
  for (int64_t i = 0; i < M; ++i) {
    const T* row = g + i * N;
    if constexpr (std::is_same_v<T, float>)
      reduce_impl::vec::kernels().add_rows(db, row, N);
    else
      for (int64_t j = 0; j < N; ++j) db[j] += row[j];
  }
}

class LinearGradKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    const std::string name = info.attr_string("activation");
    std::optional<GradActivation> activation;
    if (!name.empty()) {
      activation = grad_activation_named(name);
      if (!activation) return info.error("activation '", name, "' has no LinearGrad (Relu, Sigmoid or Tanh)");
    }
    return std::unique_ptr<OpKernel>(new LinearGradKernel(activation));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* dy, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(1));
    const Tensor* w = ctx.input(2);
    const Tensor* y = ctx.input(3);
    const bool want_dx = ctx.output_requested(0), want_db = ctx.output_count() > 2 && ctx.output_requested(2);
    if (dy->rank() != 2 || x->rank() != 2 || (w && w->rank() != 2))
      return ctx.error("dY, X and W must be 2-D, got ", shape_to_string(dy->shape()), ", ", shape_to_string(x->shape()),
                       w ? ", " + shape_to_string(w->shape()) : std::string());
    const int64_t M = dy->dim(0), N = dy->dim(1), K = x->dim(1);
    if (x->dim(0) != M) return ctx.error("dY ", shape_to_string(dy->shape()), " and X ", shape_to_string(x->shape()), " differ in rows");
    if (w && (w->dim(0) != N || w->dim(1) != K))
      return ctx.error("W ", shape_to_string(w->shape()), " is not [", N, ", ", K, "] for dY ", shape_to_string(dy->shape()),
                       " and X ", shape_to_string(x->shape()));
    if (want_dx && !w) return ctx.error("dX needs W (input 2)");
    if (activation_.has_value() != (y != nullptr))
      return ctx.error(activation_ ? "the activation's output Y (input 3) is missing" : "Y (input 3) is given without an activation");
    if (y && y->shape() != dy->shape())
      return ctx.error("dY ", shape_to_string(dy->shape()), " and Y ", shape_to_string(y->shape()), " differ in shape");
    if (x->dtype() != dy->dtype() || (w && w->dtype() != dy->dtype()) || (y && y->dtype() != dy->dtype()))
      return ctx.error("LinearGrad inputs must share one element type");
    Tensor* dx = want_dx ? &ctx.allocate_output_uninitialized(0, dy->dtype(), x->shape()) : nullptr;
    Tensor& dw = ctx.allocate_output_uninitialized(1, dy->dtype(), Shape{N, K});
    Tensor* db = want_db ? &ctx.allocate_output_uninitialized(2, dy->dtype(), Shape{N}) : nullptr;
    return dispatch<kGradTypes>(
        dy->dtype(),
        [&]<class T>() -> Status {
          const T* g = dy->data<T>();
          Tensor activated;  // dL/d(X W^T + b) when the layer had an activation
          if (activation_ && dy->size() > 0) {
            activated = ctx.scratch(dy->dtype(), dy->size());
            T* out = activated.data<T>();
            const T* yd = y->data<T>();
            ctx.thread_pool().parallel_for(dy->size(), kGrain, [&](int64_t i0, int64_t i1) {
              activation_grad_span(*activation_, g + i0, yd + i0, out + i0, i1 - i0);
            });
            g = out;
          }
          ThreadPool* pool = &ctx.thread_pool();
          // A product over an empty depth is zero; the GEMM is not asked for one.
          if (dx && dx->size() > 0) {
            if (N > 0)
              kernels::gemm(M, K, N, T(1), {g, N, false}, {w->data<T>(), K, false}, T(0), dx->data<T>(), K, {}, pool);
            else
              std::fill(dx->data<T>(), dx->data<T>() + dx->size(), T(0));
          }
          if (dw.size() > 0) {
            if (M > 0)
              kernels::gemm(N, K, M, T(1), {g, N, true}, {x->data<T>(), K, false}, T(0), dw.data<T>(), K, {}, pool);
            else
              std::fill(dw.data<T>(), dw.data<T>() + dw.size(), T(0));
          }
          if (db) column_sums(g, M, N, db->data<T>());
          return Status::ok();
        },
        ctx.node());
  }

 private:
  explicit LinearGradKernel(std::optional<GradActivation> activation) : activation_(activation) {}
  std::optional<GradActivation> activation_;
};

}  // namespace

void register_linear_grad(KernelRegistry& r) {
  r.add({"com.tessera", "LinearGrad", 1, 1, [](const KernelInfo& i) { return LinearGradKernel::create(i); }});
}

}  // namespace tessera
