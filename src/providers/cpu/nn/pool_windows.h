// Where each pooling window falls on one spatial axis, precomputed per output position so the
// pooling loops never test bounds. Shared by the NCHW pools (pool.cc) and the blocked-layout
// pools (blocked_layout.cc).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace tessera {

// Window tables of one (padded-to-3-D) spatial dimension.
struct DimWindows {
  int64_t in = 1, out = 1, dilation = 1, kernel = 1;
  std::vector<int64_t> first;         // first in-bounds input position of window o
  std::vector<int64_t> count;         // window points inside [0, in)
  std::vector<int64_t> padded_count;  // window points inside [-pad_begin, in + pad_end)
};

// The windows of an axis of `in` positions giving `out` outputs: kernel k, stride s, dilation d,
// pads pb and pe.
inline DimWindows make_windows(int64_t in, int64_t out, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe) {
  DimWindows w;
  w.in = in;
  w.out = out;
  w.dilation = d;
  w.kernel = k;
  for (int64_t o = 0; o < out; ++o) {
    const int64_t start = o * s - pb;
    const int64_t jlo = start >= 0 ? 0 : (-start + d - 1) / d;
    const int64_t jhi = std::min(k, in - start <= 0 ? 0 : (in - start + d - 1) / d);
    const int64_t jpad = std::min(k, in + pe - start <= 0 ? 0 : (in + pe - start + d - 1) / d);
    w.first.push_back(start + jlo * d);
    w.count.push_back(std::max<int64_t>(0, jhi - jlo));
    w.padded_count.push_back(std::max<int64_t>(0, jpad));
  }
  return w;
}

}  // namespace tessera
