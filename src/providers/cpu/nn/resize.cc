// Resize (opsets 10, 11, 13, 18, 19) and Upsample (7, 9), following the ONNX reference
// (reference/ops/op_resize.py): interpolation is separable, so each resized axis gets a table of
// (source index, weight) windows per output position, built once per run in double precision.
// Nearest mode is a pure gather on the element type (any type, no float round trip); linear and
// cubic run one pass per axis in float (double for double and wide integers).
// Before opset 11 the coordinate mode is asymmetric and nearest rounds down when upsampling and
// up when downsampling, as ONNX Runtime does (the reference has no opset-10 variant).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/reduction/reduce_common.h"
#include "providers/cpu/microkernels/vector_math.h"

namespace tessera {
namespace {

using namespace reduce_impl;

enum class Mode { nearest, linear, cubic };
enum class Coord { half_pixel, half_pixel_symmetric, pytorch_half_pixel, align_corners, asymmetric, tf_crop_and_resize, tf_half_pixel_for_nn };
enum class Nearest { round_prefer_floor, round_prefer_ceil, floor, ceil, simple };
enum class Policy { stretch, not_larger, not_smaller };
// Output sizes computed in double are refused from here on, before converting to int64.
constexpr double kLargestSize = 0x1p62;

struct ResizeParams {
  Mode mode = Mode::nearest;
  Coord coord = Coord::half_pixel;
  Nearest nearest = Nearest::round_prefer_floor;
  Policy policy = Policy::stretch;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  bool antialias = false;
  double extrapolation = 0.0;
};

// Windows of source indices (clamped to the axis) and weights, `window` per output position.
struct AxisTable {
  int64_t in = 0, out = 0;
  int window = 0;
  std::vector<int64_t> idx;
  std::vector<double> w;
  std::vector<uint8_t> extrapolated;  // tf_crop_and_resize positions outside the input
};

void coefficients(const ResizeParams& p, double ratio, double scale, std::vector<double>& c) {
  c.clear();
  switch (p.mode) {
    case Mode::nearest: {
      if (ratio == 1.0) {  // source coordinate is a whole number: take it
        c = {0, 1};
        return;
      }
      Nearest nm = p.nearest;
      if (nm == Nearest::simple) nm = scale < 1.0 ? Nearest::ceil : Nearest::floor;
      switch (nm) {
        case Nearest::round_prefer_floor: c = {double(ratio <= 0.5), double(ratio > 0.5)}; break;
        case Nearest::round_prefer_ceil: c = {double(ratio < 0.5), double(ratio >= 0.5)}; break;
        case Nearest::floor: c = {1, 0}; break;
        default: c = {0, 1}; break;
      }
      return;
    }
    case Mode::linear: {
      if (!p.antialias) {
        c = {1 - ratio, ratio};
        return;
      }
      const double s = std::min(scale, 1.0);
      const int64_t start = static_cast<int64_t>(std::floor(-1.0 / s) + 1);
      const int64_t footprint = 2 - 2 * start;
      double sum = 0;
      for (int64_t i = 0; i < footprint; ++i) {
        double v = std::clamp(1 - std::fabs((static_cast<double>(start + i) - ratio) * s), 0.0, 1.0);
        c.push_back(v);
        sum += v;
      }
      for (double& v : c) v /= sum;
      return;
    }
    case Mode::cubic: {
      const double A = p.cubic_a;
      if (!p.antialias) {
        const double r1 = ratio + 1, q = 1 - ratio, q1 = q + 1;
        c = {((A * r1 - 5 * A) * r1 + 8 * A) * r1 - 4 * A, ((A + 2) * ratio - (A + 3)) * ratio * ratio + 1,
             ((A + 2) * q - (A + 3)) * q * q + 1, ((A * q1 - 5 * A) * q1 + 8 * A) * q1 - 4 * A};
        return;
      }
      const double s = std::min(scale, 1.0);
      const int64_t i_start = static_cast<int64_t>(std::floor(-2.0 / s) + 1), i_end = 2 - i_start;
      double sum = 0;
      for (int64_t i = i_start; i < i_end; ++i) {
        const double x = std::fabs(s * (static_cast<double>(i) - ratio)), x2 = x * x, x3 = x * x2;
        double v = x <= 1 ? (A + 2) * x3 - (A + 3) * x2 + 1 : x < 2 ? A * x3 - 5 * A * x2 + 8 * A * x - 4 * A : 0.0;
        c.push_back(v);
        sum += v;
      }
      for (double& v : c) v /= sum;
      return;
    }
  }
}

AxisTable build_axis(const ResizeParams& p, int64_t in, int64_t out, double scale, double roi0, double roi1) {
  AxisTable t;
  t.in = in;
  t.out = out;
  t.extrapolated.assign(static_cast<size_t>(out), 0);
  const double in_d = static_cast<double>(in);
  const double out_w = scale * in_d;  // the reference's (possibly fractional) output width
  std::vector<double> c;
  for (int64_t y = 0; y < out; ++y) {
    const double yd = static_cast<double>(y);
    double x = 0;
    switch (p.coord) {
      case Coord::align_corners: x = out_w == 1 ? 0.0 : yd * (in_d - 1) / (out_w - 1); break;
      case Coord::asymmetric: x = yd / scale; break;
      case Coord::tf_crop_and_resize:
        x = out_w == 1 ? (roi1 - roi0) * (in_d - 1) / 2 : yd * (roi1 - roi0) * (in_d - 1) / (out_w - 1);
        x += roi0 * (in_d - 1);
        t.extrapolated[static_cast<size_t>(y)] = x < 0 || x > in_d - 1;
        break;
      case Coord::pytorch_half_pixel: x = out_w == 1 ? -0.5 : (yd + 0.5) / scale - 0.5; break;
      case Coord::half_pixel: x = (yd + 0.5) / scale - 0.5; break;
      case Coord::half_pixel_symmetric: {
        const double adjustment = static_cast<double>(out) / out_w;
        const double offset = in_d / 2 * (1 - adjustment);
        x = offset + (yd + 0.5) / scale - 0.5;
        break;
      }
      case Coord::tf_half_pixel_for_nn: x = (yd + 0.5) / scale; break;
    }
    const double xf = std::floor(x);
    const double ratio = x == xf ? 1.0 : x - xf;  // in (0, 1]: prefer the left neighbour
    coefficients(p, ratio, scale, c);
    const int n = static_cast<int>(c.size());
    if (y == 0) {
      t.window = n;
      t.idx.resize(static_cast<size_t>(out * n));
      t.w.resize(static_cast<size_t>(out * n));
    }
    // The n indices nearest to x (ties to the smaller), as the reference picks them.
    const int64_t pad = (n + 1) / 2;
    const double xp = x + static_cast<double>(pad);
    const double pf = std::floor(xp), frac = xp - pf;
    int64_t off;
    if (n % 2 == 0) {
      off = frac == 0 ? -(n / 2) : -(n / 2) + 1;
    } else {
      const int64_t base = -((n - 1) / 2);
      off = frac <= 0.5 ? base : base + 1;
    }
    const int64_t start = static_cast<int64_t>(pf) + off - pad;
    if (p.exclude_outside) {
      double sum = 0;
      for (int k = 0; k < n; ++k) {
        if (start + k < 0 || start + k >= in) c[static_cast<size_t>(k)] = 0;
        sum += c[static_cast<size_t>(k)];
      }
      if (sum == 0) sum = 1;
      for (double& v : c) v /= sum;
    }
    for (int k = 0; k < n; ++k) {
      t.idx[static_cast<size_t>(y * n + k)] = std::clamp<int64_t>(start + k, 0, in - 1);
      t.w[static_cast<size_t>(y * n + k)] = c[static_cast<size_t>(k)];
    }
  }
  return t;
}

// The element a nearest window selects (its weight-1 entry).
int64_t nearest_index(const AxisTable& t, int64_t y) {
  for (int k = 0; k < t.window; ++k)
    if (t.w[static_cast<size_t>(y * t.window + k)] != 0) return t.idx[static_cast<size_t>(y * t.window + k)];
  return t.idx[static_cast<size_t>(y * t.window + t.window - 1)];
}

template <class T>
T extrapolation_as(double v) {
  if constexpr (std::is_same_v<T, std::string>) return std::string();
  else return saturating_from_computed<T>(v);
}

// Nearest: out[o_0..o_r] = in[map_0[o_0], ..., map_r[o_r]], one output row (last axis) at a time.
// `offs[d][o]` is the input offset contributed by output index o on axis d, -1 when extrapolated.
template <class T>
void nearest_gather(const T* x, T* y, const Shape& out_shape, const std::vector<std::vector<int64_t>>& offs,
                    double extrapolation, ThreadPool& pool) {
  const size_t r = out_shape.size();
  const int64_t row = out_shape[r - 1];
  const int64_t rows = shape_size(out_shape) / std::max<int64_t>(1, row);
  const std::vector<int64_t>& last = offs[r - 1];
  const T extra = extrapolation_as<T>(extrapolation);
  pool.parallel_for(rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, row)), [&](int64_t r0, int64_t r1) {
    std::vector<int64_t> idx(r, 0);
    int64_t rem = r0;
    for (size_t d = r - 1; d-- > 0;) {
      idx[d] = rem % out_shape[d];
      rem /= out_shape[d];
    }
    int64_t prev_base = -2;
    for (int64_t q = r0; q < r1; ++q) {
      int64_t base = 0;
      for (size_t d = 0; d + 1 < r; ++d) {
        const int64_t o = offs[d][static_cast<size_t>(idx[d])];
        if (o < 0) {
          base = -1;
          break;
        }
        base += o;
      }
      T* dst = y + q * row;
      if (base == prev_base && q > r0) {
        std::copy(dst - row, dst, dst);  // same source row as the previous output row
      } else if (base < 0) {
        std::fill(dst, dst + row, extra);
      } else {
        const T* src = x + base;
        for (int64_t j = 0; j < row; ++j) {
          const int64_t o = last[static_cast<size_t>(j)];
          dst[j] = o < 0 ? extra : src[o];
        }
      }
      prev_base = base;
      for (size_t d = r - 1; d-- > 0;) {
        if (++idx[d] < out_shape[d]) break;
        idx[d] = 0;
      }
    }
  });
}

