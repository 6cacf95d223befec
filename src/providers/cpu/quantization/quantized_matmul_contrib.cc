// com.microsoft's integer matrix products with float or requantized outputs:
//   DynamicQuantizeMatMul(A float, B, b_scale[, b_zero_point, bias]): A quantized to uint8 as
//     DynamicQuantizeLinear does, then (Aq - a_zp) x (B - b_zp) * a_scale * b_scale + bias;
//   MatMulIntegerToFloat(A, B, a_scale, b_scale[, a_zp, b_zp, bias]): the same from quantized A;
//   QGemm(A, a_scale, a_zp, B, b_scale, b_zp[, C, y_scale, y_zp]) {alpha, transA, transB}:
//     acc = (A - a_zp) x (B - b_zp) + C (C int32 at scale alpha * a_scale * b_scale), then
//     alpha * a_scale * b_scale * acc as float, or requantized by y_scale / y_zp.
// b_scale and b_zero_point are per tensor or per column (N values). Accumulation is int32
// (int_matmul / gemm_generic, wrapping like the reference); scales multiply in float, as
// ONNX Runtime's CPU kernels do.
#include <memory>
#include <vector>

#include "providers/cpu/microkernels/gemm.h"
#include "providers/cpu/quantization/microsoft_quant.h"
#include "providers/cpu/quantization/quant_common.h"

namespace tessera::quant {
namespace {

// A scale or zero point with one value, or one per column (N).
Status per_column(const KernelContext& ctx, const Tensor* t, const char* what, int64_t N, std::vector<float>& out,
                  float missing) {
  if (!t) {
    out.assign(1, missing);
    return Status::ok();
  }
  TS_RETURN_IF_ERROR(read_all(*t, out, ctx.node()));
  if (out.size() != 1 && static_cast<int64_t>(out.size()) != N)
    return ctx.error(what, " ", shape_to_string(t->shape()), " must have 1 or N = ", N, " elements");
  return Status::ok();
}

// One value of a tensor that must be a scalar (or hold one element).
Status scalar(const KernelContext& ctx, const Tensor* t, const char* what, float missing, float& out) {
  if (!t) {
    out = missing;
    return Status::ok();
  }
  std::vector<float> v;
  TS_RETURN_IF_ERROR(read_all(*t, v, ctx.node()));
  if (v.size() != 1) return ctx.error(what, " ", shape_to_string(t->shape()), " must be a scalar");
  out = v[0];
  return Status::ok();
}

// Y[o, i, j] = acc * a_scale * b_scale[j] + bias[j], written as float.
Status scale_to_float(KernelContext& ctx, const MatMulPlan& p, const std::vector<int32_t>& acc, float a_scale,
                      const Tensor& b_scale, const Tensor* bias) {
  std::vector<float> bs, bv;
  TS_RETURN_IF_ERROR(per_column(ctx, &b_scale, "b_scale", p.N, bs, 1.0f));
  TS_RETURN_IF_ERROR(per_column(ctx, bias, "bias", p.N, bv, 0.0f));
  std::vector<float> mult(static_cast<size_t>(p.N));
  for (int64_t j = 0; j < p.N; ++j) mult[j] = a_scale * bs[bs.size() == 1 ? 0 : j];
  float* y = ctx.allocate_output_uninitialized(0, DataType::float32, p.out).data<float>();
  const int64_t rows = static_cast<int64_t>(acc.size()) / std::max<int64_t>(1, p.N);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < p.N; ++j)
      y[r * p.N + j] = static_cast<float>(acc[r * p.N + j]) * mult[j] + bv[bv.size() == 1 ? 0 : j];
  return Status::ok();
}

class DynamicQuantizeMatMulKernel final : public OpKernel {
 public:
  explicit DynamicQuantizeMatMulKernel(const KernelInfo&) {}
  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* a, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* b, ctx.required_input(1));
    TS_ASSIGN_OR_RETURN(const Tensor* b_scale, ctx.required_input(2));
    if (a->dtype() != DataType::float32) return ctx.error("A must be float");
    if (!is_8bit(b->dtype())) return ctx.error("B must be int8 or uint8");
    TS_ASSIGN_OR_RETURN(Tensor aq, Tensor::create(DataType::uint8, a->shape()));
    float a_scale = 1.0f;
    uint8_t a_zp = 0;
    dynamic_quantize_uint8(a->data<float>(), a->size(), aq.data<uint8_t>(), a_scale, a_zp);
    const Tensor a_zero = Tensor::scalar(DataType::uint8, a_zp);
    MatMulPlan p;
    std::vector<int32_t> acc;
    TS_RETURN_IF_ERROR(int_matmul(ctx, aq, &a_zero, *b, ctx.input(3), p, acc));
    return scale_to_float(ctx, p, acc, a_scale, *b_scale, ctx.input(4));
  }
};

