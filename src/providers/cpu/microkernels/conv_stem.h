// The stem of a CNN (its first convolution, on the RGB image) in the channel-blocked layout of the
// optimizer's `all` level: the input is NCHW with at most L channels (L = depthwise_block_channels(),
// the active ISA's vector), the output blocked [N, M/L, OH, OW, L]. Each task copies the input rows
// of its band of output rows into a zero-padded buffer of L-float positions (channel c in lane c;
// the lanes past C are never read) and runs the direct kernel's row tiles (conv_blocked_impl.h)
// over it with C lanes per input block: a 3x3 RGB stem does 27 FMAs per output vector, none on
// padding lanes, with no layout change of the image as a whole and no im2col.
#pragma once

#include <cstdint>

#include "providers/cpu/microkernels/conv_blocked.h"

namespace tessera::kernels {

// Whether this kernel runs a 2-D geometry with C input channels: C <= L, stride 1 or 2 along W.
bool conv_stem_supported(const ConvGeometry& g, int64_t C);

// Tasks of (image, band of output rows), each over all the output blocks, so a band's input rows
// are copied once; bands small enough that the copy stays in L2, at least four per thread.
// plan.nb is Mb (one group) and scratch_floats the band's floats.
ConvBlockedPlan plan_conv_stem(const ConvGeometry& g, int64_t Mb, int64_t N, int threads);

// Task t (< plan.tasks): y = clamp(conv(x) + bias + z) for its image and rows, every output block.
// a.x is NCHW [N, C, H, W] with a.Cb == 1 and a.last_lanes == C; a.w is pack_conv_blocked_weights'
// (one input block); scratch: plan.scratch_floats floats.
void conv_stem_task(const ConvBlockedArgs& a, const ConvBlockedPlan& plan, int64_t t, float* scratch);

}  // namespace tessera::kernels
