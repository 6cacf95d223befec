// Multidirectional (numpy) broadcasting for elementwise kernels.
//
// A BroadcastPlan merges adjacent output dimensions wherever every input is either contiguous
// across both or broadcast across both, so iteration walks the longest possible contiguous
// innermost run; within a run each input's stride is 1 (span) or 0 (scalar). Kernels pick a loop
// per run from those strides (span∘span, scalar∘span, span∘scalar) and never compute a
// multi-index per element. Runs are walked with an odometer over the outer dimensions.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "core/broadcast_shapes.h"
#include "core/thread_pool.h"
#include "providers/cpu/math/elementwise.h"
#include "providers/cpu/microkernels/elementwise_simd.h"
#include "tessera/status.h"
#include "tessera/tensor.h"

namespace tessera {

template <int N>
struct BroadcastPlan {
  Shape out_shape;
  int64_t out_size = 0;
  // Collapsed dimensions, outermost first; never empty (a scalar output is one dim of size 1).
  // Inline up to rank 6, as Shape: a plan made per run allocates nothing.
  Shape dims;
  // strides[d][k]: element stride of input k along collapsed dim d (0 where it broadcasts).
  InlineVector<std::array<int64_t, N>, 6> strides;

  int64_t inner() const { return dims.back(); }
  // Stride of input k within an innermost run: 1 (contiguous) or 0 (one value repeated).
  int64_t inner_stride(int k) const { return strides.back()[k]; }
};

// Plans iteration of `out_shape` over inputs whose shapes broadcast to it (checked: a mismatch
// is an error that starts with `where` and names the shapes).
template <int N>
Result<BroadcastPlan<N>> make_broadcast_plan(const Shape& out_shape, const std::array<const Shape*, N>& in,
                                             const std::string& where) {
  BroadcastPlan<N> plan;
  plan.out_shape = out_shape;
  plan.out_size = shape_size(out_shape);
  const size_t rank = out_shape.size();
  // Per output dim and input: size-1 (broadcast) or full; contiguous strides from the right.
  InlineVector<std::array<int64_t, N>, 6> full(rank);
  for (int k = 0; k < N; ++k) {
    const Shape& s = *in[k];
    if (s.size() > rank)
      return invalid_argument(where, ": shape ", shape_to_string(s), " has more dims than the output ",
                              shape_to_string(out_shape));
    int64_t stride = 1;
    for (size_t i = rank; i-- > 0;) {
      const size_t lead = rank - s.size();
      const int64_t d = i >= lead ? s[i - lead] : 1;
      if (d != out_shape[i] && d != 1)
        return invalid_argument(where, ": shape ", shape_to_string(s), " cannot be broadcast to ",
                                shape_to_string(out_shape));
      full[i][k] = (d == 1) ? 0 : stride;
      stride *= d;
    }
  }
  if (plan.out_size == 0) {  // nothing to iterate (and zero strides would read as broadcast)
    plan.dims = {0};
    plan.strides.assign(1, {});
    return plan;
  }
  // Merge dim i into the running (inner) dim when each input has the same kind on both:
  // contiguous on both (stride of outer == inner stride * inner size) or broadcast on both.
  for (size_t i = rank; i-- > 0;) {
    const int64_t d = out_shape[i];
    if (d == 1) continue;
    if (!plan.dims.empty()) {
      bool mergeable = true;
      auto& cur = plan.strides.front();
      for (int k = 0; k < N; ++k) {
        const bool outer_b = full[i][k] == 0, inner_b = cur[k] == 0;
        if (outer_b != inner_b || (!outer_b && full[i][k] != cur[k] * plan.dims.front())) mergeable = false;
      }
      if (mergeable) {
        plan.dims.front() *= d;
        continue;
      }
    }
    plan.dims.insert(plan.dims.begin(), d);
    plan.strides.insert(plan.strides.begin(), full[i]);
  }
  if (plan.dims.empty()) {
    plan.dims.push_back(1);
    plan.strides.push_back({});
    for (int k = 0; k < N; ++k) plan.strides.back()[k] = 1;
  }
  return plan;
}

// Calls fn(offsets, out_offset, len) for each innermost run (or piece of one) covering output
// elements [begin, end): input k's run starts at offsets[k] and advances by inner_stride(k).
template <int N, class Fn>
void for_each_run(const BroadcastPlan<N>& p, int64_t begin, int64_t end, const Fn& fn) {
  const size_t r = p.dims.size();
  const int64_t inner = p.dims[r - 1];
  Shape idx(r, 0);
  std::array<int64_t, N> off{};
  int64_t rem = begin;
  for (size_t d = r; d-- > 0;) {
    idx[d] = rem % p.dims[d];
    rem /= p.dims[d];
    for (int k = 0; k < N; ++k) off[k] += idx[d] * p.strides[d][k];
  }
  int64_t pos = begin;
  while (pos < end) {
    const int64_t len = std::min(inner - idx[r - 1], end - pos);
    fn(off, pos, len);
    pos += len;
    if (pos >= end) break;
    idx[r - 1] += len;
    for (int k = 0; k < N; ++k) off[k] += len * p.strides[r - 1][k];
    if (idx[r - 1] < inner) continue;
    // The run ended: carry into the outer dims.
    for (int k = 0; k < N; ++k) off[k] -= inner * p.strides[r - 1][k];
    idx[r - 1] = 0;
    for (size_t d = r - 1; d-- > 0;) {
      for (int k = 0; k < N; ++k) off[k] += p.strides[d][k];
      if (++idx[d] < p.dims[d]) break;
      for (int k = 0; k < N; ++k) off[k] -= p.dims[d] * p.strides[d][k];
      idx[d] = 0;
    }
  }
}

// Runs for_each_run over the whole output, split across the pool for big outputs.
template <int N, class Fn>
void parallel_runs(ThreadPool& pool, const BroadcastPlan<N>& p, int64_t min_chunk, const Fn& fn) {
  elementwise::parallel_elements(pool, p.out_size, min_chunk,
                                 [&](int64_t begin, int64_t end) { for_each_run(p, begin, end, fn); });
}

// ---- binary spans ----

// A functor with a vector form for float: `template <class VF> vec(VF, VF) const` returning VF
// (arithmetic) or a lane mask (comparisons, bool output); marked TS_SIMD.
template <class F>
concept HasVec2 = requires(const F& f, simd::vf4 v) { f.vec(v, v); };

template <class VF>
TS_SIMD void put(float* o, const VF& v) { simd::store(o, v); }
template <class VI>
TS_SIMD void put(bool* o, const VI& mask) {
  const simd::u8vec<VI> bytes = __builtin_convertvector(mask & 1, simd::u8vec<VI>);
  std::memcpy(o, &bytes, sizeof bytes);
}

// out[i] = f.vec(a[i or 0], b[i or 0]) over floats, N lanes at a time; SA/SB say which inputs
// advance. The tail goes through zero-padded vectors so every element sees the same arithmetic.
template <int N, bool SA, bool SB, class F, class R>
TS_SIMD void binary_vec(const float* a, const float* b, R* out, int64_t n, const F& f) {
  using VF = typename simd::Lanes<N>::f;
  const VF a0 = simd::splat<VF>(a[0]), b0 = simd::splat<VF>(b[0]);
  int64_t i = 0;
  for (; i + N <= n; i += N) put(out + i, f.vec(SA ? simd::load<VF>(a + i) : a0, SB ? simd::load<VF>(b + i) : b0));
  if (i < n) {
    const size_t m = static_cast<size_t>(n - i);
    float ta[N] = {}, tb[N] = {};
    R tr[N];
    if (SA) std::memcpy(ta, a + i, m * sizeof(float));
    if (SB) std::memcpy(tb, b + i, m * sizeof(float));
    put(tr, f.vec(SA ? simd::load<VF>(ta) : a0, SB ? simd::load<VF>(tb) : b0));
    std::memcpy(out + i, tr, m * sizeof(R));
  }
}

template <int N, class F, class R>
TS_SIMD void binary_vec(const float* a, int64_t sa, const float* b, int64_t sb, R* out, int64_t n, const F& f) {
  if (sa && sb) binary_vec<N, true, true>(a, b, out, n, f);
  else if (sb) binary_vec<N, false, true>(a, b, out, n, f);
  else if (sa) binary_vec<N, true, false>(a, b, out, n, f);
  else binary_vec<N, false, false>(a, b, out, n, f);
}

template <class TA, class TB, class TO, class F>
constexpr bool kVectorBinary = HasVec2<F> && std::is_same_v<TA, TB> &&
                               std::is_same_v<compute_t<TA>, float> &&
                               (std::is_same_v<TO, TA> || std::is_same_v<TO, bool>);

// Runs shorter than this skip the vector path, whose per-call cost would dominate. Binary
// functors' vector forms must be exact IEEE operations (no approximations), so both paths give
// the same bits.
constexpr int64_t kMinVectorRun = 16;

// Binary elementwise over one run: out[i] = f(a[..], b[..]) with the three-loop split (both spans,
// scalar∘span, span∘scalar; both scalar fills). f works on compute types (float for 16-bit
// floats, which are widened a block at a time); functors with a vector form run it for float
// and 16-bit float inputs.
template <class TA, class TB, class TO, class F>
void binary_span(const TA* a, int64_t sa, const TB* b, int64_t sb, TO* out, int64_t n, const F& f) {
  using elementwise::kBlock;
  if constexpr (kVectorBinary<TA, TB, TO, F>) {
    if (n < kMinVectorRun) {
      for (int64_t i = 0; i < n; ++i) out[i] = from_computed<TO>(f(to_computed(a[i * sa]), to_computed(b[i * sb])));
      return;
    }
    simd::with_best_isa([&]<int N>() TS_SIMD_BODY {
      if constexpr (std::is_same_v<TA, float>) {
        binary_vec<N>(a, sa, b, sb, out, n, f);
      } else {
        float ba[kBlock], bb[kBlock], bo[kBlock];
        for (int64_t base = 0; base < n; base += kBlock) {
          const int64_t m = std::min(kBlock, n - base);
          if (sa) elementwise::widen<N>(a + base, ba, m);
          else ba[0] = to_computed(a[0]);
          if (sb) elementwise::widen<N>(b + base, bb, m);
          else bb[0] = to_computed(b[0]);
          if constexpr (std::is_same_v<TO, bool>) {
            binary_vec<N>(ba, sa, bb, sb, out + base, m, f);
          } else {
            binary_vec<N>(ba, sa, bb, sb, bo, m, f);
            elementwise::narrow<N>(bo, out + base, m);
          }
        }
      }
    });
  } else if constexpr (is_half_float_v<TA> || is_half_float_v<TB> || is_half_float_v<TO>) {
    using CA = compute_t<TA>;
    using CB = compute_t<TB>;
    using R = decltype(f(to_computed(a[0]), to_computed(b[0])));
    CA ca[kBlock];
    CB cb[kBlock];
    R r[kBlock];
    const CA a0 = to_computed(a[0]);
    const CB b0 = to_computed(b[0]);
    for (int64_t base = 0; base < n; base += kBlock) {
      const int64_t m = std::min(kBlock, n - base);
      if (sa && sb) {
        for (int64_t j = 0; j < m; ++j) ca[j] = to_computed(a[base + j]);
        for (int64_t j = 0; j < m; ++j) cb[j] = to_computed(b[base + j]);
        for (int64_t j = 0; j < m; ++j) r[j] = f(ca[j], cb[j]);
      } else if (sb) {
        for (int64_t j = 0; j < m; ++j) cb[j] = to_computed(b[base + j]);
        for (int64_t j = 0; j < m; ++j) r[j] = f(a0, cb[j]);
      } else if (sa) {
        for (int64_t j = 0; j < m; ++j) ca[j] = to_computed(a[base + j]);
        for (int64_t j = 0; j < m; ++j) r[j] = f(ca[j], b0);
      } else {
        const R v = f(a0, b0);
        for (int64_t j = 0; j < m; ++j) r[j] = v;
      }
      for (int64_t j = 0; j < m; ++j) out[base + j] = from_computed<TO>(r[j]);
    }
  } else {
    if (sa && sb) {
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<TO>(f(a[i], b[i]));
    } else if (sb) {
      const TA& a0 = a[0];
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<TO>(f(a0, b[i]));
    } else if (sa) {
      const TB& b0 = b[0];
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<TO>(f(a[i], b0));
    } else {
      const TO v = static_cast<TO>(f(a[0], b[0]));
      for (int64_t i = 0; i < n; ++i) out[i] = v;
    }
  }
}

// Rows of n floats, each against one value of the other input (B per row when b_per_row, else
// A): out row r = f(a row r, b[r]) or f(a[r], b row r). One vector loop per row inside one ISA
// dispatch: squeeze-and-excitation's [N, C, H, W] * [N, C, 1, 1] has thousands of short rows.
template <class F, class R>
void binary_rows(const float* a, const float* b, R* out, int64_t rows, int64_t n, bool b_per_row, const F& f) {
  simd::with_best_isa([&]<int N>() TS_SIMD_BODY {
    for (int64_t r = 0; r < rows; ++r) {
      if (b_per_row) binary_vec<N, true, false>(a + r * n, b + r, out + r * n, n, f);
      else binary_vec<N, false, true>(a + r, b + r * n, out + r * n, n, f);
    }
  });
}

// Rows [o, m, 0..n) of one input against row [o, 0..n) of the other, for every m (B repeated
// when b_repeated, else A): the blocked channel layout's [N, C/16, H, W, 16] * [N, C/16, 1, 1, 16],
// whose runs are one vector long. Rows [t0, t1) of the rows * n elements; `rows` per o.
template <class F, class R>
void binary_repeated_rows(const float* a, const float* b, R* out, int64_t t0, int64_t t1, int64_t rows, int64_t n,
                          bool b_repeated, const F& f) {
  simd::with_best_isa([&]<int N>() TS_SIMD_BODY {
    using VF = typename simd::Lanes<N>::f;
    constexpr int64_t kMaxRowVectors = 4;
    if (n % N == 0 && n / N <= kMaxRowVectors) {
      // The repeated row stays in registers while the rows of its o stream past.
      const int64_t vectors = n / N;
      const float* full = b_repeated ? a : b;
      const float* repeated = b_repeated ? b : a;
      for (int64_t t = t0; t < t1;) {
        const int64_t o = t / rows, end = std::min(t1, (o + 1) * rows);
        VF row[kMaxRowVectors];
        for (int64_t j = 0; j < vectors; ++j) row[j] = simd::load<VF>(repeated + o * n + j * N);
        for (; t < end; ++t)
          for (int64_t j = 0; j < vectors; ++j) {
            const VF x = simd::load<VF>(full + t * n + j * N);
            put(out + t * n + j * N, b_repeated ? f.vec(x, row[j]) : f.vec(row[j], x));
          }
      }
      return;
    }
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t o = t / rows;
      if (b_repeated) binary_vec<N, true, true>(a + t * n, b + o * n, out + t * n, n, f);
      else binary_vec<N, true, true>(a + o * n, b + t * n, out + t * n, n, f);
    }
  });
}

