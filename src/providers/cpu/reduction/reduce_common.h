// Helpers shared by the reduction, scan and normalization kernels (reduction/*.cc,
// math/cumsum.cc, nn/normalization.cc, nn/softmax.cc): element <-> accumulator conversions, axis
// normalisation, and a reduction plan that walks the input as contiguous runs so inner loops never
// do per-element index math.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "core/deterministic.h"
#include "core/float_types.h"
#include "core/thread_pool.h"
#include "graph/graph.h"
#include "tessera/status.h"
#include "tessera/tensor.h"

namespace tessera::reduce_impl {

// ---- element conversions -------------------------------------------------------------------

template <class T>
inline constexpr bool is_floating_v = std::is_floating_point_v<T> || is_half_float_v<T>;

// Float accumulator for T: double for double, float for everything narrower. Integers use double
// so means and logs of large values stay exact enough.
template <class T>
using float_acc_t = std::conditional_t<std::is_same_v<T, double> || std::is_integral_v<T>, double, float>;

// from_computed, except that float -> integer saturates (NaN gives 0) instead of being undefined
// out of range.
template <class T, class A>
inline T saturating_from_computed(A v) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool> && std::is_floating_point_v<A>) {
    if (!(v == v)) return T(0);
    if (v <= static_cast<A>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (v >= static_cast<A>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  } else {
    return from_computed<T>(v);
  }
}

// Reads a whole tensor of any float or integer type into doubles (for small parameter tensors:
// scales, biases, axes given as floats, ...).
std::vector<double> tensor_to_doubles(const Tensor& t);
// Reads an integer tensor (int32/int64) into int64 values; fails for other types. Inline up to
// six values, so reading a node's axes or K allocates nothing.
Result<Shape> tensor_to_int64s(const Tensor& t, const std::string& what);

// ---- axes ------------------------------------------------------------------------------------

// Maps `axis` in [-rank, rank) to [0, rank); fails with a message naming `node` otherwise (its
// description is built on failure only).
Result<int64_t> normalize_axis(int64_t axis, int64_t rank, const Node& node);
// Normalises a list of axes and rejects duplicates.
Result<Shape> normalize_axes(std::span<const int64_t> axes, int64_t rank, const Node& node);

// Per axis of a tensor: whether it is reduced (inline up to rank 8: a run allocates nothing).
using AxisFlags = InlineVector<bool, 8>;

// Splits `shape` around `axis` into [outer, n, inner].
inline void split_at_axis(const Shape& shape, int64_t axis, int64_t& outer, int64_t& n, int64_t& inner) {
  outer = 1;
  n = 1;
  inner = 1;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    if (i < axis) outer *= shape[static_cast<size_t>(i)];
    else if (i == axis) n = shape[static_cast<size_t>(i)];
    else inner *= shape[static_cast<size_t>(i)];
  }
}

// ---- reduction plan --------------------------------------------------------------------------

// Iterates the offsets of a multi-index over `dims` (row-major) with given strides, one step at
// a time: O(1) amortised per step.
class OffsetWalker {
 public:
  OffsetWalker(const Shape& dims, const Shape& strides) : dims_(dims), strides_(strides), idx_(dims.size(), 0) {}
  // Positions the walker at linear index `i`.
  void seek(int64_t i) {
    offset_ = 0;
    for (size_t k = dims_.size(); k-- > 0;) {
      idx_[k] = i % dims_[k];
      i /= dims_[k];
      offset_ += idx_[k] * strides_[k];
    }
  }
  void next() {
    for (size_t k = dims_.size(); k-- > 0;) {
      offset_ += strides_[k];
      if (++idx_[k] < dims_[k]) return;
      offset_ -= idx_[k] * strides_[k];
      idx_[k] = 0;
    }
  }
  int64_t offset() const { return offset_; }

 private:
  const Shape& dims_;
  const Shape& strides_;
  Shape idx_;
  int64_t offset_ = 0;
};

// How to reduce a row-major tensor over a set of axes. After dropping size-1 axes and merging
// neighbours of the same kind, the innermost merged axis is either reduced (each output is a
// reduction over `positions` contiguous runs of length `run`) or kept (each unit of `run`
// consecutive outputs accumulates `positions` contiguous input rows of length `run`).
struct ReducePlan {
  bool inner_reduced = true;
  int64_t run = 1;
  int64_t units = 1;          // output groups: outputs when inner_reduced, rows of `run` otherwise
  int64_t positions = 1;      // runs (or rows) folded into each unit
  int64_t reduced_count = 1;  // input elements that make up one output
  int64_t output_size = 1;
  Shape unit_dims, unit_strides;  // walk the units' base offsets
  Shape pos_dims, pos_strides;    // walk the positions' offsets from a base
};

// `reduce[i]` says whether axis i is reduced.
ReducePlan make_reduce_plan(const Shape& shape, const AxisFlags& reduce);

