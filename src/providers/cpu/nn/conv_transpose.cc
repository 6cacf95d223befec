// ConvTranspose (1-D to 8-D, groups, dilations, strides, pads, output_padding, output_shape,
// auto_pad): the adjoint of Conv's lowering (conv_lowering.h). Per (image, group) one GEMM
// col = W_g^T X_g gives each input position's contributions, which col2im adds into Y; 1x1
// kernels at stride 1 without pads need no col2im, the GEMM writes Y. A batch of small images
// shares one GEMM per group, their inputs side by side. Constant float32 weights are packed for the GEMM once, when
// the kernel is created; float16/bfloat16 compute in float32.
#include <algorithm>
#include <memory>
#include <vector>

#include "providers/cpu/families.h"
#include "providers/cpu/nn/conv_lowering.h"

namespace tessera {
namespace {

using kernels::ConvGeometry;
using kernels::MatrixArg;
using kernels::PackedMatrix;

// Everything one ConvTranspose run needs, with float16/bfloat16 already widened to float.
template <class T>
struct ConvTransposeArgs {
  const ConvGeometry* g;  // image = Y's spatial dims, grid = X's
  int64_t N, C, M, group;
  const T* x;                                      // [N, C, in...]
  const T* w;                                      // [C, M / group, kernel...]
  const std::vector<PackedMatrix<float>>* packed;  // W_g^T per group, or null
  const T* bias;                                   // [M] or null
  T* y;                                            // [N, M, out...]
};

// Output channels [m0, m1) of one image and group `yg`: the bias, then every column's
// contribution added by col2im from `col` [Mg * kernel_size, grid positions].
template <class T>
void scatter_columns(const ConvGeometry& g, const T* col, const T* bias, int64_t m0, int64_t m1, T* yg) {
  for (int64_t m = m0; m < m1; ++m) std::fill(yg + m * g.in_size, yg + (m + 1) * g.in_size, bias ? bias[m] : T(0));
  kernels::col2im_add(g, col, m0, m1, yg);
}

template <class T>
void conv_transpose_forward(const ConvTransposeArgs<T>& a, KernelContext& ctx) {
  ThreadPool& pool = ctx.thread_pool();
  const ConvGeometry& g = *a.g;
  const int64_t Cg = a.C / a.group, Mg = a.M / a.group, K = Mg * g.kernel_size;
  const int64_t Sx = g.out_size, Sy = g.in_size;
  const bool pointwise = g.is_pointwise();
  const int threads = pool.size();
  // W_g is stored [Cg, K]: the GEMMs read it transposed.
  auto weights = [&](int64_t gi) { return group_weights(a.w + gi * Cg * K, K, true, a.packed, gi); };
  // Small images, several to a GEMM (as Conv's): X of `count` images side by side, one GEMM into
  // their columns [K, count * Sx], then each image's columns copied out and scattered by col2im.
  if (const int64_t per_gemm = images_per_gemm(Sx, a.N); per_gemm > 1 && !pointwise) {
    const int64_t runs = (a.N + per_gemm - 1) / per_gemm, tasks = a.group * runs;
    auto run_batch = [&](int64_t t, ThreadPool* inner_pool) {
      const int64_t gi = t / runs, n = (t % runs) * per_gemm, count = std::min(per_gemm, a.N - n), L = count * Sx;
      Tensor buffer = column_buffer<T>(ctx, (K + Cg) * L + K * Sx);
      T *col = buffer.data<T>(), *xs = col + K * L, *image_col = xs + Cg * L;
      for (int64_t j = 0; j < count; ++j) to_side_by_side(a.x + ((n + j) * a.C + gi * Cg) * Sx, Cg, Sx, j, count, xs);
      kernels::gemm(K, L, Cg, T(1), weights(gi), MatrixArg<T>{xs, L, false}, T(0), col, L, {}, inner_pool);
      for (int64_t j = 0; j < count; ++j) {
        from_side_by_side(col, K, Sx, j, count, image_col);
        scatter_columns(g, image_col, a.bias ? a.bias + gi * Mg : nullptr, 0, Mg, a.y + ((n + j) * a.M + gi * Mg) * Sy);
      }
    };
    run_tasks(pool, tasks, threads > 1 && tasks >= threads && a.N * a.C * K * Sx >= kMinParallelBatchWork, run_batch);
    return;
  }
  auto run_image = [&](int64_t t, ThreadPool* inner_pool) {
    const int64_t n = t / a.group, gi = t % a.group;
    T* yg = a.y + (n * a.M + gi * Mg) * Sy;
    const T* bias = a.bias ? a.bias + gi * Mg : nullptr;
    const MatrixArg<T> xm{a.x + (n * a.C + gi * Cg) * Sx, Sx, false};
    if (pointwise) {  // the columns are Y itself
      kernels::GemmEpilogue<T> ep;
      ep.bias_m = bias;
      kernels::gemm(K, Sx, Cg, T(1), weights(gi), xm, T(0), yg, Sx, ep, inner_pool);
      return;
    }
    Tensor columns = column_buffer<T>(ctx, K * Sx);
    T* col = columns.data<T>();
    kernels::gemm(K, Sx, Cg, T(1), weights(gi), xm, T(0), col, Sx, {}, inner_pool);
    if (inner_pool)
      inner_pool->parallel_for(Mg, 1, [&](int64_t m0, int64_t m1) { scatter_columns(g, col, bias, m0, m1, yg); });
    else
      scatter_columns(g, col, bias, 0, Mg, yg);
  };
  const int64_t tasks = a.N * a.group;
  run_tasks(pool, tasks, threads > 1 && tasks >= threads, run_image);
}

class ConvTransposeKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<ConvTransposeKernel>(new ConvTransposeKernel());
    TS_ASSIGN_OR_RETURN(k->params_, parse_conv_attributes(info.node()));
    const Tensor* w = info.constant_input(1);
    if (w && w->dtype() == DataType::float32 && w->rank() >= 3 && w->dim(0) % k->params_.group == 0 && w->size() > 0) {
      const int64_t Cg = w->dim(0) / k->params_.group, K = w->size() / w->dim(0);
      for (int64_t g = 0; g < k->params_.group; ++g)
        k->packed_.push_back(kernels::pack_a(K, Cg, w->data<float>() + g * Cg * K, K, true));
    }
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* w, ctx.required_input(1));
    const Tensor* b = ctx.input(2);
    for (const Tensor* t : {w, b})
      if (t && t->dtype() != x->dtype()) return ctx.error("all inputs must have element type ", dtype_name(x->dtype()));
    TS_ASSIGN_OR_RETURN(ConvGeometry g, conv_geometry(ctx, params_, x->shape(), w->shape(), true));
    const int64_t N = x->dim(0), C = x->dim(1), group = params_.group;
    if (w->dim(0) != C) return ctx.error("input has ", C, " channels but weights ", shape_to_string(w->shape()), " expect ", w->dim(0));
    if (C % group != 0) return ctx.error("input channels ", C, " are not divisible by group ", group);
    const Result<int64_t> output_channels = checked_multiply(w->dim(1), group);  // empty weights: any dims
    if (!output_channels.is_ok())
      return ctx.error("weights ", shape_to_string(w->shape()), " with group ", group, " give more than 2^63 output channels");
    const int64_t M = *output_channels;
    if (b && b->size() != M) return ctx.error("bias has ", b->size(), " values, expected ", M);
    Shape y_shape{N, M};
    for (size_t d = 0; d < g.nd; ++d) y_shape.push_back(g.in[d]);
    // Every element is written: by the GEMM (beta 0) or by scatter_columns' bias fill.
    Tensor& y = ctx.allocate_output_uninitialized(0, x->dtype(), y_shape);
    if (y.size() == 0) return Status::ok();
    return dispatch<kConvTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          if constexpr (is_half_float_v<T>) {
            run_in_float<T>(x, w, b, nullptr, y, [&](const float* xf, const float* wf, const float* bf, const float*, float* yf) {
              conv_transpose_forward<float>({&g, N, C, M, group, xf, wf, nullptr, bf, yf}, ctx);
            });
          } else {
            const std::vector<PackedMatrix<float>>* packed = packed_.empty() ? nullptr : &packed_;
            conv_transpose_forward<T>({&g, N, C, M, group, x->data<T>(), w->data<T>(), packed, b ? b->data<T>() : nullptr, y.data<T>()},
                                      ctx);
          }
          return Status::ok();
        },
        ctx.node());
  }

 private:
  ConvTransposeKernel() = default;
  ConvAttributes params_;
  std::vector<PackedMatrix<float>> packed_;  // W_g^T per group, for constant float32 weights
};

}  // namespace

void register_conv_transpose(KernelRegistry& r) {
  r.add({"", "ConvTranspose", 1, kLatestOnnxOpset, ConvTransposeKernel::create});
}

}  // namespace tessera
