// Detection and image-layout ops: NonMaxSuppression, RoiAlign, Col2Im, CenterCropPad. The
// sampling ops (GridSample, AffineGrid, DeformConv) live in vision_sampling.cc and are
// registered from here, so the family keeps one entry point. (MaxUnpool is in nn/pool.cc.)
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/math/widen.h"
#include "providers/cpu/nn/vision_sampling.h"
#include "providers/cpu/tensor/copy_util.h"

namespace tessera {
namespace {

// ---------------------------------------------------------------- NonMaxSuppression

// A box as min/max corners, whatever the input format.
struct Corners {
  float x_min, x_max, y_min, y_max;
};

Corners to_corners(const float* b, bool center_point) {
  if (center_point) {
    const float hw = b[2] / 2, hh = b[3] / 2;
    return {b[0] - hw, b[0] + hw, b[1] - hh, b[1] + hh};
  }
  // [y1, x1, y2, x2] with the corners in either order.
  return {std::min(b[1], b[3]), std::max(b[1], b[3]), std::min(b[0], b[2]), std::max(b[0], b[2])};
}

// True when IoU(a, b) > threshold; degenerate boxes never suppress.
bool suppresses(const Corners& a, const Corners& b, float iou_threshold) {
  const float ix_min = std::max(a.x_min, b.x_min), ix_max = std::min(a.x_max, b.x_max);
  if (ix_max <= ix_min) return false;
  const float iy_min = std::max(a.y_min, b.y_min), iy_max = std::min(a.y_max, b.y_max);
  if (iy_max <= iy_min) return false;
  const float inter = (ix_max - ix_min) * (iy_max - iy_min);
  if (inter <= 0) return false;
  const float area_a = (a.x_max - a.x_min) * (a.y_max - a.y_min);
  const float area_b = (b.x_max - b.x_min) * (b.y_max - b.y_min);
  const float uni = area_a + area_b - inter;
  if (area_a <= 0 || area_b <= 0 || uni <= 0) return false;
  return inter / uni > iou_threshold;
}

class NonMaxSuppressionKernel final : public OpKernel {
 public:
  explicit NonMaxSuppressionKernel(const KernelInfo& info) : center_point_(info.attr_int("center_point_box") != 0) {}

  Status compute(KernelContext& ctx) const override {
    const Tensor* boxes = ctx.input(0);
    const Tensor* scores = ctx.input(1);
    if (!boxes || !scores) return ctx.error("inputs boxes and scores are required");
    if (boxes->rank() != 3 || boxes->dim(2) != 4)
      return ctx.error("boxes must have shape [batches, boxes, 4], got ", shape_to_string(boxes->shape()));
    if (scores->rank() != 3 || scores->dim(0) != boxes->dim(0) || scores->dim(2) != boxes->dim(1))
      return ctx.error("scores has shape ", shape_to_string(scores->shape()), ", which does not match boxes ",
                       shape_to_string(boxes->shape()));
    if (!is_float_dtype(boxes->dtype()) || !is_float_dtype(scores->dtype()))
      return ctx.error("boxes and scores must be float tensors");
    int64_t max_out = 0;
    float iou_threshold = 0, score_threshold = 0;
    bool has_score_threshold = false;
    if (const Tensor* t = ctx.input(2); t && t->size() > 0) {
      if (!tensor_ops::read_scalar_int64(*t, max_out)) return ctx.error("max_output_boxes_per_class must be an integer");
    }
    if (const Tensor* t = ctx.input(3); t && t->size() > 0) TS_RETURN_IF_ERROR(read_float(ctx, *t, &iou_threshold));
    if (const Tensor* t = ctx.input(4); t && t->size() > 0) {
      TS_RETURN_IF_ERROR(read_float(ctx, *t, &score_threshold));
      has_score_threshold = true;
    }
    const int64_t batches = boxes->dim(0), n = boxes->dim(1), classes = scores->dim(1);
    std::vector<float> box_f(static_cast<size_t>(boxes->size())), score_f(static_cast<size_t>(scores->size()));
    TS_RETURN_IF_ERROR(widen::widen_tensor(*boxes, box_f.data(), ctx.node()));
    TS_RETURN_IF_ERROR(widen::widen_tensor(*scores, score_f.data(), ctx.node()));

    std::vector<int64_t> selected;  // triples
    std::vector<Corners> corners(static_cast<size_t>(n));
    std::vector<int64_t> order, kept;
    for (int64_t b = 0; b < batches; ++b) {
      for (int64_t i = 0; i < n; ++i) corners[i] = to_corners(box_f.data() + (b * n + i) * 4, center_point_);
      for (int64_t c = 0; c < classes && max_out > 0; ++c) {
        const float* s = score_f.data() + (b * classes + c) * n;
        order.clear();
        for (int64_t i = 0; i < n; ++i)
          if (!has_score_threshold || s[i] > score_threshold) order.push_back(i);
        // Highest score first; equal scores keep the lower box index first.
        std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return s[x] > s[y]; });
        kept.clear();
        for (int64_t i : order) {
          if (static_cast<int64_t>(kept.size()) >= max_out) break;
          bool keep = true;
          for (int64_t k : kept)
            if (suppresses(corners[i], corners[k], iou_threshold)) {
              keep = false;
              break;
            }
          if (!keep) continue;
          kept.push_back(i);
          selected.insert(selected.end(), {b, c, i});
        }
      }
    }
    const int64_t count = static_cast<int64_t>(selected.size() / 3);
    Tensor& out = ctx.allocate_output(0, DataType::int64, {count, 3});
    std::copy(selected.begin(), selected.end(), out.data<int64_t>());
    return Status::ok();
  }

