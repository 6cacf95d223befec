// Pooling: MaxPool (with Indices), AveragePool, LpPool, their Global forms, MaxUnpool and
// MaxRoiPool.
//
// Windowed pools run on up to three spatial dimensions (1-D and 2-D are padded to 3-D with unit
// dimensions). For each output position and dimension a table gives the first in-bounds input
// position and how many window points fall inside the input (and inside input + explicit pads,
// for count_include_pad), so the inner loops never test bounds. float16/bfloat16 accumulate in
// float, double in double.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "framework/kernel_registry.h"
#include "framework/shape_keyed_cache.h"
#include "core/dispatch.h"
#include "graph/conv_geometry.h"
#include "providers/cpu/families.h"
#include "core/float_types.h"
#include "providers/cpu/microkernels/elementwise_simd.h"
#include "providers/cpu/microkernels/vector_math.h"
#include "providers/cpu/nn/pool_windows.h"

namespace tessera {
namespace {

constexpr size_t kPoolDims = 3;
constexpr TypeSet kPoolFloatTypes = kFloatTypes;
constexpr TypeSet kMaxPoolTypes = kFloatTypes | type_bit(DataType::int8) | type_bit(DataType::uint8);

enum class PoolKind { max, average, lp };

struct PoolParams {
  ConvAttributes window;
  bool count_include_pad = false;
  int64_t storage_order = 0;
  float p = 2.0f;
};

Result<PoolParams> parse_pool_params(const KernelInfo& info, PoolKind kind) {
  PoolParams p;
  TS_RETURN_IF_ERROR(info.required_ints("kernel_shape").status());
  TS_ASSIGN_OR_RETURN(p.window, parse_conv_attributes(info.node()));
  p.count_include_pad = info.attr_int("count_include_pad") != 0;
  p.storage_order = info.attr_int("storage_order");
  if (kind == PoolKind::lp) {
    // LpPool-1 has a float p; later versions an int.
    const Attribute* a = info.node().attribute("p");
    if (a) p.p = a->type == Attribute::Type::float_ ? a->f : static_cast<float>(a->i);
  }
  return p;
}

struct PoolGeometry {
  size_t nd = 0;
  DimWindows dim[kPoolDims];
  int64_t in_size = 1, out_size = 1;
};

Result<PoolGeometry> pool_geometry(const KernelContext& ctx, const PoolParams& p, const Shape& x) {
  if (x.size() < 3) return ctx.error("input must have rank >= 3 (N, C, spatial...), got ", shape_to_string(x));
  const size_t nd = x.size() - 2;
  if (nd > kPoolDims) return not_implemented(ctx.node().describe(), ": pooling over more than 3 spatial dimensions");
  auto r = window_geometry(p.window, Shape(x.begin() + 2, x.end()));
  if (!r.is_ok()) return r.status().with_context(ctx.node().describe());
  const WindowGeometry& w = r.value();
  PoolGeometry g;
  g.nd = nd;
  const size_t lead = kPoolDims - nd;  // unit dimensions in front
  for (size_t d = 0; d < nd; ++d)
    g.dim[lead + d] = make_windows(w.input[d], w.output[d], w.kernel[d], w.stride[d], w.dilation[d], w.pad_begin[d],
                                   w.pad_end[d]);
  for (size_t d = 0; d < lead; ++d) g.dim[d] = make_windows(1, 1, 1, 1, 1, 0, 0);
  for (const DimWindows& dw : g.dim) {
    g.in_size *= dw.in;
    g.out_size *= dw.out;
  }
  return g;
}

// The arithmetic type of a pooled element type (exact for every type the pools take).
template <class T>
using acc_t = std::conditional_t<std::is_same_v<T, double>, double, float>;

template <class T>
void max_pool_plane(const PoolGeometry& g, const T* x, T* y, int64_t* indices, int64_t plane, int64_t storage_order) {
  const DimWindows &D = g.dim[0], &H = g.dim[1], &W = g.dim[2];
  const int64_t HW = H.in * W.in;
  for (int64_t od = 0; od < D.out; ++od)
    for (int64_t oh = 0; oh < H.out; ++oh)
      for (int64_t ow = 0; ow < W.out; ++ow) {
        bool have = false;
        T best{};
        acc_t<T> best_v = -std::numeric_limits<acc_t<T>>::infinity();
        int64_t bd = 0, bh = 0, bw = 0;
        for (int64_t jd = 0, id = D.first[od]; jd < D.count[od]; ++jd, id += D.dilation)
          for (int64_t jh = 0, ih = H.first[oh]; jh < H.count[oh]; ++jh, ih += H.dilation) {
            const T* row = x + id * HW + ih * W.in;
            for (int64_t jw = 0, iw = W.first[ow]; jw < W.count[ow]; ++jw, iw += W.dilation) {
              const acc_t<T> v = to_computed<acc_t<T>>(row[iw]);
              if (!have || v > best_v) {
                have = true;
                best_v = v;
                best = row[iw];
                bd = id;
                bh = ih;
                bw = iw;
              }
            }
          }
        const int64_t o = (od * H.out + oh) * W.out + ow;
        if (!have) {
          if constexpr (std::is_integral_v<T>)
            best = std::numeric_limits<T>::lowest();
          else
            best = from_computed<T>(-std::numeric_limits<acc_t<T>>::infinity());
        }
        y[o] = best;
        if (indices) {
          // Row-major (storage_order 0) or column-major index over the un-padded input dims.
          int64_t idx;
          if (storage_order == 0) {
            idx = (bd * H.in + bh) * W.in + bw;
          } else if (g.nd == 3) {
            idx = bd + bh * D.in + bw * D.in * H.in;
          } else {
            idx = bh + bw * H.in;
          }
          indices[o] = plane * g.in_size + (have ? idx : 0);
        }
      }
}

// a[i] = b[i] > a[i] ? b[i] : a[i] for i < n: the scalar fold's comparison, so a NaN is kept or
// dropped exactly as there; float whole vectors at a time.
template <class A>
void max_into(A* a, const A* b, int64_t n) {
  int64_t done = 0;
  if constexpr (std::is_same_v<A, float>) {
    simd::with_widest_isa([&]<int N>() TS_SIMD_BODY {
      using VF = typename simd::Lanes<N>::f;
      // Locals, not the captures: a store through `dst` could alias a captured variable, which
      // the loop would then reload every vector.
      float* __restrict dst = a;
      const float* __restrict src = b;
      const int64_t end = n;
      int64_t i = 0;
      for (; i + N <= end; i += N) {
        const VF va = simd::load<VF>(dst + i), vb = simd::load<VF>(src + i);
        simd::store(dst + i, simd::select(vb > va, vb, va));
      }
      done = i;
    });
  }
  for (int64_t i = done; i < n; ++i) a[i] = b[i] > a[i] ? b[i] : a[i];
}

// MaxPool without Indices over at most two spatial axes, separably: the rows of each window are
// first reduced element-wise into one row, then `win[i]` takes the max of the W window starting
// at column i, for every column where a whole window fits; windows clipped by the padding fold
// their columns one by one. Both steps are whole rows of vectors (ResNet-50's 3x3/2 MaxPool:
// 6.6x faster than a fold per output). `row` and `win` hold W.in values of scratch each.
template <class T>
void max_pool_plane_separable(const PoolGeometry& g, const T* x, T* y, acc_t<T>* row, acc_t<T>* win) {
  using A = acc_t<T>;
  const DimWindows &H = g.dim[1], &W = g.dim[2];
  const int64_t span = (W.kernel - 1) * W.dilation, starts = W.in - span;  // columns a whole window starts at
  for (int64_t oh = 0; oh < H.out; ++oh) {
    T* yr = y + oh * W.out;
    if (H.count[oh] == 0) {
      std::fill(yr, yr + W.out, from_computed<T>(-std::numeric_limits<A>::infinity()));
      continue;
    }
    const T* first = x + H.first[oh] * W.in;
    if constexpr (std::is_same_v<T, A>)
      std::copy(first, first + W.in, row);
    else
      for (int64_t i = 0; i < W.in; ++i) row[i] = to_computed<acc_t<T>>(first[i]);
    for (int64_t j = 1; j < H.count[oh]; ++j) {
      const T* xr = x + (H.first[oh] + j * H.dilation) * W.in;
      if constexpr (std::is_same_v<T, A>) {
        max_into(row, xr, W.in);
      } else {
        for (int64_t i = 0; i < W.in; ++i) {
          const A v = to_computed<acc_t<T>>(xr[i]);
          row[i] = v > row[i] ? v : row[i];
        }
      }
    }
    if (starts > 0) {
      std::copy(row, row + starts, win);
      for (int64_t j = 1; j < W.kernel; ++j) max_into(win, row + j * W.dilation, starts);
    }
    for (int64_t ow = 0; ow < W.out; ++ow) {
      const int64_t n = W.count[ow], d = W.dilation;
      if (n == W.kernel) {
        yr[ow] = from_computed<T>(win[W.first[ow]]);
        continue;
      }
      const A* r = row + W.first[ow];
      A best = n > 0 ? r[0] : -std::numeric_limits<A>::infinity();
      for (int64_t j = 1; j < n; ++j) best = r[j * d] > best ? r[j * d] : best;
      yr[ow] = from_computed<T>(best);
    }
  }
}

template <class T>
void average_or_lp_plane(const PoolGeometry& g, PoolKind kind, bool count_include_pad, double p, const T* x, T* y) {
  using A = acc_t<T>;
  const DimWindows &D = g.dim[0], &H = g.dim[1], &W = g.dim[2];
  const int64_t HW = H.in * W.in;
  const A pa = static_cast<A>(p);
  for (int64_t od = 0; od < D.out; ++od)
    for (int64_t oh = 0; oh < H.out; ++oh)
      for (int64_t ow = 0; ow < W.out; ++ow) {
        A sum = 0;
        for (int64_t jd = 0, id = D.first[od]; jd < D.count[od]; ++jd, id += D.dilation)
          for (int64_t jh = 0, ih = H.first[oh]; jh < H.count[oh]; ++jh, ih += H.dilation) {
            const T* row = x + id * HW + ih * W.in;
            const int64_t iw0 = W.first[ow], n = W.count[ow], dw = W.dilation;
            if (kind == PoolKind::average) {
              for (int64_t jw = 0; jw < n; ++jw) sum += to_computed<acc_t<T>>(row[iw0 + jw * dw]);
            } else {
              for (int64_t jw = 0; jw < n; ++jw) {
                const A v = std::abs(to_computed<acc_t<T>>(row[iw0 + jw * dw]));
                sum += pa == A(2) ? v * v : (pa == A(1) ? v : std::pow(v, pa));
              }
            }
          }
        A r;
        if (kind == PoolKind::average) {
          const int64_t n = count_include_pad ? D.padded_count[od] * H.padded_count[oh] * W.padded_count[ow]
                                              : D.count[od] * H.count[oh] * W.count[ow];
          r = n > 0 ? sum / static_cast<A>(n) : std::numeric_limits<A>::quiet_NaN();
        } else {
          r = pa == A(2) ? std::sqrt(sum) : (pa == A(1) ? sum : std::pow(sum, A(1) / pa));
        }
        y[(od * H.out + oh) * W.out + ow] = from_computed<T>(r);
      }
}

Shape pool_output_shape(const Shape& x, const PoolGeometry& g) {
  Shape s{x[0], x[1]};
  for (size_t d = kPoolDims - g.nd; d < kPoolDims; ++d) s.push_back(g.dim[d].out);
  return s;
}

class PoolKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info, PoolKind kind) {
    auto k = std::unique_ptr<PoolKernel>(new PoolKernel());
    k->kind_ = kind;
    TS_ASSIGN_OR_RETURN(k->params_, parse_pool_params(info, kind));
    if (k->params_.storage_order != 0 && k->params_.storage_order != 1)
      return info.error("storage_order must be 0 or 1");
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(std::shared_ptr<const PoolGeometry> geometry,
                        geometry_.get(x->shape(), [&] { return pool_geometry(ctx, params_, x->shape()); }));
    const PoolGeometry& g = *geometry;
    const Shape y_shape = pool_output_shape(x->shape(), g);
    Tensor& y = ctx.allocate_output(0, x->dtype(), y_shape);
    int64_t* indices = nullptr;
    if (kind_ == PoolKind::max && ctx.output_count() > 1 && ctx.output_requested(1))
      indices = ctx.allocate_output(1, DataType::int64, y_shape).data<int64_t>();
    const int64_t planes = x->dim(0) * x->dim(1);
    if (y.size() == 0 || g.in_size == 0) return Status::ok();
    const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, g.out_size));
    auto run = [&]<class T>() -> Status {
      const T* xd = x->data<T>();
      T* yd = y.data<T>();
      const bool separable = kind_ == PoolKind::max && !indices && g.dim[0].out == 1 && g.dim[0].in == 1;
      ctx.thread_pool().parallel_for(planes, grain, [&](int64_t p0, int64_t p1) {
        Tensor rows;  // max_pool_plane_separable's row and win
        if (separable) rows = ctx.scratch(std::is_same_v<acc_t<T>, double> ? DataType::float64 : DataType::float32, 2 * g.dim[2].in);
        acc_t<T>* row = separable ? rows.data<acc_t<T>>() : nullptr;
        for (int64_t p = p0; p < p1; ++p) {
          if (separable)
            max_pool_plane_separable<T>(g, xd + p * g.in_size, yd + p * g.out_size, row, row + g.dim[2].in);
          else if (kind_ == PoolKind::max)
            max_pool_plane<T>(g, xd + p * g.in_size, yd + p * g.out_size, indices ? indices + p * g.out_size : nullptr,
                              p, params_.storage_order);
          else
            average_or_lp_plane<T>(g, kind_, params_.count_include_pad, params_.p, xd + p * g.in_size,
                                   yd + p * g.out_size);
        }
      });
      return Status::ok();
    };
    if (kind_ == PoolKind::max) return dispatch<kMaxPoolTypes>(x->dtype(), run, ctx.node());
    return dispatch<kPoolFloatTypes>(x->dtype(), run, ctx.node());
  }

 private:
  PoolKernel() = default;
  PoolKind kind_ = PoolKind::max;
  PoolParams params_;
  ShapeKeyedCache<PoolGeometry> geometry_;  // the last input shape's windows
};

