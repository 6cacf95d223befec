// Integer matrix products and convolutions on quantized tensors: MatMulInteger, QLinearMatMul
// (opset 10/21), ConvInteger and QLinearConv (opset 10). Operands are widened to int32 with
// their zero points subtracted, multiplied with int32 accumulation (wrapping, like the
// reference), and for the QLinear forms requantized with multiplier a_scale * b_scale / y_scale.
#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "core/broadcast_shapes.h"
#include "core/dispatch.h"
#include "graph/conv_geometry.h"
#include "providers/cpu/quantization/quant_common.h"

namespace tessera::quant {
namespace {

// ---- matrix products -----------------------------------------------------------------------

}  // namespace

Status plan_matmul(const KernelContext& ctx, const Shape& a, const Shape& b, MatMulPlan& p) {
  if (a.empty() || b.empty()) return ctx.error("matmul operands must have rank >= 1");
  Shape as = a.size() == 1 ? Shape{1, a[0]} : a;
  Shape bs = b.size() == 1 ? Shape{b[0], 1} : b;
  p.M = as[as.size() - 2];
  p.K = as.back();
  p.N = bs.back();
  if (bs[bs.size() - 2] != p.K)
    return ctx.error("matmul shapes ", shape_to_string(a), " and ", shape_to_string(b), " do not match");
  Shape ab(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);
  Result<Shape> broadcast = broadcast_shapes({&ab, &bb}, "");
  if (!broadcast.is_ok())
    return ctx.error("matmul batch dims of ", shape_to_string(a), " and ", shape_to_string(b), " do not broadcast");
  const Shape batch = std::move(broadcast).value();
  const size_t r = batch.size();
  ab.insert(ab.begin(), r - ab.size(), 1);
  bb.insert(bb.begin(), r - bb.size(), 1);
  p.a_mats = shape_size(ab);
  p.b_mats = shape_size(bb);
  const int64_t count = shape_size(batch);
  p.a_batch.resize(static_cast<size_t>(count));
  p.b_batch.resize(static_cast<size_t>(count));
  for (int64_t o = 0; o < count; ++o) {
    int64_t rem = o, ai = 0, bi = 0, astride = 1, bstride = 1;
    for (size_t d = r; d-- > 0;) {
      const int64_t idx = rem % batch[d];
      rem /= batch[d];
      ai += (ab[d] == 1 ? 0 : idx) * astride;
      bi += (bb[d] == 1 ? 0 : idx) * bstride;
      astride *= ab[d];
      bstride *= bb[d];
    }
    p.a_batch[o] = ai;
    p.b_batch[o] = bi;
  }
  p.out = batch;
  if (a.size() > 1) p.out.push_back(p.M);
  if (b.size() > 1) p.out.push_back(p.N);
  return Status::ok();
}

namespace {

// Zero point of A: scalar, per row (M values) or per matrix and row; of B: scalar, per column
// (N values) or per matrix and column. Returns the values expanded to [mats, rows_or_cols].
Status expand_zero_point(const KernelContext& ctx, const Tensor* zp, DataType x_type, int64_t mats, int64_t len,
                         std::vector<int32_t>& out) {
  out.assign(static_cast<size_t>(mats * len), 0);
  if (!zp) return Status::ok();
  if (zp->dtype() != x_type)
    return ctx.error("zero point type ", dtype_name(zp->dtype()), " differs from its input's ", dtype_name(x_type));
  std::vector<int32_t> v;
  TS_RETURN_IF_ERROR(read_all(*zp, v, ctx.node()));
  if (v.size() == 1) {
    std::fill(out.begin(), out.end(), v[0]);
  } else if (static_cast<int64_t>(v.size()) == len) {
    for (int64_t m = 0; m < mats; ++m) std::copy(v.begin(), v.end(), out.begin() + m * len);
  } else if (static_cast<int64_t>(v.size()) == mats * len) {
    out = v;
  } else {
    return ctx.error("zero point of shape ", shape_to_string(zp->shape()), " does not fit ", len, " rows or columns");
  }
  return Status::ok();
}

}  // namespace

Status int_matmul(const KernelContext& ctx, const Tensor& a, const Tensor* a_zp, const Tensor& b, const Tensor* b_zp,
                  MatMulPlan& p, std::vector<int32_t>& acc) {
  TS_RETURN_IF_ERROR(plan_matmul(ctx, a.shape(), b.shape(), p));
  std::vector<int32_t> av, bv, az, bz;
  TS_RETURN_IF_ERROR(read_all(a, av, ctx.node()));
  TS_RETURN_IF_ERROR(read_all(b, bv, ctx.node()));
  TS_RETURN_IF_ERROR(expand_zero_point(ctx, a_zp, a.dtype(), p.a_mats, p.M, az));
  TS_RETURN_IF_ERROR(expand_zero_point(ctx, b_zp, b.dtype(), p.b_mats, p.N, bz));
  for (int64_t m = 0; m < p.a_mats; ++m)
    for (int64_t i = 0; i < p.M; ++i)
      for (int64_t k = 0; k < p.K; ++k) av[(m * p.M + i) * p.K + k] -= az[m * p.M + i];
  for (int64_t m = 0; m < p.b_mats; ++m)
    for (int64_t k = 0; k < p.K; ++k)
      for (int64_t j = 0; j < p.N; ++j) bv[(m * p.K + k) * p.N + j] -= bz[m * p.N + j];
  const int64_t batches = static_cast<int64_t>(p.a_batch.size());
  acc.assign(static_cast<size_t>(batches * p.M * p.N), 0);
  std::vector<uint32_t> row(static_cast<size_t>(p.N));
  for (int64_t o = 0; o < batches; ++o) {
    const int32_t* A = av.data() + p.a_batch[o] * p.M * p.K;
    const int32_t* B = bv.data() + p.b_batch[o] * p.K * p.N;
    for (int64_t i = 0; i < p.M; ++i) {
      std::fill(row.begin(), row.end(), 0u);
      for (int64_t k = 0; k < p.K; ++k) {
        const uint32_t aik = static_cast<uint32_t>(A[i * p.K + k]);
        const int32_t* brow = B + k * p.N;
        for (int64_t j = 0; j < p.N; ++j) row[j] += aik * static_cast<uint32_t>(brow[j]);
      }
      int32_t* dst = acc.data() + (o * p.M + i) * p.N;
      for (int64_t j = 0; j < p.N; ++j) dst[j] = static_cast<int32_t>(row[j]);
    }
  }
  return Status::ok();
}

namespace {

class MatMulIntegerKernel final : public OpKernel {
 public:
  explicit MatMulIntegerKernel(const KernelInfo&) {}
  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* a, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* b, ctx.required_input(1));
    if (!is_8bit(a->dtype()) || !is_8bit(b->dtype())) return ctx.error("A and B must be int8 or uint8");
    MatMulPlan p;
    std::vector<int32_t> acc;
    TS_RETURN_IF_ERROR(int_matmul(ctx, *a, ctx.input(2), *b, ctx.input(3), p, acc));
    write_ints(ctx.allocate_output(0, DataType::int32, p.out), acc.data());
    return Status::ok();
  }
};

