// GridSample (N-D, nearest/linear/cubic, zeros/border/reflection padding), AffineGrid and
// DeformConv. Each output point resolves its source taps (flat offset, weight) once and then
// reuses them for every channel.
#include "providers/cpu/nn/vision_sampling.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/microkernels/gemm.h"
#include "providers/cpu/math/widen.h"
#include "providers/cpu/tensor/copy_util.h"

namespace tessera {
namespace {

// ---------------------------------------------------------------- GridSample

enum class SampleMode { nearest, linear, cubic };
enum class PadMode { zeros, border, reflection };

// Folds x back into [lo, hi] by reflecting at the borders as many times as needed.
double reflect(double x, double lo, double hi) {
  const double range = hi - lo;
  if (!(range > 0)) return lo;
  if (x < lo) {
    const double dx = lo - x;
    const int64_t n = static_cast<int64_t>(dx / range);
    const double r = dx - static_cast<double>(n) * range;
    return n % 2 == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const double dx = x - hi;
    const int64_t n = static_cast<int64_t>(dx / range);
    const double r = dx - static_cast<double>(n) * range;
    return n % 2 == 0 ? hi - r : lo + r;
  }
  return x;
}

// Keys cubic convolution weights (a = -0.75) for the taps at -1, 0, 1, 2 from floor(x).
void cubic_coeffs(float t, float c[4]) {
  constexpr float A = -0.75f;
  const float t1 = t + 1, t2 = 1 - t, t3 = 2 - t;
  c[0] = ((A * t1 - 5 * A) * t1 + 8 * A) * t1 - 4 * A;
  c[1] = ((A + 2) * t - (A + 3)) * t * t + 1;
  c[2] = ((A + 2) * t2 - (A + 3)) * t2 * t2 + 1;
  c[3] = ((A * t3 - 5 * A) * t3 + 8 * A) * t3 - 4 * A;
}

// The source taps along one spatial dim.
struct DimTaps {
  int n = 0;
  int64_t idx[4];
  float w[4];
};

struct GridParams {
  SampleMode mode;
  PadMode pad;
  bool align_corners;
};

void add_tap(DimTaps& t, int64_t i, float w, int64_t len, float lo, float hi, PadMode pad) {
  if (pad == PadMode::zeros) {
    if (i < 0 || i >= len) return;
  } else if (pad == PadMode::border) {
    i = std::clamp<int64_t>(i, 0, len - 1);
  } else {
    i = std::clamp<int64_t>(static_cast<int64_t>(reflect(static_cast<double>(i), lo, hi)), 0, len - 1);
  }
  t.idx[t.n] = i;
  t.w[t.n] = w;
  ++t.n;
}

void dim_taps(float g, int64_t len, const GridParams& p, DimTaps& t) {
  t.n = 0;
  const double gd = g;
  float x = static_cast<float>(p.align_corners ? (gd + 1) / 2.0 * static_cast<double>(len - 1)
                                               : ((gd + 1) * static_cast<double>(len) - 1) / 2.0);
  const float lo = p.align_corners ? 0.0f : -0.5f;
  const float hi = p.align_corners ? static_cast<float>(len - 1) : static_cast<float>(len) - 0.5f;
  if (!std::isfinite(x)) return;
  if (p.mode == SampleMode::nearest) x = std::nearbyint(x);  // half to even, as PyTorch
  // Nearest and linear move an outside point into bounds first; cubic (as PyTorch and ONNX
  // Runtime) keeps the point and pads each of its taps.
  if ((x < lo || x > hi) && p.mode != SampleMode::cubic) {
    if (p.pad == PadMode::border) x = std::clamp(x, 0.0f, static_cast<float>(len - 1));
    else if (p.pad == PadMode::reflection) x = static_cast<float>(reflect(x, lo, hi));
  }
  if (p.mode == SampleMode::nearest) {
    add_tap(t, static_cast<int64_t>(x), 1.0f, len, lo, hi, p.pad);
    return;
  }
  const float x0f = std::floor(x);
  const int64_t x0 = static_cast<int64_t>(x0f);
  const float frac = x - x0f;
  if (p.mode == SampleMode::linear) {
    add_tap(t, x0, 1 - frac, len, lo, hi, p.pad);
    add_tap(t, x0 + 1, frac, len, lo, hi, p.pad);
    return;
  }
  float c[4];
  cubic_coeffs(frac, c);
  for (int k = 0; k < 4; ++k) add_tap(t, x0 - 1 + k, c[k], len, lo, hi, p.pad);
}

class GridSampleKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<GridSampleKernel>(new GridSampleKernel());
    // Opset 16 spelled the modes bilinear / bicubic; 20 renamed them linear / cubic.
    const std::string mode = info.attr_string("mode", info.since_version() >= 20 ? "linear" : "bilinear");
    if (mode == "nearest") k->p_.mode = SampleMode::nearest;
    else if (mode == "linear" || mode == "bilinear") k->p_.mode = SampleMode::linear;
    else if (mode == "cubic" || mode == "bicubic") k->p_.mode = SampleMode::cubic;
    else return info.error("unknown mode '", mode, "'");
    const std::string pad = info.attr_string("padding_mode", "zeros");
    if (pad == "zeros") k->p_.pad = PadMode::zeros;
    else if (pad == "border") k->p_.pad = PadMode::border;
    else if (pad == "reflection") k->p_.pad = PadMode::reflection;
    else return info.error("unknown padding_mode '", pad, "'");
    k->p_.align_corners = info.attr_int("align_corners") != 0;
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* grid = ctx.input(1);
    if (!x || !grid) return ctx.error("inputs X and grid are required");
    const size_t nd = x->rank() >= 2 ? x->rank() - 2 : 0;
    if (nd == 0 || grid->rank() != nd + 2 || grid->dim(0) != x->dim(0) || grid->dim(nd + 1) != static_cast<int64_t>(nd))
      return ctx.error("grid has shape ", shape_to_string(grid->shape()), ", expected [N, ..., ", nd, "] for X of shape ",
                       shape_to_string(x->shape()));
    if (!is_float_dtype(grid->dtype())) return ctx.error("grid must be a float tensor");
    const int64_t N = x->dim(0), C = x->dim(1);
    Shape in_sp(x->shape().begin() + 2, x->shape().end());
    Shape out_shape = {N, C};
    for (size_t d = 0; d < nd; ++d) out_shape.push_back(grid->dim(d + 1));
    Tensor& y = ctx.allocate_output(0, x->dtype(), out_shape);
    if (y.size() == 0) return Status::ok();
    for (int64_t len : in_sp)
      if (len == 0) return ctx.error("X has an empty spatial dim");
    std::vector<float> g(static_cast<size_t>(grid->size()));
    TS_RETURN_IF_ERROR(widen::widen_tensor(*grid, g.data(), ctx.node()));
    const int64_t in_plane = shape_size(in_sp), points = shape_size(out_shape) / (N * C);
    std::vector<int64_t> in_strides = tensor_ops::contiguous_strides(in_sp);
    // Integer images interpolate in double and truncate at the end, as the spec says.
    return dispatch<kNumericTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          using F = std::conditional_t<std::is_integral_v<T>, double, compute_t<T>>;
          const T* src = x->data<T>();
          T* dst = y.data<T>();
          ctx.thread_pool().parallel_for(N * points, std::max<int64_t>(1, 2048 / std::max<int64_t>(C, 1)), [&](int64_t q0, int64_t q1) {
            std::vector<DimTaps> taps(nd);
            std::vector<int64_t> offs;
            std::vector<F> ws;
            std::vector<int> k(nd);
            for (int64_t q = q0; q < q1; ++q) {
              const int64_t n = q / points, p = q % points;
              const float* gp = g.data() + q * static_cast<int64_t>(nd);
              // Grid components run x, y, z: the last spatial dim first.
              for (size_t d = 0; d < nd; ++d) dim_taps(gp[nd - 1 - d], in_sp[d], p_, taps[d]);
              offs.clear();
              ws.clear();
              bool any = true;
              for (size_t d = 0; d < nd; ++d) any = any && taps[d].n > 0;
              if (any) {
                std::fill(k.begin(), k.end(), 0);
                while (true) {
                  int64_t off = 0;
                  F w = 1;
                  for (size_t d = 0; d < nd; ++d) {
                    off += taps[d].idx[k[d]] * in_strides[d];
                    w *= static_cast<F>(taps[d].w[k[d]]);
                  }
                  offs.push_back(off);
                  ws.push_back(w);
                  size_t d = nd;
                  while (d-- > 0) {
                    if (++k[d] < taps[d].n) break;
                    k[d] = 0;
                  }
                  if (d == static_cast<size_t>(-1)) break;
                }
              }
              for (int64_t c = 0; c < C; ++c) {
                const T* plane = src + (n * C + c) * in_plane;
                F acc = 0;
                for (size_t j = 0; j < offs.size(); ++j) acc += ws[j] * to_computed<F>(plane[offs[j]]);
                dst[(n * C + c) * points + p] = from_computed<T>(acc);
              }
            }
          });
          return Status::ok();
        },
        ctx.node());
  }

 private:
  GridSampleKernel() = default;
  GridParams p_{SampleMode::linear, PadMode::zeros, false};
};

