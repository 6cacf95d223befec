// QuantizeLinear, DequantizeLinear (opset 10-25) and DynamicQuantizeLinear (opset 11).
//
// The scale (and zero point) is per tensor, per axis, or blocked along one axis; all three are
// handled by viewing x as [outer, dim, inner] around the quantization axis. Quantized outputs are
// the integer types (sub-byte ones stored one per byte), float8 and float4e2m1.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/quantization/quant_common.h"

namespace tessera {
namespace {

using quant::read_all;

bool is_float8(DataType t) {
  return t == DataType::float8e4m3fn || t == DataType::float8e4m3fnuz || t == DataType::float8e5m2 ||
         t == DataType::float8e5m2fnuz;
}

// Which scale element each x element uses: x is viewed as [outer, dim, inner] around the axis.
struct QuantLayout {
  enum class Kind { per_tensor, per_axis, blocked };
  Kind kind = Kind::per_tensor;
  int64_t outer = 1, dim = 1, inner = 1;
  int64_t block = 1, scale_dim = 1;  // blocked: block size, and the scale's size along the axis

  // Calls f(x_index, scale_index) for the elements of rows [begin, end) of [outer * dim, inner].
  template <class F>
  void for_rows(int64_t begin, int64_t end, F& f) const {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t base = row * inner;
      if (kind == Kind::per_tensor) {
        for (int64_t i = 0; i < inner; ++i) f(base + i, int64_t{0});
      } else if (kind == Kind::per_axis) {
        const int64_t a = row % dim;
        for (int64_t i = 0; i < inner; ++i) f(base + i, a);
      } else {
        const int64_t sbase = ((row / dim) * scale_dim + (row % dim) / block) * inner;
        for (int64_t i = 0; i < inner; ++i) f(base + i, sbase + i);
      }
    }
  }

  // Calls f(x_index, scale_index) for every element, split across the pool when large; f
  // must only write to data of its own element.
  template <class F>
  void for_each(ThreadPool& pool, F&& f) const {
    const int64_t rows = outer * dim;
    const int64_t min_rows = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, inner));
    if (rows <= 2 * min_rows || pool.size() == 1)
      for_rows(0, rows, f);
    else
      pool.parallel_for(rows, min_rows, [&](int64_t b, int64_t e) { for_rows(b, e, f); });
  }
};

Status make_layout(const KernelContext& ctx, const Tensor& x, const Tensor& scale, const Tensor* zero_point,
                   int64_t axis_attr, int64_t block_size, QuantLayout& layout) {
  if (zero_point && zero_point->shape() != scale.shape() && !(zero_point->size() == 1 && scale.size() == 1))
    return ctx.error("zero point shape ", shape_to_string(zero_point->shape()), " differs from scale shape ",
                     shape_to_string(scale.shape()));
  const int64_t rank = static_cast<int64_t>(x.rank());
  layout.dim = x.size();  // per tensor: rows of one element
  if (scale.size() == 1 && scale.rank() <= 1 && block_size <= 0) return Status::ok();
  int64_t axis = axis_attr < 0 ? axis_attr + rank : axis_attr;
  if (axis < 0 || axis >= rank) return ctx.error("axis ", axis_attr, " is out of range for input rank ", rank);
  layout.outer = 1;
  layout.inner = 1;
  for (int64_t a = 0; a < axis; ++a) layout.outer *= x.dim(a);
  for (int64_t a = axis + 1; a < rank; ++a) layout.inner *= x.dim(a);
  layout.dim = x.dim(axis);
  if (block_size <= 0) {
    if (scale.rank() != 1 || scale.dim(0) != layout.dim)
      return ctx.error("per-axis scale must be 1-D of length ", layout.dim, " (axis ", axis, "), got shape ",
                       shape_to_string(scale.shape()));
    layout.kind = QuantLayout::Kind::per_axis;
    return Status::ok();
  }
  bool ok = scale.rank() == x.rank();
  for (int64_t a = 0; ok && a < rank; ++a)
    ok = a == axis ? scale.dim(a) == (x.dim(a) + block_size - 1) / block_size : scale.dim(a) == x.dim(a);
  if (!ok)
    return ctx.error("blocked scale shape ", shape_to_string(scale.shape()), " does not fit input shape ",
                     shape_to_string(x.shape()), " with block_size ", block_size, " on axis ", axis);
  layout.kind = QuantLayout::Kind::blocked;
  layout.block = block_size;
  layout.scale_dim = scale.dim(axis);
  return Status::ok();
}

