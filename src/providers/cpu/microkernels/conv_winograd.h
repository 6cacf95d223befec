// Winograd convolution F(T x T, 3x3), T = 2 or 4 (float32, one group, 3x3, stride 1, no
// dilation) in the channel-blocked layout of the optimizer's `all` level: each T x T output tile
// is computed from its (T + 2) x (T + 2) input tile with (T + 2)^2 multiply-adds per input and
// output channel instead of the direct kernel's 9 T^2: 2.25x fewer at T = 2, 4x at T = 4. Per
// image:
// 1. the input is transformed tile by tile (the padding read as zeros) into (T + 2)^2 planes, one
//    per tile position k: V[k] = [Cb][tiles][L], a blocked image whose pixels are the tiles;
// 2. each plane is a 1x1 convolution with that position's transformed weights
//    (U[k] = (G w G^T)[k], packed as pack_conv_blocked_weights packs a 1x1): the pointwise
//    kernel's tasks (conv_pointwise.h), once per position;
// 3. the product planes are transformed back to T x T outputs, with the bias, the residual z and
//    the clamp.
// Where the transformed weights are small (up to 64 channels), each thread runs bands of tile rows
// through all three phases, so that V and the products stay in L2; else each phase runs over the
// whole plane on every thread. The transforms are in winograd_impl.h.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"
#include "providers/cpu/microkernels/conv_blocked.h"

namespace tessera::kernels {

// BlockedConv runs 3x3s of kConvWinogradMinChannels to kConvWinogradMaxChannels input and output
// channels on this kernel, with T = 4 up to kConvWinogradMaxF4Channels (docs/kernel_choices.md
// has the measurements). Past 256 the transformed weights (16/9 of the direct kernel's at T = 2,
// 4x at T = 4) cost more in memory and session creation than the layers gain.
constexpr int64_t kConvWinogradMinChannels = 32;
constexpr int64_t kConvWinogradMaxF4Channels = 128;
constexpr int64_t kConvWinogradMaxChannels = 256;
bool conv_winograd_chosen(int64_t M, int64_t C);

// Whether this kernel runs a 2-D geometry: 3x3, stride 1, dilation 1 (any padding).
bool conv_winograd_supported(const ConvGeometry& g);

// The tile size T for an M x C x 3 x 3 convolution.
int conv_winograd_tile(int64_t M, int64_t C);

// Floats of the transformed, packed weights of an M x C x 3 x 3 convolution: (T + 2)^2 packed 1x1s.
int64_t conv_winograd_packed_size(int tile, int64_t M, int64_t C);
// w [M, C, 3, 3] into (T + 2)^2 times pack_conv_blocked_weights(U[k], M, C, 1).
void pack_conv_winograd_weights(int tile, const float* w, int64_t M, int64_t C, float* packed);

// Floats of scratch one call on a pool of `threads` needs (reused image after image).
int64_t conv_winograd_scratch_size(int tile, const ConvGeometry& g, int64_t Cb, int64_t Mb, int threads);

struct ConvWinogradArgs {
  int tile;               // T: 2 or 4, as the weights were packed
  const ConvGeometry* g;  // conv_winograd_supported; padding as the convolution has it
  int64_t N, Cb, Mb;      // images, input and output channel blocks
  const float* x;         // [N, Cb, H, W, L]
  const float* w;         // pack_conv_winograd_weights
  const float* bias;      // [Mb * L] (zeros past M), or null
  const float* z;         // [N, Mb, OH, OW, L], or null
  float* y;               // [N, Mb, OH, OW, L]
  float lo, hi;           // clamp of every output
  int64_t last_lanes = 0;  // input channels in the last input block, 1..L (0: L)
  float* scratch;          // conv_winograd_scratch_size floats
};

void conv_winograd(const ConvWinogradArgs& a, ThreadPool& pool);

}  // namespace tessera::kernels
