// The GEMM lowering shared by Conv (conv.cc), ConvTranspose (conv_transpose.cc) and the training
// kernel ConvWeightGrad (training/conv_weight_grad.cc): the node's geometry in im2col form, the
// per-task column buffers, how a lowering's tasks go to the pool, and the layout in which a batch
// of small images shares one GEMM (images_per_gemm: one 4x4 image would leave the GEMM's tiles
// mostly empty, and the weights are then packed once for the whole run of images).
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "core/dispatch.h"
#include "core/float_types.h"
#include "framework/kernel.h"
#include "graph/conv_geometry.h"
#include "providers/cpu/microkernels/gemm.h"
#include "providers/cpu/microkernels/im2col.h"

namespace tessera {

// Conv and ConvTranspose take these; float16 and bfloat16 compute in float (run_in_float).
constexpr TypeSet kConvTypes = kFloatTypes;
// Output positions per GEMM call: wide enough to amortise the weights, narrow enough that the
// im2col band stays in cache and large images split into parallel tasks.
constexpr int64_t kTargetColumns = 512;
// Multiply-adds from which runs of small images (images_per_gemm) are split over the pool: the
// training CNN's first convolution (74k) ran 2.3x slower as two tasks than on one thread.
constexpr int64_t kMinParallelBatchWork = int64_t{1} << 20;

// The node's geometry in im2col form: for a convolution (`transposed` false) the input is the
// image windows read from and the output the grid of window positions; ConvTranspose is the
// adjoint, its output the image and its input the grid. `ctx` (KernelContext at run time,
// KernelInfo at creation) names the node in errors.
template <class Ctx>
Result<kernels::ConvGeometry> conv_geometry(const Ctx& ctx, const ConvAttributes& p, const Shape& x, const Shape& w,
                                            bool transposed) {
  if (x.size() < 3) return ctx.error("input must have rank >= 3 (N, C, spatial...), got ", shape_to_string(x));
  if (w.size() != x.size())
    return ctx.error("weights of shape ", shape_to_string(w), " do not match input rank ", x.size());
  const Shape spatial(x.begin() + 2, x.end()), kernel(w.begin() + 2, w.end());
  Result<WindowGeometry> r = transposed ? transpose_geometry(p, spatial, kernel) : window_geometry(p, spatial, kernel);
  if (!r.is_ok()) return r.status().with_context(ctx.node().describe());
  const WindowGeometry& wg = r.value();
  kernels::ConvGeometry g;
  g.nd = wg.rank();
  if (g.nd > kernels::kMaxConvDims) return ctx.error("at most ", kernels::kMaxConvDims, " spatial dimensions are supported");
  g.in_size = g.out_size = g.kernel_size = 1;
  for (size_t d = 0; d < g.nd; ++d) {
    g.in[d] = transposed ? wg.output[d] : wg.input[d];
    g.out[d] = transposed ? wg.input[d] : wg.output[d];
    g.kernel[d] = wg.kernel[d];
    g.stride[d] = wg.stride[d];
    g.dilation[d] = wg.dilation[d];
    g.pad_begin[d] = wg.pad_begin[d];
    g.in_size *= g.in[d];
    g.out_size *= g.out[d];
    g.kernel_size *= g.kernel[d];
  }
  return g;
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

// im2col / col2im columns (and other per-task copies) from the run's scratch memory: one block
// per task, so tasks on different threads never share one.
template <class T>
Tensor column_buffer(KernelContext& ctx, int64_t n) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
  return ctx.scratch(std::is_same_v<T, float> ? DataType::float32 : DataType::float64, n);
}

// Group `gi`'s weights `w` as a GEMM operand, read through the copy packed at kernel creation
// when there is one (constant float32 weights, one per group).
template <class T>
kernels::MatrixArg<T> group_weights(const T* w, int64_t ld, bool trans, const std::vector<kernels::PackedMatrix<float>>* packed,
                                    int64_t gi) {
  kernels::MatrixArg<T> arg{w, ld, trans};
  if constexpr (std::is_same_v<T, float>)
    if (packed) arg.packed = &(*packed)[static_cast<size_t>(gi)];
  return arg;
}

// Images per GEMM when each has few output positions: up to kTargetColumns positions of several
// images side by side.
inline int64_t images_per_gemm(int64_t positions, int64_t images) {
  return std::clamp<int64_t>(kTargetColumns / std::max<int64_t>(1, positions), 1, std::max<int64_t>(1, images));
}

// A run of `count` images side by side is one matrix of `rows` rows of count * S values, image
// j's S values of each row at column j * S. These copy image j's [rows, S] values into that
// matrix and back out.
template <class T>
void to_side_by_side(const T* image, int64_t rows, int64_t S, int64_t j, int64_t count, T* batch) {
  for (int64_t r = 0; r < rows; ++r) std::copy_n(image + r * S, S, batch + (r * count + j) * S);
}
template <class T>
void from_side_by_side(const T* batch, int64_t rows, int64_t S, int64_t j, int64_t count, T* image) {
  for (int64_t r = 0; r < rows; ++r) std::copy_n(batch + (r * count + j) * S, S, image + r * S);
}

// The im2col columns of `count` images (`channels` planes each, the next image `image_stride`
// values on) side by side. `scratch` holds channels * kernel_size * S values (unused when count
// is 1: the columns are then written in place).
template <class T>
void images_im2col(const kernels::ConvGeometry& g, const T* x, int64_t image_stride, int64_t channels, int64_t count,
                   T* col, T* scratch) {
  if (count == 1) return kernels::im2col(g, x, channels, 0, g.out[0], col);
  for (int64_t j = 0; j < count; ++j) {
    kernels::im2col(g, x + j * image_stride, channels, 0, g.out[0], scratch);
    to_side_by_side(scratch, channels * g.kernel_size, g.out_size, j, count, col);
  }
}

// Widens float16/bfloat16 operands, runs `fn(x, w, b, z, y)` in float (absent operands null),
// narrows the output.
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

}  // namespace tessera
