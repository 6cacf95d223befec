// Channel-blocked depthwise 2-D convolution (float32): L channels at once (L = the floats in one
// vector register of the active ISA), each channel in one vector lane. Used for planes whose
// rows are too short to fill vectors well (MobileNet/EfficientNet's 56x56 .. 7x7): the L planes
// are transposed into a zero-padded interleaved buffer, every output is whole-vector FMAs, and
// the result is transposed back. Large planes go in bands of output rows so that one band's
// buffers stay in cache. See isa_kernels.h (DepthwiseBlockArgs) for the layouts.
#pragma once

#include <cstdint>

#include "providers/cpu/microkernels/im2col.h"

namespace tessera::kernels {

// L: channels per block.
int64_t depthwise_block_channels();

// Floats of scratch for a band of `rows` output rows of one block: the padded interleaved input
// the band reads and its interleaved output.
int64_t depthwise_blocked_scratch_size(const ConvGeometry& g, int64_t rows);

// w: `channels` filters of `taps` weights each; packed: [ceil(channels / L)][taps][L], the lanes
// past the last channel zero.
void pack_depthwise_weights(const float* w, int64_t channels, int64_t taps, float* packed);

// Output rows [oh0, oh1) of L planes (x, in_size apart) with one packed weight block and L biases
// (null: 0), clamped to [lo, hi], into scratch's output part, [(oh1 - oh0) * out[1]][L], which it
// returns. scratch holds depthwise_blocked_scratch_size(g, oh1 - oh0) floats. With
// `interleaved`, x is the block already as [in[0]][in[1]][L] (the blocked channel layout), and
// the output rows go to `out` (a block of the blocked output) when it is given; 3x3 and 5x5
// kernels at stride 1 or 2 on rows of 28 or more inputs then read x in place, with no padded
// copy (the scratch's first in[1] * L floats become a zero row).
float* depthwise_conv2d_block(const ConvGeometry& g, const float* x, const float* w_packed, const float* bias, float lo,
                              float hi, int64_t oh0, int64_t oh1, float* scratch, bool interleaved = false,
                              float* out = nullptr);

// y[l * ld + p] = block[p * L + l] for the L channels, p < positions.
void unblock_channels(const float* block, int64_t positions, int64_t ld, float* y);

}  // namespace tessera::kernels