// Row kernels of a separable pass: y = w0*a + w1*b, and y += w*a (SIMD for float32).
template <class F>
void blend_rows(const F* a, F wa, const F* b, F wb, F* y, int64_t n) {
  if constexpr (std::is_same_v<F, float>) {
    vec::kernels().blend2(a, wa, b, wb, y, n);
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = wa * a[i] + wb * b[i];
  }
}
template <class F>
void axpy_rows(const F* a, F w, F* y, int64_t n) {
  if constexpr (std::is_same_v<F, float>) {
    vec::kernels().axpy(a, y, n, w);
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] += w * a[i];
  }
}

// One separable pass along an axis: [outer, in, inner] -> [outer, out, inner].
template <class F>
void interpolate_axis(const F* src, F* dst, int64_t outer, int64_t inner, const AxisTable& t, F extrapolation,
                      ThreadPool& pool) {
  const int n = t.window;
  const std::vector<F> w(t.w.begin(), t.w.end());
  const int64_t* idx = t.idx.data();
  const uint8_t* ext = t.extrapolated.data();
  if (inner == 1) {
    // Innermost axis: each task takes whole rows, each output a dot of n taps.
    pool.parallel_for(outer, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, t.out * n)), [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) {
        const F* s = src + o * t.in;
        F* d = dst + o * t.out;
        if (n == 2) {
          for (int64_t j = 0; j < t.out; ++j)
            d[j] = ext[j] ? extrapolation : w[2 * j] * s[idx[2 * j]] + w[2 * j + 1] * s[idx[2 * j + 1]];
          continue;
        }
        for (int64_t j = 0; j < t.out; ++j) {
          F acc = 0;
          for (int k = 0; k < n; ++k) acc += w[j * n + k] * s[idx[j * n + k]];
          d[j] = ext[j] ? extrapolation : acc;
        }
      }
    });
    return;
  }
  // Outer axis: each output row is a weighted sum of n input rows.
  pool.parallel_for(outer * t.out, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, inner * n)), [&](int64_t i0, int64_t i1) {
    for (int64_t it = i0; it < i1; ++it) {
      const int64_t o = it / t.out, j = it % t.out;
      F* d = dst + it * inner;
      if (ext[j]) {
        std::fill(d, d + inner, extrapolation);
        continue;
      }
      const F* s = src + o * t.in * inner;
      const int64_t* ix = idx + j * n;
      const F* wj = w.data() + j * n;
      if (n == 2) {
        blend_rows<F>(s + ix[0] * inner, wj[0], s + ix[1] * inner, wj[1], d, inner);
        continue;
      }
      blend_rows<F>(s + ix[0] * inner, wj[0], s + ix[1] * inner, wj[1], d, inner);
      for (int k = 2; k < n; ++k)
        if (wj[k] != F(0)) axpy_rows<F>(s + ix[k] * inner, wj[k], d, inner);
    }
  });
}