// Sum of a plane in 16 interleaved partial sums, which the compiler keeps in vector registers
// (a single running sum could not be vectorized without reassociating).
template <class T>
acc_t<T> sum_plane(const T* x, int64_t n) {
  constexpr int kLanes = 16;
  acc_t<T> part[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) part[l] += to_computed<acc_t<T>>(x[i + l]);
  acc_t<T> sum = 0;
  for (int l = 0; l < kLanes; ++l) sum += part[l];
  for (; i < n; ++i) sum += to_computed<acc_t<T>>(x[i]);
  return sum;
}

// Planes from this size (elements) average through the vectorized float sum.
constexpr int64_t kVectorSumMinPlane = 128;

class GlobalPoolKernel final : public OpKernel {
 public:
  GlobalPoolKernel(const KernelInfo& info, PoolKind kind) : kind_(kind) {
    const Attribute* a = info.node().attribute("p");
    if (a) p_ = a->type == Attribute::Type::float_ ? a->f : static_cast<float>(a->i);
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    if (x->rank() < 2) return ctx.error("input must have rank >= 2, got ", shape_to_string(x->shape()));
    Shape y_shape{x->dim(0), x->dim(1)};
    for (size_t d = 2; d < x->rank(); ++d) y_shape.push_back(1);
    Tensor& y = ctx.allocate_output(0, x->dtype(), y_shape);
    const int64_t planes = y.size();
    const int64_t plane_size = planes == 0 ? 0 : x->size() / planes;
    if (planes == 0) return Status::ok();
    return dispatch<kPoolFloatTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          using A = acc_t<T>;
          const T* xd = x->data<T>();
          T* yd = y.data<T>();
          const A pa = static_cast<A>(p_);
          const auto sum_f32 = reduce_impl::vec::kernels().sum;
          ctx.thread_pool().parallel_for(planes, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, plane_size)),
                                         [&](int64_t p0, int64_t p1) {
            for (int64_t p = p0; p < p1; ++p) {
              const T* src = xd + p * plane_size;
              A r;
              if (kind_ == PoolKind::max) {
                r = plane_size > 0 ? to_computed<acc_t<T>>(src[0]) : -std::numeric_limits<A>::infinity();
                for (int64_t i = 1; i < plane_size; ++i) {
                  const A v = to_computed<acc_t<T>>(src[i]);
                  r = v > r ? v : r;
                }
              } else if (kind_ == PoolKind::average) {
                // Float planes of 14x14 and more: the vectorized sum, 1.3x (14x14) to 3x (56x56)
                // faster on EfficientNet; smaller ones stay inline, where a call costs more.
                A sum;
                if constexpr (std::is_same_v<T, float>)
                  sum = plane_size >= kVectorSumMinPlane ? sum_f32(src, plane_size) : sum_plane(src, plane_size);
                else
                  sum = sum_plane(src, plane_size);
                r = sum / static_cast<A>(plane_size);
              } else {
                A sum = 0;
                for (int64_t i = 0; i < plane_size; ++i) {
                  const A v = std::abs(to_computed<acc_t<T>>(src[i]));
                  sum += pa == A(2) ? v * v : std::pow(v, pa);
                }
                r = pa == A(2) ? std::sqrt(sum) : std::pow(sum, A(1) / pa);
              }
              yd[p] = from_computed<T>(r);
            }
          });
          return Status::ok();
        },
        ctx.node());
  }

 private:
  PoolKind kind_;
  float p_ = 2.0f;
};

class MaxUnpoolKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<MaxUnpoolKernel>(new MaxUnpoolKernel());
    TS_RETURN_IF_ERROR(info.required_ints("kernel_shape").status());
    TS_ASSIGN_OR_RETURN(k->window_, parse_conv_attributes(info.node()));
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* ind, ctx.required_input(1));
    const Tensor* out_shape = ctx.input(2);
    if (ind->dtype() != DataType::int64 || ind->shape() != x->shape())
      return ctx.error("indices must be int64 with the shape of X ", shape_to_string(x->shape()));
    const size_t nd = x->rank() < 2 ? 0 : x->rank() - 2;
    if (nd == 0 || window_.kernel_shape.size() != nd) return ctx.error("kernel_shape must have one value per spatial axis");
    // The unpooled shape the indices refer to (the pooling's transpose); output_shape, when
    // given, may only enlarge it.
    auto unpooled = transpose_geometry(window_, Shape(x->shape().begin() + 2, x->shape().end()));
    if (!unpooled.is_ok()) return unpooled.status().with_context(ctx.node().describe());
    Shape inferred{x->dim(0), x->dim(1)};
    inferred.insert(inferred.end(), unpooled->output.begin(), unpooled->output.end());
    Shape y_shape = inferred;
    if (out_shape) {
      if (out_shape->dtype() != DataType::int64 || out_shape->size() != static_cast<int64_t>(x->rank()))
        return ctx.error("output_shape must be an int64 tensor with ", x->rank(), " values");
      y_shape.assign(out_shape->data<int64_t>(), out_shape->data<int64_t>() + out_shape->size());
      for (size_t d = 0; d < y_shape.size(); ++d)
        if (y_shape[d] < inferred[d]) return ctx.error("output_shape ", shape_to_string(y_shape), " is smaller than the unpooled shape ", shape_to_string(inferred));
    }
    Tensor& y = ctx.allocate_output(0, x->dtype(), y_shape);
    const int64_t total = shape_size(inferred);
    const int64_t* idx = ind->data<int64_t>();
    for (int64_t i = 0; i < x->size(); ++i)
      if (idx[i] < 0 || idx[i] >= total) return ctx.error("index ", idx[i], " is outside the unpooled tensor ", shape_to_string(inferred));
    return dispatch<kFloatTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          const T* xd = x->data<T>();
          T* yd = y.data<T>();
          if (y_shape == inferred) {
            for (int64_t i = 0; i < x->size(); ++i) yd[idx[i]] = xd[i];
            return Status::ok();
          }
          // Scatter into the inferred shape, then place it at the origin of the larger output.
          std::vector<T> tmp(static_cast<size_t>(total));
          for (int64_t i = 0; i < x->size(); ++i) tmp[static_cast<size_t>(idx[i])] = xd[i];
          const size_t rank = inferred.size();
          std::vector<int64_t> pos(rank, 0);
          for (int64_t i = 0; i < total; ++i) {
            int64_t o = 0;
            for (size_t d = 0; d < rank; ++d) o = o * y_shape[d] + pos[d];
            yd[o] = tmp[static_cast<size_t>(i)];
            for (size_t d = rank; d-- > 0;)
              if (++pos[d] < inferred[d]) break; else pos[d] = 0;
          }
          return Status::ok();
        },
        ctx.node());
  }

 private:
  MaxUnpoolKernel() = default;
  ConvAttributes window_;
};