// An accumulator policy for run_reduce, with A the accumulator type:
//   A init() const;
//   void run(A& acc, const T* x, int64_t n, const A* aux) const;       // fold a contiguous run
//   void rows(A* acc, const T* x, int64_t n, const A* aux) const;      // acc[i] (+)= x[i]
//   void combine(A& acc, A other) const;                               // merge partial results
// `aux` points at a per-output value (used by LogSumExp for its shift); may be null.
// Fills acc_out[output_size]; parallelises over outputs, over columns of rows, or over the
// reduced elements with partial results, whichever fits the shape.
template <class T, class A, class Op>
void run_reduce(const ReducePlan& p, const T* x, A* acc_out, const Op& op, const A* aux, ThreadPool& pool) {
  constexpr int64_t kGrain = 1 << 15;  // input elements worth one task
  const int64_t total = p.units * p.positions * p.run;
  const int threads = pool.size();
  if (p.output_size == 0) return;

  if (p.inner_reduced) {
    auto do_units = [&](int64_t u0, int64_t u1) {
      OffsetWalker uw(p.unit_dims, p.unit_strides);
      OffsetWalker pw(p.pos_dims, p.pos_strides);
      uw.seek(u0);
      for (int64_t u = u0; u < u1; ++u, uw.next()) {
        A acc = op.init();
        const T* base = x + uw.offset();
        const A* a = aux ? aux + u : nullptr;
        pw.seek(0);
        for (int64_t r = 0; r < p.positions; ++r, pw.next()) op.run(acc, base + pw.offset(), p.run, a);
        acc_out[u] = acc;
      }
    };
    // Deterministic: one task folds each output whole, so no sum is split by the thread count.
    if (threads <= 1 || deterministic_mode() || total < 2 * kGrain || p.units >= 4 * threads) {
      int64_t per_unit = std::max<int64_t>(1, p.positions * p.run);
      pool.parallel_for(p.units, std::max<int64_t>(1, kGrain / per_unit), do_units);
      return;
    }
    // Few outputs, many elements each: split each output's elements into chunks, fold partials.
    const int64_t per_unit = p.positions * p.run;
    const int64_t chunks = std::min<int64_t>(4 * threads, std::max<int64_t>(1, per_unit / kGrain));
    std::vector<A> partial(static_cast<size_t>(chunks * p.units), op.init());
    pool.parallel_for(chunks * p.units, 1, [&](int64_t c0, int64_t c1) {
      OffsetWalker uw(p.unit_dims, p.unit_strides);
      OffsetWalker pw(p.pos_dims, p.pos_strides);
      for (int64_t c = c0; c < c1; ++c) {
        int64_t u = c / chunks, k = c % chunks;
        int64_t e0 = per_unit * k / chunks, e1 = per_unit * (k + 1) / chunks;
        if (e0 >= e1) continue;
        uw.seek(u);
        const T* base = x + uw.offset();
        const A* a = aux ? aux + u : nullptr;
        A acc = op.init();
        int64_t r = e0 / p.run, off = e0 % p.run;
        pw.seek(r);
        for (int64_t e = e0; e < e1; ++r, pw.next()) {
          int64_t n = std::min(p.run - off, e1 - e);
          op.run(acc, base + pw.offset() + off, n, a);
          e += n;
          off = 0;
        }
        partial[static_cast<size_t>(c)] = acc;
      }
    });
    for (int64_t u = 0; u < p.units; ++u) {
      A acc = partial[static_cast<size_t>(u * chunks)];
      for (int64_t k = 1; k < chunks; ++k) op.combine(acc, partial[static_cast<size_t>(u * chunks + k)]);
      acc_out[u] = acc;
    }
    return;
  }

  // Inner axis kept: each task owns a block of columns of one unit's rows, so no partials.
  int64_t col_block = p.run;
  if (threads > 1 && !deterministic_mode() && total >= 2 * kGrain && p.units < 4 * threads) {
    int64_t want_blocks = (4 * threads + p.units - 1) / p.units;
    col_block = std::max<int64_t>(64, (p.run + want_blocks - 1) / want_blocks);
  }
  const int64_t blocks = (p.run + col_block - 1) / col_block;
  const int64_t task_cost = std::max<int64_t>(1, p.positions * col_block);
  pool.parallel_for(p.units * blocks, std::max<int64_t>(1, kGrain / task_cost), [&](int64_t t0, int64_t t1) {
    OffsetWalker uw(p.unit_dims, p.unit_strides);
    OffsetWalker pw(p.pos_dims, p.pos_strides);
    for (int64_t t = t0; t < t1; ++t) {
      int64_t u = t / blocks, b = t % blocks;
      int64_t c0 = b * col_block, n = std::min(col_block, p.run - c0);
      uw.seek(u);
      const T* base = x + uw.offset() + c0;
      A* acc = acc_out + u * p.run + c0;
      const A* a = aux ? aux + u * p.run + c0 : nullptr;
      for (int64_t i = 0; i < n; ++i) acc[i] = op.init();
      pw.seek(0);
      for (int64_t r = 0; r < p.positions; ++r, pw.next()) op.rows(acc, base + pw.offset(), n, a);
    }
  });
}

// Sum of a contiguous float run with independent partial sums (fewer rounding steps, and the
// compiler can keep them in vector registers).
template <class A, class T, class F>
inline A sum_run(const T* x, int64_t n, F&& f) {
  A s[8] = {A(0), A(0), A(0), A(0), A(0), A(0), A(0), A(0)};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) s[k] += f(to_computed<A>(x[i + k]));
  A tail = A(0);
  for (; i < n; ++i) tail += f(to_computed<A>(x[i]));
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + tail;
}

}  // namespace tessera::reduce_impl