 private:
  static Status read_float(const KernelContext& ctx, const Tensor& t, float* out) {
    if (!is_float_dtype(t.dtype())) return ctx.error("threshold inputs must be float tensors");
    std::vector<float> v(static_cast<size_t>(t.size()));
    TS_RETURN_IF_ERROR(widen::widen_tensor(t, v.data(), ctx.node()));
    *out = v[0];
    return Status::ok();
  }

  bool center_point_;
};

// ---------------------------------------------------------------- RoiAlign

// One bilinear sample: four source offsets in the H*W plane and their weights.
template <class F>
struct Sample {
  int64_t pos[4];
  F w[4];
};

class RoiAlignKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<RoiAlignKernel>(new RoiAlignKernel());
    const std::string mode = info.attr_string("mode", "avg");
    if (mode != "avg" && mode != "max") return info.error("mode must be avg or max, got '", mode, "'");
    k->max_mode_ = mode == "max";
    // Opset 10 had no coordinate_transformation_mode and behaved as output_half_pixel.
    const std::string ctm = info.attr_string("coordinate_transformation_mode", info.since_version() >= 16 ? "half_pixel" : "output_half_pixel");
    if (ctm != "half_pixel" && ctm != "output_half_pixel")
      return info.error("coordinate_transformation_mode must be half_pixel or output_half_pixel, got '", ctm, "'");
    k->half_pixel_ = ctm == "half_pixel";
    k->out_h_ = info.attr_int("output_height", 1);
    k->out_w_ = info.attr_int("output_width", 1);
    k->sampling_ratio_ = info.attr_int("sampling_ratio");
    k->spatial_scale_ = info.attr_float("spatial_scale", 1.0f);
    if (k->out_h_ <= 0 || k->out_w_ <= 0) return info.error("output_height and output_width must be positive");
    if (k->sampling_ratio_ < 0) return info.error("sampling_ratio must not be negative");
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* rois = ctx.input(1);
    const Tensor* idx = ctx.input(2);
    if (!x || !rois || !idx) return ctx.error("inputs X, rois and batch_indices are required");
    if (x->rank() != 4) return ctx.error("X must be 4-D, got ", shape_to_string(x->shape()));
    if (rois->rank() != 2 || rois->dim(1) != 4) return ctx.error("rois must have shape [num_rois, 4], got ", shape_to_string(rois->shape()));
    if (idx->rank() != 1 || idx->dim(0) != rois->dim(0))
      return ctx.error("batch_indices must have shape [", rois->dim(0), "], got ", shape_to_string(idx->shape()));
    if (rois->dtype() != x->dtype()) return ctx.error("rois must have the element type of X");
    std::vector<int64_t> batch;
    if (!tensor_ops::read_int64s(*idx, batch)) return ctx.error("batch_indices must be an integer tensor");
    const int64_t N = x->dim(0), C = x->dim(1), H = x->dim(2), W = x->dim(3), R = rois->dim(0);
    for (int64_t r = 0; r < R; ++r)
      if (batch[r] < 0 || batch[r] >= N) return ctx.error("batch_indices[", r, "] = ", batch[r], " is outside [0, ", N, ")");
    Tensor& y = ctx.allocate_output(0, x->dtype(), {R, C, out_h_, out_w_});
    if (y.size() == 0) return Status::ok();
    return dispatch<kFloatTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          // Float arithmetic for float tensors, as ONNX Runtime: the sample grid size
          // (ceil of the roi extent) depends on it.
          using F = compute_t<T>;
          std::vector<F> xf(static_cast<size_t>(x->size())), rf(static_cast<size_t>(rois->size()));
          widen_span(x->data<T>(), xf.data(), x->size());
          widen_span(rois->data<T>(), rf.data(), rois->size());
          T* out = y.data<T>();
          ctx.thread_pool().parallel_for(R, 1, [&](int64_t r0, int64_t r1) {
            std::vector<Sample<F>> samples;
            for (int64_t r = r0; r < r1; ++r)
              roi<T, F>(xf.data() + batch[r] * C * H * W, rf.data() + r * 4, C, H, W, out + r * C * out_h_ * out_w_, samples);
          });
          return Status::ok();
        },
        ctx.node());
  }

 private:
  RoiAlignKernel() = default;

  template <class T, class F>
  void roi(const F* x, const F* box, int64_t C, int64_t H, int64_t W, T* out, std::vector<Sample<F>>& samples) const {
    const F offset = half_pixel_ ? F(0.5) : F(0);
    const F scale = static_cast<F>(spatial_scale_);
    const F start_w = box[0] * scale - offset, start_h = box[1] * scale - offset;
    const F end_w = box[2] * scale - offset, end_h = box[3] * scale - offset;
    F roi_w = end_w - start_w, roi_h = end_h - start_h;
    if (!half_pixel_) {
      roi_w = std::max(roi_w, F(1));
      roi_h = std::max(roi_h, F(1));
    }
    const F bin_h = roi_h / static_cast<F>(out_h_), bin_w = roi_w / static_cast<F>(out_w_);
    const int64_t grid_h = sampling_ratio_ > 0 ? sampling_ratio_ : static_cast<int64_t>(std::ceil(roi_h / static_cast<F>(out_h_)));
    const int64_t grid_w = sampling_ratio_ > 0 ? sampling_ratio_ : static_cast<int64_t>(std::ceil(roi_w / static_cast<F>(out_w_)));
    const int64_t per_bin = std::max<int64_t>(grid_h, 0) * std::max<int64_t>(grid_w, 0);
    const F count = static_cast<F>(std::max<int64_t>(per_bin, 1));

    // Sample positions and weights are the same for every channel.
    samples.clear();
    for (int64_t ph = 0; ph < out_h_; ++ph)
      for (int64_t pw = 0; pw < out_w_; ++pw)
        for (int64_t iy = 0; iy < grid_h; ++iy) {
          const F yy = start_h + static_cast<F>(ph) * bin_h + (static_cast<F>(iy) + F(0.5)) * bin_h / static_cast<F>(grid_h);
          for (int64_t ix = 0; ix < grid_w; ++ix) {
            const F xx = start_w + static_cast<F>(pw) * bin_w + (static_cast<F>(ix) + F(0.5)) * bin_w / static_cast<F>(grid_w);
            samples.push_back(bilinear_sample(yy, xx, H, W));
          }
        }

    const int64_t plane = out_h_ * out_w_;
    for (int64_t c = 0; c < C; ++c) {
      const F* xc = x + c * H * W;
      const Sample<F>* s = samples.data();
      for (int64_t p = 0; p < plane; ++p) {
        F acc = 0;
        for (int64_t k = 0; k < per_bin; ++k, ++s) {
          if (max_mode_) {
            // As the reference: the max over the four weighted corner values.
            F v = std::max(std::max(s->w[0] * xc[s->pos[0]], s->w[1] * xc[s->pos[1]]),
                           std::max(s->w[2] * xc[s->pos[2]], s->w[3] * xc[s->pos[3]]));
            acc = k == 0 ? v : std::max(acc, v);
          } else {
            acc += s->w[0] * xc[s->pos[0]] + s->w[1] * xc[s->pos[1]] + s->w[2] * xc[s->pos[2]] + s->w[3] * xc[s->pos[3]];
          }
        }
        if (!max_mode_) acc /= count;
        out[c * plane + p] = from_computed<T>(acc);
      }
    }
  }

  template <class F>
  static Sample<F> bilinear_sample(F y, F x, int64_t H, int64_t W) {
    Sample<F> s{};
    if (y < F(-1) || y > static_cast<F>(H) || x < F(-1) || x > static_cast<F>(W)) return s;
    y = std::max(y, F(0));
    x = std::max(x, F(0));
    int64_t y_low = static_cast<int64_t>(y), x_low = static_cast<int64_t>(x), y_high, x_high;
    if (y_low >= H - 1) {
      y_high = y_low = H - 1;
      y = static_cast<F>(y_low);
    } else {
      y_high = y_low + 1;
    }
    if (x_low >= W - 1) {
      x_high = x_low = W - 1;
      x = static_cast<F>(x_low);
    } else {
      x_high = x_low + 1;
    }
    const F ly = y - static_cast<F>(y_low), lx = x - static_cast<F>(x_low), hy = F(1) - ly, hx = F(1) - lx;
    s.pos[0] = y_low * W + x_low;
    s.pos[1] = y_low * W + x_high;
    s.pos[2] = y_high * W + x_low;
    s.pos[3] = y_high * W + x_high;
    s.w[0] = hy * hx;
    s.w[1] = hy * lx;
    s.w[2] = ly * hx;
    s.w[3] = ly * lx;
    return s;
  }

  bool max_mode_ = false;
  bool half_pixel_ = true;
  int64_t out_h_ = 1, out_w_ = 1, sampling_ratio_ = 0;
  float spatial_scale_ = 1.0f;
};

