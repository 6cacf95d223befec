#include "providers/cpu/microkernels/conv_blocked.h"

#include <algorithm>
#include <cstring>

#include "providers/cpu/microkernels/depthwise_blocked.h"
#include "providers/cpu/microkernels/isa_kernels.h"

namespace tessera::kernels {
namespace {

// Pointwise segments of at least this many pixels per task, where rows merge into one segment.
constexpr int64_t kMinSegmentPixels = 128;
// Output blocks per group: the row kernels' widest tile.
constexpr int kGroupBlocks = 2;
// Weights (bytes) that stay in L2 while a task's input rows pass through all the groups: up to
// this, tasks run rows outside and groups inside, reading the input once; past it, groups
// outside, reading the weights once (ResNet-50's 1x1 256 > 512 on 56x56: 1.2x faster rows outside).
constexpr int64_t kRowsOuterMaxWeightBytes = int64_t{512} << 10;

int64_t input_extent(const ConvGeometry& g, size_t d) {
  return (g.out[d] - 1) * g.stride[d] + (g.kernel[d] - 1) * g.dilation[d] + 1;
}

// Pointwise, stride 1, whole rows: the plane is one row of OH * OW pixels, so a segment may span
// rows (7x7 planes run tiles of 12-13 pixels, not 7).
bool rows_merge(const ConvGeometry& g) {
  return g.kernel[0] == 1 && g.kernel[1] == 1 && g.stride[0] == 1 && g.stride[1] == 1 && g.in[1] == g.out[1] &&
         !conv_blocked_needs_padding(g);
}

// Output rows per task: two where a tile holds two whole rows (7x7 planes), else one.
int64_t rows_per_band(const ConvGeometry& g) {
  return g.out[1] <= detail::active_isa().conv_blocked.two_rows_width && g.out[0] > 1 ? 2 : 1;
}

}  // namespace

bool conv_blocked_needs_padding(const ConvGeometry& g) {
  for (size_t d = 0; d < 2; ++d)
    if (g.pad_begin[d] > 0 || input_extent(g, d) > g.in[d]) return true;
  return false;
}

ConvGeometry conv_blocked_padded_geometry(const ConvGeometry& g) {
  ConvGeometry p = g;
  p.in_size = 1;
  for (size_t d = 0; d < 2; ++d) {
    p.in[d] = input_extent(g, d);
    p.pad_begin[d] = 0;
    p.in_size *= p.in[d];
  }
  return p;
}

void pad_conv_blocked_rows(const ConvGeometry& g, const float* x, int64_t lanes, int64_t plane, int64_t j0, int64_t j1,
                           float* padded) {
  const int64_t H = g.in[0], W = g.in[1], Hp = input_extent(g, 0), Wp = input_extent(g, 1), pw = g.pad_begin[1];
  const int64_t c0 = std::min(pw, Wp), c1 = std::clamp<int64_t>(pw + W, c0, Wp);  // columns that hold input
  const float* src = x + plane * H * W * lanes;
  for (int64_t j = j0; j < j1; ++j) {
    float* dst = padded + (plane * Hp + j) * Wp * lanes;
    const int64_t ih = j - g.pad_begin[0];
    if (ih < 0 || ih >= H) {
      std::fill_n(dst, Wp * lanes, 0.0f);
      continue;
    }
    std::fill_n(dst, c0 * lanes, 0.0f);
    if (c1 > c0)
      std::memcpy(dst + c0 * lanes, src + (ih * W + (c0 - pw)) * lanes, static_cast<size_t>((c1 - c0) * lanes) * sizeof(float));
    std::fill_n(dst + c1 * lanes, (Wp - c1) * lanes, 0.0f);
  }
}

bool conv_blocked_supported(const ConvGeometry& g) {
  return g.nd == 2 && (g.stride[1] == 1 || g.stride[1] == 2) && g.out[0] > 0 && g.out[1] > 0;
}

int64_t conv_blocked_packed_size(int64_t M, int64_t C, int64_t taps) {
  const int64_t L = depthwise_block_channels();
  return (M + L - 1) / L * ((C + L - 1) / L) * taps * L * L;
}

void pack_conv_blocked_weights(const float* w, int64_t M, int64_t C, int64_t taps, float* packed) {
  const int64_t L = depthwise_block_channels(), Mb = (M + L - 1) / L, Cb = (C + L - 1) / L;
  for (int64_t mb = 0; mb < Mb; ++mb)
    for (int64_t cb = 0; cb < Cb; ++cb)
      for (int64_t t = 0; t < taps; ++t)
        for (int64_t li = 0; li < L; ++li)
          for (int64_t lo = 0; lo < L; ++lo) {
            const int64_t m = mb * L + lo, c = cb * L + li;
            *packed++ = m < M && c < C ? w[(m * C + c) * taps + t] : 0.0f;
          }
}

ConvBlockedPlan plan_conv_blocked(const ConvGeometry& g, int64_t Cb, int64_t Mb, int64_t N, int threads) {
  ConvBlockedPlan p;
  const int64_t L = depthwise_block_channels();
  p.nb = kGroupBlocks;
  p.groups = (Mb + p.nb - 1) / p.nb;
  p.rows_outer = Mb * Cb * g.kernel[0] * g.kernel[1] * L * L * int64_t{sizeof(float)} <= kRowsOuterMaxWeightBytes;
  const int64_t OH = g.out[0], OW = g.out[1];
  p.rows = rows_per_band(g);
  if (rows_merge(g)) {
    p.rows = std::clamp<int64_t>((kMinSegmentPixels + OW - 1) / OW, 1, OH);
    // Enough tasks for every thread to finish at about the same time.
    while (p.rows > 1 && N * p.groups * ((OH + p.rows - 1) / p.rows) < 4 * threads) p.rows = (p.rows + 1) / 2;
  }
  p.bands = (OH + p.rows - 1) / p.rows;
  p.tasks = N * p.groups * p.bands;
  return p;
}

void run_conv_blocked_row(void (*row)(const detail::ConvBlockedRowArgs&), detail::ConvBlockedRowArgs& r,
                          const ConvBlockedArgs& a, int64_t n, int64_t mb0, const float* x_at, int64_t p, int64_t count) {
  const int64_t offset = ((n * a.Mb + mb0) * a.g->out[0] * a.g->out[1] + p) * depthwise_block_channels();
  r.x = x_at;
  r.count = count;
  r.z = a.z ? a.z + offset : nullptr;
  r.y = a.y + offset;
  row(r);
}

ConvBlockedRegion conv_blocked_region(const ConvBlockedPlan& plan, int64_t Mb, int64_t OH, int64_t t) {
  const int64_t group = plan.rows_outer ? t % plan.groups : t / plan.bands % plan.groups;
  const int64_t band = plan.rows_outer ? t / plan.groups % plan.bands : t % plan.bands;
  return {t / (plan.groups * plan.bands), group * plan.nb, std::min(Mb, (group + 1) * plan.nb), band * plan.rows,
          std::min(OH, (band + 1) * plan.rows)};
}

void conv_blocked_task(const ConvBlockedArgs& a, const ConvBlockedPlan& plan, int64_t t) {
  const ConvGeometry& g = *a.g;
  const int64_t L = depthwise_block_channels(), H = g.in[0], W = g.in[1], OH = g.out[0], OW = g.out[1];
  const int64_t taps = g.kernel[0] * g.kernel[1];
  const ConvBlockedRegion region = conv_blocked_region(plan, a.Mb, OH, t);
  const int64_t n = region.n, mb0 = region.mb0, mb1 = region.mb1, oh0 = region.oh0, oh1 = region.oh1;
  const int64_t lanes = a.last_lanes > 0 ? a.last_lanes : L, C = (a.Cb - 1) * L + lanes;
  // Floats between two adjacent input pixels: a blocked pixel is L lanes, a planar one a float.
  const int64_t P = a.planar ? 1 : L;

  detail::ConvBlockedRowArgs r{};
  r.cb = a.Cb;
  r.lanes = lanes;
  r.kh = g.kernel[0];
  r.kw = g.kernel[1];
  r.x_tap = g.dilation[1] * P;
  r.x_row = g.dilation[0] * W * P;
  r.x_prow = g.stride[0] * W * P;
  r.x_block = H * W * L;  // a block's rows of L lanes, or L planes
  r.x_lane = a.planar ? H * W : 1;
  r.w_block = a.Cb * taps * L * L;
  r.y_block = OH * OW * L;
  r.lo = a.lo;
  r.hi = a.hi;
  r.w = a.w + mb0 * r.w_block;
  r.bias = a.bias ? a.bias + mb0 * L : nullptr;
  const float* x = a.x + n * (a.planar ? C : a.Cb * L) * H * W;
  auto run = [&](detail::ConvBlockedRowFn row, const float* x_at, int64_t p, int64_t count) {
    run_conv_blocked_row(row, r, a, n, mb0, x_at, p, count);
  };
  const detail::ConvBlockedKernels& k = detail::active_isa().conv_blocked;
  const detail::ConvBlockedRowFn one_row = (a.planar ? k.planar_row : k.row)[g.stride[1] - 1][mb1 - mb0 - 1];
  if (rows_merge(g)) return run(one_row, x + oh0 * W * P, oh0 * OW, (oh1 - oh0) * OW);
  const detail::ConvBlockedRowFn two = k.two_rows[g.stride[1] - 1][mb1 - mb0 - 1];
  for (int64_t oh = oh0; oh < oh1;) {
    const bool both = !a.planar && plan.rows == 2 && oh + 1 < oh1;  // no planar two-row tiles: stems are wide
    run(both ? two : one_row, x + oh * r.x_prow, oh * OW, OW);
    oh += both ? 2 : 1;
  }
}

}  // namespace tessera::kernels