// com.tessera MaxPoolGrad (training, docs/fused_ops.md): dX for MaxPool's input X given dY, in
// place of MaxPool for Indices + ScatterElements over a zero-filled tensor. The windows' maxima
// are found again by max_pool_plane, so each dY value goes to the element MaxPool's Indices
// names (the first maximum in scan order); an element that is the maximum of several windows
// gets all their gradients. Plane by plane: the plane's dX is written while it is in cache.
class MaxPoolGradKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<MaxPoolGradKernel>(new MaxPoolGradKernel());
    TS_ASSIGN_OR_RETURN(k->params_, parse_pool_params(info, PoolKind::max));
    if (k->params_.storage_order != 0) return info.error("storage_order must be 0");
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* dy, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(1));
    if (dy->dtype() != x->dtype()) return ctx.error("dY and X must have the same element type");
    TS_ASSIGN_OR_RETURN(std::shared_ptr<const PoolGeometry> geometry,
                        geometry_.get(x->shape(), [&] { return pool_geometry(ctx, params_, x->shape()); }));
    const PoolGeometry& g = *geometry;
    if (dy->shape() != pool_output_shape(x->shape(), g))
      return ctx.error("dY ", shape_to_string(dy->shape()), " is not MaxPool's output shape for X ", shape_to_string(x->shape()));
    Tensor& dx = ctx.allocate_output(0, x->dtype(), x->shape());  // zeroed
    const int64_t planes = x->dim(0) * x->dim(1);
    if (dy->size() == 0 || g.in_size == 0) return Status::ok();
    const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, g.in_size));
    return dispatch<kPoolFloatTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          const T *xd = x->data<T>(), *gd = dy->data<T>();
          T* dxd = dx.data<T>();
          ctx.thread_pool().parallel_for(planes, grain, [&](int64_t p0, int64_t p1) {
            // One plane's maxima (unused) and their positions in the plane.
            Tensor maxima = ctx.scratch(x->dtype(), g.out_size), positions = ctx.scratch(DataType::int64, g.out_size);
            int64_t* at = positions.data<int64_t>();
            for (int64_t p = p0; p < p1; ++p) {
              max_pool_plane<T>(g, xd + p * g.in_size, maxima.data<T>(), at, 0, 0);
              const T* gp = gd + p * g.out_size;
              T* dxp = dxd + p * g.in_size;
              for (int64_t o = 0; o < g.out_size; ++o)
                dxp[at[o]] = from_computed<T>(to_computed<acc_t<T>>(dxp[at[o]]) + to_computed<acc_t<T>>(gp[o]));
            }
          });
          return Status::ok();
        },
        ctx.node());
  }

 private:
  MaxPoolGradKernel() = default;
  PoolParams params_;
  ShapeKeyedCache<PoolGeometry> geometry_;  // the last input shape's windows
};