template <class C>
C round_to_precision(DataType p, C v) {
  if (p == DataType::float16) return round_to<float16_t>(v);
  if (p == DataType::bfloat16) return round_to<bfloat16_t>(v);
  return v;
}

class QuantizeLinearKernel final : public OpKernel {
 public:
  explicit QuantizeLinearKernel(const KernelInfo& info)
      : axis_(info.attr_int("axis", 1)),
        block_size_(info.attr_int("block_size")),
        saturate_(info.attr_int("saturate", 1) != 0),
        output_dtype_(static_cast<DataType>(info.attr_int("output_dtype"))),
        precision_(static_cast<DataType>(info.attr_int("precision"))) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* scale, ctx.required_input(1));
    const Tensor* zp = ctx.input(2);
    DataType out_type = output_dtype_;
    if (zp) {
      if (out_type != DataType::undefined && out_type != zp->dtype())
        return ctx.error("output_dtype ", dtype_name(out_type), " differs from the zero point type ",
                         dtype_name(zp->dtype()));
      out_type = zp->dtype();
    }
    if (out_type == DataType::undefined) out_type = DataType::uint8;
    QuantLayout layout;
    TS_RETURN_IF_ERROR(make_layout(ctx, *x, *scale, zp, axis_, block_size_, layout));
    // The division runs in the `precision` type, by default the scale's type: float arithmetic
    // rounded to 16 bits for float16/bfloat16, double for int32 inputs or double precision.
    const DataType precision = precision_ != DataType::undefined ? precision_ : scale->dtype();
    if (x->dtype() == DataType::int32 || precision == DataType::float64)
      return run<double>(ctx, *x, *scale, zp, out_type, layout, precision);
    return run<float>(ctx, *x, *scale, zp, out_type, layout, precision);
  }

 private:
  template <class C>
  Status run(KernelContext& ctx, const Tensor& x, const Tensor& scale, const Tensor* zp, DataType out_type,
             const QuantLayout& layout, DataType precision) const {
    const Node& where = ctx.node();  // described only on error
    std::vector<C> xs, ss;
    TS_RETURN_IF_ERROR(read_all(x, xs, where));
    TS_RETURN_IF_ERROR(read_all(scale, ss, where));
    if (precision == DataType::float16 || precision == DataType::bfloat16) {
      for (C& v : xs) v = round_to_precision(precision, v);
      for (C& v : ss) v = round_to_precision(precision, v);
    }
    auto quotient = [&](int64_t i, int64_t s) { return round_to_precision(precision, xs[i] / ss[s]); };
    Tensor& y = ctx.allocate_output(0, out_type, x.shape());

    int32_t lo = 0, hi = 0;
    if (quant::int_range(out_type, lo, hi) && out_type != DataType::int32) {
      std::vector<int32_t> zps;
      if (zp) TS_RETURN_IF_ERROR(read_all(*zp, zps, where));
      std::vector<int32_t> q(static_cast<size_t>(x.size()));
      layout.for_each(ctx.thread_pool(), [&](int64_t i, int64_t s) {
        const double r = std::nearbyint(static_cast<double>(quotient(i, s)));
        q[i] = quant::round_clamp(r + (zps.empty() ? 0 : zps[zps.size() == 1 ? 0 : s]), lo, hi);
      });
      quant::write_ints(y, q.data());
      return Status::ok();
    }
    uint8_t* out = static_cast<uint8_t*>(y.raw_data());
    if (is_float8(out_type)) {
      // A float8 zero point is zero by definition; only the scale applies.
      auto encode = out_type == DataType::float8e4m3fn     ? float_to_float8e4m3fn
                    : out_type == DataType::float8e4m3fnuz ? float_to_float8e4m3fnuz
                    : out_type == DataType::float8e5m2     ? float_to_float8e5m2
                                                           : float_to_float8e5m2fnuz;
      layout.for_each(ctx.thread_pool(), [&](int64_t i, int64_t s) { out[i] = encode(static_cast<float>(quotient(i, s)), saturate_); });
      return Status::ok();
    }
    if (out_type == DataType::float4e2m1) {
      std::vector<float> zps;
      if (zp) TS_RETURN_IF_ERROR(read_all(*zp, zps, where));
      layout.for_each(ctx.thread_pool(), [&](int64_t i, int64_t s) {
        const float v = static_cast<float>(quotient(i, s)) + (zps.empty() ? 0.0f : zps[zps.size() == 1 ? 0 : s]);
        out[i] = float_to_float4e2m1(v, true);
      });
      return Status::ok();
    }
    return ctx.error("cannot quantize to ", dtype_name(out_type));
  }

  int64_t axis_, block_size_;
  bool saturate_;
  DataType output_dtype_, precision_;
};

