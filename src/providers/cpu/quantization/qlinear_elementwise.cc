// com.microsoft's elementwise ops on quantized (uint8 / int8) tensors, each computed on the
// dequantized values in float and quantized again (round half to even, saturate):
//   QLinearAdd, QLinearMul (A, A_scale, A_zp, B, B_scale, B_zp, C_scale, C_zp) with numpy
//     broadcasting: C = quantize(dequantize(A) op dequantize(B));
//   QLinearSigmoid, QLinearLeakyRelu {alpha} (X, X_scale, X_zp, Y_scale, Y_zp): Y = quantize(f(
//     dequantize(X))), through a 256-entry table built per run from the scales.
// Scales are float scalars; omitted zero points are 0.
#include <cmath>
#include <memory>
#include <vector>

#include "core/broadcast_shapes.h"
#include "providers/cpu/math/broadcast.h"
#include "providers/cpu/quantization/microsoft_quant.h"
#include "providers/cpu/quantization/quant_common.h"

namespace tessera::quant {
namespace {

enum class BinaryOp { add, mul };

class QLinearBinaryKernel final : public OpKernel {
 public:
  QLinearBinaryKernel(const KernelInfo&, BinaryOp op) : op_(op) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* a, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* b, ctx.required_input(3));
    if (a->dtype() != b->dtype()) return ctx.error("A and B must have one type, not ", dtype_name(a->dtype()), " and ", dtype_name(b->dtype()));
    QParams qa, qb, qc;
    TS_RETURN_IF_ERROR(read_qparams(ctx, 1, 2, a->dtype(), qa));
    TS_RETURN_IF_ERROR(read_qparams(ctx, 4, 5, a->dtype(), qb));
    TS_RETURN_IF_ERROR(read_qparams(ctx, 6, 7, a->dtype(), qc));
    const std::string where = ctx.node().describe();
    TS_ASSIGN_OR_RETURN(Shape out, broadcast_shapes({&a->shape(), &b->shape()}, where));
    TS_ASSIGN_OR_RETURN(auto plan, (make_broadcast_plan<2>(out, {&a->shape(), &b->shape()}, where)));
    return with_8bit_type(ctx, a->dtype(), [&]<class T>() -> Status {
      const T* pa = a->data<T>();
      const T* pb = b->data<T>();
      T* pc = ctx.allocate_output_uninitialized(0, a->dtype(), out).template data<T>();
      // add: c = a * sa / sc + b * sb / sc; mul: c = a * b * (sa * sb / sc), on zero-point-free values.
      const float ra = qa.scale / qc.scale, rb = qb.scale / qc.scale, rm = qa.scale * qb.scale / qc.scale;
      int32_t lo = 0, hi = 0;
      int_range(a->dtype(), lo, hi);
      const int64_t sa = plan.inner_stride(0), sb = plan.inner_stride(1);
      for_each_run(plan, 0, plan.out_size, [&](const std::array<int64_t, 2>& off, int64_t o, int64_t len) {
        for (int64_t i = 0; i < len; ++i) {
          const float x = static_cast<float>(pa[off[0] + i * sa]) - qa.zero;
          const float y = static_cast<float>(pb[off[1] + i * sb]) - qb.zero;
          const float v = op_ == BinaryOp::add ? x * ra + y * rb : x * y * rm;
          pc[o + i] = static_cast<T>(round_clamp(std::nearbyint(v) + qc.zero, lo, hi));
        }
      });
      return Status::ok();
    });
  }

 private:
  BinaryOp op_;
};

enum class UnaryOp { sigmoid, leaky_relu };

class QLinearUnaryKernel final : public OpKernel {
 public:
  QLinearUnaryKernel(const KernelInfo& info, UnaryOp op)
      : op_(op), alpha_(op == UnaryOp::leaky_relu ? info.attr_float("alpha") : 0.0f) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    QParams qx, qy;
    TS_RETURN_IF_ERROR(read_qparams(ctx, 1, 2, x->dtype(), qx));
    TS_RETURN_IF_ERROR(read_qparams(ctx, 3, 4, x->dtype(), qy));
    return with_8bit_type(ctx, x->dtype(), [&]<class T>() -> Status {
      // One entry per code: the table costs 256 evaluations, whatever the tensor's size.
      T table[256];
      for (int c = 0; c < 256; ++c) {
        const float v = qx.scale * (table_code<T>(c) - qx.zero);
        const float f = op_ == UnaryOp::sigmoid ? 1.0f / (1.0f + std::exp(-v)) : (v >= 0.0f ? v : alpha_ * v);
        table[c] = quantize_value<T>(f, qy);
      }
      const T* in = x->data<T>();
      T* out = ctx.allocate_output_uninitialized(0, x->dtype(), x->shape()).template data<T>();
      for (int64_t i = 0; i < x->size(); ++i) out[i] = table[table_slot(in[i])];
      return Status::ok();
    });
  }

 private:
  UnaryOp op_;
  float alpha_;
};

template <class K, class Op>
KernelFactory factory(Op op) {
  return [op](const KernelInfo& info) -> Result<std::unique_ptr<OpKernel>> { return std::unique_ptr<OpKernel>(new K(info, op)); };
}

}  // namespace

void register_qlinear_elementwise(KernelRegistry& r) {
  r.add({"com.microsoft", "QLinearAdd", 1, 1, factory<QLinearBinaryKernel>(BinaryOp::add)});
  r.add({"com.microsoft", "QLinearMul", 1, 1, factory<QLinearBinaryKernel>(BinaryOp::mul)});
  r.add({"com.microsoft", "QLinearSigmoid", 1, 1, factory<QLinearUnaryKernel>(UnaryOp::sigmoid)});
  r.add({"com.microsoft", "QLinearLeakyRelu", 1, 1, factory<QLinearUnaryKernel>(UnaryOp::leaky_relu)});
}

}  // namespace tessera::quant