// The requantization multiplier a_scale * b_scale / y_scale, computed (and rounded) in the type
// of the scales, like the reference.
double multiplier(DataType scale_type, double a, double b, double y) {
  if (scale_type == DataType::float64) return a * b / y;
  auto round = [&](double v) -> double {
    if (scale_type == DataType::float16) return round_to<float16_t>(v);
    if (scale_type == DataType::bfloat16) return round_to<bfloat16_t>(v);
    return round_to<float>(v);
  };
  return round(round(a * b) / y);
}

class QLinearMatMulKernel final : public OpKernel {
 public:
  explicit QLinearMatMulKernel(const KernelInfo&) {}
  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* a, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* a_scale, ctx.required_input(1));
    TS_ASSIGN_OR_RETURN(const Tensor* b, ctx.required_input(3));
    TS_ASSIGN_OR_RETURN(const Tensor* b_scale, ctx.required_input(4));
    TS_ASSIGN_OR_RETURN(const Tensor* y_scale, ctx.required_input(6));
    const Tensor* y_zp = ctx.input(7);
    if (!is_8bit(a->dtype()) || !is_8bit(b->dtype())) return ctx.error("a and b must be int8 or uint8");
    MatMulPlan p;
    std::vector<int32_t> acc;
    TS_RETURN_IF_ERROR(int_matmul(ctx, *a, ctx.input(2), *b, ctx.input(5), p, acc));
    std::vector<double> as, bs, ys, yz;
    const Node& where = ctx.node();  // described only on error
    TS_RETURN_IF_ERROR(read_all(*a_scale, as, where));
    TS_RETURN_IF_ERROR(read_all(*b_scale, bs, where));
    TS_RETURN_IF_ERROR(read_all(*y_scale, ys, where));
    if (y_zp) TS_RETURN_IF_ERROR(read_all(*y_zp, yz, where));
    if (ys.size() != 1 || yz.size() > 1) return ctx.error("y_scale and y_zero_point must be scalars");
    const bool a_rows = as.size() != 1, b_cols = bs.size() != 1;
    if ((a_rows && static_cast<int64_t>(as.size()) != p.M) || (b_cols && static_cast<int64_t>(bs.size()) != p.N))
      return ctx.error("a_scale must have 1 or ", p.M, " elements and b_scale 1 or ", p.N);
    const DataType out_type = y_zp ? y_zp->dtype() : a->dtype();
    int32_t lo = 0, hi = 0;
    if (!is_8bit(out_type) || !int_range(out_type, lo, hi)) return ctx.error("y_zero_point must be int8 or uint8");
    const double zp = yz.empty() ? 0.0 : yz[0];
    const int64_t batches = static_cast<int64_t>(p.a_batch.size());
    std::vector<int32_t> q(acc.size());
    for (int64_t o = 0; o < batches; ++o)
      for (int64_t i = 0; i < p.M; ++i)
        for (int64_t j = 0; j < p.N; ++j) {
          const double m = multiplier(a_scale->dtype(), as[a_rows ? i : 0], bs[b_cols ? j : 0], ys[0]);
          const int64_t idx = (o * p.M + i) * p.N + j;
          q[idx] = round_clamp(static_cast<double>(acc[idx]) * m + zp, lo, hi);
        }
    write_ints(ctx.allocate_output(0, out_type, p.out), q.data());
    return Status::ok();
  }
};

