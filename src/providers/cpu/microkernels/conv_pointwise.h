// Pointwise (1x1) convolution (float32, one group, no padding) in the channel-blocked layout of
// the optimizer's `all` level: a GEMM over the output pixels, out[mb][p][:] = sum over input
// channels of in[cb][p * stride][lane] * w[mb][cb][lane][:]. It runs on the direct kernel's
// register tiles (conv_blocked_impl.h: R pixels x NB output blocks, weights packed by
// pack_conv_blocked_weights with one tap) with what a 1x1 needs on top:
// - the input channels in chunks of `chunk` blocks, whose weights stay in L1 while a band's tiles
//   pass (each chunk adds to the sums the one before stored in y; the last adds z and clamps);
// - the lanes past C in the last input block skipped (24 or 40 channels: a third less work);
// - stride 2 by pixel indexing, no gather copy; outputs at most half a tile wide (7x7) run two
//   whole rows per tile, stride 1 runs the whole plane as one row;
// - tasks of (image, group of NB output blocks, band of output rows), enough of them that every
//   thread of the pool finishes at about the same time, also on 7x7 planes.
#pragma once

#include <cstdint>

#include "providers/cpu/microkernels/conv_blocked.h"

namespace tessera::kernels {

// Whether this kernel runs a 2-D geometry: a 1x1 kernel reading no padding, stride 1 or 2 along W.
bool conv_pointwise_supported(const ConvGeometry& g);

struct ConvPointwisePlan {
  ConvBlockedPlan tasks;  // what each task writes (conv_blocked_region); scratch_floats is 0
  int64_t chunk = 0;      // input blocks per chunk
};

// Chunks whose NB blocks' weights take at most `chunk_bytes` (<= 0: the default, which
// conv_bench measured; a whole K in one chunk when it is larger than every layer's weights).
ConvPointwisePlan plan_conv_pointwise(const ConvGeometry& g, int64_t Cb, int64_t Mb, int64_t N, int threads,
                                      int64_t chunk_bytes = 0);

// Task t (< plan.tasks.tasks): y = clamp(conv(x) + bias + z) for its image, output blocks and rows.
void conv_pointwise_task(const ConvBlockedArgs& a, const ConvPointwisePlan& plan, int64_t t);

}  // namespace tessera::kernels
