// Conv and ConvTranspose (1-D to 8-D, groups, dilations, strides, pads, auto_pad), plus FusedConv
// (Conv + bias + optional residual Z + activation): com.tessera's is written by Tessera's
// optimizer (src/optimizer/extended/), com.microsoft's by ONNX Runtime's into saved models.
//
// Conv lowers each (image, group, band of output rows) to one GEMM: weights [M/g, C/g * k] times
// im2col columns [C/g * k, positions]; a batch of small images (under kTargetColumns / 2
// positions each) puts several images' columns side by side in one GEMM instead; 1x1 stride-1
// convolutions use the input as the columns directly, and depthwise 2-D convolutions run a direct loop: channel-blocked for short rows
// (microkernels/depthwise_blocked.h), per plane otherwise (microkernels/im2col.cc). FusedConv's
// activation (conv_activation.h) is a clamp inside the GEMM / depthwise stores, or applied to each
// GEMM task's block, depthwise plane or channel block right after it is computed. ConvTranspose
// is one GEMM (W^T * X) per (image, group), or per group and run of small images, followed by
// col2im. com.tessera ConvWeightGrad (a
// training gradient kernel) is GEMMs of dY and the im2col columns of X. Constant float32 weights are
// packed for the GEMM (and, when depthwise, by channel block) once, when the kernel is created.
// float16/bfloat16 compute in float32.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "framework/kernel_registry.h"
#include "framework/reusable_input.h"
#include "core/dispatch.h"
#include "graph/conv_geometry.h"
#include "providers/cpu/families.h"
#include "core/float_types.h"
#include "providers/cpu/microkernels/conv_blocked.h"
#include "providers/cpu/microkernels/conv_pointwise.h"
#include "providers/cpu/microkernels/conv_winograd.h"
#include "providers/cpu/microkernels/depthwise_blocked.h"
#include "providers/cpu/microkernels/gemm.h"
#include "providers/cpu/microkernels/im2col.h"
#include "providers/cpu/nn/blocked_layout.h"
#include "providers/cpu/nn/conv_activation.h"
#ifdef TESSERA_HAVE_DNNL
#include "providers/cpu/nn/conv_dnnl.h"
#endif

namespace tessera {
namespace {

using kernels::ConvGeometry;
using kernels::GemmEpilogue;
using kernels::MatrixArg;
using kernels::PackedMatrix;

constexpr TypeSet kConvTypes = kFloatTypes;
// Output positions per GEMM call: wide enough to amortise the weights, narrow enough that the
// im2col band stays in cache and large images split into parallel tasks.
constexpr int64_t kTargetColumns = 512;
// Multiply-adds from which runs of small images (images_per_gemm) are split over the pool: the
// training CNN's first convolution (74k) ran 2.3x slower as two tasks than on one thread.
constexpr int64_t kMinParallelBatchWork = int64_t{1} << 20;
// Fewest output positions worth a separate GEMM task; below that one GEMM is split inside.
constexpr int64_t kMinTaskColumns = 256;
// Depthwise planes narrower than this run channel-blocked (L channels per vector); wider rows
// fill vectors on their own and run the direct row kernel, reading the planes in place.
constexpr int64_t kBlockedDepthwiseMaxWidth = 64;
// Floats of scratch (padded input and output) one band of output rows of a channel block may
// use: 256 KiB keeps a band in L2 while the next is transposed in.
constexpr int64_t kBlockedDepthwiseBandScratch = int64_t{1} << 16;
// Output elements of a fused activation worth handing to another thread.
constexpr int64_t kMinActivationTask = 16384;
// Floats of a blocked convolution's padded input copy per task, at least (planes run together).
constexpr int64_t kMinPadTaskFloats = 16384;
// Vector FMAs (output positions x taps) worth waking another thread for, in blocked depthwise.
constexpr int64_t kMinDepthwiseTaskWork = 8192;

// Copies the shared geometry into the im2col form. `image` is the side windows read from (Conv:
// the input, ConvTranspose: the output), `grid` the side with one position per window. `ctx`
// (KernelContext at run time, KernelInfo at creation) names the node in errors.
template <class Ctx>
Result<ConvGeometry> lowering_geometry(const Ctx& ctx, const WindowGeometry& w, bool transposed) {
  ConvGeometry g;
  g.nd = w.rank();
  if (g.nd > kernels::kMaxConvDims) return ctx.error("at most ", kernels::kMaxConvDims, " spatial dimensions are supported");
  g.in_size = g.out_size = g.kernel_size = 1;
  for (size_t d = 0; d < g.nd; ++d) {
    g.in[d] = transposed ? w.output[d] : w.input[d];
    g.out[d] = transposed ? w.input[d] : w.output[d];
    g.kernel[d] = w.kernel[d];
    g.stride[d] = w.stride[d];
    g.dilation[d] = w.dilation[d];
    g.pad_begin[d] = w.pad_begin[d];
    g.in_size *= g.in[d];
    g.out_size *= g.out[d];
    g.kernel_size *= g.kernel[d];
  }
  return g;
}

template <class Ctx>
Result<ConvGeometry> conv_geometry(const Ctx& ctx, const ConvAttributes& p, const Shape& x, const Shape& w,
                                   bool transposed) {
  if (x.size() < 3) return ctx.error("input must have rank >= 3 (N, C, spatial...), got ", shape_to_string(x));
  if (w.size() != x.size())
    return ctx.error("weights of shape ", shape_to_string(w), " do not match input rank ", x.size());
  const Shape spatial(x.begin() + 2, x.end()), kernel(w.begin() + 2, w.end());
  Result<WindowGeometry> r = transposed ? transpose_geometry(p, spatial, kernel) : window_geometry(p, spatial, kernel);
  if (!r.is_ok()) return r.status().with_context(ctx.node().describe());
  return lowering_geometry(ctx, r.value(), transposed);
}

// Runs task(t, inner_pool) for t < tasks: split over the pool's threads when `split` (each task
// then runs on one thread, inner_pool null), else one after another on the caller, each with the
// pool for its own parallel parts.
template <class Task>
void run_tasks(ThreadPool& pool, int64_t tasks, bool split, const Task& task) {
  if (split) {
    pool.parallel_for(tasks, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) task(t, nullptr);
    });
  } else {
    for (int64_t t = 0; t < tasks; ++t) task(t, &pool);
  }
}

template <class T>
void clamp_bounds(const ConvActivation& act, GemmEpilogue<T>& ep) {
  if (act.kind == ConvActivation::Kind::relu || act.kind == ConvActivation::Kind::clip) {
    ep.clip_min = static_cast<T>(act.clamp_min());
    ep.clip_max = static_cast<T>(act.clamp_max());
  }
}

// im2col / col2im columns (and the depthwise planes' padded copies) from the run's scratch
// memory: one block per task, so tasks on different threads never share one.
template <class T>
Tensor column_buffer(KernelContext& ctx, int64_t n) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
  return ctx.scratch(std::is_same_v<T, float> ? DataType::float32 : DataType::float64, n);
}

// Images per GEMM when each has few output positions: the columns of several images side by
// side, up to kTargetColumns positions, fill the GEMM's tiles, which one 4x4 image would leave
// mostly empty (and the weights are then packed once for all of them).
int64_t images_per_gemm(int64_t positions, int64_t images) {
  return std::clamp<int64_t>(kTargetColumns / std::max<int64_t>(1, positions), 1, std::max<int64_t>(1, images));
}