// ---- convolutions --------------------------------------------------------------------------

// Geometry of an N-D convolution of x [N, C, spatial...] with w [M, C/group, kernel...].
struct ConvGeom {
  int64_t batch = 0, in_ch = 0, out_ch = 0, group = 1;
  Shape in, kernel, out, stride, dilation, pad_begin;
};

Result<ConvGeom> conv_geom(const KernelContext& ctx, const ConvAttributes& attrs, const Shape& x, const Shape& w) {
  if (x.size() < 3 || w.size() != x.size())
    return ctx.error("x ", shape_to_string(x), " and w ", shape_to_string(w), " must have the same rank >= 3");
  ConvGeom g;
  g.batch = x[0];
  g.in_ch = x[1];
  g.out_ch = w[0];
  g.group = attrs.group;
  if (g.in_ch % g.group != 0 || g.out_ch % g.group != 0 || w[1] != g.in_ch / g.group)
    return ctx.error("channels of x ", shape_to_string(x), " and w ", shape_to_string(w), " do not fit group ", g.group);
  auto r = window_geometry(attrs, std::vector<int64_t>(x.begin() + 2, x.end()), std::vector<int64_t>(w.begin() + 2, w.end()));
  if (!r.is_ok()) return r.status().with_context(ctx.node().describe());
  g.in = r->input;
  g.kernel = r->kernel;
  g.out = r->output;
  g.stride = r->stride;
  g.dilation = r->dilation;
  g.pad_begin = r->pad_begin;
  return g;
}

