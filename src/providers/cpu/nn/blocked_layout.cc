// The blocked channel layout's conversions (com.tessera ReorderToBlocked / ReorderFromBlocked),
// its pools (com.tessera BlockedPool: MaxPool, AveragePool, GlobalAveragePool and GlobalMaxPool
// over [N, C/block, H, W, block]) and squeeze-and-excitation (com.tessera BlockedSqueezeExcite):
// each position is one vector of `block` channels, so the inner loops are whole vectors with no
// transpose.
#include "providers/cpu/nn/blocked_layout.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "framework/kernel_registry.h"
#include "framework/reusable_input.h"
#include "framework/shape_keyed_cache.h"
#include "graph/conv_geometry.h"
#include "providers/cpu/families.h"
#include "providers/cpu/microkernels/elementwise_simd.h"
#include "providers/cpu/nn/conv_activation.h"
#include "providers/cpu/nn/pool_windows.h"

namespace tessera {

Shape blocked_shape(const Shape& nchw, int64_t block) {
  Shape out = nchw;
  out[1] = (nchw[1] + block - 1) / block;
  out.push_back(block);
  return out;
}

namespace {

// Channel blocks per parallel task: at least this many floats each.
constexpr int64_t kMinTaskFloats = 16384;

int64_t blocks_per_task(int64_t plane, int64_t block) {
  return std::max<int64_t>(1, kMinTaskFloats / std::max<int64_t>(1, plane * block));
}

}  // namespace

void to_blocked(const float* x, int64_t N, int64_t C, int64_t plane, int64_t block, float* y, ThreadPool* pool) {
  const int64_t Cb = (C + block - 1) / block;
  auto run = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t n = t / Cb, c0 = t % Cb * block, lanes = std::min(block, C - c0);
      float* out = y + t * plane * block;
      const float* in = x + (n * C + c0) * plane;
      for (int64_t p = 0; p < plane; ++p) {
        float* v = out + p * block;
        for (int64_t l = 0; l < lanes; ++l) v[l] = in[l * plane + p];
        for (int64_t l = lanes; l < block; ++l) v[l] = 0.0f;
      }
    }
  };
  if (pool) pool->parallel_for(N * Cb, blocks_per_task(plane, block), run);
  else run(0, N * Cb);
}

void from_blocked(const float* y, int64_t N, int64_t C, int64_t plane, int64_t block, float* x, ThreadPool* pool) {
  const int64_t Cb = (C + block - 1) / block;
  auto run = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t n = t / Cb, c0 = t % Cb * block, lanes = std::min(block, C - c0);
      const float* in = y + t * plane * block;
      float* out = x + (n * C + c0) * plane;
      for (int64_t l = 0; l < lanes; ++l)
        for (int64_t p = 0; p < plane; ++p) out[l * plane + p] = in[p * block + l];
    }
  };
  if (pool) pool->parallel_for(N * Cb, blocks_per_task(plane, block), run);
  else run(0, N * Cb);
}

namespace {

// Input 0 of a 2-D blocked kernel: float32 [N, C/block, H, W, block] in blocks of 8 or 16.
Result<const Tensor*> blocked_2d_input(KernelContext& ctx) {
  TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
  if (x->dtype() != DataType::float32 || x->rank() != 5)
    return ctx.error("input must be a blocked float32 tensor [N, C/block, H, W, block], got ", dtype_name(x->dtype()),
                     " ", shape_to_string(x->shape()));
  if (x->dim(4) != 8 && x->dim(4) != 16)
    return ctx.error("blocks of ", x->dim(4), " channels are not supported (8 or 16)");
  return x;
}

// The plane (product of the dims past the channels) of an image of rank >= 2.
int64_t plane_of(const Shape& s, size_t first) {
  int64_t plane = 1;
  for (size_t d = first; d < s.size(); ++d) plane *= s[d];
  return plane;
}

class ReorderToBlockedKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<ReorderToBlockedKernel>(new ReorderToBlockedKernel());
    TS_ASSIGN_OR_RETURN(k->block_, info.required_int("block"));
    if (k->block_ < 1) return info.error("block must be positive, got ", k->block_);
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    if (x->dtype() != DataType::float32 || x->rank() < 2)
      return ctx.error("input must be a float32 tensor [N, C, ...], got ", dtype_name(x->dtype()), " ",
                       shape_to_string(x->shape()));
    Tensor& y = ctx.allocate_output_uninitialized(0, DataType::float32, blocked_shape(x->shape(), block_));
    to_blocked(x->data<float>(), x->dim(0), x->dim(1), plane_of(x->shape(), 2), block_, y.data<float>(),
               &ctx.thread_pool());
    return Status::ok();
  }

 private:
  ReorderToBlockedKernel() = default;
  int64_t block_ = 0;
};

class ReorderFromBlockedKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<ReorderFromBlockedKernel>(new ReorderFromBlockedKernel());
    TS_ASSIGN_OR_RETURN(k->channels_, info.required_int("channels"));
    if (k->channels_ < 0) return info.error("channels must not be negative, got ", k->channels_);
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* y, ctx.required_input(0));
    if (y->dtype() != DataType::float32 || y->rank() < 3)
      return ctx.error("input must be a blocked float32 tensor [N, C/block, ..., block], got ", dtype_name(y->dtype()),
                       " ", shape_to_string(y->shape()));
    const int64_t block = y->dim(y->rank() - 1);
    if (y->dim(1) != (channels_ + block - 1) / block)
      return ctx.error("input ", shape_to_string(y->shape()), " does not hold ", channels_, " channels in blocks of ",
                       block);
    Shape x_shape(y->shape().begin(), y->shape().end() - 1);
    x_shape[1] = channels_;
    Tensor& x = ctx.allocate_output_uninitialized(0, DataType::float32, x_shape);
    from_blocked(y->data<float>(), y->dim(0), channels_, plane_of(x_shape, 2), block, x.data<float>(),
                 &ctx.thread_pool());
    return Status::ok();
  }

 private:
  ReorderFromBlockedKernel() = default;
  int64_t channels_ = 0;
};

enum class BlockedPoolKind { max, average, global_max, global_average };

// The max (a NaN never wins, as in the NCHW MaxPool's fold) or the sum of acc and v.
template <bool kMax, class V>
TS_SIMD V pool_fold(const V& acc, const V& v) {
  if constexpr (kMax) return simd::select(v > acc, v, acc);
  else return acc + v;
}

// One output row of a windowed pool over a channel block: out[ow][l] for every column. Each
// position is one vector of B lanes (always inlined into the caller's ISA clone). Where kOuts
// consecutive windows lie wholly inside the row they are folded together, kOuts independent
// accumulators: one output's fold is a chain of dependent max/add ops (9 for a 3x3 window)
// whose latency, not the loads, set the time (ResNet-50's 3x3/2 MaxPool after the stem).
template <int B, bool kMax>
TS_SIMD void pool_row(const float* x, int64_t W_in, const DimWindows& H, const DimWindows& W, int64_t oh,
                      bool count_include_pad, float* out) {
  using V = typename simd::Lanes<B>::f;
  constexpr int kOuts = 4;
  const V init = simd::splat<V>(kMax ? -std::numeric_limits<float>::infinity() : 0.0f);
  for (int64_t ow = 0; ow < W.out;) {
    // Whole windows form one run of columns, so the first and last of kOuts tell for all.
    const int64_t n = ow + kOuts <= W.out && W.count[ow] == W.kernel && W.count[ow + kOuts - 1] == W.kernel ? kOuts : 1;
    V acc0 = init, acc1 = init, acc2 = init, acc3 = init;  // named, so that they stay in registers
    for (int64_t jh = 0, ih = H.first[oh]; jh < H.count[oh]; ++jh, ih += H.dilation) {
      const float* row = x + ih * W_in * B;
      if (n == kOuts) {
        const float* p0 = row + W.first[ow] * B;
        const float* p1 = row + W.first[ow + 1] * B;
        const float* p2 = row + W.first[ow + 2] * B;
        const float* p3 = row + W.first[ow + 3] * B;
        for (int64_t jw = 0, at = 0; jw < W.kernel; ++jw, at += W.dilation * B) {
          acc0 = pool_fold<kMax>(acc0, simd::load<V>(p0 + at));
          acc1 = pool_fold<kMax>(acc1, simd::load<V>(p1 + at));
          acc2 = pool_fold<kMax>(acc2, simd::load<V>(p2 + at));
          acc3 = pool_fold<kMax>(acc3, simd::load<V>(p3 + at));
        }
        continue;
      }
      for (int64_t jw = 0, iw = W.first[ow]; jw < W.count[ow]; ++jw, iw += W.dilation)
        acc0 = pool_fold<kMax>(acc0, simd::load<V>(row + iw * B));
    }
    const V accs[kOuts] = {acc0, acc1, acc2, acc3};
    for (int64_t k = 0; k < n; ++k) {
      V v = accs[k];
      if constexpr (!kMax) {
        const int64_t count =
            count_include_pad ? H.padded_count[oh] * W.padded_count[ow + k] : H.count[oh] * W.count[ow + k];
        v *= count > 0 ? 1.0f / static_cast<float>(count) : 0.0f;
      }
      simd::store(out + (ow + k) * B, v);
    }
    ow += n;
  }
}