// The im2col columns of `count` images (`channels` planes each, the next image `image_stride`
// values on) side by side: col[k, j * S + p] is image j's column value, rows count * S long.
// `scratch` holds channels * kernel_size * S values (unused when count is 1).
template <class T>
void images_im2col(const ConvGeometry& g, const T* x, int64_t image_stride, int64_t channels, int64_t count, T* col,
                   T* scratch) {
  if (count == 1) return kernels::im2col(g, x, channels, 0, g.out[0], col);
  const int64_t K = channels * g.kernel_size, S = g.out_size, L = count * S;
  for (int64_t j = 0; j < count; ++j) {
    kernels::im2col(g, x + j * image_stride, channels, 0, g.out[0], scratch);
    for (int64_t k = 0; k < K; ++k) std::copy_n(scratch + k * S, S, col + k * L + j * S);
  }
}

// Everything one Conv run needs, with float16/bfloat16 already widened to float.
template <class T>
struct ConvArgs {
  const ConvGeometry* g;
  int64_t N, C, M, group;
  const T* x;
  const T* w;
  const std::vector<PackedMatrix<float>>* packed;  // per group, or null
  const float* depthwise_packed;                   // blocked depthwise weights, or null
  const T* bias;                                   // [M] or null
  const T* residual;                               // FusedConv's Z, shaped like y, or null
  ConvActivation act;
  T* y;
};

// True when a depthwise convolution of `channels` planes runs channel-blocked: float, whole
// blocks of channels, rows too short for the direct kernel.
bool use_blocked_depthwise(const ConvGeometry& g, int64_t channels) {
  return channels % kernels::depthwise_block_channels() == 0 && g.out[1] < kBlockedDepthwiseMaxWidth;
}

// Output rows per task of the channel-blocked depthwise kernel: halved until a band's scratch
// fits kBlockedDepthwiseBandScratch.
int64_t depthwise_band_rows(const ConvGeometry& g) {
  int64_t rows = g.out[0];
  while (rows > 1 && kernels::depthwise_blocked_scratch_size(g, rows) > kBlockedDepthwiseBandScratch) rows = (rows + 1) / 2;
  return rows;
}

// Depthwise, L channels at a time (microkernels/depthwise_blocked.h). A block's activation runs
// on its interleaved output, whole vectors, before the output is transposed back to planes.
// Tasks are (block, band of output rows).
void depthwise_blocked_forward(const ConvArgs<float>& a, const GemmEpilogue<float>& ep, KernelContext& ctx) {
  const ConvGeometry& g = *a.g;
  const int64_t L = kernels::depthwise_block_channels(), taps = g.kernel_size, S = g.out_size, OW = g.out[1];
  const int64_t rows = depthwise_band_rows(g);
  const int64_t bands = (g.out[0] + rows - 1) / rows, per_image = a.M / L, tasks = a.N * per_image * bands;
  const int64_t band_scratch = kernels::depthwise_blocked_scratch_size(g, rows);
  const int64_t scratch_size = band_scratch + (a.depthwise_packed ? 0 : taps * L);
  const int64_t task_work = rows * OW * taps;
  ctx.thread_pool().parallel_for(tasks, std::max<int64_t>(1, kMinDepthwiseTaskWork / task_work), [&](int64_t t0, int64_t t1) {
    Tensor scratch = column_buffer<float>(ctx, scratch_size);
    float* buf = scratch.data<float>();
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t / bands, n = b / per_image, c0 = (b % per_image) * L;
      const int64_t oh0 = (t % bands) * rows, oh1 = std::min(g.out[0], oh0 + rows);
      const float* w = a.depthwise_packed ? a.depthwise_packed + c0 * taps : buf + band_scratch;
      if (!a.depthwise_packed) kernels::pack_depthwise_weights(a.w + c0 * taps, L, taps, buf + band_scratch);
      float* out = kernels::depthwise_conv2d_block(g, a.x + (n * a.M + c0) * g.in_size, w, a.bias ? a.bias + c0 : nullptr,
                                                   ep.clip_min, ep.clip_max, oh0, oh1, buf);
      apply_activation(a.act, out, (oh1 - oh0) * OW * L);
      kernels::unblock_channels(out, (oh1 - oh0) * OW, S, a.y + (n * a.M + c0) * S + oh0 * OW);
    }
  });
}

// The bias of M channels padded with zeros to `padded` (whole blocks: the blocked kernels read L
// values per block), in scratch; undefined without a bias.
Tensor blocked_bias(KernelContext& ctx, const float* bias, int64_t M, int64_t padded) {
  if (!bias) return {};
  Tensor b = ctx.scratch(DataType::float32, padded);
  std::copy_n(bias, M, b.data<float>());
  std::fill_n(b.data<float>() + M, padded - M, 0.0f);
  return b;
}

// Depthwise in the blocked channel layout (x and y [N, M/L, H, W, L]), L channels at a time with
// no transposes: each block's rows are copied into the padded buffer and its output rows written
// in place. Lanes past M stay zero.
void depthwise_blocked_layout_forward(const ConvArgs<float>& a, KernelContext& ctx) {
  const ConvGeometry& g = *a.g;
  const int64_t L = kernels::depthwise_block_channels(), taps = g.kernel_size, OW = g.out[1];
  const int64_t blocks = (a.M + L - 1) / L, tail = blocks * L - a.M;
  GemmEpilogue<float> ep;
  clamp_bounds(a.act, ep);
  const int64_t rows = depthwise_band_rows(g);
  const int64_t bands = (g.out[0] + rows - 1) / rows, tasks = a.N * blocks * bands;
  const Tensor bias = blocked_bias(ctx, a.bias, a.M, blocks * L);
  const int64_t task_work = rows * OW * taps;
  ctx.thread_pool().parallel_for(tasks, std::max<int64_t>(1, kMinDepthwiseTaskWork / task_work), [&](int64_t t0, int64_t t1) {
    Tensor scratch = column_buffer<float>(ctx, kernels::depthwise_blocked_scratch_size(g, rows));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t / bands, cb = b % blocks;
      const int64_t oh0 = (t % bands) * rows, oh1 = std::min(g.out[0], oh0 + rows);
      float* out = a.y + (b * g.out_size + oh0 * OW) * L;
      kernels::depthwise_conv2d_block(g, a.x + b * g.in_size * L, a.depthwise_packed + cb * taps * L,
                                      a.bias ? bias.data<float>() + cb * L : nullptr, ep.clip_min, ep.clip_max, oh0, oh1,
                                      scratch.data<float>(), true, out);
      const int64_t positions = (oh1 - oh0) * OW;
      apply_activation(a.act, out, positions * L);
      if (tail > 0 && cb == blocks - 1)
        for (int64_t p = 0; p < positions; ++p) std::fill_n(out + p * L + (L - tail), tail, 0.0f);
    }
  });
}