// ---------------------------------------------------------------- Col2Im

class Col2ImKernel final : public OpKernel {
 public:
  explicit Col2ImKernel(const KernelInfo& info)
      : dilations_(info.attr_ints("dilations")), pads_(info.attr_ints("pads")), strides_(info.attr_ints("strides")) {}

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* image = ctx.input(1);
    const Tensor* block = ctx.input(2);
    if (!x || !image || !block) return ctx.error("inputs input, image_shape and block_shape are required");
    std::vector<int64_t> img, blk;
    if (!tensor_ops::read_int64s(*image, img) || !tensor_ops::read_int64s(*block, blk))
      return ctx.error("image_shape and block_shape must be integer tensors");
    const size_t nd = img.size();
    if (blk.size() != nd || nd == 0) return ctx.error("image_shape and block_shape must have the same, non-zero length");
    const std::vector<int64_t> dil = dilations_.empty() ? std::vector<int64_t>(nd, 1) : dilations_;
    const std::vector<int64_t> str = strides_.empty() ? std::vector<int64_t>(nd, 1) : strides_;
    const std::vector<int64_t> pad = pads_.empty() ? std::vector<int64_t>(2 * nd, 0) : pads_;
    if (dil.size() != nd || str.size() != nd || pad.size() != 2 * nd)
      return ctx.error("dilations, strides and pads must match the ", nd, " image dims");
    if (x->rank() != 3) return ctx.error("input must be 3-D [N, C*prod(block_shape), L], got ", shape_to_string(x->shape()));
    const int64_t kernel_size = shape_size(blk);
    if (kernel_size <= 0 || x->dim(1) % kernel_size != 0)
      return ctx.error("input dim 1 (", x->dim(1), ") is not a multiple of prod(block_shape) = ", kernel_size);
    std::vector<int64_t> cols(nd);
    for (size_t d = 0; d < nd; ++d) {
      cols[d] = (img[d] + pad[d] + pad[nd + d] - (dil[d] * (blk[d] - 1) + 1)) / str[d] + 1;
      if (cols[d] <= 0) return ctx.error("image_shape, block_shape, pads, dilations and strides leave no blocks");
    }
    const int64_t L = shape_size(cols);
    if (x->dim(2) != L) return ctx.error("input dim 2 is ", x->dim(2), " but the block count is ", L);
    const int64_t N = x->dim(0), C = x->dim(1) / kernel_size, image_size = shape_size(img);
    Shape out_shape = {N, C};
    out_shape.insert(out_shape.end(), img.begin(), img.end());
    Tensor& y = ctx.allocate_output(0, x->dtype(), out_shape);
    if (y.size() == 0) return Status::ok();

