// com.microsoft's quantized (uint8 / int8) ops that reduce or gather along an axis:
//   QLinearGlobalAveragePool(X, x_scale, x_zp, y_scale, y_zp) {channels_last}: the mean of each
//     channel's spatial values, [N, C, 1...] (or [N, 1..., C] channels last);
//   QLinearConcat(Y_scale, Y_zp, (X, X_scale, X_zp)...) {axis}: each X requantized to Y's scale and
//     zero point (a 256-entry table per input; a copy when they are equal), then concatenated;
//   QLinearSoftmax(X, X_scale, x_zp, y_scale, y_zp) {axis, opset}: softmax of the dequantized
//     values, over the flattened dims from `axis` on (opset < 13) or along `axis` (opset >= 13).
// Float math, round half to even, saturation.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "providers/cpu/quantization/microsoft_quant.h"
#include "providers/cpu/quantization/quant_common.h"

namespace tessera::quant {
namespace {

class QLinearGlobalAveragePoolKernel final : public OpKernel {
 public:
  explicit QLinearGlobalAveragePoolKernel(const KernelInfo& info) : channels_last_(info.attr_int("channels_last") != 0) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    QParams qx, qy;
    TS_RETURN_IF_ERROR(read_qparams(ctx, 1, 2, x->dtype(), qx));
    TS_RETURN_IF_ERROR(read_qparams(ctx, 3, 4, x->dtype(), qy));
    if (x->rank() < 3) return ctx.error("X ", shape_to_string(x->shape()), " must have rank >= 3");
    const Shape& s = x->shape();
    const int64_t batch = s[0], channels = channels_last_ ? s.back() : s[1];
    const int64_t spatial = x->size() / std::max<int64_t>(1, batch * channels);
    Shape out(s.size(), 1);
    out[0] = batch;
    out[channels_last_ ? s.size() - 1 : 1] = channels;
    return with_8bit_type(ctx, x->dtype(), [&]<class T>() -> Status {
      const T* in = x->data<T>();
      T* y = ctx.allocate_output_uninitialized(0, x->dtype(), out).template data<T>();
      // mean = x_scale * (sum - x_zp * S) / S, requantized: one multiplier per tensor.
      const float mult = qx.scale / (qy.scale * static_cast<float>(spatial));
      const int32_t zero_sum = static_cast<int32_t>(qx.zero) * static_cast<int32_t>(spatial);
      int32_t lo = 0, hi = 0;
      int_range(x->dtype(), lo, hi);
      for (int64_t n = 0; n < batch; ++n)
        for (int64_t c = 0; c < channels; ++c) {
          int32_t sum = 0;
          if (channels_last_) {
            for (int64_t i = 0; i < spatial; ++i) sum += in[(n * spatial + i) * channels + c];
          } else {
            const T* p = in + (n * channels + c) * spatial;
            for (int64_t i = 0; i < spatial; ++i) sum += p[i];
          }
          const float v = static_cast<float>(sum - zero_sum) * mult;
          y[n * channels + c] = static_cast<T>(round_clamp(std::nearbyint(v) + qy.zero, lo, hi));
        }
      return Status::ok();
    });
  }