template <class T>
void conv_forward(const ConvArgs<T>& a, KernelContext& ctx) {
  ThreadPool& pool = ctx.thread_pool();
  const ConvGeometry& g = *a.g;
  const int64_t Cg = a.C / a.group, Mg = a.M / a.group, K = Cg * g.kernel_size, S = g.out_size;
  GemmEpilogue<T> ep;
  clamp_bounds(a.act, ep);

  if (g.nd == 2 && Cg == 1 && Mg == 1 && !a.residual) {
    if constexpr (std::is_same_v<T, float>) {
      if (use_blocked_depthwise(g, a.M)) return depthwise_blocked_forward(a, ep, ctx);
    }
    // Depthwise: a direct loop per channel plane beats a GEMM with M = 1.
    // Each plane's activation is applied right after the plane, while it is in cache.
    const int64_t scratch_size = kernels::depthwise_scratch_size<T>(g);
    pool.parallel_for(a.N * a.M, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, S * g.kernel_size)),
                      [&](int64_t p0, int64_t p1) {
                        Tensor scratch;
                        if (scratch_size > 0) scratch = column_buffer<T>(ctx, scratch_size);
                        for (int64_t p = p0; p < p1; ++p) {
                          const int64_t m = p % a.M;
                          kernels::depthwise_conv2d_plane(g, a.x + p * g.in_size, a.w + m * g.kernel_size,
                                                          a.bias ? a.bias[m] : T(0), ep.clip_min, ep.clip_max,
                                                          a.y + p * S, scratch_size > 0 ? scratch.data<T>() : nullptr, p > p0);
                          apply_activation(a.act, a.y + p * S, S);
                        }
                      });
    return;
  }

  const int threads = pool.size();
  // Small images, several to a GEMM (images_per_gemm): per group and run of images, their columns
  // side by side, one GEMM into a [Mg, count * S] block, each image's rows then copied to Y. Not
  // with a residual, which the epilogue reads in Y's layout.
  if (const int64_t per_gemm = images_per_gemm(S, a.N); per_gemm > 1 && !a.residual) {
    const int64_t runs = (a.N + per_gemm - 1) / per_gemm, tasks = a.group * runs;
    auto run_task = [&](int64_t t, ThreadPool* inner_pool) {
      const int64_t gi = t / runs, n = (t % runs) * per_gemm, count = std::min(per_gemm, a.N - n), L = count * S;
      Tensor buffer = column_buffer<T>(ctx, (K + Mg) * L + (count > 1 ? K * S : 0));
      T *col = buffer.data<T>(), *block = col + K * L, *scratch = block + Mg * L;
      images_im2col(g, a.x + (n * a.C + gi * Cg) * g.in_size, a.C * g.in_size, Cg, count, col, scratch);
      MatrixArg<T> w{a.w + gi * Mg * K, K, false};
      if constexpr (std::is_same_v<T, float>)
        if (a.packed) w.packed = &(*a.packed)[static_cast<size_t>(gi)];
      GemmEpilogue<T> e = ep;
      e.bias_m = a.bias ? a.bias + gi * Mg : nullptr;
      kernels::gemm(Mg, L, K, T(1), w, MatrixArg<T>{col, L, false}, T(0), block, L, e, inner_pool);
      for (int64_t j = 0; j < count; ++j)
        for (int64_t m = 0; m < Mg; ++m) {
          T* yt = a.y + ((n + j) * a.M + gi * Mg + m) * S;
          std::copy_n(block + m * L + j * S, S, yt);
          if (!a.act.is_clamp()) apply_activation(a.act, yt, S);
        }
    };
    run_tasks(pool, tasks, threads > 1 && tasks >= threads && a.N * a.M * K * S >= kMinParallelBatchWork, run_task);
    return;
  }

  const bool pointwise = g.is_pointwise();
  const int64_t inner = g.out_inner(), images = a.N * a.group;
  // Bands of output rows of about kTargetColumns positions. With several threads, bands become
  // independent tasks when each still has kMinTaskColumns positions; their count is then made a
  // multiple of the thread count so that equal bands keep every thread busy to the end.
  int64_t bands = std::clamp<int64_t>((S + kTargetColumns - 1) / kTargetColumns, 1, g.out[0]);
  const bool by_task = threads > 1 && images * S >= kMinTaskColumns * threads;
  if (by_task && images * bands < 4 * threads)
    while (bands < g.out[0] && (images * bands) % threads != 0) ++bands;
  const int64_t rows = (g.out[0] + bands - 1) / bands;
  const int64_t chunks = (g.out[0] + rows - 1) / rows;
  const int64_t tasks = images * chunks;
  auto run_task = [&](int64_t t, ThreadPool* inner_pool) {
    const int64_t n = t / (a.group * chunks), gi = (t / chunks) % a.group, ch = t % chunks;
    const int64_t o0 = ch * rows, o1 = std::min(g.out[0], o0 + rows);
    const int64_t j0 = o0 * inner, cols = (o1 - o0) * inner;
    const T* xg = a.x + (n * a.C + gi * Cg) * g.in_size;
    MatrixArg<T> b;
    Tensor columns;
    if (pointwise) {
      b = {xg + j0, g.in_size, false};
    } else {
      columns = column_buffer<T>(ctx, K * cols);
      T* col = columns.data<T>();
      auto lower = [&](int64_t c0, int64_t c1) {
        kernels::im2col(g, xg + c0 * g.in_size, c1 - c0, o0, o1, col + c0 * g.kernel_size * cols);
      };
      if (inner_pool)
        inner_pool->parallel_for(Cg, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, g.kernel_size * cols)), lower);
      else
        lower(0, Cg);
      b = {col, cols, false};
    }
    MatrixArg<T> w{a.w + gi * Mg * K, K, false};
    if constexpr (std::is_same_v<T, float>)
      if (a.packed) w.packed = &(*a.packed)[static_cast<size_t>(gi)];
    GemmEpilogue<T> e = ep;
    e.bias_m = a.bias ? a.bias + gi * Mg : nullptr;
    const int64_t y_offset = (n * a.M + gi * Mg) * S + j0;
    if (a.residual) {  // read by the GEMM's epilogue, never copied into y first
      e.residual = a.residual + y_offset;
      e.ld_residual = S;
    }
    T* yt = a.y + y_offset;
    kernels::gemm(Mg, cols, K, T(1), w, b, T(0), yt, S, e, inner_pool);
    if (!a.act.is_clamp()) {  // the task's block of output, while it is still in cache
      // Rows [m0, m1) of the block; whole planes are one contiguous run (1x1 planes: one call,
      // not one per row).
      auto activate = [&](int64_t m0, int64_t m1) {
        if (cols == S)
          apply_activation(a.act, yt + m0 * S, (m1 - m0) * S);
        else
          for (int64_t m = m0; m < m1; ++m) apply_activation(a.act, yt + m * S, cols);
      };
      // A GEMM that ran on every thread leaves an output too large for one thread to finish alone.
      if (inner_pool)
        inner_pool->parallel_for(Mg, std::max<int64_t>(1, kMinActivationTask / std::max<int64_t>(1, cols)), activate);
      else
        activate(0, Mg);
    }
  };
  run_tasks(pool, tasks, by_task && tasks >= threads && (tasks % threads == 0 || tasks >= 4 * threads), run_task);
}

// Widens float16/bfloat16 operands, runs `fn(args)` in float, narrows the output.
template <class T, class F>
void run_in_float(const Tensor* x, const Tensor* w, const Tensor* b, const Tensor* z, Tensor& y, F&& fn) {
  auto widen = [](const Tensor* t) {
    std::vector<float> v;
    if (t) {
      v.resize(static_cast<size_t>(t->size()));
      widen_span(t->data<T>(), v.data(), t->size());
    }
    return v;
  };
  std::vector<float> xf = widen(x), wf = widen(w), bf = widen(b), zf = widen(z), yf(static_cast<size_t>(y.size()));
  fn(xf.data(), wf.data(), b ? bf.data() : nullptr, z ? zf.data() : nullptr, yf.data());
  narrow_span(yf.data(), y.data<T>(), y.size());
}

