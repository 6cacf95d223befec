// Direct 2-D convolution (float32, one group) in the channel-blocked layout of the optimizer's
// `all` level: input [N, C/L, H, W, L], output and residual [N, M/L, OH, OW, L], L =
// depthwise_block_channels() (the active ISA's vector). No im2col and no layout change: a tile of
// output pixels along a row times NB output-channel blocks stays in vector registers while the
// input channel blocks and taps stream past it (conv_blocked_impl.h); planes at most half a tile
// wide (7x7) run two whole output rows per tile. A convolution with padding runs on a zero-padded
// copy of its input made once per call (pad_conv_blocked_plane), so the tiles never test bounds
// and every task reads its rows in place. A planar input (NCHW, the RGB stem's image: fewer
// channels than a block) is read the same way, its channels as the lanes of one block, and
// written blocked, so no reorder precedes the stem.
//
// Work is split into tasks of (image, group of NB output blocks, band of output rows), for the
// caller's thread pool.
#pragma once

#include <cstdint>

#include "providers/cpu/microkernels/im2col.h"

namespace tessera::kernels {

// Whether this kernel runs a 2-D geometry: stride 1 or 2 along W (any kernel size, stride along
// H, dilation and padding).
bool conv_blocked_supported(const ConvGeometry& g);

// Floats of the packed weights of an M x C x taps convolution.
int64_t conv_blocked_packed_size(int64_t M, int64_t C, int64_t taps);
// w [M, C, taps] into [ceil(M/L)][ceil(C/L)][taps][L (input lane)][L (output lane)], zeros past M
// and C.
void pack_conv_blocked_weights(const float* w, int64_t M, int64_t C, int64_t taps, float* packed);

// True when some tap reads outside the input: the tasks then read a padded copy of it.
bool conv_blocked_needs_padding(const ConvGeometry& g);
// The geometry of that copy: its input the rows and columns the outputs read, no padding.
ConvGeometry conv_blocked_padded_geometry(const ConvGeometry& g);
// Rows [j0, j1) of plane `plane` of the padded copy (conv_blocked_padded_geometry's input), zeros
// around x's: `lanes` floats per pixel ([H][W][L] planes of a blocked input, one per image and
// block, or [H][W] of a planar input, one per image and channel, lanes 1). Independent tasks.
void pad_conv_blocked_rows(const ConvGeometry& g, const float* x, int64_t lanes, int64_t plane, int64_t j0, int64_t j1,
                           float* padded);

struct ConvBlockedPlan {
  int nb = 0;               // output blocks per group (the last group may hold fewer)
  int64_t groups = 0;       // ceil(Mb / nb) per image
  bool rows_outer = false;  // task order: (image, band, group) when true, else (image, group, band)
  int64_t rows = 0;         // output rows per task
  int64_t bands = 0;        // ceil(OH / rows)
  int64_t tasks = 0;        // N * groups * bands
};

// For a geometry without padding (conv_blocked_padded_geometry's where the convolution has it).
// Consecutive tasks share their input rows (rows_outer) or their group's weights, whichever keeps
// more of what they read in cache; a thread pool's contiguous ranges of tasks then reuse it.
ConvBlockedPlan plan_conv_blocked(const ConvGeometry& g, int64_t Cb, int64_t Mb, int64_t N, int threads);

struct ConvBlockedArgs {
  const ConvGeometry* g;  // no padding: conv_blocked_padded_geometry's where the convolution has it
  int64_t Cb, Mb;        // input and output channel blocks
  const float* x;        // [N, Cb, H, W, L] (the padded copy where the convolution has padding)
  const float* w;        // pack_conv_blocked_weights
  const float* bias;     // [Mb * L] (zeros past M), or null
  const float* z;        // [N, Mb, OH, OW, L], or null
  float* y;              // [N, Mb, OH, OW, L]
  float lo, hi;          // clamp of every output
  int64_t last_lanes = 0;  // input channels in the last input block, 1..L (0: L); its other lanes are not read
  bool planar = false;     // x is [N, C, H, W] instead, C = (Cb - 1) * L + last_lanes
};

// What task t writes: image n, output blocks [mb0, mb1), output rows [oh0, oh1).
struct ConvBlockedRegion {
  int64_t n, mb0, mb1, oh0, oh1;
};
ConvBlockedRegion conv_blocked_region(const ConvBlockedPlan& plan, int64_t Mb, int64_t OH, int64_t t);

// Task t (< plan.tasks): y = clamp(conv(x) + bias + z) for its image, output blocks and rows.
void conv_blocked_task(const ConvBlockedArgs& a, const ConvBlockedPlan& plan, int64_t t);

namespace detail {
struct ConvBlockedRowArgs;
}
// Internal to microkernels/ (conv_blocked.cc, conv_pointwise.cc): `row` over output pixels
// [p, p + count) of image n's output blocks from mb0, reading input x_at (the first pixel's first
// tap); r holds the rest of the call.
void run_conv_blocked_row(void (*row)(const detail::ConvBlockedRowArgs&), detail::ConvBlockedRowArgs& r,
                          const ConvBlockedArgs& a, int64_t n, int64_t mb0, const float* x_at, int64_t p, int64_t count);

}  // namespace tessera::kernels
