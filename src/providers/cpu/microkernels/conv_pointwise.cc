#include "providers/cpu/microkernels/conv_pointwise.h"

#include <algorithm>

#include "providers/cpu/microkernels/depthwise_blocked.h"
#include "providers/cpu/microkernels/isa_kernels.h"

namespace tessera::kernels {
namespace {

// Output blocks per group: the row kernels' widest tile.
constexpr int kGroupBlocks = 2;
// Output pixels per band, at least: the tiles of a band share each chunk of weights from L1.
constexpr int64_t kMinBandPixels = 128;
// A chunk's weights (bytes, the group's NB blocks), kept in L2 while a band's tiles pass: 128 KiB
// (1024 channels at L = 16) splits only the 2048-channel layers. conv_bench: 32 KiB chunks (in
// L1) ran ResNet-50's 7x7 layers 1.10-1.14x slower than one chunk, 128 KiB 0.97-1.03x.
constexpr int64_t kChunkWeightBytes = int64_t{128} << 10;
// All the weights (bytes) that stay in L2 while a band's input passes through all the groups: up
// to this, tasks run bands outside and groups inside (the input is read once), past it groups
// outside (each group's weights are read once). conv_blocked.cc's rule.
constexpr int64_t kRowsOuterMaxWeightBytes = int64_t{512} << 10;

// Stride 1 and no padding: the output plane is one row of OH * OW pixels over the input's.
bool plane_is_row(const ConvGeometry& g) { return g.stride[0] == 1 && g.stride[1] == 1 && g.in[1] == g.out[1]; }

// Output rows of at most half a tile: two per tile (ResNet-50's 14x14 -> 7x7 stride-2 shortcut).
bool two_rows(const ConvGeometry& g) {
  return !plane_is_row(g) && g.out[1] <= detail::active_isa().conv_blocked.two_rows_width && g.out[0] > 1;
}

}  // namespace

bool conv_pointwise_supported(const ConvGeometry& g) {
  if (g.nd != 2 || g.kernel[0] != 1 || g.kernel[1] != 1 || g.out[0] <= 0 || g.out[1] <= 0) return false;
  if (g.stride[1] != 1 && g.stride[1] != 2) return false;
  for (size_t d = 0; d < 2; ++d)
    if (g.pad_begin[d] != 0 || (g.out[d] - 1) * g.stride[d] >= g.in[d]) return false;
  return true;
}

ConvPointwisePlan plan_conv_pointwise(const ConvGeometry& g, int64_t Cb, int64_t Mb, int64_t N, int threads,
                                      int64_t chunk_bytes) {
  ConvPointwisePlan p;
  ConvBlockedPlan& t = p.tasks;
  const int64_t L = depthwise_block_channels(), block_bytes = L * L * int64_t{sizeof(float)};
  t.nb = kGroupBlocks;
  t.groups = (Mb + t.nb - 1) / t.nb;
  // Several threads take contiguous ranges of tasks: bands outside split the pixels between them
  // (each reads all the weights), groups outside split the output blocks (each reads all the
  // input); the first when the weights are the smaller (MobileNetV2's expansions are not).
  const int64_t weight_bytes = Mb * Cb * block_bytes, input_bytes = Cb * g.in[0] * g.in[1] * L * int64_t{sizeof(float)};
  t.rows_outer = weight_bytes <= kRowsOuterMaxWeightBytes && (threads == 1 || weight_bytes <= input_bytes);
  p.chunk = std::clamp<int64_t>((chunk_bytes > 0 ? chunk_bytes : kChunkWeightBytes) / (t.nb * block_bytes), 1, Cb);
  const int64_t OH = g.out[0], OW = g.out[1], step = two_rows(g) ? 2 : 1;
  // Bands of whole rows of at least kMinBandPixels (an even count where tiles hold two rows),
  // halved until every thread has about four tasks.
  auto round_rows = [&](int64_t rows) { return std::min(OH, (rows + step - 1) / step * step); };
  t.rows = round_rows((kMinBandPixels + OW - 1) / OW);
  while (t.rows > step && N * t.groups * ((OH + t.rows - 1) / t.rows) < 4 * threads) t.rows = round_rows(t.rows / 2);
  t.bands = (OH + t.rows - 1) / t.rows;
  t.tasks = N * t.groups * t.bands;
  return p;
}

void conv_pointwise_task(const ConvBlockedArgs& a, const ConvPointwisePlan& plan, int64_t t) {
  const ConvGeometry& g = *a.g;
  const int64_t L = depthwise_block_channels(), H = g.in[0], W = g.in[1], OH = g.out[0], OW = g.out[1];
  const ConvBlockedRegion region = conv_blocked_region(plan.tasks, a.Mb, OH, t);
  const int64_t n = region.n, mb0 = region.mb0, oh0 = region.oh0, oh1 = region.oh1;
  const detail::ConvBlockedKernels& k = detail::active_isa().conv_blocked;
  const detail::ConvBlockedRowFn one_row = k.row[g.stride[1] - 1][region.mb1 - mb0 - 1];
  const detail::ConvBlockedRowFn two = k.two_rows[g.stride[1] - 1][region.mb1 - mb0 - 1];
  const bool row = plane_is_row(g), pairs = two_rows(g);

  detail::ConvBlockedRowArgs r{};
  r.kh = r.kw = 1;
  r.x_block = H * W * L;
  r.x_prow = g.stride[0] * W * L;
  r.w_block = a.Cb * L * L;
  r.y_block = OH * OW * L;
  r.lo = a.lo;
  r.hi = a.hi;
  r.bias = a.bias ? a.bias + mb0 * L : nullptr;
  const float* x = a.x + n * a.Cb * H * W * L;
  auto run = [&](detail::ConvBlockedRowFn fn, const float* x_at, int64_t p, int64_t count) {
    run_conv_blocked_row(fn, r, a, n, mb0, x_at, p, count);
  };
  for (int64_t c0 = 0; c0 < a.Cb; c0 += plan.chunk) {
    r.cb = std::min(plan.chunk, a.Cb - c0);
    r.first = c0 == 0;
    r.last = c0 + r.cb == a.Cb;
    r.lanes = r.last && a.last_lanes > 0 ? a.last_lanes : L;
    r.w = a.w + mb0 * r.w_block + c0 * L * L;
    const float* xc = x + c0 * r.x_block;
    if (row) {
      run(one_row, xc + oh0 * W * L, oh0 * OW, (oh1 - oh0) * OW);
      continue;
    }
    for (int64_t oh = oh0; oh < oh1;) {
      const bool both = pairs && oh + 1 < oh1;
      run(both ? two : one_row, xc + oh * r.x_prow, oh * OW, OW);
      oh += both ? 2 : 1;
    }
  }
}

}  // namespace tessera::kernels