// Conv, FusedConv, and BlockedConv (FusedConv in the blocked channel layout, blocked_layout.h:
// its input, unless `nchw_input`, its Z and its output are blocked; Tessera's pointwise kernel
// runs it (1x1s, microkernels/conv_pointwise.h), its direct kernel (microkernels/conv_blocked.h,
// the RGB stem too), oneDNN (1x1s of one input block), the channel-blocked depthwise kernel, or,
// where none takes it, the NCHW path between conversions).
class ConvKernel final : public OpKernel {
 public:
  enum class Form { conv, fused, blocked };

  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info, Form form) {
    auto k = std::unique_ptr<ConvKernel>(new ConvKernel());
    TS_ASSIGN_OR_RETURN(k->params_, parse_conv_attributes(info.node()));
    if (form != Form::conv) {
      TS_ASSIGN_OR_RETURN(k->act_, parse_activation(info));
    }
    if (form == Form::blocked) {
      TS_ASSIGN_OR_RETURN(k->block_, info.required_int("block"));
      if (k->block_ != 8 && k->block_ != 16) return info.error("block must be 8 or 16, got ", k->block_);
      k->nchw_input_ = info.attr_int("nchw_input", 0) != 0;
    }
    const Tensor* w = info.constant_input(1);
    // In the blocked layout, one-group convolutions run on Tessera's own kernels: 1x1s on the
    // pointwise kernel (microkernels/conv_pointwise.h), the rest on the direct kernel (ResNet-50's
    // 3x3s, stride 2 included: 0.86-1.0x oneDNN's time per layer; the RGB stem straight from its
    // NCHW image). 1x1s that read one input block stay on oneDNN where it is on when their
    // activation is a clamp (MobileNetV2's 16 -> 96 at 112x112 ran 1.2-1.5x slower on the
    // pointwise kernel); docs/kernel_choices.md has the numbers.
    const bool own_blocked = form == Form::blocked && w && k->runs_own_blocked(*w);
    const bool one_block_pointwise = own_blocked && w->dim(2) * w->dim(3) == 1 && w->dim(1) <= k->block_;
    // With SiLU those run here too: oneDNN's swish post-op costs more than its kernel gains
    // (EfficientNet-B0's 16 -> 96: 2.6x the time of the same conv with Relu6).
    const bool dnnl_first = one_block_pointwise && k->act_.is_clamp();
    if (own_blocked && !dnnl_first) return pack_own_blocked(k, *w);
#ifdef TESSERA_HAVE_DNNL
    const DnnlLayout layout{k->block_, k->block_ > 0 && !k->nchw_input_, k->block_ > 0};
    // A blocked depthwise convolution runs on Tessera's channel-blocked kernel when its block is
    // the kernel's vector: it reads the blocked layout as it is (EfficientNet's 5x5s with SiLU ran
    // 1.2x slower through oneDNN).
    const bool own_depthwise = form == Form::blocked && w && w->rank() == 4 && w->dim(1) == 1 &&
                               k->params_.group == w->dim(0) && k->block_ == kernels::depthwise_block_channels();
    if (w && !own_depthwise) k->dnnl_ = DnnlConv::create(*w, k->params_, k->act_, layout);
    if (k->dnnl_) k->prepare_dnnl(info, *w);
    if (k->dnnl_) {
      k->owns_weights_ = true;  // oneDNN keeps them in its layout
      return std::unique_ptr<OpKernel>(std::move(k));
    }
#endif
    if (own_blocked) return pack_own_blocked(k, *w);
    if (w && w->dtype() == DataType::float32 && w->rank() >= 3 && w->dim(0) % k->params_.group == 0 && w->size() > 0) {
      const int64_t Mg = w->dim(0) / k->params_.group, K = w->size() / w->dim(0);
      for (int64_t g = 0; g < k->params_.group; ++g)
        k->packed_.push_back(kernels::pack_a(Mg, K, w->data<float>() + g * Mg * K, K, false));
      if (w->rank() == 4 && w->dim(1) == 1 && k->params_.group == w->dim(0)) {  // depthwise 2-D
        const int64_t L = kernels::depthwise_block_channels(), blocks = (w->dim(0) + L - 1) / L;
        k->depthwise_packed_.resize(static_cast<size_t>(blocks * L * K));
        kernels::pack_depthwise_weights(w->data<float>(), w->dim(0), K, k->depthwise_packed_.data());
      }
      // One group whose GEMM always reads the packed weights: not the depthwise loop (one input
      // and one output channel), which reads them in place.
      k->owns_weights_ = k->params_.group == 1 && !(w->dim(0) == 1 && w->dim(1) == 1);
    }
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  bool owns_constant(size_t i) const override { return i == 1 && owns_weights_; }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* w, ctx.required_input(1));
    const Tensor* b = ctx.input(2);
    const Tensor* z = ctx.input(3);
    for (const Tensor* t : {w, b, z})
      if (t && t->dtype() != x->dtype()) return ctx.error("all inputs must have element type ", dtype_name(x->dtype()));
    if (block_ > 0) return compute_blocked(ctx, *x, *w, b, z);
    TS_ASSIGN_OR_RETURN(ConvGeometry g, conv_geometry(ctx, params_, x->shape(), w->shape(), false));
    const int64_t N = x->dim(0), C = x->dim(1), M = w->dim(0), group = params_.group;
    // Checked: an empty weight tensor may declare any channel count.
    const Result<int64_t> expected_c = checked_multiply(w->dim(1), group);
    if (!expected_c.is_ok() || C != *expected_c)
      return ctx.error("input has ", C, " channels but weights ", shape_to_string(w->shape()), " with group ", group,
                       " expect ", expected_c.is_ok() ? std::to_string(*expected_c) : std::string("more than 2^63"));
    if (M % group != 0) return ctx.error("output channels ", M, " are not divisible by group ", group);
    if (b && b->size() != M) return ctx.error("bias has ", b->size(), " values, expected ", M);
    Shape y_shape{N, M};
    for (size_t d = 0; d < g.nd; ++d) y_shape.push_back(g.out[d]);
    if (z && z->shape() != y_shape)
      return ctx.error("input Z of shape ", shape_to_string(z->shape()), " must have the output shape ", shape_to_string(y_shape));
    Tensor& y = ctx.allocate_output_uninitialized(0, x->dtype(), y_shape);  // the GEMM (beta 0) writes all of it
    if (y.size() == 0) return Status::ok();
    const float* w_float = x->dtype() == DataType::float32 ? w->data<float>() : nullptr;
#ifdef TESSERA_HAVE_DNNL
    Tensor dnnl_weights;  // the weights back in ONNX's layout, when oneDNN declines this geometry
    if (dnnl_ && x->dtype() == DataType::float32) {
      const float* bf = b ? b->data<float>() : nullptr;
      if (dnnl_->run(g, N, x->data<float>(), bf, z ? z->data<float>() : nullptr, y.data<float>(), ctx))
        return Status::ok();
      dnnl_weights = ctx.scratch(DataType::float32, w->size());
      dnnl_->weights(dnnl_weights.data<float>());
      w_float = dnnl_weights.data<float>();
    }