class MatMulIntegerToFloatKernel final : public OpKernel {
 public:
  explicit MatMulIntegerToFloatKernel(const KernelInfo&) {}
  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* a, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* b, ctx.required_input(1));
    TS_ASSIGN_OR_RETURN(const Tensor* a_scale, ctx.required_input(2));
    TS_ASSIGN_OR_RETURN(const Tensor* b_scale, ctx.required_input(3));
    if (!is_8bit(a->dtype()) || !is_8bit(b->dtype())) return ctx.error("A and B must be int8 or uint8");
    float as = 1.0f;
    TS_RETURN_IF_ERROR(scalar(ctx, a_scale, "a_scale", 1.0f, as));
    if (const Tensor* a_zp = ctx.input(4); a_zp && a_zp->size() != 1)
      return ctx.error("a_zero_point ", shape_to_string(a_zp->shape()), " must be a scalar");
    MatMulPlan p;
    std::vector<int32_t> acc;
    TS_RETURN_IF_ERROR(int_matmul(ctx, *a, ctx.input(4), *b, ctx.input(5), p, acc));
    return scale_to_float(ctx, p, acc, as, *b_scale, ctx.input(6));
  }
};

class QGemmKernel final : public OpKernel {
 public:
  explicit QGemmKernel(const KernelInfo& info)
      : alpha_(info.attr_float("alpha")), trans_a_(info.attr_int("transA") != 0), trans_b_(info.attr_int("transB") != 0) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* a, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* a_scale, ctx.required_input(1));
    TS_ASSIGN_OR_RETURN(const Tensor* a_zp, ctx.required_input(2));
    TS_ASSIGN_OR_RETURN(const Tensor* b, ctx.required_input(3));
    TS_ASSIGN_OR_RETURN(const Tensor* b_scale, ctx.required_input(4));
    TS_ASSIGN_OR_RETURN(const Tensor* b_zp, ctx.required_input(5));
    const Tensor* c = ctx.input(6);
    const Tensor* y_scale = ctx.input(7);
    const Tensor* y_zp = ctx.input(8);
    if (!is_8bit(a->dtype()) || !is_8bit(b->dtype())) return ctx.error("A and B must be int8 or uint8");
    if (a->rank() != 2 || b->rank() != 2)
      return ctx.error("A ", shape_to_string(a->shape()), " and B ", shape_to_string(b->shape()), " must be 2-D");
    const int64_t M = a->dim(trans_a_ ? 1 : 0), K = a->dim(trans_a_ ? 0 : 1), N = b->dim(trans_b_ ? 0 : 1);
    if (b->dim(trans_b_ ? 1 : 0) != K)
      return ctx.error("inner dimensions differ: A ", shape_to_string(a->shape()), trans_a_ ? " (transposed)" : "", " x B ",
                       shape_to_string(b->shape()), trans_b_ ? " (transposed)" : "");
    float as = 1.0f, az = 0.0f;
    TS_RETURN_IF_ERROR(scalar(ctx, a_scale, "a_scale", 1.0f, as));
    TS_RETURN_IF_ERROR(scalar(ctx, a_zp, "a_zero_point", 0.0f, az));
    std::vector<float> bs, bz;
    TS_RETURN_IF_ERROR(per_column(ctx, b_scale, "b_scale", N, bs, 1.0f));
    TS_RETURN_IF_ERROR(per_column(ctx, b_zp, "b_zero_point", N, bz, 0.0f));

    // Operands widened to int32 minus their zero points, multiplied with wrap-around.
    std::vector<int32_t> av, bv, acc(static_cast<size_t>(M * N));
    TS_RETURN_IF_ERROR(read_all(*a, av, ctx.node()));
    TS_RETURN_IF_ERROR(read_all(*b, bv, ctx.node()));
    for (int32_t& v : av) v -= static_cast<int32_t>(az);
    for (int64_t i = 0; i < b->size(); ++i) {
      const int64_t col = trans_b_ ? i / K : i % N;
      bv[i] -= static_cast<int32_t>(bz[bz.size() == 1 ? 0 : col]);
    }
    kernels::gemm_generic<int32_t>(trans_a_, trans_b_, M, N, K, 1, av.data(), a->dim(1), bv.data(), b->dim(1), 0, acc.data(),
                                   N);
    if (c) TS_RETURN_IF_ERROR(add_bias(ctx, *c, M, N, acc));

    std::vector<float> mult(static_cast<size_t>(N));
    for (int64_t j = 0; j < N; ++j) mult[j] = alpha_ * as * bs[bs.size() == 1 ? 0 : j];
    if (!y_scale) {
      float* y = ctx.allocate_output_uninitialized(0, DataType::float32, {M, N}).data<float>();
      for (int64_t i = 0; i < M * N; ++i) y[i] = static_cast<float>(acc[i]) * mult[i % N];
      return Status::ok();
    }
    float ys = 1.0f, yz = 0.0f;
    TS_RETURN_IF_ERROR(scalar(ctx, y_scale, "y_scale", 1.0f, ys));
    TS_RETURN_IF_ERROR(scalar(ctx, y_zp, "y_zero_point", 0.0f, yz));
    const DataType out_type = y_zp ? y_zp->dtype() : a->dtype();
    int32_t lo = 0, hi = 0;
    if (!is_8bit(out_type) || !int_range(out_type, lo, hi)) return ctx.error("y_zero_point must be int8 or uint8");
    for (float& m : mult) m /= ys;
    std::vector<int32_t> q(acc.size());
    for (int64_t i = 0; i < M * N; ++i) q[i] = round_clamp(std::nearbyint(static_cast<float>(acc[i]) * mult[i % N]) + yz, lo, hi);
    write_ints(ctx.allocate_output_uninitialized(0, out_type, {M, N}), q.data());
    return Status::ok();
  }

 private:
  // acc += C, C int32 broadcast to [M, N] from a scalar, [N], [1 or M, 1 or N].
  static Status add_bias(const KernelContext& ctx, const Tensor& c, int64_t M, int64_t N, std::vector<int32_t>& acc) {
    if (c.dtype() != DataType::int32) return ctx.error("C must be int32");
    const int64_t rows = c.rank() == 2 ? c.dim(0) : 1, cols = c.rank() >= 1 ? c.shape().back() : 1;
    if (c.rank() > 2 || (rows != 1 && rows != M) || (cols != 1 && cols != N))
      return ctx.error("C ", shape_to_string(c.shape()), " does not broadcast to [", M, ",", N, "]");
    const int32_t* cv = c.data<int32_t>();
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        const uint32_t sum = static_cast<uint32_t>(acc[i * N + j]) +
                             static_cast<uint32_t>(cv[(rows == 1 ? 0 : i) * cols + (cols == 1 ? 0 : j)]);
        acc[i * N + j] = static_cast<int32_t>(sum);
      }
    return Status::ok();
  }

  float alpha_;
  bool trans_a_, trans_b_;
};

}  // namespace

void register_quantized_matmul_contrib(KernelRegistry& r) {
  r.add({"com.microsoft", "DynamicQuantizeMatMul", 1, 1, make_factory<DynamicQuantizeMatMulKernel>()});
  r.add({"com.microsoft", "MatMulIntegerToFloat", 1, 1, make_factory<MatMulIntegerToFloatKernel>()});
  r.add({"com.microsoft", "QGemm", 1, 1, make_factory<QGemmKernel>()});
}

}  // namespace tessera::quant