class ResizeKernel : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info, bool upsample) {
    auto k = std::unique_ptr<ResizeKernel>(new ResizeKernel());
    k->upsample_ = upsample;
    k->opset_ = info.since_version();
    ResizeParams& p = k->params_;
    const std::string mode = info.attr_string("mode", "nearest");
    if (mode == "nearest") p.mode = Mode::nearest;
    else if (mode == "linear" || mode == "bilinear" || mode == "trilinear") p.mode = Mode::linear;
    else if (mode == "cubic" && !upsample) p.mode = Mode::cubic;
    else return info.error("unsupported mode '", mode, "'");
    const bool modern = !upsample && k->opset_ >= 11;
    const std::string coord = modern ? info.attr_string("coordinate_transformation_mode", "half_pixel") : "asymmetric";
    static const std::pair<const char*, Coord> kCoords[] = {
        {"half_pixel", Coord::half_pixel},         {"half_pixel_symmetric", Coord::half_pixel_symmetric},
        {"pytorch_half_pixel", Coord::pytorch_half_pixel}, {"align_corners", Coord::align_corners},
        {"asymmetric", Coord::asymmetric},         {"tf_crop_and_resize", Coord::tf_crop_and_resize},
        {"tf_half_pixel_for_nn", Coord::tf_half_pixel_for_nn}};
    bool found = false;
    for (const auto& [name, value] : kCoords)
      if (coord == name) p.coord = value, found = true;
    if (!found) return info.error("unsupported coordinate_transformation_mode '", coord, "'");
    if (modern) {
      const std::string nm = info.attr_string("nearest_mode", "round_prefer_floor");
      if (nm == "round_prefer_floor") p.nearest = Nearest::round_prefer_floor;
      else if (nm == "round_prefer_ceil") p.nearest = Nearest::round_prefer_ceil;
      else if (nm == "floor") p.nearest = Nearest::floor;
      else if (nm == "ceil") p.nearest = Nearest::ceil;
      else return info.error("unsupported nearest_mode '", nm, "'");
      p.cubic_a = info.attr_float("cubic_coeff_a", -0.75f);
      p.exclude_outside = info.attr_int("exclude_outside") != 0;
      p.extrapolation = info.attr_float("extrapolation_value");
    } else {
      p.nearest = Nearest::simple;
    }
    if (!upsample && k->opset_ >= 18) {
      p.antialias = info.attr_int("antialias") != 0;
      if (p.antialias && p.mode == Mode::nearest) return info.error("antialias needs mode linear or cubic");
      const std::string pol = info.attr_string("keep_aspect_ratio_policy", "stretch");
      if (pol == "stretch") p.policy = Policy::stretch;
      else if (pol == "not_larger") p.policy = Policy::not_larger;
      else if (pol == "not_smaller") p.policy = Policy::not_smaller;
      else return info.error("unsupported keep_aspect_ratio_policy '", pol, "'");
      k->axes_ = info.attr_ints("axes");
    }
    if (upsample && k->opset_ < 9) {
      if (!info.has_attr("scales")) return info.error("attribute 'scales' is required");
      for (float s : info.attr_floats("scales")) k->scales_attr_.push_back(s);
    }
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    const int64_t rank = static_cast<int64_t>(x->rank());
    std::vector<int64_t> axes;
    if (axes_.empty()) {
      for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
    } else {
      auto a = normalize_axes(axes_, rank, ctx.node());
      if (!a.is_ok()) return a.status();
      axes = a.value();
    }
    const size_t na = axes.size();