 private:
  bool channels_last_;
};

class QLinearConcatKernel final : public OpKernel {
 public:
  explicit QLinearConcatKernel(const KernelInfo& info) : axis_(info.attr_int("axis")) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* y_zp, ctx.required_input(1));
    const DataType type = y_zp->dtype();
    QParams qy;
    TS_RETURN_IF_ERROR(read_qparams(ctx, 0, 1, type, qy));
    if (ctx.input_count() < 5 || (ctx.input_count() - 2) % 3 != 0)
      return ctx.error("inputs after Y_scale and Y_zero_point must be (X, X_scale, X_zero_point) triples, got ",
                       ctx.input_count() - 2);
    std::vector<const Tensor*> xs;
    for (size_t i = 2; i < ctx.input_count(); i += 3) {
      TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(i));
      if (x->dtype() != type) return ctx.error("input ", i, " is ", dtype_name(x->dtype()), ", Y_zero_point ", dtype_name(type));
      xs.push_back(x);
    }
    const Shape& first = xs[0]->shape();
    const int64_t rank = static_cast<int64_t>(first.size());
    if (axis_ < -rank || axis_ >= rank) return ctx.error("axis ", axis_, " is out of range for rank ", rank);
    const size_t axis = static_cast<size_t>(axis_ < 0 ? axis_ + rank : axis_);
    Shape out = first;
    out[axis] = 0;
    for (size_t k = 0; k < xs.size(); ++k) {
      const Shape& s = xs[k]->shape();
      bool fits = s.size() == first.size();
      for (size_t d = 0; fits && d < s.size(); ++d) fits = d == axis || s[d] == first[d];
      if (!fits)
        return ctx.error("input ", 2 + 3 * k, " ", shape_to_string(s), " does not fit ", shape_to_string(first),
                         " outside axis ", axis);
      out[axis] += s[axis];
    }
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < axis; ++d) outer *= first[d];
    for (size_t d = axis + 1; d < first.size(); ++d) inner *= first[d];
    return with_8bit_type(ctx, type, [&]<class T>() -> Status {
      T* y = ctx.allocate_output_uninitialized(0, type, out).template data<T>();
      const int64_t row = out[axis] * inner;
      int64_t offset = 0;
      for (size_t k = 0; k < xs.size(); ++k) {
        QParams qx;
        TS_RETURN_IF_ERROR(read_qparams(ctx, 3 + 3 * k, 4 + 3 * k, type, qx));
        const bool same = qx.scale == qy.scale && qx.zero == qy.zero;
        T table[256];
        for (int c = 0; c < 256 && !same; ++c) table[c] = quantize_value<T>((table_code<T>(c) - qx.zero) * qx.scale, qy);
        const T* in = xs[k]->data<T>();
        const int64_t chunk = xs[k]->dim(axis) * inner;
        for (int64_t o = 0; o < outer; ++o) {
          const T* src = in + o * chunk;
          T* dst = y + o * row + offset;
          if (same) {
            std::memcpy(dst, src, static_cast<size_t>(chunk) * sizeof(T));
          } else {
            for (int64_t i = 0; i < chunk; ++i) dst[i] = table[table_slot(src[i])];
          }
        }
        offset += chunk;
      }
      return Status::ok();
    });
  }

 private:
  int64_t axis_;
};

class QLinearSoftmaxKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    TS_ASSIGN_OR_RETURN(const int64_t opset, info.required_int("opset"));
    return std::unique_ptr<OpKernel>(new QLinearSoftmaxKernel(info.attr_int("axis"), opset));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    QParams qx, qy;
    TS_RETURN_IF_ERROR(read_qparams(ctx, 1, 2, x->dtype(), qx));  // x's zero point cancels out
    TS_RETURN_IF_ERROR(read_qparams(ctx, 3, 4, x->dtype(), qy));
    const int64_t rank = static_cast<int64_t>(x->rank());
    if (rank == 0) return ctx.error("X must have rank >= 1");
    if (axis_ < -rank || axis_ >= rank) return ctx.error("axis ", axis_, " is out of range for rank ", rank);
    const size_t axis = static_cast<size_t>(axis_ < 0 ? axis_ + rank : axis_);
    // Rows of `len` elements `inner` apart: opset < 13 flattens the dims from axis on into one row.
    int64_t outer = 1, len = 1, inner = 1;
    for (size_t d = 0; d < x->rank(); ++d) {
      const int64_t dim = x->dim(d);
      if (d < axis) outer *= dim;
      else if (d == axis || opset_ < 13) len *= dim;
      else inner *= dim;
    }
    return with_8bit_type(ctx, x->dtype(), [&]<class T>() -> Status {
      const T* in = x->data<T>();
      T* y = ctx.allocate_output_uninitialized(0, x->dtype(), x->shape()).template data<T>();
      // exp of each code's distance below the row's largest code, from a table of the 256 codes.
      std::vector<float> e(static_cast<size_t>(len));
      float exp_table[256];
      for (int c = 0; c < 256; ++c) exp_table[c] = std::exp(-qx.scale * static_cast<float>(c));
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t in_i = 0; in_i < inner; ++in_i) {
          const T* src = in + o * len * inner + in_i;
          T* dst = y + o * len * inner + in_i;
          int top = -256;
          for (int64_t i = 0; i < len; ++i) top = std::max<int>(top, src[i * inner]);
          float sum = 0.0f;
          for (int64_t i = 0; i < len; ++i) sum += e[i] = exp_table[top - static_cast<int>(src[i * inner])];
          for (int64_t i = 0; i < len; ++i) dst[i * inner] = quantize_value<T>(e[i] / sum, qy);
        }
      return Status::ok();
    });
  }

 private:
  QLinearSoftmaxKernel(int64_t axis, int64_t opset) : axis_(axis), opset_(opset) {}
  int64_t axis_, opset_;
};

}  // namespace

void register_qlinear_tensor_ops(KernelRegistry& r) {
  r.add({"com.microsoft", "QLinearGlobalAveragePool", 1, 1, make_factory<QLinearGlobalAveragePoolKernel>()});
  r.add({"com.microsoft", "QLinearConcat", 1, 1, make_factory<QLinearConcatKernel>()});
  r.add({"com.microsoft", "QLinearSoftmax", 1, 1, QLinearSoftmaxKernel::create});
}

}  // namespace tessera::quant