template <class TA, class TB, class TO, class F>
void run_binary(ThreadPool& pool, const BroadcastPlan<2>& plan, const TA* a, const TB* b, TO* out, int64_t min_chunk,
                const F& f) {
  if (plan.out_size == 0) return;
  const int64_t sa = plan.inner_stride(0), sb = plan.inner_stride(1);
  const int64_t n = plan.inner();
  // Short rows of one input repeated against a contiguous other ([N, C] + [C] with small C):
  // repeat the row into a tile of whole rows so the loops run long spans instead of N runs of C.
  if (n < kMinVectorRun && plan.dims.size() == 2 && sa == 1 && sb == 1) {
    const auto& outer = plan.strides[0];
    const bool row_b = outer[0] == n && outer[1] == 0, row_a = outer[0] == 0 && outer[1] == n;
    if (row_a || row_b) {
      const int64_t tile = n * std::max<int64_t>(1, std::min<int64_t>(1024, plan.out_size) / n);
      auto run_tiled = [&](const auto* full, const auto* row, auto&& call) {
        using R = std::remove_cv_t<std::remove_pointer_t<decltype(row)>>;
        std::unique_ptr<R[]> tiled(new R[static_cast<size_t>(tile)]);  // not vector<bool>: needs data()
        for (int64_t i = 0; i < tile; ++i) tiled[i] = row[i % n];
        const int64_t tiles = (plan.out_size + tile - 1) / tile;
        const int64_t grain = std::max<int64_t>(1, min_chunk / tile);
        elementwise::parallel_elements(pool, tiles, grain, [&](int64_t t0, int64_t t1) {
          for (int64_t t = t0; t < t1; ++t) {
            const int64_t pos = t * tile;
            call(full + pos, tiled.get(), out + pos, std::min(tile, plan.out_size - pos));
          }
        });
      };
      if (row_b)
        run_tiled(a, b, [&](const TA* x, const TB* r, TO* o, int64_t len) { binary_span(x, 1, r, 1, o, len, f); });
      else
        run_tiled(b, a, [&](const TB* x, const TA* r, TO* o, int64_t len) { binary_span(r, 1, x, 1, o, len, f); });
      return;
    }
  }
  if constexpr (kVectorBinary<TA, TB, TO, F> && std::is_same_v<TA, float>) {
    const auto& outer = plan.strides[0];
    const bool b_per_row = plan.dims.size() == 2 && sa == 1 && sb == 0 && outer[0] == n && outer[1] == 1;
    const bool a_per_row = plan.dims.size() == 2 && sa == 0 && sb == 1 && outer[0] == 1 && outer[1] == n;
    if (n >= kMinVectorRun && (b_per_row || a_per_row)) {
      elementwise::parallel_elements(pool, plan.dims[0], std::max<int64_t>(1, min_chunk / n), [&](int64_t r0, int64_t r1) {
        binary_rows(a + (b_per_row ? r0 * n : r0), b + (b_per_row ? r0 : r0 * n), out + r0 * n, r1 - r0, n, b_per_row, f);
      });
      return;
    }
    if (plan.dims.size() == 3 && sa == 1 && sb == 1) {
      const auto& mid = plan.strides[1];
      const int64_t rows = plan.dims[1];
      const bool b_repeated = mid[0] == n && mid[1] == 0 && outer[0] == rows * n && outer[1] == n;
      const bool a_repeated = mid[0] == 0 && mid[1] == n && outer[0] == n && outer[1] == rows * n;
      if (b_repeated || a_repeated) {
        elementwise::parallel_elements(pool, plan.dims[0] * rows, std::max<int64_t>(1, min_chunk / n),
                                       [&](int64_t t0, int64_t t1) {
                                         binary_repeated_rows(a, b, out, t0, t1, rows, n, b_repeated, f);
                                       });
        return;
      }
    }
  }
  parallel_runs(pool, plan, min_chunk, [&](const std::array<int64_t, 2>& off, int64_t o, int64_t len) {
    binary_span(a + off[0], sa, b + off[1], sb, out + o, len, f);
  });
}

}  // namespace tessera