    // Map every (kernel offset, block) pair to its image position once; -1 when in the padding.
    std::vector<int64_t> target(static_cast<size_t>(kernel_size * L));
    std::vector<int64_t> k_idx(nd, 0), c_idx(nd);
    for (int64_t k = 0; k < kernel_size; ++k) {
      std::fill(c_idx.begin(), c_idx.end(), 0);
      for (int64_t l = 0; l < L; ++l) {
        int64_t p = 0;
        bool inside = true;
        for (size_t d = 0; d < nd; ++d) {
          const int64_t v = c_idx[d] * str[d] - pad[d] + k_idx[d] * dil[d];
          if (v < 0 || v >= img[d]) inside = false;
          p = p * img[d] + v;
        }
        target[k * L + l] = inside ? p : -1;
        for (size_t d = nd; d-- > 0;) {
          if (++c_idx[d] < cols[d]) break;
          c_idx[d] = 0;
        }
      }
      for (size_t d = nd; d-- > 0;) {
        if (++k_idx[d] < blk[d]) break;
        k_idx[d] = 0;
      }
    }
    return dispatch<kNumericTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          using A = compute_t<T>;
          const T* src = x->data<T>();
          T* dst = y.data<T>();
          ctx.thread_pool().parallel_for(N * C, 1, [&](int64_t p0, int64_t p1) {
            std::vector<A> acc(static_cast<size_t>(image_size));
            for (int64_t p = p0; p < p1; ++p) {
              std::fill(acc.begin(), acc.end(), A(0));
              const T* in = src + p * kernel_size * L;
              for (int64_t j = 0; j < kernel_size * L; ++j)
                if (target[j] >= 0) acc[target[j]] += to_computed<A>(in[j]);
              for (int64_t i = 0; i < image_size; ++i) dst[p * image_size + i] = from_computed<T>(acc[i]);
            }
          });
          return Status::ok();
        },
        ctx.node());
  }

 private:
  std::vector<int64_t> dilations_, pads_, strides_;
};

