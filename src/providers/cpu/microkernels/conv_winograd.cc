#include "providers/cpu/microkernels/conv_winograd.h"

#include <algorithm>
#include <limits>

#include "providers/cpu/microkernels/conv_pointwise.h"
#include "providers/cpu/microkernels/depthwise_blocked.h"
#include "providers/cpu/microkernels/isa_kernels.h"

namespace tessera::kernels {
namespace {

// Transformed weights (bytes) up to which each thread runs whole bands of tile rows through all
// three phases, its transformed tiles and products staying in L2 with the weights (ResNet-50's
// 64-channel 3x3s on 56x56, F(4x4): 589 KiB of weights; each phase over the whole plane sent
// 1.8 MB of transformed tiles and as many products through L3, and at 2 threads ran 2.4x
// slower). Larger weights would be read again from L3 for every band (128 channels on 28x28:
// 1.1x slower banded); those layers run each phase over the whole plane, every thread sharing it.
constexpr int64_t kBandedMaxWeightBytes = int64_t{640} << 10;
// Floats of transformed tiles and products a band holds, at most (but one tile row, at least).
constexpr int64_t kBandFloats = int64_t{64} << 10;

// Tiles of T x T outputs over the output plane, in bands of tile rows.
struct Tiling {
  int tile;             // T
  int64_t positions;    // (T + 2)^2: products per input/output channel pair and tile
  int64_t th, tw;       // tile rows and columns
  int64_t band_rows;    // tile rows per band
  int64_t bands;        // ceil(th / band_rows)
  bool banded;          // each thread runs whole bands (else each phase runs over the plane)
  int64_t slots;        // banded: the threads' scratch areas
  int64_t slot_floats;  // a band's transformed tiles and products
};

Tiling tiling(int tile, const ConvGeometry& g, int64_t Cb, int64_t Mb, int threads) {
  Tiling t;
  const int64_t L = depthwise_block_channels();
  t.tile = tile;
  t.positions = (tile + 2) * (tile + 2);
  t.th = (g.out[0] + tile - 1) / tile;
  t.tw = (g.out[1] + tile - 1) / tile;
  const int64_t per_tile = t.positions * (Cb + Mb) * L;
  t.banded = t.positions * Cb * Mb * L * L * int64_t{sizeof(float)} <= kBandedMaxWeightBytes;
  t.band_rows = t.banded ? std::clamp<int64_t>(kBandFloats / (per_tile * t.tw), 1, t.th) : t.th;
  t.bands = (t.th + t.band_rows - 1) / t.band_rows;
  t.banded = t.banded && t.bands > 1;
  if (!t.banded) t.band_rows = t.th, t.bands = 1;
  t.slots = t.banded ? std::min<int64_t>(threads, t.bands) : 1;
  t.slot_floats = per_tile * t.band_rows * t.tw;
  return t;
}

// The 1x1 convolution of a band's tiles: in = out = rows x tw.
ConvGeometry products(int64_t rows, int64_t tw) {
  ConvGeometry p;
  p.nd = 2;
  p.in[0] = p.out[0] = rows;
  p.in[1] = p.out[1] = tw;
  for (size_t d = 0; d < 2; ++d) p.kernel[d] = p.stride[d] = p.dilation[d] = 1;
  p.in_size = p.out_size = rows * tw;
  return p;
}

// One band of tile rows [i0, i1) of one image: its transformed tiles v ([positions][Cb][tiles][L])
// and their products m ([positions][Mb][tiles][L]).
class Band {
 public:
  Band(const ConvWinogradArgs& a, const Tiling& t, int64_t n, int64_t i0, int64_t i1, float* area, int threads)
      : a_(a), t_(t), n_(n), i0_(i0), tiles_((i1 - i0) * t.tw), L_(depthwise_block_channels()),
        geometry_(products(i1 - i0, t.tw)), v_(area), m_(area + t.positions * a.Cb * tiles_ * L_),
        plan_(plan_conv_pointwise(geometry_, a.Cb, a.Mb, 1, threads)) {}

  int64_t rows() const { return tiles_ / t_.tw; }
  int64_t product_tasks() const { return t_.positions * plan_.tasks.tasks; }

  // Tile row i of the band, input block cb: `positions` transformed vectors per tile.
  void transform_input(int64_t cb, int64_t i) const {
    const ConvGeometry& g = *a_.g;
    const int64_t H = g.in[0], W = g.in[1];
    const float* plane = a_.x + ((n_ * a_.Cb + cb) * H * W) * L_;
    detail::active_isa().winograd.input[t_.tile / 4]({plane, H, W, t_.tile * (i0_ + i) - g.pad_begin[0],
                                                      -g.pad_begin[1], t_.tw, v_ + (cb * tiles_ + i * t_.tw) * L_,
                                                      a_.Cb * tiles_ * L_});
  }

  // Task `task` of the positions' 1x1 convolutions.
  void multiply(int64_t task) const {
    const int64_t p = task / plan_.tasks.tasks, L = L_;
    constexpr float kInf = std::numeric_limits<float>::infinity();
    const ConvBlockedArgs args{&geometry_, a_.Cb, a_.Mb, v_ + p * a_.Cb * tiles_ * L,
                               a_.w + p * conv_blocked_packed_size(a_.Mb * L, a_.Cb * L, 1), nullptr, nullptr,
                               m_ + p * a_.Mb * tiles_ * L, -kInf, kInf, a_.last_lanes, false};
    conv_pointwise_task(args, plan_, task % plan_.tasks.tasks);
  }