// ---------------------------------------------------------------- AffineGrid

class AffineGridKernel final : public OpKernel {
 public:
  explicit AffineGridKernel(const KernelInfo& info) : align_corners_(info.attr_int("align_corners") != 0) {}

  Status compute(KernelContext& ctx) const override {
    const Tensor* theta = ctx.input(0);
    const Tensor* size_t_ = ctx.input(1);
    if (!theta || !size_t_) return ctx.error("inputs theta and size are required");
    std::vector<int64_t> size;
    if (!tensor_ops::read_int64s(*size_t_, size)) return ctx.error("size must be an integer tensor");
    if (size.size() != 4 && size.size() != 5) return ctx.error("size must have 4 or 5 values, got ", size.size());
    const int64_t nd = static_cast<int64_t>(size.size()) - 2;
    const int64_t N = size[0];
    if (theta->rank() != 3 || theta->dim(0) != N || theta->dim(1) != nd || theta->dim(2) != nd + 1)
      return ctx.error("theta has shape ", shape_to_string(theta->shape()), ", expected [", N, ",", nd, ",", nd + 1, "]");
    Shape out_shape = {N};
    for (int64_t d = 0; d < nd; ++d) {
      if (size[2 + d] < 0) return ctx.error("size values must not be negative");
      out_shape.push_back(size[2 + d]);
    }
    out_shape.push_back(nd);
    Tensor& y = ctx.allocate_output(0, theta->dtype(), out_shape);
    if (y.size() == 0) return Status::ok();
    // Base coordinates per spatial dim, innermost (x) is the last dim.
    std::vector<std::vector<double>> base(static_cast<size_t>(nd));
    for (int64_t d = 0; d < nd; ++d) {
      const int64_t len = size[2 + d];
      for (int64_t i = 0; i < len; ++i) {
        double v;
        if (align_corners_) v = len == 1 ? -1.0 : -1.0 + 2.0 * static_cast<double>(i) / static_cast<double>(len - 1);
        else v = -1.0 + (2.0 * static_cast<double>(i) + 1.0) / static_cast<double>(len);
        base[d].push_back(v);
      }
    }
    return dispatch<kFloatTypes>(
        theta->dtype(),
        [&]<class T>() -> Status {
          const T* th = theta->data<T>();
          T* out = y.data<T>();
          const int64_t points = shape_size(out_shape) / (N * nd);
          std::vector<double> h(static_cast<size_t>(nd + 1));
          for (int64_t n = 0; n < N; ++n) {
            const T* tn = th + n * nd * (nd + 1);
            for (int64_t p = 0; p < points; ++p) {
              // Homogeneous point (x, y[, z], 1): x from the last spatial dim.
              int64_t rem = p;
              for (int64_t d = nd - 1; d >= 0; --d) {
                const int64_t len = size[2 + d];
                h[static_cast<size_t>(nd - 1 - d)] = base[d][rem % len];
                rem /= len;
              }
              h[static_cast<size_t>(nd)] = 1.0;
              for (int64_t r = 0; r < nd; ++r) {
                double acc = 0;
                for (int64_t c = 0; c <= nd; ++c) acc += to_computed<double>(tn[r * (nd + 1) + c]) * h[c];
                out[(n * points + p) * nd + r] = from_computed<T>(acc);
              }
            }
          }
          return Status::ok();
        },
        ctx.node());
  }