    // Inputs by version: Upsample-9 / Resize-10 (X, scales); Resize-11+ (X, roi, scales, sizes).
    std::vector<double> scales = scales_attr_, sizes, roi;
    const bool modern = !upsample_ && opset_ >= 11;
    const Tensor* scales_t = ctx.input(modern ? 2 : 1);
    if (!(upsample_ && opset_ < 9) && scales_t && scales_t->size() > 0) scales = tensor_to_doubles(*scales_t);
    if (modern) {
      if (const Tensor* s = ctx.input(3); s && s->size() > 0) sizes = tensor_to_doubles(*s);
      if (const Tensor* r = ctx.input(1); r && r->size() > 0) roi = tensor_to_doubles(*r);
    }
    if (!scales.empty() && !sizes.empty()) return ctx.error("only one of 'scales' and 'sizes' may be given");
    if (scales.empty() && sizes.empty()) return ctx.error("one of 'scales' and 'sizes' must be given");
    if (!scales.empty() && scales.size() != na)
      return ctx.error("'scales' has ", scales.size(), " values, expected ", na);
    if (!sizes.empty() && sizes.size() != na) return ctx.error("'sizes' has ", sizes.size(), " values, expected ", na);
    if (params_.coord == Coord::tf_crop_and_resize && !roi.empty() && roi.size() != 2 * na)
      return ctx.error("'roi' has ", roi.size(), " values, expected ", 2 * na);