// y[n, m, o...] = bias[m] + sum over the group's channels and the kernel of x * w (int32, wrapping).
void int_conv(const ConvGeom& g, const int32_t* x, const int32_t* w, const int32_t* bias, int32_t* y) {
  const size_t nd = g.in.size();
  const int64_t in_sz = shape_size(g.in), out_sz = shape_size(g.out), k_sz = shape_size(g.kernel);
  const int64_t cpg = g.in_ch / g.group, mpg = g.out_ch / g.group;
  std::vector<int64_t> opos(nd), kpos(nd);
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t m = 0; m < g.out_ch; ++m) {
      const int64_t grp = m / mpg;
      for (int64_t o = 0; o < out_sz; ++o) {
        for (int64_t r = o, d = static_cast<int64_t>(nd) - 1; d >= 0; --d) {
          opos[d] = r % g.out[d];
          r /= g.out[d];
        }
        uint32_t sum = bias ? static_cast<uint32_t>(bias[m]) : 0u;
        for (int64_t k = 0; k < k_sz; ++k) {
          int64_t off = 0;
          bool inside = true;
          for (int64_t r = k, d = static_cast<int64_t>(nd) - 1; d >= 0; --d) {
            kpos[d] = r % g.kernel[d];
            r /= g.kernel[d];
          }
          for (size_t d = 0; d < nd && inside; ++d) {
            const int64_t ip = opos[d] * g.stride[d] - g.pad_begin[d] + kpos[d] * g.dilation[d];
            inside = ip >= 0 && ip < g.in[d];
            off = off * g.in[d] + ip;
          }
          if (!inside) continue;
          for (int64_t c = 0; c < cpg; ++c) {
            const int64_t ch = grp * cpg + c;
            sum += static_cast<uint32_t>(x[(n * g.in_ch + ch) * in_sz + off]) *
                   static_cast<uint32_t>(w[(m * cpg + c) * k_sz + k]);
          }
        }
        y[(n * g.out_ch + m) * out_sz + o] = static_cast<int32_t>(sum);
      }
    }
}

// Widens x and w to int32 minus their zero points (x: scalar; w: scalar or per output channel).
Status conv_operands(const KernelContext& ctx, const Tensor& x, const Tensor* x_zp, const Tensor& w,
                     const Tensor* w_zp, std::vector<int32_t>& xv, std::vector<int32_t>& wv) {
  const Node& where = ctx.node();  // described only on error
  if (!is_8bit(x.dtype()) || !is_8bit(w.dtype())) return ctx.error("x and w must be int8 or uint8");
  TS_RETURN_IF_ERROR(read_all(x, xv, where));
  TS_RETURN_IF_ERROR(read_all(w, wv, where));
  std::vector<int32_t> z;
  if (x_zp) {
    TS_RETURN_IF_ERROR(read_all(*x_zp, z, where));
    if (z.size() != 1) return ctx.error("x_zero_point must be a scalar");
    for (int32_t& v : xv) v -= z[0];
  }
  if (w_zp) {
    TS_RETURN_IF_ERROR(read_all(*w_zp, z, where));
    const int64_t m = w.dim(0), per = w.size() / std::max<int64_t>(1, m);
    if (z.size() != 1 && static_cast<int64_t>(z.size()) != m)
      return ctx.error("w_zero_point must be a scalar or have one value per output channel (", m, ")");
    for (int64_t i = 0; i < w.size(); ++i) wv[i] -= z[z.size() == 1 ? 0 : i / per];
  }
  return Status::ok();
}

class ConvIntegerKernel final : public OpKernel {
 public:
  explicit ConvIntegerKernel(ConvAttributes attrs) : attrs_(std::move(attrs)) {}
  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* w, ctx.required_input(1));
    TS_ASSIGN_OR_RETURN(const ConvGeom g, conv_geom(ctx, attrs_, x->shape(), w->shape()));
    std::vector<int32_t> xv, wv;
    TS_RETURN_IF_ERROR(conv_operands(ctx, *x, ctx.input(2), *w, ctx.input(3), xv, wv));
    Shape out = {g.batch, g.out_ch};
    out.insert(out.end(), g.out.begin(), g.out.end());
    int_conv(g, xv.data(), wv.data(), nullptr, ctx.allocate_output(0, DataType::int32, out).data<int32_t>());
    return Status::ok();
  }

 private:
  ConvAttributes attrs_;
};

