#include "providers/cpu/microkernels/depthwise_blocked.h"

#include <algorithm>

#include "providers/cpu/microkernels/isa_kernels.h"

namespace tessera::kernels {
namespace {

int64_t padded_positions(const ConvGeometry& g) {
  const int64_t Hp = (g.out[0] - 1) * g.stride[0] + (g.kernel[0] - 1) * g.dilation[0] + 1;
  const int64_t Wp = (g.out[1] - 1) * g.stride[1] + (g.kernel[1] - 1) * g.dilation[1] + 1;
  return Hp * Wp;
}

}  // namespace

int64_t depthwise_block_channels() { return detail::active_isa().vector_floats; }

int64_t depthwise_blocked_scratch_size(const ConvGeometry& g) {
  return (padded_positions(g) + g.out_size) * depthwise_block_channels();
}

void pack_depthwise_weights(const float* w, int64_t channels, int64_t taps, float* packed) {
  const int64_t L = depthwise_block_channels();
  for (int64_t b = 0; b * L < channels; ++b)
    for (int64_t t = 0; t < taps; ++t)
      for (int64_t l = 0; l < L; ++l) {
        const int64_t c = b * L + l;
        packed[(b * taps + t) * L + l] = c < channels ? w[c * taps + t] : 0.0f;
      }
}

float* depthwise_conv2d_block(const ConvGeometry& g, const float* x, const float* w_packed, const float* bias, float lo,
                              float hi, float* scratch, bool padding_ready) {
  static const float kZeros[detail::kMaxVectorFloats] = {};
  float* out = scratch + padded_positions(g) * depthwise_block_channels();
  const detail::DepthwiseBlockArgs args{x,
                                        g.in_size,
                                        g.in[0],
                                        g.in[1],
                                        g.out[0],
                                        g.out[1],
                                        g.kernel[0],
                                        g.kernel[1],
                                        g.stride[0],
                                        g.stride[1],
                                        g.dilation[0],
                                        g.dilation[1],
                                        g.pad_begin[0],
                                        g.pad_begin[1],
                                        w_packed,
                                        bias ? bias : kZeros,
                                        lo,
                                        hi,
                                        scratch,
                                        padding_ready,
                                        out};
  detail::active_isa().depthwise_block_f32(args);
  return out;
}

void unblock_channels(const float* block, int64_t positions, int64_t ld, float* y) {
  detail::active_isa().unblock_f32(block, positions, ld, y);
}

}  // namespace tessera::kernels