// The max or mean of a plane of `plane` vectors.
template <int B, bool kMax>
TS_SIMD void global_pool_block(const float* x, int64_t plane, float* out) {
  using V = typename simd::Lanes<B>::f;
  // Four accumulators: the adds of one do not wait for the previous one's.
  V acc[4];
  for (V& a : acc) a = simd::splat<V>(kMax ? -std::numeric_limits<float>::infinity() : 0.0f);
  int64_t p = 0;
  for (; p + 4 <= plane; p += 4)
    for (int k = 0; k < 4; ++k) {
      const V v = simd::load<V>(x + (p + k) * B);
      if constexpr (kMax) acc[k] = simd::select(v > acc[k], v, acc[k]);
      else acc[k] += v;
    }
  for (; p < plane; ++p) {
    const V v = simd::load<V>(x + p * B);
    if constexpr (kMax) acc[0] = simd::select(v > acc[0], v, acc[0]);
    else acc[0] += v;
  }
  V r = acc[0];
  for (int k = 1; k < 4; ++k) {
    if constexpr (kMax) r = simd::select(acc[k] > r, acc[k], r);
    else r += acc[k];
  }
  if constexpr (!kMax) r *= 1.0f / static_cast<float>(plane);
  simd::store(out, r);
}

class BlockedPoolKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<BlockedPoolKernel>(new BlockedPoolKernel());
    const std::string pool = info.attr_string("pool", "");
    if (pool == "MaxPool") k->kind_ = BlockedPoolKind::max;
    else if (pool == "AveragePool") k->kind_ = BlockedPoolKind::average;
    else if (pool == "GlobalMaxPool") k->kind_ = BlockedPoolKind::global_max;
    else if (pool == "GlobalAveragePool") k->kind_ = BlockedPoolKind::global_average;
    else return info.error("pool must be MaxPool, AveragePool, GlobalMaxPool or GlobalAveragePool, got '", pool, "'");
    if (k->kind_ == BlockedPoolKind::max || k->kind_ == BlockedPoolKind::average) {
      TS_RETURN_IF_ERROR(info.required_ints("kernel_shape").status());
      TS_ASSIGN_OR_RETURN(k->window_, parse_conv_attributes(info.node()));
      if (k->window_.kernel_shape.size() != 2) return info.error("BlockedPool takes 2-D windows");
    }
    k->count_include_pad_ = info.attr_int("count_include_pad", 0) != 0;
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, blocked_2d_input(ctx));
    const int64_t N = x->dim(0), Cb = x->dim(1), H = x->dim(2), W = x->dim(3), B = x->dim(4);
    ThreadPool& pool = ctx.thread_pool();
    const float* xd = x->data<float>();
    if (kind_ == BlockedPoolKind::global_max || kind_ == BlockedPoolKind::global_average) {
      Tensor& y = ctx.allocate_output_uninitialized(0, DataType::float32, {N, Cb, 1, 1, B});
      float* yd = y.data<float>();
      const bool is_max = kind_ == BlockedPoolKind::global_max;
      pool.parallel_for(N * Cb, blocks_per_task(H * W, B), [&](int64_t t0, int64_t t1) {
        simd::with_widest_isa([&]<int>() TS_SIMD_BODY {
          for (int64_t t = t0; t < t1; ++t) {
            const float* in = xd + t * H * W * B;
            float* out = yd + t * B;
            if (B == 16) {
              if (is_max) global_pool_block<16, true>(in, H * W, out);
              else global_pool_block<16, false>(in, H * W, out);
            } else {
              if (is_max) global_pool_block<8, true>(in, H * W, out);
              else global_pool_block<8, false>(in, H * W, out);
            }
          }
        });
      });
      return Status::ok();
    }
    TS_ASSIGN_OR_RETURN(std::shared_ptr<const PlaneWindows> windows, windows_.get(x->shape(), [&]() -> Result<PlaneWindows> {
      Result<WindowGeometry> r = window_geometry(window_, {H, W});
      if (!r.is_ok()) return r.status().with_context(ctx.node().describe());
      const WindowGeometry& g = r.value();
      return PlaneWindows{make_windows(H, g.output[0], g.kernel[0], g.stride[0], g.dilation[0], g.pad_begin[0], g.pad_end[0]),
                          make_windows(W, g.output[1], g.kernel[1], g.stride[1], g.dilation[1], g.pad_begin[1], g.pad_end[1])};
    }));
    const DimWindows& rows = windows->rows;
    const DimWindows& cols = windows->cols;
    const int64_t oH = rows.out, oW = cols.out;
    Tensor& y = ctx.allocate_output_uninitialized(0, DataType::float32, {N, Cb, oH, oW, B});
    float* yd = y.data<float>();
    const bool is_max = kind_ == BlockedPoolKind::max;
    // One task per output row of a channel block.
    pool.parallel_for(N * Cb * oH, std::max<int64_t>(1, kMinTaskFloats / std::max<int64_t>(1, oW * B * 4)),
                      [&](int64_t t0, int64_t t1) {
                        simd::with_widest_isa([&]<int>() TS_SIMD_BODY {
                          for (int64_t t = t0; t < t1; ++t) {
                            const int64_t image = t / oH, oh = t % oH;
                            const float* in = xd + image * H * W * B;
                            float* out = yd + t * oW * B;
                            if (B == 16) {
                              if (is_max) pool_row<16, true>(in, W, rows, cols, oh, count_include_pad_, out);
                              else pool_row<16, false>(in, W, rows, cols, oh, count_include_pad_, out);
                            } else {
                              if (is_max) pool_row<8, true>(in, W, rows, cols, oh, count_include_pad_, out);
                              else pool_row<8, false>(in, W, rows, cols, oh, count_include_pad_, out);
                            }
                          }
                        });
                      });
    return Status::ok();
  }

 private:
  struct PlaneWindows {
    DimWindows rows, cols;
  };

  BlockedPoolKernel() = default;
  BlockedPoolKind kind_ = BlockedPoolKind::max;
  ConvAttributes window_;
  bool count_include_pad_ = false;
  ShapeKeyedCache<PlaneWindows> windows_;  // the last input shape's windows
};