    // Per-axis output size, scale and roi (non-listed axes keep their size).
    Shape out_shape = x->shape();
    std::vector<double> scale(static_cast<size_t>(rank), 1.0), roi0(static_cast<size_t>(rank), 0.0),
        roi1(static_cast<size_t>(rank), 1.0);
    for (size_t i = 0; i < na; ++i) {
      const size_t d = static_cast<size_t>(axes[i]);
      if (roi.size() == 2 * na) {
        roi0[d] = roi[i];
        roi1[d] = roi[na + i];
      }
      if (!scales.empty()) {
        if (!(scales[i] > 0)) return ctx.error("scales must be positive, got ", scales[i]);
        scale[d] = scales[i];
        const double size = scales[i] * static_cast<double>(x->dim(d));
        // Checked before the conversion: a double past int64 (a crafted scale) converts undefined.
        if (!(size < kLargestSize)) return ctx.error("scale ", scales[i], " makes axis ", d, " larger than 2^62");
        out_shape[d] = static_cast<int64_t>(size);
      } else {
        if (!(sizes[i] >= 0 && sizes[i] < kLargestSize)) return ctx.error("sizes must be in [0, 2^62), got ", sizes[i]);
        out_shape[d] = static_cast<int64_t>(sizes[i]);
        scale[d] = sizes[i] / static_cast<double>(x->dim(d));
      }
    }
    if (!sizes.empty() && params_.policy != Policy::stretch) {
      double s = params_.policy == Policy::not_larger ? scale[static_cast<size_t>(axes[0])] : 0.0;
      for (int64_t a : axes)
        s = params_.policy == Policy::not_larger ? std::min(s, scale[static_cast<size_t>(a)]) : std::max(s, scale[static_cast<size_t>(a)]);
      for (int64_t a : axes) {
        scale[static_cast<size_t>(a)] = s;
        const double size = s * static_cast<double>(x->dim(static_cast<size_t>(a))) + 0.5;
        if (!(size < kLargestSize)) return ctx.error("the sizes make axis ", a, " larger than 2^62");
        out_shape[static_cast<size_t>(a)] = static_cast<int64_t>(size);
      }
    }
    Tensor& y = ctx.allocate_output(0, x->dtype(), out_shape);
    if (y.size() == 0) return Status::ok();
    if (x->size() == 0) return ctx.error("cannot resize an empty input to a non-empty output");
    if (rank == 0) return dispatch<kStandardTypes>(x->dtype(), [&]<class T>() -> Status { y.data<T>()[0] = x->data<T>()[0]; return Status::ok(); }, ctx.node());

