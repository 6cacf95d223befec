#include "providers/cpu/microkernels/depthwise_blocked.h"

#include <algorithm>

#include "providers/cpu/microkernels/isa_kernels.h"

namespace tessera::kernels {
namespace {

// Padded input positions that `rows` output rows read.
int64_t padded_positions(const ConvGeometry& g, int64_t rows) {
  const int64_t Hp = (rows - 1) * g.stride[0] + (g.kernel[0] - 1) * g.dilation[0] + 1;
  const int64_t Wp = (g.out[1] - 1) * g.stride[1] + (g.kernel[1] - 1) * g.dilation[1] + 1;
  return Hp * Wp;
}

}  // namespace

int64_t depthwise_block_channels() { return detail::active_isa().vector_floats; }

int64_t depthwise_blocked_scratch_size(const ConvGeometry& g, int64_t rows) {
  return (padded_positions(g, rows) + rows * g.out[1]) * depthwise_block_channels();
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
                              float hi, int64_t oh0, int64_t oh1, float* scratch, bool interleaved, float* out_rows) {
  static const float kZeros[detail::kMaxVectorFloats] = {};
  const int64_t rows = oh1 - oh0, W = g.in[1];
  // The band as a convolution of its own: padded row 0 is input row `top`; the input rows it
  // reads start at `first` (top padding above it), and no more are packed than the band reads
  // (none when the band lies wholly in the bottom padding).
  const int64_t top = oh0 * g.stride[0] - g.pad_begin[0], first = std::clamp<int64_t>(top, 0, g.in[0]);
  const int64_t Hp = (rows - 1) * g.stride[0] + (g.kernel[0] - 1) * g.dilation[0] + 1;
  const int64_t ph = std::max<int64_t>(first - top, 0), H = std::clamp<int64_t>(std::min(g.in[0] - first, Hp - ph), 0, g.in[0]);
  float* out = out_rows ? out_rows : scratch + padded_positions(g, rows) * depthwise_block_channels();
  detail::DepthwiseBlockArgs args;
  args.interleaved = interleaved;
  args.x = x + first * W * (interleaved ? depthwise_block_channels() : 1);
  args.plane = g.in_size;
  args.H = H;
  args.W = W;
  args.OH = rows;
  args.OW = g.out[1];
  args.KH = g.kernel[0];
  args.KW = g.kernel[1];
  args.sh = g.stride[0];
  args.sw = g.stride[1];
  args.dh = g.dilation[0];
  args.dw = g.dilation[1];
  args.ph = ph;
  args.pw = g.pad_begin[1];
  args.w = w_packed;
  args.bias = bias ? bias : kZeros;
  args.lo = lo;
  args.hi = hi;
  args.padded = scratch;
  args.out = out;
  detail::active_isa().depthwise_block_f32(args);
  return out;
}

void unblock_channels(const float* block, int64_t positions, int64_t ld, float* y) {
  detail::active_isa().unblock_f32(block, positions, ld, y);
}

}  // namespace tessera::kernels