#endif
    return dispatch<kConvTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          if constexpr (is_half_float_v<T>) {
            run_in_float<T>(x, w, b, z, y, [&](const float* xf, const float* wf, const float* bf, const float* zf, float* yf) {
              conv_forward<float>({&g, N, C, M, group, xf, wf, nullptr, nullptr, bf, zf, act_, yf}, ctx);
            });
          } else {
            const std::vector<PackedMatrix<float>>* packed = packed_.empty() ? nullptr : &packed_;
            const float* dw_packed = depthwise_packed_.empty() ? nullptr : depthwise_packed_.data();
            const T* wt = w->data<T>();
            if constexpr (std::is_same_v<T, float>) wt = w_float;
            conv_forward<T>({&g, N, C, M, group, x->data<T>(), wt, packed, dw_packed, b ? b->data<T>() : nullptr,
                             z ? z->data<T>() : nullptr, act_, y.data<T>()},
                            ctx);
          }
          return Status::ok();
        },
        ctx.node());
  }

 private:
  ConvKernel() = default;

#ifdef TESSERA_HAVE_DNNL
  // When the image size is known (the batch may not be: primitives are per image), oneDNN's
  // primitives for it are made now, not on the first run.
  void prepare_dnnl(const KernelInfo& info, const Tensor& w) const {
    std::optional<Shape> x = info.inferred_input_shape(0);
    if (!x || x->size() != (block_ > 0 && !nchw_input_ ? 5u : 4u) || (*x)[2] < 0 || (*x)[3] < 0) return;
    *x = Shape{1, w.dim(1) * params_.group, (*x)[2], (*x)[3]};
    Result<ConvGeometry> g = conv_geometry(info, params_, *x, w.shape(), false);
    if (g.is_ok()) dnnl_->prepare(*g, info.intra_op_threads(), info.has_input(2), info.has_input(3));
  }
