// Convolutions through oneDNN, where the build has it (Debian's libdnnl-dev; CMake option
// TESSERA_DNNL): 2-D float32 convolutions with constant weights, one group, at least 16 input
// channels and a kernel larger than 1x1 run as oneDNN's direct convolution in its blocked channel
// layout (16 channels per vector on AVX-512), the input and output reordered around each call,
// with bias, FusedConv's residual Z and its activation fused into the call. On ResNet-50's 3x3
// convolutions that is ~1.5x faster than im2col + GEMM, reorders included (docs/performance.md).
// 1x1, depthwise and few-channel (RGB stem) convolutions stay on Tessera's own kernels, which
// beat it there once the reorders are paid. Forcing a lower ISA with TESSERA_ISA turns this path off, so those runs
// test Tessera's own kernels.
//
// In the blocked channel layout (com.tessera.BlockedConv, written by the optimizer's `all` level,
// docs/fused_ops.md) input and output already are oneDNN's layout, so the convolutions BlockedConv
// hands it, 1x1s of one input block with a clamp activation, run here with no reorder; with SiLU
// those run on Tessera's pointwise kernel, as do other 1x1s; kernels past 1x1 (the RGB stem
// reading its NCHW image too) run on its direct kernel and depthwise ones on its channel-blocked
// kernel.
#pragma once

#include <cstdint>
#include <memory>

#include "tessera/tensor.h"
#include "framework/kernel.h"
#include "graph/conv_geometry.h"
#include "providers/cpu/microkernels/im2col.h"
#include "providers/cpu/nn/conv_activation.h"

namespace tessera {

// The channel-blocked layout [N, ceil(C / block), H, W, block] oneDNN's direct convolutions run
// in: 16 channels per block with AVX-512, 8 with AVX2, 0 (no blocked layout) without oneDNN or
// when a lower ISA is forced.
int dnnl_blocked_channels();

// Where a convolution's input and output live: ONNX's NCHW (block 0, the default) or blocked.
struct DnnlLayout {
  int64_t block = 0;         // channels per block of the blocked tensors, 0 for NCHW throughout
  bool src_blocked = false;  // the input is blocked (else NCHW, as the stem's RGB image)
  bool dst_blocked = false;  // the output and Z are blocked
};

class DnnlConv {
 public:
  // Null when oneDNN is not built in or turned off, or does not take this convolution. Copies
  // the weights into oneDNN's layout: the caller need not keep them. With the NCHW layout only
  // the convolutions oneDNN runs faster than Tessera's own kernels are taken (one group, >= 16
  // input channels, a kernel past 1x1); with a blocked layout every 2-D convolution of one group
  // or depthwise is.
  static std::unique_ptr<DnnlConv> create(const Tensor& weights, const ConvAttributes& attributes,
                                          const ConvActivation& activation, const DnnlLayout& layout = {});
  ~DnnlConv();

  // y = activation(conv(x) + bias + z) for N images of x's geometry, each in the layout given
  // to create; bias and z may be null.
  // False when oneDNN cannot run this geometry (the caller runs its own path with weights()).
  bool run(const kernels::ConvGeometry& g, int64_t N, const float* x, const float* bias, const float* z, float* y,
           KernelContext& ctx) const;

  // Makes the primitives run() will use for this geometry on a pool of `threads`, ahead of it.
  void prepare(const kernels::ConvGeometry& g, int threads, bool has_bias, bool has_z) const;

  // The weights back in ONNX's [M, C, kH, kW] layout, into `out` (M * C * kH * kW floats).
  void weights(float* out) const;

  struct Impl;

 private:
  explicit DnnlConv(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera
