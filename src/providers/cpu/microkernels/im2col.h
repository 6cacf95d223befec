// Lowering N-D convolutions to GEMM: im2col (Conv) and its adjoint col2im (ConvTranspose), and a
// direct depthwise 2-D convolution that needs neither.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace tessera::kernels {

constexpr size_t kMaxConvDims = 8;

// The spatial geometry of a convolution from an "image" (in) to a "grid" of kernel positions
// (out): out position o reads image position o * stride - pad_begin + k * dilation for each
// kernel offset k; positions outside [0, in) read zero. ConvTranspose uses the same geometry with
// its output as the image and its input as the grid.
struct ConvGeometry {
  size_t nd = 0;
  std::array<int64_t, kMaxConvDims> in{}, out{}, kernel{}, stride{}, dilation{}, pad_begin{};
  int64_t in_size = 1, out_size = 1, kernel_size = 1;

  // Product of out[1..nd): positions per step of the first grid dimension.
  int64_t out_inner() const { return nd == 0 || out[0] == 0 ? 0 : out_size / out[0]; }
  // True when every kernel is 1, stride 1 and pad 0: the columns are the image itself.
  bool is_pointwise() const;
};

// Writes the columns for grid rows [o0, o1) of the first grid dimension:
// col[(c * kernel_size + k) * cols + p], cols = (o1 - o0) * out_inner(), for `channels` image
// planes of in_size elements each.
template <class T>
void im2col(const ConvGeometry& g, const T* image, int64_t channels, int64_t o0, int64_t o1, T* col);

// The adjoint of im2col over the whole grid, accumulating: image[c, i] += col[(c, k), p] for the
// image position i that (p, k) reads. Channels [c0, c1) of the column matrix.
template <class T>
void col2im_add(const ConvGeometry& g, const T* col, int64_t c0, int64_t c1, T* image);

// Depthwise 2-D convolution of one channel plane: y = clamp(bias + sum_k w[k] * x(shifted), lo,
// hi), where w holds kernel[0] * kernel[1] weights. float uses the CPU's vector row kernel.
// `scratch` holds depthwise_scratch_size<T>(g) elements, reusable from plane to plane; 0 when the
// plane is read in place (float, stride 1 or 2, no dilation, wide enough rows). `padding_ready`:
// scratch was last used by a plane of the same geometry (its zero padding is still in place).
template <class T>
void depthwise_conv2d_plane(const ConvGeometry& g, const T* x, const T* w, T bias, T lo, T hi, T* y, T* scratch,
                            bool padding_ready);
template <class T>
int64_t depthwise_scratch_size(const ConvGeometry& g);

}  // namespace tessera::kernels