    // Tables for the axes that change (in `axes` order, as the reference applies them).
    std::vector<AxisTable> tables(static_cast<size_t>(rank));
    std::vector<int64_t> order;
    for (int64_t a : axes) {
      const size_t d = static_cast<size_t>(a);
      const bool trivial_roi = params_.coord != Coord::tf_crop_and_resize ||
                               (std::fabs(roi0[d]) < 1e-9 && std::fabs(roi1[d] - 1.0) < 1e-9);
      if (std::fabs(scale[d] - 1.0) <= 1e-9 && out_shape[d] == x->dim(d) && trivial_roi) continue;
      tables[d] = build_axis(params_, x->dim(d), out_shape[d], scale[d], roi0[d], roi1[d]);
      order.push_back(a);
    }
    if (params_.mode == Mode::nearest) return run_nearest(ctx, *x, y, out_shape, tables);
    return dispatch<kNumericTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          run_separable<T>(ctx, *x, y, tables, order);
          return Status::ok();
        },
        ctx.node());
  }

 private:
  ResizeKernel() = default;

  Status run_nearest(KernelContext& ctx, const Tensor& x, Tensor& y, const Shape& out_shape,
                     const std::vector<AxisTable>& tables) const {
    const size_t r = out_shape.size();
    std::vector<int64_t> stride(r, 1);
    for (size_t d = r - 1; d-- > 0;) stride[d] = stride[d + 1] * x.dim(d + 1);
    std::vector<std::vector<int64_t>> offs(r);
    for (size_t d = 0; d < r; ++d) {
      offs[d].resize(static_cast<size_t>(out_shape[d]));
      for (int64_t o = 0; o < out_shape[d]; ++o) {
        const AxisTable& t = tables[d];
        if (t.window == 0) offs[d][static_cast<size_t>(o)] = o * stride[d];
        else offs[d][static_cast<size_t>(o)] = t.extrapolated[static_cast<size_t>(o)] ? -1 : nearest_index(t, o) * stride[d];
      }
    }
    return dispatch<kStandardTypes>(
        x.dtype(),
        [&]<class T>() -> Status {
          nearest_gather<T>(x.data<T>(), y.data<T>(), out_shape, offs, params_.extrapolation, ctx.thread_pool());
          return Status::ok();
        },
        ctx.node());
  }

  // One pass per resized axis. float32 reads the input and writes the output directly; other
  // types go through an F buffer and are rounded (integers) and saturated at the end.
  template <class T>
  void run_separable(KernelContext& ctx, const Tensor& x, Tensor& y, const std::vector<AxisTable>& tables,
                     const std::vector<int64_t>& order) const {
    using F = float_acc_t<T>;
    constexpr bool kDirect = std::is_same_v<T, F>;
    if (order.empty()) {
      std::copy(x.data<T>(), x.data<T>() + x.size(), y.data<T>());
      return;
    }
    std::unique_ptr<F[]> held[2];
    const F* src;
    if constexpr (kDirect) {
      src = x.data<T>();
    } else {
      held[0].reset(new F[static_cast<size_t>(x.size())]);
      const T* xd = x.data<T>();
      for (int64_t i = 0; i < x.size(); ++i) held[0][static_cast<size_t>(i)] = to_computed<F>(xd[i]);
      src = held[0].get();
    }
    Shape cur = x.shape();
    for (size_t p = 0; p < order.size(); ++p) {
      const int64_t axis = order[p];
      const AxisTable& t = tables[static_cast<size_t>(axis)];
      int64_t outer = 1, inner = 1;
      for (int64_t d = 0; d < axis; ++d) outer *= cur[static_cast<size_t>(d)];
      for (size_t d = static_cast<size_t>(axis) + 1; d < cur.size(); ++d) inner *= cur[d];
      F* dst;
      if (kDirect && p + 1 == order.size()) {
        dst = reinterpret_cast<F*>(y.data<T>());
      } else {
        std::unique_ptr<F[]>& slot = held[(p + 1) % 2];
        slot.reset(new F[static_cast<size_t>(outer * t.out * inner)]);
        dst = slot.get();
      }
      interpolate_axis<F>(src, dst, outer, inner, t, static_cast<F>(params_.extrapolation), ctx.thread_pool());
      cur[static_cast<size_t>(axis)] = t.out;
      src = dst;
    }
    if constexpr (!kDirect) {
      T* yd = y.data<T>();
      for (int64_t i = 0; i < y.size(); ++i) {
        if constexpr (std::is_integral_v<T>) yd[i] = saturating_from_computed<T>(std::nearbyint(src[i]));  // round, then saturate
        else yd[i] = saturating_from_computed<T>(src[i]);
      }
    }
  }

  bool upsample_ = false;
  int64_t opset_ = 0;
  ResizeParams params_;
  std::vector<int64_t> axes_;
  std::vector<double> scales_attr_;
};

}  // namespace

void register_resize(KernelRegistry& r) {
  r.add({"", "Resize", 10, kLatestOnnxOpset, [](const KernelInfo& info) { return ResizeKernel::create(info, false); }});
  r.add({"", "Upsample", 7, kLatestOnnxOpset, [](const KernelInfo& info) { return ResizeKernel::create(info, true); }});
}

}  // namespace tessera