#endif

  Status compute_blocked(KernelContext& ctx, const Tensor& x, const Tensor& w, const Tensor* b, const Tensor* z) const {
    if (x.dtype() != DataType::float32 || w.rank() != 4) return ctx.error("takes float32 2-D convolutions");
    const int64_t group = params_.group, C = w.dim(1) * group, M = w.dim(0), B = block_;
    const int64_t Cb = (C + B - 1) / B;
    const bool in_ok = nchw_input_ ? x.rank() == 4 && x.dim(1) == C
                                   : x.rank() == 5 && x.dim(1) == Cb && x.dim(4) == B;
    if (!in_ok)
      return ctx.error("input ", shape_to_string(x.shape()), " does not hold ", C, " channels ",
                       nchw_input_ ? "as NCHW" : "in blocks of " + std::to_string(B));
    if (b && b->size() != M) return ctx.error("bias has ", b->size(), " values, expected ", M);
    const int64_t N = x.dim(0);
    const Shape x_nchw{N, C, x.dim(2), x.dim(3)};
    TS_ASSIGN_OR_RETURN(ConvGeometry g, conv_geometry(ctx, params_, x_nchw, w.shape(), false));
    const Shape y_nchw{N, M, g.out[0], g.out[1]};
    const Shape y_shape = blocked_shape(y_nchw, B);
    if (z && z->shape() != y_shape)
      return ctx.error("input Z of shape ", shape_to_string(z->shape()), " must have the output shape ",
                       shape_to_string(y_shape));
    // A Z that only this node reads becomes the output: each tile reads its Z before it stores
    // there, so the output needs no buffer of its own, nor the misses of a cold one (ONNX
    // Runtime's NCHWc Conv writes over its Sum input the same way).
    Tensor reused;
    if (z && !blocked_packed_.empty() && own_reads_z_first(g, N, Cb, (M + B - 1) / B, ctx.thread_pool().size()))
      reused = reusable_input(ctx, 3);
    if (reused.defined()) ctx.set_output(0, Value(reused));
    Tensor y = reused.defined() ? reused : ctx.allocate_output_uninitialized(0, DataType::float32, y_shape);
    if (y.size() == 0) return Status::ok();
    const float* bf = b ? b->data<float>() : nullptr;
    if (winograd_packed_) {
      if (!kernels::conv_winograd_supported(g)) return ctx.error("the Winograd kernel does not run this geometry");
      winograd_forward(g, N, C, M, x.data<float>(), bf, z ? z->data<float>() : nullptr, y.data<float>(), ctx);
      return Status::ok();
    }
    if (!blocked_packed_.empty()) {
      if (!kernels::conv_blocked_supported(g)) return ctx.error("the blocked kernel does not run this geometry");
      blocked_own_forward(g, N, C, M, x.data<float>(), bf, z ? z->data<float>() : nullptr, y.data<float>(), ctx);
      return Status::ok();
    }
    const float* wf = w.data<float>();
    Tensor dnnl_weights;
#ifdef TESSERA_HAVE_DNNL
    if (dnnl_) {
      if (dnnl_->run(g, N, x.data<float>(), bf, z ? z->data<float>() : nullptr, y.data<float>(), ctx))
        return Status::ok();
      dnnl_weights = ctx.scratch(DataType::float32, w.size());
      dnnl_->weights(dnnl_weights.data<float>());
      wf = dnnl_weights.data<float>();
    }
#endif
    if (!depthwise_packed_.empty() && B == kernels::depthwise_block_channels() && !nchw_input_ && !z) {
      depthwise_blocked_layout_forward({&g, N, C, M, group, x.data<float>(), wf, nullptr, depthwise_packed_.data(), bf,
                                        nullptr, act_, y.data<float>()},
                                       ctx);
      return Status::ok();
    }
    // oneDNN declined: the NCHW path between conversions.
    ThreadPool* pool = &ctx.thread_pool();
    const int64_t in_plane = x.dim(2) * x.dim(3), out_plane = g.out[0] * g.out[1];
    Tensor x_buffer, z_buffer, y_buffer = ctx.scratch(DataType::float32, N * M * out_plane);
    const float* xf = x.data<float>();
    if (!nchw_input_) {
      x_buffer = ctx.scratch(DataType::float32, N * C * in_plane);
      from_blocked(xf, N, C, in_plane, B, x_buffer.data<float>(), pool);
      xf = x_buffer.data<float>();
    }
    const float* zf = nullptr;
    if (z) {
      z_buffer = ctx.scratch(DataType::float32, N * M * out_plane);
      from_blocked(z->data<float>(), N, M, out_plane, B, z_buffer.data<float>(), pool);
      zf = z_buffer.data<float>();
    }
    const std::vector<PackedMatrix<float>>* packed = packed_.empty() ? nullptr : &packed_;
    const float* dw_packed = depthwise_packed_.empty() ? nullptr : depthwise_packed_.data();
    conv_forward<float>({&g, N, C, M, group, xf, wf, packed, dw_packed, bf, zf, act_, y_buffer.data<float>()}, ctx);
    to_blocked(y_buffer.data<float>(), N, M, out_plane, B, y.data<float>(), pool);
    return Status::ok();
  }

  // BlockedConv on Tessera's direct kernel (microkernels/conv_blocked.h): one group, constant
  // float32 weights, blocks of the kernel's vector, stride 1 or 2 along W, a blocked input or an
  // NCHW one of fewer channels than a block with a kernel past 1x1 (the RGB stem: its channels
  // are the lanes of one block).
  bool runs_own_blocked(const Tensor& w) const {
    const int64_t stride_w = params_.strides.size() == 2 ? params_.strides[1] : 1;
    if (params_.group != 1 || w.dtype() != DataType::float32 || w.rank() != 4 || w.size() == 0) return false;
    if (nchw_input_ && (w.dim(1) >= block_ || w.dim(2) * w.dim(3) == 1)) return false;
    return block_ == kernels::depthwise_block_channels() && (stride_w == 1 || stride_w == 2);
  }

  // Whether Tessera's blocked kernels read each element of Z before they write that output
  // element, so that Y may be Z's buffer: the direct kernel's tiles take all input channels in
  // one pass; the pointwise kernel's too when one chunk holds them (a later chunk adds to what
  // the one before stored in Y). (The Winograd kernel, which reads Z at each element right
  // before it stores there too, is not offered Z: no residual 3x3 in the benchmark models.)
  bool own_reads_z_first(const ConvGeometry& g, int64_t N, int64_t Cb, int64_t Mb, int threads) const {
    if (nchw_input_ || !kernels::conv_pointwise_supported(g)) return true;
    return kernels::plan_conv_pointwise(g, Cb, Mb, N, threads).chunk >= Cb;
  }

  // BlockedConv on the Winograd kernel (microkernels/conv_winograd.h): a 3x3, stride 1, no
  // dilation, a blocked input, input and output channels in the kernel's range
  // (kernels::conv_winograd_chosen), and a clamp activation (the output transform clamps).
  bool runs_winograd(const Tensor& w) const {
    auto all_ones = [](const std::vector<int64_t>& v) { return std::all_of(v.begin(), v.end(), [](int64_t e) { return e == 1; }); };
    return !nchw_input_ && act_.is_clamp() && w.dim(2) == 3 && w.dim(3) == 3 && all_ones(params_.strides) &&
           all_ones(params_.dilations) && kernels::conv_winograd_chosen(w.dim(0), w.dim(1));
  }

  // Packs the weights for the Winograd or the direct kernel, which then owns them; returns the kernel.
  static std::unique_ptr<OpKernel> pack_own_blocked(std::unique_ptr<ConvKernel>& k, const Tensor& w) {
    if (k->runs_winograd(w)) {
      k->winograd_tile_ = kernels::conv_winograd_tile(w.dim(0), w.dim(1));
      // Not zero-filled: the packing writes every element.
      k->winograd_packed_.reset(new float[static_cast<size_t>(
          kernels::conv_winograd_packed_size(k->winograd_tile_, w.dim(0), w.dim(1)))]);
      kernels::pack_conv_winograd_weights(k->winograd_tile_, w.data<float>(), w.dim(0), w.dim(1),
                                          k->winograd_packed_.get());
      k->owns_weights_ = true;
      return std::unique_ptr<OpKernel>(std::move(k));
    }
    const int64_t taps = w.dim(2) * w.dim(3);
    k->blocked_packed_.resize(static_cast<size_t>(kernels::conv_blocked_packed_size(w.dim(0), w.dim(1), taps)));
    kernels::pack_conv_blocked_weights(w.data<float>(), w.dim(0), w.dim(1), taps, k->blocked_packed_.data());
    k->owns_weights_ = true;
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  // The pointwise kernel's tasks (1x1s reading no padding) or the direct kernel's over the pool;
  // each task's non-clamp activation runs on its rows while they are in cache, and the lanes past
  // M are zeroed again after it. The direct kernel reads a padded copy of the input where the
  // convolution has padding, made by the pool first, one task per plane: copying each task's rows
  // into a padded band instead copied every row once per group of output blocks, ~3 times
  // (~10% of ResNet-50's 3x3s' time in conv_bench, docs/kernel_choices.md).
  void blocked_own_forward(const ConvGeometry& g, int64_t N, int64_t C, int64_t M, const float* x, const float* bias,
                           const float* z, float* y, KernelContext& ctx) const {
    const int64_t L = block_, Cb = (C + L - 1) / L, Mb = (M + L - 1) / L, OH = g.out[0], OW = g.out[1], tail = Mb * L - M;
    const Tensor padded_bias = blocked_bias(ctx, bias, M, Mb * L);
    GemmEpilogue<float> ep;
    clamp_bounds(act_, ep);
    ThreadPool& pool = ctx.thread_pool();
    const bool pointwise = !nchw_input_ && kernels::conv_pointwise_supported(g);
    const bool pad = !pointwise && kernels::conv_blocked_needs_padding(g);
    const ConvGeometry gp = pad ? kernels::conv_blocked_padded_geometry(g) : g;
    Tensor padded;
    if (pad) {
      // Tasks of whole planes, or bands of rows of one (the stem's 3 planes are 3 of 2 threads' tasks).
      const int64_t lanes = nchw_input_ ? 1 : L, planes = N * (nchw_input_ ? C : Cb), Hp = gp.in[0];
      const int64_t rows = std::clamp<int64_t>(kMinPadTaskFloats / (gp.in[1] * lanes), 1, Hp), bands = (Hp + rows - 1) / rows;
      padded = ctx.scratch(DataType::float32, planes * gp.in_size * lanes);
      float* pd = padded.data<float>();
      const int64_t grain = std::max<int64_t>(1, kMinPadTaskFloats / (gp.in_size * lanes));
      pool.parallel_for(planes * bands, grain, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t j0 = t % bands * rows;
          kernels::pad_conv_blocked_rows(g, x, lanes, t / bands, j0, std::min(Hp, j0 + rows), pd);
        }
      });
      x = pd;
    }
    kernels::ConvPointwisePlan pointwise_plan;
    if (pointwise) pointwise_plan = kernels::plan_conv_pointwise(g, Cb, Mb, N, pool.size());
    const kernels::ConvBlockedPlan plan = pointwise ? pointwise_plan.tasks : kernels::plan_conv_blocked(gp, Cb, Mb, N, pool.size());
    const kernels::ConvBlockedArgs args{&gp, Cb, Mb, x, blocked_packed_.data(), bias ? padded_bias.data<float>() : nullptr,
                                        z, y, ep.clip_min, ep.clip_max, C - (Cb - 1) * L, nchw_input_};
    pool.parallel_for(plan.tasks, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        if (pointwise) kernels::conv_pointwise_task(args, pointwise_plan, t);
        else kernels::conv_blocked_task(args, plan, t);
        const kernels::ConvBlockedRegion r = kernels::conv_blocked_region(plan, Mb, OH, t);
        const int64_t positions = (r.oh1 - r.oh0) * OW;
        for (int64_t mb = r.mb0; mb < r.mb1; ++mb) {
          float* out = y + ((r.n * Mb + mb) * OH * OW + r.oh0 * OW) * L;
          if (!act_.is_clamp()) apply_activation(act_, out, positions * L);
          if (tail > 0 && mb == Mb - 1)
            for (int64_t p = 0; p < positions; ++p) std::fill_n(out + p * L + (L - tail), tail, 0.0f);
        }
      }
    });
  }

  void winograd_forward(const ConvGeometry& g, int64_t N, int64_t C, int64_t M, const float* x, const float* bias,
                        const float* z, float* y, KernelContext& ctx) const {
    const int64_t L = block_, Cb = (C + L - 1) / L, Mb = (M + L - 1) / L, tail = Mb * L - M, plane = g.out[0] * g.out[1];
    const Tensor padded_bias = blocked_bias(ctx, bias, M, Mb * L);
    GemmEpilogue<float> ep;
    clamp_bounds(act_, ep);
    Tensor scratch = ctx.scratch(DataType::float32, kernels::conv_winograd_scratch_size(winograd_tile_, g, Cb, Mb,
                                                                                        ctx.thread_pool().size()));
    kernels::conv_winograd({winograd_tile_, &g, N, Cb, Mb, x, winograd_packed_.get(), bias ? padded_bias.data<float>() : nullptr, z, y,
                            ep.clip_min, ep.clip_max, C - (Cb - 1) * L, scratch.data<float>()},
                           ctx.thread_pool());
    if (tail > 0)  // the clamp may have moved them off zero
      for (int64_t n = 0; n < N; ++n) {
        float* out = y + ((n * Mb + Mb - 1) * plane) * L;
        for (int64_t p = 0; p < plane; ++p) std::fill_n(out + p * L + (L - tail), tail, 0.0f);
      }
  }

  ConvAttributes params_;
  ConvActivation act_;
  int64_t block_ = 0;        // BlockedConv: channels per block; 0 for Conv and FusedConv
  bool nchw_input_ = false;  // BlockedConv reading an NCHW input (the stem's image)
  std::vector<PackedMatrix<float>> packed_;  // constant float32 weights, one block per group
  std::vector<float> depthwise_packed_;      // the same, channel-blocked, when depthwise 2-D
  std::vector<float> blocked_packed_;        // BlockedConv's weights for the direct kernel
  std::unique_ptr<float[]> winograd_packed_;  // or for the Winograd kernel,
  int winograd_tile_ = 0;                     // with outputs in tiles of this side
  bool owns_weights_ = false;                 // compute never reads the constant weights' data