// MaxRoiPool: max over each region of interest split into pooled_shape bins.
class MaxRoiPoolKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<MaxRoiPoolKernel>(new MaxRoiPoolKernel());
    TS_ASSIGN_OR_RETURN(k->pooled_shape_, info.required_ints("pooled_shape"));
    if (k->pooled_shape_.size() != 2 || k->pooled_shape_[0] < 1 || k->pooled_shape_[1] < 1)
      return info.error("pooled_shape must hold two positive values");
    k->spatial_scale_ = info.attr_float("spatial_scale", 1.0f);
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* rois, ctx.required_input(1));
    if (x->rank() != 4) return ctx.error("X must have rank 4, got ", shape_to_string(x->shape()));
    if (rois->rank() != 2 || rois->dim(1) != 5 || rois->dtype() != x->dtype())
      return ctx.error("rois must be [num_rois, 5] of the input's type, got ", shape_to_string(rois->shape()));
    const int64_t N = x->dim(0), C = x->dim(1), H = x->dim(2), W = x->dim(3);
    const int64_t PH = pooled_shape_[0], PW = pooled_shape_[1], R = rois->dim(0);
    Tensor& y = ctx.allocate_output(0, x->dtype(), {R, C, PH, PW});
    return dispatch<kFloatTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          const T* xd = x->data<T>();
          const T* rd = rois->data<T>();
          T* yd = y.data<T>();
          for (int64_t r = 0; r < R; ++r) {
            auto roi = [&](int i) { return to_computed<float>(rd[r * 5 + i]); };
            const int64_t n = static_cast<int64_t>(roi(0));
            if (n < 0 || n >= N) return ctx.error("roi ", r, " refers to batch ", n, " of ", N);
            const int64_t x1 = static_cast<int64_t>(std::round(roi(1) * spatial_scale_));
            const int64_t y1 = static_cast<int64_t>(std::round(roi(2) * spatial_scale_));
            const int64_t x2 = static_cast<int64_t>(std::round(roi(3) * spatial_scale_));
            const int64_t y2 = static_cast<int64_t>(std::round(roi(4) * spatial_scale_));
            const int64_t rh = std::max<int64_t>(y2 - y1 + 1, 1), rw = std::max<int64_t>(x2 - x1 + 1, 1);
            const double bh = static_cast<double>(rh) / static_cast<double>(PH);
            const double bw = static_cast<double>(rw) / static_cast<double>(PW);
            for (int64_t c = 0; c < C; ++c) {
              const T* plane = xd + (n * C + c) * H * W;
              for (int64_t ph = 0; ph < PH; ++ph)
                for (int64_t pw = 0; pw < PW; ++pw) {
                  const int64_t hs = std::clamp<int64_t>(static_cast<int64_t>(std::floor(ph * bh)) + y1, 0, H);
                  const int64_t he = std::clamp<int64_t>(static_cast<int64_t>(std::ceil((ph + 1) * bh)) + y1, 0, H);
                  const int64_t ws = std::clamp<int64_t>(static_cast<int64_t>(std::floor(pw * bw)) + x1, 0, W);
                  const int64_t we = std::clamp<int64_t>(static_cast<int64_t>(std::ceil((pw + 1) * bw)) + x1, 0, W);
                  float best = 0;
                  bool have = false;
                  for (int64_t h = hs; h < he; ++h)
                    for (int64_t w = ws; w < we; ++w) {
                      const float v = to_computed<float>(plane[h * W + w]);
                      if (!have || v > best) best = v, have = true;
                    }
                  yd[((r * C + c) * PH + ph) * PW + pw] = from_computed<T>(have ? best : 0.0f);
                }
            }
          }
          return Status::ok();
        },
        ctx.node());
  }

 private:
  MaxRoiPoolKernel() = default;
  std::vector<int64_t> pooled_shape_;
  float spatial_scale_ = 1.0f;
};

}  // namespace