 private:
  bool align_corners_;
};

// ---------------------------------------------------------------- DeformConv

class DeformConvKernel final : public OpKernel {
 public:
  explicit DeformConvKernel(const KernelInfo& info)
      : dilations_(info.attr_ints("dilations")),
        kernel_shape_(info.attr_ints("kernel_shape")),
        pads_(info.attr_ints("pads")),
        strides_(info.attr_ints("strides")),
        group_(info.attr_int("group", 1)),
        offset_group_(info.attr_int("offset_group", 1)) {}

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* w = ctx.input(1);
    const Tensor* offset = ctx.input(2);
    const Tensor* bias = ctx.input(3);
    const Tensor* mask = ctx.input(4);
    if (!x || !w || !offset) return ctx.error("inputs X, W and offset are required");
    if (x->rank() != 4 || w->rank() != 4)
      return ctx.error("only 2-D DeformConv is supported: X ", shape_to_string(x->shape()), ", W ", shape_to_string(w->shape()));
    const int64_t N = x->dim(0), IC = x->dim(1), H = x->dim(2), W = x->dim(3);
    const int64_t OC = w->dim(0);
    const int64_t kh = kernel_shape_.size() == 2 ? kernel_shape_[0] : w->dim(2);
    const int64_t kw = kernel_shape_.size() == 2 ? kernel_shape_[1] : w->dim(3);
    const int64_t dh = dilations_.size() == 2 ? dilations_[0] : 1, dw = dilations_.size() == 2 ? dilations_[1] : 1;
    const int64_t sh = strides_.size() == 2 ? strides_[0] : 1, sw = strides_.size() == 2 ? strides_[1] : 1;
    const int64_t pt = pads_.size() == 4 ? pads_[0] : 0, pl = pads_.size() == 4 ? pads_[1] : 0;
    const int64_t pb = pads_.size() == 4 ? pads_[2] : 0, pr = pads_.size() == 4 ? pads_[3] : 0;
    if (group_ <= 0 || offset_group_ <= 0 || IC != w->dim(1) * group_ || OC % group_ != 0 || IC % offset_group_ != 0)
      return ctx.error("channels do not divide: X ", shape_to_string(x->shape()), ", W ", shape_to_string(w->shape()),
                       ", group ", group_, ", offset_group ", offset_group_);
    if (w->dim(2) != kh || w->dim(3) != kw) return ctx.error("kernel_shape does not match W");
    if (sh <= 0 || sw <= 0 || dh <= 0 || dw <= 0) return ctx.error("strides and dilations must be positive");
    const int64_t OH = (H + pt + pb - ((kh - 1) * dh + 1)) / sh + 1;
    const int64_t OW = (W + pl + pr - ((kw - 1) * dw + 1)) / sw + 1;
    const int64_t KK = kh * kw;
    if (offset->shape() != Shape{N, offset_group_ * KK * 2, OH, OW})
      return ctx.error("offset has shape ", shape_to_string(offset->shape()), ", expected [", N, ",", offset_group_ * KK * 2,
                       ",", OH, ",", OW, "]");
    if (mask && mask->shape() != Shape{N, offset_group_ * KK, OH, OW})
      return ctx.error("mask has shape ", shape_to_string(mask->shape()), ", expected [", N, ",", offset_group_ * KK, ",", OH,
                       ",", OW, "]");
    if (bias && bias->shape() != Shape{OC}) return ctx.error("B must have shape [", OC, "]");
    for (const Tensor* t : {w, offset, bias, mask})
      if (t && t->dtype() != x->dtype()) return ctx.error("all inputs must share one element type");
    Tensor& y = ctx.allocate_output(0, x->dtype(), {N, OC, OH, OW});
    if (y.size() == 0) return Status::ok();