#ifdef TESSERA_HAVE_DNNL
  std::unique_ptr<DnnlConv> dnnl_;  // the convolution through oneDNN, when it takes it
#endif
};

template <class T>
void conv_transpose_forward(const ConvArgs<T>& a, KernelContext& ctx) {
  ThreadPool& pool = ctx.thread_pool();
  const ConvGeometry& g = *a.g;  // image = Y spatial, grid = X spatial
  const int64_t Cg = a.C / a.group, Mg = a.M / a.group, K = Mg * g.kernel_size;
  const int64_t Sx = g.out_size, Sy = g.in_size;
  const bool pointwise = g.is_pointwise();
  auto run_task = [&](int64_t t, ThreadPool* inner_pool) {
    const int64_t n = t / a.group, gi = t % a.group;
    T* yg = a.y + (n * a.M + gi * Mg) * Sy;
    const T* bias = a.bias ? a.bias + gi * Mg : nullptr;
    // col[K, Sx] = W_g^T [K, Cg] * X_g [Cg, Sx]; W_g is stored [Cg, K].
    MatrixArg<T> w{a.w + gi * Cg * K, K, true};
    if constexpr (std::is_same_v<T, float>)
      if (a.packed) w.packed = &(*a.packed)[static_cast<size_t>(gi)];
    const MatrixArg<T> xm{a.x + (n * a.C + gi * Cg) * Sx, Sx, false};
    if (pointwise) {
      GemmEpilogue<T> ep;
      ep.bias_m = bias;
      kernels::gemm(K, Sx, Cg, T(1), w, xm, T(0), yg, Sx, ep, inner_pool);
      return;
    }
    Tensor columns = column_buffer<T>(ctx, K * Sx);
    T* col = columns.data<T>();
    kernels::gemm(K, Sx, Cg, T(1), w, xm, T(0), col, Sx, {}, inner_pool);
    auto scatter = [&](int64_t m0, int64_t m1) {
      for (int64_t m = m0; m < m1; ++m) std::fill(yg + m * Sy, yg + (m + 1) * Sy, bias ? bias[m] : T(0));
      kernels::col2im_add(g, col, m0, m1, yg);
    };
    if (inner_pool)
      inner_pool->parallel_for(Mg, 1, scatter);
    else
      scatter(0, Mg);
  };
  const int threads = pool.size();
  // Small images, several to a GEMM (as Conv's): X of `count` images side by side, one GEMM into
  // their columns [K, count * Sx], then each image's columns copied out and scattered by col2im.
  if (const int64_t per_gemm = images_per_gemm(Sx, a.N); per_gemm > 1 && !pointwise) {
    const int64_t runs = (a.N + per_gemm - 1) / per_gemm, tasks = a.group * runs;
    auto run_batch = [&](int64_t t, ThreadPool* inner_pool) {
      const int64_t gi = t / runs, n = (t % runs) * per_gemm, count = std::min(per_gemm, a.N - n), L = count * Sx;
      Tensor buffer = column_buffer<T>(ctx, (K + Cg) * L + K * Sx);
      T *col = buffer.data<T>(), *xs = col + K * L, *image_col = xs + Cg * L;
      for (int64_t j = 0; j < count; ++j)
        for (int64_t c = 0; c < Cg; ++c) std::copy_n(a.x + ((n + j) * a.C + gi * Cg + c) * Sx, Sx, xs + c * L + j * Sx);
      MatrixArg<T> w{a.w + gi * Cg * K, K, true};
      if constexpr (std::is_same_v<T, float>)
        if (a.packed) w.packed = &(*a.packed)[static_cast<size_t>(gi)];
      kernels::gemm(K, L, Cg, T(1), w, MatrixArg<T>{xs, L, false}, T(0), col, L, {}, inner_pool);
      for (int64_t j = 0; j < count; ++j) {
        for (int64_t k = 0; k < K; ++k) std::copy_n(col + k * L + j * Sx, Sx, image_col + k * Sx);
        T* yg = a.y + ((n + j) * a.M + gi * Mg) * Sy;
        const T* bias = a.bias ? a.bias + gi * Mg : nullptr;
        for (int64_t m = 0; m < Mg; ++m) std::fill(yg + m * Sy, yg + (m + 1) * Sy, bias ? bias[m] : T(0));
        kernels::col2im_add(g, image_col, 0, Mg, yg);
      }
    };
    run_tasks(pool, tasks, threads > 1 && tasks >= threads && a.N * a.C * K * Sx >= kMinParallelBatchWork, run_batch);
    return;
  }
  const int64_t tasks = a.N * a.group;
  run_tasks(pool, tasks, threads > 1 && tasks >= threads, run_task);
}

class ConvTransposeKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<ConvTransposeKernel>(new ConvTransposeKernel());
    TS_ASSIGN_OR_RETURN(k->params_, parse_conv_attributes(info.node()));
    const Tensor* w = info.constant_input(1);
    if (w && w->dtype() == DataType::float32 && w->rank() >= 3 && w->dim(0) % k->params_.group == 0 && w->size() > 0) {
      const int64_t Cg = w->dim(0) / k->params_.group, K = w->size() / w->dim(0);
      for (int64_t g = 0; g < k->params_.group; ++g)
        k->packed_.push_back(kernels::pack_a(K, Cg, w->data<float>() + g * Cg * K, K, true));
    }
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* w, ctx.required_input(1));
    const Tensor* b = ctx.input(2);
    for (const Tensor* t : {w, b})
      if (t && t->dtype() != x->dtype()) return ctx.error("all inputs must have element type ", dtype_name(x->dtype()));
    TS_ASSIGN_OR_RETURN(ConvGeometry g, conv_geometry(ctx, params_, x->shape(), w->shape(), true));
    const int64_t N = x->dim(0), C = x->dim(1), group = params_.group;
    if (w->dim(0) != C) return ctx.error("input has ", C, " channels but weights ", shape_to_string(w->shape()), " expect ", w->dim(0));
    if (C % group != 0) return ctx.error("input channels ", C, " are not divisible by group ", group);
    const Result<int64_t> output_channels = checked_multiply(w->dim(1), group);  // empty weights: any dims
    if (!output_channels.is_ok())
      return ctx.error("weights ", shape_to_string(w->shape()), " with group ", group, " give more than 2^63 output channels");
    const int64_t M = *output_channels;
    if (b && b->size() != M) return ctx.error("bias has ", b->size(), " values, expected ", M);
    Shape y_shape{N, M};
    for (size_t d = 0; d < g.nd; ++d) y_shape.push_back(g.in[d]);
    Tensor& y = ctx.allocate_output(0, x->dtype(), y_shape);
    if (y.size() == 0) return Status::ok();
    return dispatch<kConvTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          if constexpr (is_half_float_v<T>) {
            run_in_float<T>(x, w, b, nullptr, y, [&](const float* xf, const float* wf, const float* bf, const float*, float* yf) {
              conv_transpose_forward<float>({&g, N, C, M, group, xf, wf, nullptr, nullptr, bf, nullptr, {}, yf}, ctx);
            });
          } else {
            const std::vector<PackedMatrix<float>>* packed = packed_.empty() ? nullptr : &packed_;
            conv_transpose_forward<T>({&g, N, C, M, group, x->data<T>(), w->data<T>(), packed, nullptr,
                                       b ? b->data<T>() : nullptr, nullptr, {}, y.data<T>()},
                                      ctx);
          }
          return Status::ok();
        },
        ctx.node());
  }

 private:
  ConvTransposeKernel() = default;
  ConvAttributes params_;
  std::vector<PackedMatrix<float>> packed_;  // W_g^T per group, for constant float32 weights
};