class QLinearConvKernel final : public OpKernel {
 public:
  explicit QLinearConvKernel(ConvAttributes attrs) : attrs_(std::move(attrs)) {}
  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* x_scale, ctx.required_input(1));
    TS_ASSIGN_OR_RETURN(const Tensor* w, ctx.required_input(3));
    TS_ASSIGN_OR_RETURN(const Tensor* w_scale, ctx.required_input(4));
    TS_ASSIGN_OR_RETURN(const Tensor* y_scale, ctx.required_input(6));
    const Tensor* y_zp = ctx.input(7);
    const Tensor* bias = ctx.input(8);
    TS_ASSIGN_OR_RETURN(const ConvGeom g, conv_geom(ctx, attrs_, x->shape(), w->shape()));
    std::vector<int32_t> xv, wv, bv;
    TS_RETURN_IF_ERROR(conv_operands(ctx, *x, ctx.input(2), *w, ctx.input(5), xv, wv));
    const Node& where = ctx.node();  // described only on error
    if (bias) {
      if (bias->dtype() != DataType::int32 || bias->size() != g.out_ch)
        return ctx.error("B must be int32 with one value per output channel (", g.out_ch, ")");
      TS_RETURN_IF_ERROR(read_all(*bias, bv, where));
    }
    std::vector<double> xs, ws, ys, yz;
    TS_RETURN_IF_ERROR(read_all(*x_scale, xs, where));
    TS_RETURN_IF_ERROR(read_all(*w_scale, ws, where));
    TS_RETURN_IF_ERROR(read_all(*y_scale, ys, where));
    if (y_zp) TS_RETURN_IF_ERROR(read_all(*y_zp, yz, where));
    if (xs.size() != 1 || ys.size() != 1 || yz.size() > 1)
      return ctx.error("x_scale, y_scale and y_zero_point must be scalars");
    if (ws.size() != 1 && static_cast<int64_t>(ws.size()) != g.out_ch)
      return ctx.error("w_scale must be a scalar or have one value per output channel (", g.out_ch, ")");
    const DataType out_type = y_zp ? y_zp->dtype() : x->dtype();
    int32_t lo = 0, hi = 0;
    if (!is_8bit(out_type) || !int_range(out_type, lo, hi)) return ctx.error("y_zero_point must be int8 or uint8");

    Shape out = {g.batch, g.out_ch};
    out.insert(out.end(), g.out.begin(), g.out.end());
    std::vector<int32_t> acc(static_cast<size_t>(shape_size(out)));
    int_conv(g, xv.data(), wv.data(), bias ? bv.data() : nullptr, acc.data());
    const int64_t out_sz = shape_size(g.out);
    const double zp = yz.empty() ? 0.0 : yz[0];
    for (int64_t i = 0; i < static_cast<int64_t>(acc.size()); ++i) {
      const int64_t m = (i / out_sz) % g.out_ch;
      const double mult = multiplier(x_scale->dtype(), xs[0], ws[ws.size() == 1 ? 0 : m], ys[0]);
      acc[i] = round_clamp(static_cast<double>(acc[i]) * mult + zp, lo, hi);
    }
    write_ints(ctx.allocate_output(0, out_type, out), acc.data());
    return Status::ok();
  }

 private:
  ConvAttributes attrs_;
};

template <class K>
Result<std::unique_ptr<OpKernel>> conv_factory(const KernelInfo& info) {
  TS_ASSIGN_OR_RETURN(ConvAttributes attrs, parse_conv_attributes(info.node()));
  return std::unique_ptr<OpKernel>(new K(std::move(attrs)));
}

}  // namespace

void register_quantized_linear(KernelRegistry& r) {
  const KernelDef defs[] = {
      {"", "MatMulInteger", 10, kLatestOnnxOpset, make_factory<MatMulIntegerKernel>()},
      {"", "QLinearMatMul", 10, kLatestOnnxOpset, make_factory<QLinearMatMulKernel>()},
      {"", "ConvInteger", 10, kLatestOnnxOpset, conv_factory<ConvIntegerKernel>},
      {"", "QLinearConv", 10, kLatestOnnxOpset, conv_factory<QLinearConvKernel>},
  };
  for (const KernelDef& def : defs) r.add(def);
}

}  // namespace tessera::quant