  // Tile row i of the band, output block mb: back to T x T outputs, bias, residual and clamp.
  void transform_output(int64_t mb, int64_t i) const {
    const ConvGeometry& g = *a_.g;
    const int64_t OH = g.out[0], OW = g.out[1], oh = t_.tile * (i0_ + i);
    const int64_t at = ((n_ * a_.Mb + mb) * OH * OW + oh * OW) * L_;
    detail::active_isa().winograd.output[t_.tile / 4]({m_ + (mb * tiles_ + i * t_.tw) * L_, a_.Mb * tiles_ * L_,
                                                       t_.tw, a_.bias ? a_.bias + mb * L_ : nullptr,
                                                       a_.z ? a_.z + at : nullptr, a_.y + at, OW * L_,
                                                       static_cast<int>(std::min<int64_t>(t_.tile, OH - oh)), OW,
                                                       a_.lo, a_.hi});
  }

 private:
  const ConvWinogradArgs& a_;
  const Tiling& t_;
  int64_t n_, i0_, tiles_, L_;
  ConvGeometry geometry_;
  float* v_;
  float* m_;
  ConvPointwisePlan plan_;
};

}  // namespace

bool conv_winograd_supported(const ConvGeometry& g) {
  if (g.nd != 2 || g.out[0] <= 0 || g.out[1] <= 0) return false;
  for (size_t d = 0; d < 2; ++d)
    if (g.kernel[d] != 3 || g.stride[d] != 1 || g.dilation[d] != 1) return false;
  return true;
}

bool conv_winograd_chosen(int64_t M, int64_t C) {
  return std::min(M, C) >= kConvWinogradMinChannels && std::max(M, C) <= kConvWinogradMaxChannels;
}

int conv_winograd_tile(int64_t M, int64_t C) { return std::max(M, C) <= kConvWinogradMaxF4Channels ? 4 : 2; }

int64_t conv_winograd_packed_size(int tile, int64_t M, int64_t C) {
  return (tile + 2) * (tile + 2) * conv_blocked_packed_size(M, C, 1);
}

void pack_conv_winograd_weights(int tile, const float* w, int64_t M, int64_t C, float* packed) {
  // Block by block of the layout of pack_conv_blocked_weights with one tap ([Mb][Cb][input lane]
  // [output lane]), each position's transformed weights straight into its packed 1x1. The
  // weights are read as stored (an output channel's L x 9 at a time) into [input lane][tap]
  // [output lane], so that the ISA's kernel transforms L output channels per vector.
  constexpr int kMaxL = detail::kMaxVectorFloats;
  const int64_t L = depthwise_block_channels(), Mb = (M + L - 1) / L, Cb = (C + L - 1) / L, one = Mb * Cb * L * L;
  const detail::WinogradWeightFn transform = detail::active_isa().winograd.weights[tile / 4];
  float block[kMaxL * 9 * kMaxL];
  for (int64_t mb = 0; mb < Mb; ++mb)
    for (int64_t cb = 0; cb < Cb; ++cb) {
      for (int64_t lo = 0; lo < L; ++lo)
        for (int64_t li = 0; li < L; ++li) {
          const int64_t m = mb * L + lo, c = cb * L + li;
          for (int t = 0; t < 9; ++t) block[(li * 9 + t) * L + lo] = m < M && c < C ? w[(m * C + c) * 9 + t] : 0.0f;
        }
      transform(block, packed + (mb * Cb + cb) * L * L, one);
    }
}

int64_t conv_winograd_scratch_size(int tile, const ConvGeometry& g, int64_t Cb, int64_t Mb, int threads) {
  const Tiling t = tiling(tile, g, Cb, Mb, threads);
  return t.slots * t.slot_floats;
}

void conv_winograd(const ConvWinogradArgs& a, ThreadPool& pool) {
  const Tiling t = tiling(a.tile, *a.g, a.Cb, a.Mb, pool.size());
  if (t.banded) {
    // Each thread (slot) runs its share of the bands through all three phases on its own area.
    const int64_t bands = a.N * t.bands;
    pool.parallel_for(t.slots, 1, [&](int64_t s0, int64_t s1) {
      for (int64_t s = s0; s < s1; ++s)
        for (int64_t b = bands * s / t.slots; b < bands * (s + 1) / t.slots; ++b) {
          const int64_t n = b / t.bands, i0 = b % t.bands * t.band_rows, i1 = std::min(t.th, i0 + t.band_rows);
          const Band band(a, t, n, i0, i1, a.scratch + s * t.slot_floats, 1);
          for (int64_t cb = 0; cb < a.Cb; ++cb)
            for (int64_t i = 0; i < band.rows(); ++i) band.transform_input(cb, i);
          for (int64_t task = 0; task < band.product_tasks(); ++task) band.multiply(task);
          for (int64_t mb = 0; mb < a.Mb; ++mb)
            for (int64_t i = 0; i < band.rows(); ++i) band.transform_output(mb, i);
        }
    });
    return;
  }
  // Each phase over the whole plane, every thread taking part.
  for (int64_t n = 0; n < a.N; ++n) {
    const Band band(a, t, n, 0, t.th, a.scratch, pool.size());
    pool.parallel_for(a.Cb * t.th, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t task = t0; task < t1; ++task) band.transform_input(task / t.th, task % t.th);
    });
    pool.parallel_for(band.product_tasks(), 1, [&](int64_t t0, int64_t t1) {
      for (int64_t task = t0; task < t1; ++task) band.multiply(task);
    });
    pool.parallel_for(a.Mb * t.th, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t task = t0; task < t1; ++task) band.transform_output(task / t.th, task % t.th);
    });
  }
}

}  // namespace tessera::kernels