class DequantizeLinearKernel final : public OpKernel {
 public:
  explicit DequantizeLinearKernel(const KernelInfo& info)
      : axis_(info.attr_int("axis", 1)),
        block_size_(info.attr_int("block_size")),
        output_dtype_(static_cast<DataType>(info.attr_int("output_dtype"))) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* scale, ctx.required_input(1));
    const Tensor* zp = ctx.input(2);
    const Node& where = ctx.node();  // described only on error
    // float8 and float4 zero points carry no offset (they must be zero); integer ones must have
    // the type of x.
    const bool float_x = is_float8(x->dtype()) || x->dtype() == DataType::float4e2m1;
    if (zp && !float_x && zp->dtype() != x->dtype())
      return ctx.error("zero point type ", dtype_name(zp->dtype()), " differs from x type ", dtype_name(x->dtype()));
    DataType out_type = output_dtype_ != DataType::undefined ? output_dtype_ : scale->dtype();
    if (out_type == DataType::float8e8m0) out_type = DataType::float32;
    if ((kFloatTypes & type_bit(out_type)) == 0)
      return ctx.error("output type ", dtype_name(out_type), " is not float, float16, bfloat16 or double");
    QuantLayout layout;
    TS_RETURN_IF_ERROR(make_layout(ctx, *x, *scale, zp, axis_, block_size_, layout));

    std::vector<float> xs, ss, zps;
    TS_RETURN_IF_ERROR(read_all(*x, xs, where));
    TS_RETURN_IF_ERROR(read_all(*scale, ss, where));
    if (zp && !float_x) TS_RETURN_IF_ERROR(read_all(*zp, zps, where));
    std::vector<float> y(xs.size());
    layout.for_each(ctx.thread_pool(), [&](int64_t i, int64_t s) {
      y[i] = (xs[i] - (zps.empty() ? 0.0f : zps[zps.size() == 1 ? 0 : s])) * ss[s];
    });
    quant::write_floats(ctx.allocate_output(0, out_type, x->shape()), y.data());
    return Status::ok();
  }

 private:
  int64_t axis_, block_size_;
  DataType output_dtype_;
};

// y = saturate(round(x / scale) + zero_point) into uint8, with scale and zero point chosen so
// that [min(x, 0), max(x, 0)] maps onto [0, 255].
class DynamicQuantizeLinearKernel final : public OpKernel {
 public:
  explicit DynamicQuantizeLinearKernel(const KernelInfo&) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    std::vector<float> xs;
    TS_RETURN_IF_ERROR(read_all(*x, xs, ctx.node()));
    if ((kFloatTypes & type_bit(x->dtype())) == 0) return ctx.error("x must be a float tensor");
    float scale = 1.0f;
    uint8_t zp = 0;
    uint8_t* y = ctx.allocate_output(0, DataType::uint8, x->shape()).data<uint8_t>();
    quant::dynamic_quantize_uint8(xs.data(), x->size(), y, scale, zp);
    std::vector<float> scale_v = {scale};
    quant::write_floats(ctx.allocate_output(1, x->dtype(), {}), scale_v.data());
    ctx.allocate_output(2, DataType::uint8, {}).data<uint8_t>()[0] = zp;
    return Status::ok();
  }
};

}  // namespace

void register_quantization(KernelRegistry& r) {
  const KernelDef defs[] = {
      {"", "QuantizeLinear", 10, kLatestOnnxOpset, make_factory<QuantizeLinearKernel>()},
      {"", "DequantizeLinear", 10, kLatestOnnxOpset, make_factory<DequantizeLinearKernel>()},
      {"", "DynamicQuantizeLinear", 11, kLatestOnnxOpset, make_factory<DynamicQuantizeLinearKernel>()},
  };
  for (const KernelDef& def : defs) r.add(def);
  quant::register_quantized_linear(r);
}

}  // namespace tessera