// ---------------------------------------------------------------- CenterCropPad

class CenterCropPadKernel final : public OpKernel {
 public:
  explicit CenterCropPadKernel(const KernelInfo& info) : axes_(info.attr_ints("axes")), has_axes_(info.has_attr("axes")) {}

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* shape_t = ctx.input(1);
    if (!x || !shape_t) return ctx.error("inputs input_data and shape are required");
    std::vector<int64_t> sizes;
    if (!tensor_ops::read_int64s(*shape_t, sizes)) return ctx.error("shape must be an integer tensor");
    const int64_t rank = static_cast<int64_t>(x->rank());
    std::vector<int64_t> axes = axes_;
    if (!has_axes_) {
      axes.resize(static_cast<size_t>(rank));
      std::iota(axes.begin(), axes.end(), 0);
    }
    if (axes.size() != sizes.size()) return ctx.error("shape has ", sizes.size(), " values for ", axes.size(), " axes");
    Shape out_shape = x->shape();
    std::vector<int64_t> src_off(static_cast<size_t>(rank), 0), dst_off(static_cast<size_t>(rank), 0);
    Shape block = x->shape();
    for (size_t i = 0; i < axes.size(); ++i) {
      int64_t a = axes[i];
      if (!tensor_ops::normalize_axis(a, rank)) return ctx.error("axis ", axes[i], " is out of range for rank ", rank);
      const int64_t dim = x->dim(static_cast<size_t>(a)), want = sizes[i];
      if (want < 0) return ctx.error("shape values must not be negative, got ", want);
      out_shape[a] = want;
      block[a] = std::min(dim, want);
      // The extra (odd) element is cropped at, or padded on, the end.
      if (want < dim) src_off[a] = (dim - want) / 2;
      else dst_off[a] = (want - dim) / 2;
    }
    Tensor& y = ctx.allocate_output(0, x->dtype(), out_shape);
    if (shape_size(block) == 0) return Status::ok();
    const std::vector<int64_t> xs = tensor_ops::contiguous_strides(x->shape());
    const std::vector<int64_t> ys = tensor_ops::contiguous_strides(out_shape);
    int64_t src_start = 0, dst_start = 0;
    for (int64_t d = 0; d < rank; ++d) {
      src_start += src_off[d] * xs[d];
      dst_start += dst_off[d] * ys[d];
    }
    tensor_ops::strided_copy(x->dtype(), block, tensor_ops::element_ptr(y.raw_data(), x->dtype(), dst_start), ys,
                             tensor_ops::element_ptr(x->raw_data(), x->dtype(), src_start), xs, &ctx.thread_pool());
    return Status::ok();
  }

 private:
  std::vector<int64_t> axes_;
  bool has_axes_;
};

}  // namespace

void register_vision(KernelRegistry& r) {
  r.add({"", "NonMaxSuppression", 10, kLatestOnnxOpset, make_factory<NonMaxSuppressionKernel>()});
  r.add({"", "RoiAlign", 10, kLatestOnnxOpset, RoiAlignKernel::create});
  r.add({"", "Col2Im", 18, kLatestOnnxOpset, make_factory<Col2ImKernel>()});
  r.add({"", "CenterCropPad", 18, kLatestOnnxOpset, make_factory<CenterCropPadKernel>()});
  register_vision_sampling(r);
}

}  // namespace tessera
