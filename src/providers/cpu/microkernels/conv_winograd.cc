#include "providers/cpu/microkernels/conv_winograd.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "providers/cpu/microkernels/conv_pointwise.h"
#include "providers/cpu/microkernels/depthwise_blocked.h"
#include "providers/cpu/microkernels/isa_kernels.h"

namespace tessera::kernels {
namespace {

constexpr int64_t kPositions = 16;  // 4 x 4 tile positions

// Tiles of 2 x 2 outputs over the output plane, and the padded input they read.
struct Tiling {
  int64_t th, tw, tiles;   // tile rows, tile columns, their product
  ConvGeometry padded;     // the geometry whose padded copy (2 * th + 2 rows) every tile reads
  ConvGeometry products;   // the 1x1 over the tiles: in = out = th x tw
  int64_t hp, wp;          // the padded copy's rows and columns
};

Tiling tiling(const ConvGeometry& g) {
  Tiling t;
  t.th = (g.out[0] + 1) / 2;
  t.tw = (g.out[1] + 1) / 2;
  t.tiles = t.th * t.tw;
  t.padded = g;
  t.padded.out[0] = 2 * t.th;
  t.padded.out[1] = 2 * t.tw;
  t.hp = 2 * t.th + 2;
  t.wp = 2 * t.tw + 2;
  ConvGeometry& p = t.products;
  p.nd = 2;
  for (size_t d = 0; d < 2; ++d) {
    p.in[d] = p.out[d] = d == 0 ? t.th : t.tw;
    p.kernel[d] = p.stride[d] = p.dilation[d] = 1;
    p.pad_begin[d] = 0;
  }
  p.in_size = p.out_size = t.tiles;
  p.kernel_size = 1;
  return t;
}

}  // namespace

bool conv_winograd_supported(const ConvGeometry& g) {
  if (g.nd != 2 || g.out[0] <= 0 || g.out[1] <= 0) return false;
  for (size_t d = 0; d < 2; ++d)
    if (g.kernel[d] != 3 || g.stride[d] != 1 || g.dilation[d] != 1) return false;
  return true;
}

int64_t conv_winograd_packed_size(int64_t M, int64_t C) { return kPositions * conv_blocked_packed_size(M, C, 1); }

void pack_conv_winograd_weights(const float* w, int64_t M, int64_t C, float* packed) {
  // U = G g G^T, G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1], in double, position by position.
  std::vector<float> u(static_cast<size_t>(kPositions * M * C));
  for (int64_t mc = 0; mc < M * C; ++mc) {
    const float* g = w + mc * 9;
    double gg[4][3];
    for (int c = 0; c < 3; ++c) {
      gg[0][c] = g[c];
      gg[1][c] = 0.5 * (double{g[c]} + g[3 + c] + g[6 + c]);
      gg[2][c] = 0.5 * (double{g[c]} - g[3 + c] + g[6 + c]);
      gg[3][c] = g[6 + c];
    }
    for (int r = 0; r < 4; ++r) {
      const double row[4] = {gg[r][0], 0.5 * (gg[r][0] + gg[r][1] + gg[r][2]), 0.5 * (gg[r][0] - gg[r][1] + gg[r][2]),
                             gg[r][2]};
      for (int c = 0; c < 4; ++c) u[static_cast<size_t>((r * 4 + c) * M * C + mc)] = static_cast<float>(row[c]);
    }
  }
  const int64_t one = conv_blocked_packed_size(M, C, 1);
  for (int64_t k = 0; k < kPositions; ++k) pack_conv_blocked_weights(u.data() + k * M * C, M, C, 1, packed + k * one);
}

int64_t conv_winograd_scratch_size(const ConvGeometry& g, int64_t Cb, int64_t Mb) {
  const Tiling t = tiling(g);
  const int64_t L = depthwise_block_channels();
  return (Cb * t.hp * t.wp + kPositions * (Cb + Mb) * t.tiles) * L;
}

void conv_winograd(const ConvWinogradArgs& a, ThreadPool& pool) {
  const ConvGeometry& g = *a.g;
  const Tiling t = tiling(g);
  const int64_t L = depthwise_block_channels(), OH = g.out[0], OW = g.out[1];
  const int64_t in_image = a.Cb * g.in[0] * g.in[1] * L, out_image = a.Mb * OH * OW * L;
  float* padded = a.scratch;
  float* v = padded + a.Cb * t.hp * t.wp * L;
  float* m = v + kPositions * a.Cb * t.tiles * L;
  const int64_t v_position = a.Cb * t.tiles * L, m_position = a.Mb * t.tiles * L;
  const detail::WinogradKernels& k = detail::active_isa().winograd;

  const ConvPointwisePlan plan = plan_conv_pointwise(t.products, a.Cb, a.Mb, 1, pool.size());
  const int64_t weights_per_position = conv_blocked_packed_size(a.Mb * L, a.Cb * L, 1);
  constexpr float kInf = std::numeric_limits<float>::infinity();

  for (int64_t n = 0; n < a.N; ++n) {
    const float* x = a.x + n * in_image;
    // 1. Each input block: its padded plane, then its tiles' 16 transformed vectors.
    pool.parallel_for(a.Cb, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t cb = c0; cb < c1; ++cb) {
        pad_conv_blocked_rows(t.padded, x, L, cb, 0, t.hp, padded);
        for (int64_t i = 0; i < t.th; ++i)
          k.input({padded + (cb * t.hp + 2 * i) * t.wp * L, t.wp * L, t.tw, v + (cb * t.tiles + i * t.tw) * L, v_position});
      }
    });
    // 2. Per position, the 1x1 convolution of the tiles with its transformed weights.
    pool.parallel_for(kPositions * plan.tasks.tasks, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t task = t0; task < t1; ++task) {
        const int64_t p = task / plan.tasks.tasks;
        const ConvBlockedArgs args{&t.products, a.Cb, a.Mb, v + p * v_position, a.w + p * weights_per_position,
                                   nullptr, nullptr, m + p * m_position, -kInf, kInf, a.last_lanes, false};
        conv_pointwise_task(args, plan, task % plan.tasks.tasks);
      }
    });
    // 3. Each output block's tile rows: back to 2 x 2 outputs, bias, residual and clamp.
    float* y = a.y + n * out_image;
    const float* z = a.z ? a.z + n * out_image : nullptr;
    pool.parallel_for(a.Mb * t.th, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t task = t0; task < t1; ++task) {
        const int64_t mb = task / t.th, i = task % t.th, at = (mb * OH * OW + 2 * i * OW) * L;
        k.output({m + (mb * t.tiles + i * t.tw) * L, m_position, t.tw, a.bias ? a.bias + mb * L : nullptr,
                  z ? z + at : nullptr, y + at, OW * L, static_cast<int>(std::min<int64_t>(2, OH - 2 * i)), OW, a.lo,
                  a.hi});
      }
    });
  }
}

}  // namespace tessera::kernels