    return dispatch<kFloatTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          using F = compute_t<T>;
          auto widened = [](const Tensor* t) {
            std::vector<F> v(t ? static_cast<size_t>(t->size()) : 0);
            if (t) widen_span(t->data<T>(), v.data(), t->size());
            return v;
          };
          const std::vector<F> xf = widened(x), wf = widened(w), of = widened(offset), mf = widened(mask), bf = widened(bias);
          const int64_t icpg = IC / group_, ocpg = OC / group_, icpog = IC / offset_group_, P = OH * OW;
          std::vector<F> cols(static_cast<size_t>(icpg * KK * P)), out(static_cast<size_t>(OC * P));
          ThreadPool& pool = ctx.thread_pool();
          for (int64_t n = 0; n < N; ++n) {
            for (int64_t g = 0; g < group_; ++g) {
              // Columns [icpg * KK, P]: masked bilinear samples (zeros outside the image).
              pool.parallel_for(icpg * KK, 1, [&](int64_t r0, int64_t r1) {
                for (int64_t row = r0; row < r1; ++row) {
                  const int64_t ic = g * icpg + row / KK, k = row % KK, ki = k / kw, kj = k % kw;
                  const int64_t og = ic / icpog;
                  const F* img = xf.data() + (n * IC + ic) * H * W;
                  const F* off_h = of.data() + ((n * offset_group_ + og) * KK * 2 + k * 2) * P;
                  const F* off_w = off_h + P;
                  const F* m = mask ? mf.data() + ((n * offset_group_ + og) * KK + k) * P : nullptr;
                  F* col = cols.data() + row * P;
                  for (int64_t oh = 0; oh < OH; ++oh)
                    for (int64_t ow = 0; ow < OW; ++ow) {
                      const int64_t p = oh * OW + ow;
                      const F hy = static_cast<F>(oh * sh - pt + ki * dh) + off_h[p];
                      const F wx = static_cast<F>(ow * sw - pl + kj * dw) + off_w[p];
                      F v = bilinear_zero(img, H, W, hy, wx);
                      col[p] = m ? v * m[p] : v;
                    }
                }
              });
              F* og_out = out.data() + g * ocpg * P;
              const F* wg = wf.data() + g * ocpg * icpg * KK;
              kernels::gemm(ocpg, P, icpg * KK, F(1), kernels::MatrixArg<F>{wg, icpg * KK, false, nullptr},
                            kernels::MatrixArg<F>{cols.data(), P, false, nullptr}, F(0), og_out, P, {}, &pool);
            }
            T* yn = y.data<T>() + n * OC * P;
            for (int64_t oc = 0; oc < OC; ++oc) {
              const F b = bias ? bf[oc] : F(0);
              for (int64_t p = 0; p < P; ++p) yn[oc * P + p] = from_computed<T>(out[oc * P + p] + b);
            }
          }
          return Status::ok();
        },
        ctx.node());
  }

 private:
  template <class F>
  static F bilinear_zero(const F* img, int64_t H, int64_t W, F y, F x) {
    if (!(y > F(-1) && y < static_cast<F>(H) && x > F(-1) && x < static_cast<F>(W))) return F(0);
    const F y0f = std::floor(y), x0f = std::floor(x);
    const int64_t y0 = static_cast<int64_t>(y0f), x0 = static_cast<int64_t>(x0f);
    const F ly = y - y0f, lx = x - x0f;
    F v = 0;
    auto at = [&](int64_t yy, int64_t xx, F wgt) {
      if (yy >= 0 && yy < H && xx >= 0 && xx < W) v += wgt * img[yy * W + xx];
    };
    at(y0, x0, (1 - ly) * (1 - lx));
    at(y0, x0 + 1, (1 - ly) * lx);
    at(y0 + 1, x0, ly * (1 - lx));
    at(y0 + 1, x0 + 1, ly * lx);
    return v;
  }

  std::vector<int64_t> dilations_, kernel_shape_, pads_, strides_;
  int64_t group_, offset_group_;
};

}  // namespace

void register_vision_sampling(KernelRegistry& r) {
  r.add({"", "GridSample", 16, kLatestOnnxOpset, GridSampleKernel::create});
  r.add({"", "AffineGrid", 20, kLatestOnnxOpset, make_factory<AffineGridKernel>()});
  r.add({"", "DeformConv", 19, kLatestOnnxOpset, make_factory<DeformConvKernel>()});
}

}  // namespace tessera
