#include "providers/cpu/microkernels/conv_stem.h"

#include <algorithm>
#include <cstring>

#include "providers/cpu/microkernels/depthwise_blocked.h"
#include "providers/cpu/microkernels/isa_kernels.h"

namespace tessera::kernels {
namespace {

// Floats of one band's padded input rows: 128 KiB stays in L2 while the band's tiles read it
// (the 224 x 224 RGB stem: bands of 4 output rows, 9 input rows of 225 positions).
constexpr int64_t kBandFloats = int64_t{1} << 15;
// Output blocks per row-kernel call: the row kernels' widest tile.
constexpr int64_t kGroupBlocks = 2;

// Input positions along dimension d that the outputs read, padding included.
int64_t read_extent(const ConvGeometry& g, size_t d, int64_t outputs) {
  return (outputs - 1) * g.stride[d] + (g.kernel[d] - 1) * g.dilation[d] + 1;
}

// Input rows oh0 * sh - ph + j, j < rows, of the C planes of x into band [rows][Wp][L], channel c
// in lane c, zeros where a position lies in the padding. Position by position, four channels per
// 16-byte store, so each position's cache line is written once (channel by channel, the strided
// single stores cost more than the convolution). Lanes from C up to the next multiple of 4 get
// zeros; the lanes past those are left as they are.
void fill_band(const ConvGeometry& g, const float* x, int64_t C, int64_t oh0, int64_t rows, int64_t Wp, float* band) {
  typedef float v4 __attribute__((vector_size(16)));
  const int64_t L = depthwise_block_channels(), H = g.in[0], W = g.in[1], pw = g.pad_begin[1];
  const int64_t c0 = std::min(pw, Wp), c1 = std::clamp<int64_t>(pw + W, c0, Wp);  // columns that hold input
  const v4 zero{};
  for (int64_t j = 0; j < rows; ++j) {
    float* dst = band + j * Wp * L;
    const int64_t ih = oh0 * g.stride[0] - g.pad_begin[0] + j;
    const bool inside = ih >= 0 && ih < H;
    for (int64_t ch = 0; ch < C; ch += 4) {
      // s(k)[col] is column col of channel ch + k's padded row (k < C - ch).
      auto s = [&](int64_t k) { return x + ((ch + k) * H + ih) * W - pw; };
      const int64_t from = inside ? c0 : Wp, to = inside ? c1 : Wp;
      for (int64_t col = 0; col < from; ++col) std::memcpy(dst + col * L + ch, &zero, sizeof zero);
      // The positions' four lanes built in registers, one loop per count of channels left.
      auto copy = [&](auto make) {
        for (int64_t col = from; col < to; ++col) {
          const v4 v = make(col);
          std::memcpy(dst + col * L + ch, &v, sizeof v);
        }
      };
      const float *s0 = s(0), *s1 = C - ch > 1 ? s(1) : s0, *s2 = C - ch > 2 ? s(2) : s0, *s3 = C - ch > 3 ? s(3) : s0;
      switch (std::min<int64_t>(C - ch, 4)) {
        case 1: copy([&](int64_t col) { return v4{s0[col], 0.0f, 0.0f, 0.0f}; }); break;
        case 2: copy([&](int64_t col) { return v4{s0[col], s1[col], 0.0f, 0.0f}; }); break;
        case 3: copy([&](int64_t col) { return v4{s0[col], s1[col], s2[col], 0.0f}; }); break;
        default: copy([&](int64_t col) { return v4{s0[col], s1[col], s2[col], s3[col]}; }); break;
      }
      for (int64_t col = to; col < Wp; ++col) std::memcpy(dst + col * L + ch, &zero, sizeof zero);
    }
  }
}

}  // namespace

bool conv_stem_supported(const ConvGeometry& g, int64_t C) {
  return g.nd == 2 && C >= 1 && C <= depthwise_block_channels() && (g.stride[1] == 1 || g.stride[1] == 2) &&
         g.out[0] > 0 && g.out[1] > 0;
}

ConvBlockedPlan plan_conv_stem(const ConvGeometry& g, int64_t Mb, int64_t N, int threads) {
  ConvBlockedPlan p;
  const int64_t L = depthwise_block_channels(), OH = g.out[0], row_floats = read_extent(g, 1, g.out[1]) * L;
  p.nb = static_cast<int>(Mb);
  p.groups = 1;
  p.rows = OH;
  while (p.rows > 1 && read_extent(g, 0, p.rows) * row_floats > kBandFloats) p.rows = (p.rows + 1) / 2;
  while (p.rows > 1 && N * ((OH + p.rows - 1) / p.rows) < 4 * threads) p.rows = (p.rows + 1) / 2;
  p.bands = (OH + p.rows - 1) / p.rows;
  p.tasks = N * p.bands;
  p.scratch_floats = read_extent(g, 0, p.rows) * row_floats;
  return p;
}

void conv_stem_task(const ConvBlockedArgs& a, const ConvBlockedPlan& plan, int64_t t, float* scratch) {
  const ConvGeometry& g = *a.g;
  const int64_t L = depthwise_block_channels(), C = a.last_lanes, OH = g.out[0], OW = g.out[1];
  const ConvBlockedRegion region = conv_blocked_region(plan, a.Mb, OH, t);
  const int64_t Wp = read_extent(g, 1, OW), taps = g.kernel[0] * g.kernel[1];
  fill_band(g, a.x + region.n * C * g.in[0] * g.in[1], C, region.oh0, read_extent(g, 0, region.oh1 - region.oh0), Wp,
            scratch);

  detail::ConvBlockedRowArgs r{};
  r.cb = 1;
  r.lanes = C;
  r.kh = g.kernel[0];
  r.kw = g.kernel[1];
  r.x_tap = g.dilation[1] * L;
  r.x_row = g.dilation[0] * Wp * L;
  r.x_prow = g.stride[0] * Wp * L;
  r.x_block = read_extent(g, 0, plan.rows) * Wp * L;
  r.w_block = taps * L * L;
  r.y_block = OH * OW * L;
  r.lo = a.lo;
  r.hi = a.hi;
  const detail::ConvBlockedKernels& k = detail::active_isa().conv_blocked;
  for (int64_t mb0 = region.mb0; mb0 < region.mb1; mb0 += kGroupBlocks) {
    const int64_t nb = std::min(kGroupBlocks, region.mb1 - mb0);
    r.w = a.w + mb0 * r.w_block;
    r.bias = a.bias ? a.bias + mb0 * L : nullptr;
    for (int64_t oh = region.oh0; oh < region.oh1; ++oh)
      run_conv_blocked_row(k.row[g.stride[1] - 1][nb - 1], r, a, region.n, mb0, scratch + (oh - region.oh0) * r.x_prow,
                           oh * OW, OW);
  }
}

}  // namespace tessera::kernels
