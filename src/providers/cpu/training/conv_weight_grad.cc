// com.tessera ConvWeightGrad (docs/fused_ops.md), written by Conv's gradient builder
// (src/training/gradients/conv_gradients.cc) in place of Transpose + Conv + Slice + Transpose:
// dW [M, C/group, kernel...] of a Conv with these attributes, from dY [N, M, out...] and X
// [N, C, in...]. Per image and group, dW_g += dY_g [M/group, S] x columns(X_g)^T, with the im2col
// columns [C/group * k, S] of the forward convolution (nn/conv_lowering.h), each GEMM writing
// straight into dW; small images run several to a GEMM, side by side, whose depth is then their
// positions together. float and double.
#include <algorithm>
#include <memory>
#include <vector>

#include "providers/cpu/families.h"
#include "providers/cpu/nn/conv_lowering.h"

namespace tessera {
namespace {

using kernels::ConvGeometry;
using kernels::MatrixArg;

// Small problems run on one thread; larger ones split the images over the pool, each task
// summing into its own dW (task 0 into the output), added up at the end.
template <class T>
void weight_grad(const ConvGeometry& g, int64_t N, int64_t C, int64_t M, int64_t group, const T* dy, const T* x, T* dw,
                 KernelContext& ctx) {
  const int64_t Cg = C / group, Mg = M / group, K = Cg * g.kernel_size, S = g.out_size;
  const int64_t per_gemm = images_per_gemm(S, N);
  // dW of images [n0, n1) into `out` (every element written): per group and run of per_gemm
  // images, dY's rows and the columns of those images side by side, one GEMM.
  auto images = [&](int64_t n0, int64_t n1, T* out) {
    const int64_t batch = std::min(per_gemm, n1 - n0);
    Tensor buffer = column_buffer<T>(ctx, (K + Mg) * batch * S + (batch > 1 ? K * S : 0));
    T *col = buffer.data<T>(), *rows = col + K * batch * S, *scratch = rows + Mg * batch * S;
    for (int64_t gi = 0; gi < group; ++gi)
      for (int64_t n = n0; n < n1; n += batch) {
        const int64_t count = std::min(batch, n1 - n), L = count * S;
        images_im2col(g, x + (n * C + gi * Cg) * g.in_size, C * g.in_size, Cg, count, col, scratch);
        for (int64_t j = 0; j < count; ++j) to_side_by_side(dy + ((n + j) * M + gi * Mg) * S, Mg, S, j, count, rows);
        kernels::gemm(Mg, K, L, T(1), MatrixArg<T>{rows, L, false}, MatrixArg<T>{col, L, true}, n == n0 ? T(0) : T(1),
                      out + gi * Mg * K, K);
      }
  };
  const int threads = ctx.thread_pool().size();
  const int64_t tasks = std::min<int64_t>({threads, N, N * M * K * S / kMinParallelBatchWork});
  if (tasks < 2) return images(0, N, dw);
  const int64_t size = M * K;
  Tensor partial = column_buffer<T>(ctx, (tasks - 1) * size);
  ctx.thread_pool().parallel_for(tasks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) images(N * t / tasks, N * (t + 1) / tasks, t == 0 ? dw : partial.data<T>() + (t - 1) * size);
  });
  for (int64_t t = 1; t < tasks; ++t) {
    const T* p = partial.data<T>() + (t - 1) * size;
    for (int64_t i = 0; i < size; ++i) dw[i] += p[i];
  }
}

class ConvWeightGradKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<ConvWeightGradKernel>(new ConvWeightGradKernel());
    TS_ASSIGN_OR_RETURN(k->kernel_shape_, info.required_ints("kernel_shape"));
    TS_ASSIGN_OR_RETURN(k->params_, parse_conv_attributes(info.node()));
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* dy, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(1));
    if (dy->dtype() != x->dtype()) return ctx.error("dY and X must have the same element type");
    if (x->rank() < 3 || dy->rank() != x->rank() || kernel_shape_.size() + 2 != x->rank())
      return ctx.error("X ", shape_to_string(x->shape()), ", dY ", shape_to_string(dy->shape()), " and kernel_shape of ",
                       kernel_shape_.size(), " values do not describe one convolution");
    const int64_t N = x->dim(0), C = x->dim(1), M = dy->dim(1), group = params_.group;
    if (dy->dim(0) != N) return ctx.error("dY has ", dy->dim(0), " images but X ", N);
    if (group < 1 || C % group != 0 || M % group != 0)
      return ctx.error("channels ", C, " in and ", M, " out are not divisible by group ", group);
    Shape w_shape{M, C / group};
    w_shape.insert(w_shape.end(), kernel_shape_.begin(), kernel_shape_.end());
    TS_ASSIGN_OR_RETURN(ConvGeometry g, conv_geometry(ctx, params_, x->shape(), w_shape, false));
    for (size_t d = 0; d < g.nd; ++d)
      if (dy->dim(d + 2) != g.out[d])
        return ctx.error("dY ", shape_to_string(dy->shape()), " is not the convolution's output for X ", shape_to_string(x->shape()));
    Tensor& dw = ctx.allocate_output(0, x->dtype(), w_shape);  // zeroed: empty images leave zeros
    if (dw.size() == 0 || N == 0 || g.out_size == 0) return Status::ok();
    return dispatch<type_bit(DataType::float32) | type_bit(DataType::float64)>(
        x->dtype(),
        [&]<class T>() -> Status {
          weight_grad<T>(g, N, C, M, group, dy->data<T>(), x->data<T>(), dw.data<T>(), ctx);
          return Status::ok();
        },
        ctx.node());
  }

 private:
  ConvWeightGradKernel() = default;
  std::vector<int64_t> kernel_shape_;
  ConvAttributes params_;
};

}  // namespace

void register_conv_weight_grad(KernelRegistry& r) {
  r.add({"com.tessera", "ConvWeightGrad", 1, 1, ConvWeightGradKernel::create});
}

}  // namespace tessera