// com.tessera ConvWeightGrad (training, docs/fused_ops.md): dW [M, C/group, kernel...] of a Conv
// with these attributes, from dY [N, M, out...] and X [N, C, in...]: per image and group, dW_g +=
// dY_g [M/group, S] x columns(X_g)^T, the im2col columns [C/group * k, S] of the forward
// convolution. GEMMs straight into dW (small images several per GEMM, side by side), in place of
// Transpose + Conv + Slice + Transpose. Small problems run on one thread; larger ones split the images over the pool, each
// task summing into its own dW, added up at the end.
class ConvWeightGradKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<ConvWeightGradKernel>(new ConvWeightGradKernel());
    TS_ASSIGN_OR_RETURN(k->kernel_shape_, info.required_ints("kernel_shape"));
    TS_ASSIGN_OR_RETURN(k->params_, parse_conv_attributes(info.node()));
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* dy, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(1));
    if (dy->dtype() != x->dtype()) return ctx.error("dY and X must have the same element type");
    if (x->rank() < 3 || dy->rank() != x->rank() || kernel_shape_.size() + 2 != x->rank())
      return ctx.error("X ", shape_to_string(x->shape()), ", dY ", shape_to_string(dy->shape()), " and kernel_shape of ",
                       kernel_shape_.size(), " values do not describe one convolution");
    const int64_t N = x->dim(0), C = x->dim(1), M = dy->dim(1), group = params_.group;
    if (dy->dim(0) != N) return ctx.error("dY has ", dy->dim(0), " images but X ", N);
    if (group < 1 || C % group != 0 || M % group != 0)
      return ctx.error("channels ", C, " in and ", M, " out are not divisible by group ", group);
    Shape w_shape{M, C / group};
    w_shape.insert(w_shape.end(), kernel_shape_.begin(), kernel_shape_.end());
    TS_ASSIGN_OR_RETURN(ConvGeometry g, conv_geometry(ctx, params_, x->shape(), w_shape, false));
    for (size_t d = 0; d < g.nd; ++d)
      if (dy->dim(d + 2) != g.out[d])
        return ctx.error("dY ", shape_to_string(dy->shape()), " is not the convolution's output for X ", shape_to_string(x->shape()));
    Tensor& dw = ctx.allocate_output(0, x->dtype(), w_shape);  // zeroed: empty images leave zeros
    if (dw.size() == 0 || N == 0 || g.out_size == 0) return Status::ok();
    return dispatch<type_bit(DataType::float32) | type_bit(DataType::float64)>(
        x->dtype(),
        [&]<class T>() -> Status {
          weight_grad<T>(g, N, C, M, group, dy->data<T>(), x->data<T>(), dw.data<T>(), ctx);
          return Status::ok();
        },
        ctx.node());
  }

 private:
  template <class T>
  static void weight_grad(const ConvGeometry& g, int64_t N, int64_t C, int64_t M, int64_t group, const T* dy, const T* x,
                          T* dw, KernelContext& ctx) {
    const int64_t Cg = C / group, Mg = M / group, K = Cg * g.kernel_size, S = g.out_size;
    const int64_t per_gemm = images_per_gemm(S, N);
    // dW of images [n0, n1) into `out` (every element written): per group and run of per_gemm
    // images, dY's rows and the columns of those images side by side, one GEMM.
    auto images = [&](int64_t n0, int64_t n1, T* out) {
      const int64_t batch = std::min(per_gemm, n1 - n0);
      Tensor buffer = column_buffer<T>(ctx, (K + Mg) * batch * S + (batch > 1 ? K * S : 0));
      T *col = buffer.data<T>(), *rows = col + K * batch * S, *scratch = rows + Mg * batch * S;
      for (int64_t gi = 0; gi < group; ++gi)
        for (int64_t n = n0; n < n1; n += batch) {
          const int64_t count = std::min(batch, n1 - n), L = count * S;
          images_im2col(g, x + (n * C + gi * Cg) * g.in_size, C * g.in_size, Cg, count, col, scratch);
          for (int64_t j = 0; j < count; ++j)
            for (int64_t m = 0; m < Mg; ++m) std::copy_n(dy + ((n + j) * M + gi * Mg + m) * S, S, rows + m * L + j * S);
          kernels::gemm(Mg, K, L, T(1), MatrixArg<T>{rows, L, false}, MatrixArg<T>{col, L, true}, n == n0 ? T(0) : T(1),
                        out + gi * Mg * K, K);
        }
    };
    const int threads = ctx.thread_pool().size();
    const int64_t tasks = std::min<int64_t>({threads, N, N * M * K * S / kMinParallelBatchWork});
    if (tasks < 2) return images(0, N, dw);
    const int64_t size = M * K;
    Tensor partial = column_buffer<T>(ctx, (tasks - 1) * size);  // task 0 writes dW itself
    ctx.thread_pool().parallel_for(tasks, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t)
        images(N * t / tasks, N * (t + 1) / tasks, t == 0 ? dw : partial.data<T>() + (t - 1) * size);
    });
    for (int64_t t = 1; t < tasks; ++t) {
      const T* p = partial.data<T>() + (t - 1) * size;
      for (int64_t i = 0; i < size; ++i) dw[i] += p[i];
    }
  }

  ConvWeightGradKernel() = default;
  std::vector<int64_t> kernel_shape_;
  ConvAttributes params_;
};

}  // namespace

void register_conv(KernelRegistry& r) {
  r.add({"", "Conv", 1, kLatestOnnxOpset, [](const KernelInfo& info) { return ConvKernel::create(info, ConvKernel::Form::conv); }});
  r.add({"", "ConvTranspose", 1, kLatestOnnxOpset, [](const KernelInfo& info) { return ConvTransposeKernel::create(info); }});
  r.add({"com.microsoft", "FusedConv", 1, 1, [](const KernelInfo& info) { return ConvKernel::create(info, ConvKernel::Form::fused); }});
  r.add({"com.tessera", "FusedConv", 1, 1, [](const KernelInfo& info) { return ConvKernel::create(info, ConvKernel::Form::fused); }});
  r.add({"com.tessera", "ConvWeightGrad", 1, 1, [](const KernelInfo& info) { return ConvWeightGradKernel::create(info); }});
  r.add({"com.tessera", "BlockedConv", 1, 1, [](const KernelInfo& info) { return ConvKernel::create(info, ConvKernel::Form::blocked); }});
}

}  // namespace tessera