void register_pool(KernelRegistry& r) {
  r.add({"", "MaxPool", 1, kLatestOnnxOpset, [](const KernelInfo& i) { return PoolKernel::create(i, PoolKind::max); }});
  r.add({"", "AveragePool", 1, kLatestOnnxOpset, [](const KernelInfo& i) { return PoolKernel::create(i, PoolKind::average); }});
  r.add({"", "LpPool", 1, kLatestOnnxOpset, [](const KernelInfo& i) { return PoolKernel::create(i, PoolKind::lp); }});
  r.add({"", "GlobalMaxPool", 1, kLatestOnnxOpset, [](const KernelInfo& i) -> Result<std::unique_ptr<OpKernel>> {
           return std::unique_ptr<OpKernel>(new GlobalPoolKernel(i, PoolKind::max));
         }});
  r.add({"", "GlobalAveragePool", 1, kLatestOnnxOpset, [](const KernelInfo& i) -> Result<std::unique_ptr<OpKernel>> {
           return std::unique_ptr<OpKernel>(new GlobalPoolKernel(i, PoolKind::average));
         }});
  r.add({"", "GlobalLpPool", 1, kLatestOnnxOpset, [](const KernelInfo& i) -> Result<std::unique_ptr<OpKernel>> {
           return std::unique_ptr<OpKernel>(new GlobalPoolKernel(i, PoolKind::lp));
         }});
  r.add({"", "MaxUnpool", 9, kLatestOnnxOpset, [](const KernelInfo& i) { return MaxUnpoolKernel::create(i); }});
  r.add({"com.tessera", "MaxPoolGrad", 1, 1, [](const KernelInfo& i) { return MaxPoolGradKernel::create(i); }});
  r.add({"", "MaxRoiPool", 1, kLatestOnnxOpset, [](const KernelInfo& i) { return MaxRoiPoolKernel::create(i); }});
}

}  // namespace tessera