// The sum of a[i] * b[i] over [0, n), N lanes at a time.
template <int N>
TS_SIMD float dot(const float* a, const float* b, int64_t n) {
  using V = typename simd::Lanes<N>::f;
  V acc = simd::splat<V>(0.0f);
  int64_t i = 0;
  for (; i + N <= n; i += N) acc += simd::load<V>(a + i) * simd::load<V>(b + i);
  float sum = 0.0f;
  for (int l = 0; l < N; ++l) sum += acc[l];
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// y[i] += s * x[i] over [0, n), N lanes at a time.
template <int N>
TS_SIMD void axpy(float s, const float* x, int64_t n, float* y) {
  using V = typename simd::Lanes<N>::f;
  int64_t i = 0;
  for (; i + N <= n; i += N) simd::store(y + i, simd::load<V>(y + i) + s * simd::load<V>(x + i));
  for (; i < n; ++i) y[i] += s * x[i];
}

// Every position of a channel block times that block's B gates.
template <int B>
TS_SIMD void scale_block(const float* x, const float* gate, int64_t plane, float* y) {
  using V = typename simd::Lanes<B>::f;
  const V g = simd::load<V>(gate);
  for (int64_t p = 0; p < plane; ++p) simd::store(y + p * B, simd::load<V>(x + p * B) * g);
}

// Squeeze-and-excitation on a blocked image in one node (written by
// optimizer/layout/squeeze_excite_fusion.cc):
//   y = x * Sigmoid(W2 * act(W1 * mean_hw(x) + B1) + B2)
// W1 [R, C, 1, 1] and W2 [C, R, 1, 1] constant, `activation` FusedConv's. The pooled vector, the
// hidden one and the gates live in scratch, so the two 1x1-image convolutions, their reorders
// and the Mul are not nodes of their own; x is read twice (the mean, then the scale), and y is
// written over it when nothing else reads it.
class BlockedSqueezeExciteKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<BlockedSqueezeExciteKernel>(new BlockedSqueezeExciteKernel());
    TS_ASSIGN_OR_RETURN(k->act_, parse_activation(info));
    const Tensor* w1 = info.constant_input(1);
    const Tensor* w2 = info.constant_input(3);
    auto is_1x1 = [](const Tensor* w) {
      return w && w->dtype() == DataType::float32 && w->rank() == 4 && w->dim(2) == 1 && w->dim(3) == 1 && w->size() > 0;
    };
    if (!is_1x1(w1) || !is_1x1(w2))
      return info.error("W1 and W2 must be constant float32 [R, C, 1, 1] and [C, R, 1, 1] weights");
    k->C_ = w1->dim(1);
    k->R_ = w1->dim(0);
    if (w2->dim(0) != k->C_ || w2->dim(1) != k->R_)
      return info.error("W2 ", shape_to_string(w2->shape()), " does not map W1's ", k->R_, " outputs back to ", k->C_,
                        " channels");
    k->w1_.assign(w1->data<float>(), w1->data<float>() + w1->size());
    // W2 transposed to [R][C]: each hidden value scales one contiguous row of gates.
    k->w2t_.resize(static_cast<size_t>(k->R_ * k->C_));
    for (int64_t c = 0; c < k->C_; ++c)
      for (int64_t r = 0; r < k->R_; ++r) k->w2t_[static_cast<size_t>(r * k->C_ + c)] = w2->data<float>()[c * k->R_ + r];
    TS_ASSIGN_OR_RETURN(k->b1_, optional_bias(info, 2, k->R_));
    TS_ASSIGN_OR_RETURN(k->b2_, optional_bias(info, 4, k->C_));
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, blocked_2d_input(ctx));
    const int64_t N = x->dim(0), Cb = x->dim(1), plane = x->dim(2) * x->dim(3), B = x->dim(4);
    if (Cb != (C_ + B - 1) / B)
      return ctx.error("input ", shape_to_string(x->shape()), " does not hold the weights' ", C_, " channels in blocks of ", B);
    const int64_t Cp = Cb * B;
    // An x that only this node reads becomes y: the scale reads each vector before it writes it
    // back, after the pool has read them all (reusable_input.h).
    Tensor reused = reusable_input(ctx, 0);
    if (reused.defined()) ctx.set_output(0, Value(reused));
    Tensor y = reused.defined() ? reused : ctx.allocate_output_uninitialized(0, DataType::float32, x->shape());
    if (y.size() == 0) return Status::ok();
    Tensor pooled = ctx.scratch(DataType::float32, N * Cp), gates = ctx.scratch(DataType::float32, N * Cp);
    Tensor hidden = ctx.scratch(DataType::float32, R_);
    const float* xd = x->data<float>();
    float *pd = pooled.data<float>(), *gd = gates.data<float>(), *hd = hidden.data<float>(), *yd = y.data<float>();
    ThreadPool& pool = ctx.thread_pool();
    pool.parallel_for(N * Cb, blocks_per_task(plane, B), [&](int64_t t0, int64_t t1) {
      simd::with_widest_isa([&]<int>() TS_SIMD_BODY {
        for (int64_t t = t0; t < t1; ++t) {
          if (B == 16) global_pool_block<16, false>(xd + t * plane * B, plane, pd + t * B);
          else global_pool_block<8, false>(xd + t * plane * B, plane, pd + t * B);
        }
      });
    });
    // The two matrix-vector products read all of W1 and W2 (0.4 MB at 1152 channels, from L3
    // when the model is run over and over): past kMinTaskFloats weights per task they are split
    // over the pool, hidden values for W1 and ranges of whole blocks of gates for W2 (on the
    // calling thread alone, EfficientNet-B0's SE blocks took as long at 2 threads as at 1).
    const ConvActivation gate{ConvActivation::Kind::sigmoid};
    for (int64_t n = 0; n < N; ++n) {
      float* g = gd + n * Cp;
      pool.parallel_for(R_, std::max<int64_t>(1, kMinTaskFloats / C_), [&](int64_t r0, int64_t r1) {
        simd::with_widest_isa([&]<int L>() TS_SIMD_BODY {
          for (int64_t r = r0; r < r1; ++r) hd[r] = b1_[static_cast<size_t>(r)] + dot<L>(w1_.data() + r * C_, pd + n * Cp, C_);
        });
      });
      if (act_.is_clamp())
        for (int64_t r = 0; r < R_; ++r) hd[r] = std::clamp(hd[r], act_.clamp_min(), act_.clamp_max());
      apply_activation(act_, hd, R_);
      pool.parallel_for(Cb, std::max<int64_t>(1, kMinTaskFloats / (B * R_)), [&](int64_t b0, int64_t b1) {
        const int64_t c0 = b0 * B, c1 = std::min(C_, b1 * B);
        std::copy(b2_.begin() + c0, b2_.begin() + c1, g + c0);
        simd::with_widest_isa([&]<int L>() TS_SIMD_BODY {
          for (int64_t r = 0; r < R_; ++r) axpy<L>(hd[r], w2t_.data() + r * C_ + c0, c1 - c0, g + c0);
        });
        apply_activation(gate, g + c0, c1 - c0);
      });
      std::fill(g + C_, g + Cp, 0.0f);  // the lanes past C stay zero in y
    }
    pool.parallel_for(N * Cb, blocks_per_task(plane, B), [&](int64_t t0, int64_t t1) {
      simd::with_widest_isa([&]<int>() TS_SIMD_BODY {
        for (int64_t t = t0; t < t1; ++t) {
          const float* g = gd + (t / Cb) * Cp + (t % Cb) * B;
          if (B == 16) scale_block<16>(xd + t * plane * B, g, plane, yd + t * plane * B);
          else scale_block<8>(xd + t * plane * B, g, plane, yd + t * plane * B);
        }
      });
    });
    return Status::ok();
  }

  // W1, B1, W2 and B2 live in the kernel's own vectors: the session may drop the originals.
  bool owns_constant(size_t i) const override { return i >= 1 && i <= 4; }

 private:
  BlockedSqueezeExciteKernel() = default;

  // Input i's constant bias of n values, zeros when the input is absent.
  static Result<std::vector<float>> optional_bias(const KernelInfo& info, size_t i, int64_t n) {
    const std::vector<std::string>& inputs = info.node().inputs;
    if (i >= inputs.size() || inputs[i].empty()) return std::vector<float>(static_cast<size_t>(n), 0.0f);
    const Tensor* b = info.constant_input(i);
    if (!b || b->dtype() != DataType::float32 || b->size() != n)
      return info.error("input ", i, " must be a constant float32 bias of ", n, " values");
    return std::vector<float>(b->data<float>(), b->data<float>() + n);
  }

  ConvActivation act_;
  int64_t C_ = 0, R_ = 0;
  std::vector<float> w1_, w2t_, b1_, b2_;
};

}  // namespace

void register_blocked_layout(KernelRegistry& r) {
  r.add({"com.tessera", "ReorderToBlocked", 1, 1, [](const KernelInfo& i) { return ReorderToBlockedKernel::create(i); }});
  r.add({"com.tessera", "ReorderFromBlocked", 1, 1, [](const KernelInfo& i) { return ReorderFromBlockedKernel::create(i); }});
  r.add({"com.tessera", "BlockedPool", 1, 1, [](const KernelInfo& i) { return BlockedPoolKernel::create(i); }});
  r.add({"com.tessera", "BlockedSqueezeExcite", 1, 1,
         [](const KernelInfo& i) { return BlockedSqueezeExciteKernel::create(i); }});
}

}  // namespace tessera
