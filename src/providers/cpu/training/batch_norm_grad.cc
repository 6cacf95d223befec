// com.tessera BatchNormalizationGrad: the gradient of a training-mode BatchNormalization (the
// batch's own statistics) in one pass per channel, written by the BatchNormalization gradient
// builder (src/training/gradients/normalization_gradients.cc) in place of ~20 ONNX nodes.
//
// Inputs dY, X [N, C, spatial...] and scale [C]; outputs (each optional) dX like X, dscale and
// dbias [C]. Per channel, over its M = N * spatial elements, with the mean and population
// variance recomputed from X exactly as the forward kernel computes them (two passes, in float
// for float and double for double):
//   dbias = sum(dY), dscale = sum(dY * xhat), xhat = (x - mean) * inv_std,
//   dX = scale * inv_std * (dY - dbias / M - xhat * dscale / M),
// which is a * dY + b * X + c per channel.
#include <cmath>
#include <memory>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/microkernels/vector_math.h"

namespace tessera {
namespace {

constexpr TypeSet kGradTypes = type_bit(DataType::float32) | type_bit(DataType::float64);
constexpr int64_t kGrain = 1 << 14;  // elements worth a parallel task
constexpr int kLanes = 8;            // independent partial sums, so float loops vectorize

template <class T>
T block_sum(const T* x, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    return reduce_impl::vec::kernels().sum(x, n);
  } else {
    T s = 0;
    for (int64_t i = 0; i < n; ++i) s += x[i];
    return s;
  }
}

template <class T>
T block_sq_dev(const T* x, int64_t n, T mean) {
  if constexpr (std::is_same_v<T, float>) {
    return reduce_impl::vec::kernels().sum_sq_dev(x, n, mean);
  } else {
    T s = 0;
    for (int64_t i = 0; i < n; ++i) s += (x[i] - mean) * (x[i] - mean);
    return s;
  }
}

// sum(g) and sum(g * (x - mean)) over a block.
template <class T>
void block_dots(const T* g, const T* x, int64_t n, T mean, T& sum_g, T& sum_gx) {
  T a[kLanes] = {}, b[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      a[l] += g[i + l];
      b[l] += g[i + l] * (x[i + l] - mean);
    }
  for (; i < n; ++i) {
    a[0] += g[i];
    b[0] += g[i] * (x[i] - mean);
  }
  for (int l = 0; l < kLanes; ++l) {
    sum_g += a[l];
    sum_gx += b[l];
  }
}

class BatchNormGradKernel final : public OpKernel {
 public:
  explicit BatchNormGradKernel(const KernelInfo& info) : epsilon_(info.attr_float("epsilon")) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* dy, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(1));
    TS_ASSIGN_OR_RETURN(const Tensor* scale, ctx.required_input(2));
    if (x->rank() < 2) return ctx.error("X must have rank >= 2 (N, C, ...), got ", shape_to_string(x->shape()));
    if (dy->shape() != x->shape())
      return ctx.error("dY ", shape_to_string(dy->shape()), " and X ", shape_to_string(x->shape()), " differ in shape");
    if (dy->dtype() != x->dtype() || scale->dtype() != x->dtype())
      return ctx.error("all inputs must have element type ", dtype_name(x->dtype()));
    const int64_t n = x->dim(0), c = x->dim(1), inner = c == 0 || n == 0 ? 0 : x->size() / (n * c);
    if (scale->size() != c) return ctx.error("scale has ", scale->size(), " values but X has ", c, " channels");
    const bool want_dx = ctx.output_requested(0), want_dscale = ctx.output_count() > 1 && ctx.output_requested(1);
    const bool want_dbias = ctx.output_count() > 2 && ctx.output_requested(2);
    Tensor* dx = want_dx ? &ctx.allocate_output_uninitialized(0, x->dtype(), x->shape()) : nullptr;
    Tensor* dscale = want_dscale ? &ctx.allocate_output_uninitialized(1, x->dtype(), Shape{c}) : nullptr;
    Tensor* dbias = want_dbias ? &ctx.allocate_output_uninitialized(2, x->dtype(), Shape{c}) : nullptr;
    const int64_t count = n * inner;
    return dispatch<kGradTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          const T *g = dy->data<T>(), *xd = x->data<T>(), *s = scale->data<T>();
          const T eps = static_cast<T>(epsilon_);
          ctx.thread_pool().parallel_for(c, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, count)), [&](int64_t c0, int64_t c1) {
            for (int64_t ch = c0; ch < c1; ++ch) {
              T sum = 0;
              for (int64_t b = 0; b < n; ++b) sum += block_sum(xd + (b * c + ch) * inner, inner);
              const T mean = count ? sum / static_cast<T>(count) : T(0);
              T sq = 0, sum_g = 0, sum_gx = 0;
              for (int64_t b = 0; b < n; ++b) {
                const int64_t at = (b * c + ch) * inner;
                sq += block_sq_dev(xd + at, inner, mean);
                block_dots(g + at, xd + at, inner, mean, sum_g, sum_gx);
              }
              const T inv_std = T(1) / std::sqrt((count ? sq / static_cast<T>(count) : T(0)) + eps);
              if (dbias) dbias->data<T>()[ch] = sum_g;
              if (dscale) dscale->data<T>()[ch] = sum_gx * inv_std;
              if (!dx || count == 0) continue;
              // dX = a * (dY - sum_g / M - (x - mean) * k), k = inv_std^2 * sum_gx / M.
              const T a = s[ch] * inv_std, k = inv_std * inv_std * sum_gx / static_cast<T>(count);
              const T shift = -sum_g / static_cast<T>(count) + mean * k;
              for (int64_t b = 0; b < n; ++b) {
                const int64_t at = (b * c + ch) * inner;
                T* out = dx->data<T>() + at;
                for (int64_t i = 0; i < inner; ++i) out[i] = a * (g[at + i] - xd[at + i] * k + shift);
              }
            }
          });
          return Status::ok();
        },
        ctx.node());
  }

 private:
  float epsilon_;
};

}  // namespace

void register_batch_norm_grad(KernelRegistry& r) {
  r.add({"com.tessera", "BatchNormalizationGrad", 1, 1, make_factory<BatchNormGradKernel>()});
}

}  // namespace tessera
