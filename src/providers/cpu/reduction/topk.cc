// TopK (k as attribute in opset 1, as input since 10; largest/sorted since 11). TopK breaks ties
// by the smaller index and orders NaN above every number; its results are always sorted, which
// sorted=0 permits.
#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/reduction/reduce_common.h"

namespace tessera {
namespace {

using namespace reduce_impl;

// ---- TopK ----------------------------------------------------------------------------------

// Strict "a sorts before b" on numbers where NaN is above everything and equal to itself.
template <class C>
inline bool num_less(C a, C b) {
  if constexpr (std::is_floating_point_v<C>) {
    if (b != b) return a == a;
    if (a != a) return false;
  }
  return a < b;
}

// Small k: one pass keeping the best k (value, index) pairs sorted; scanning in index order
// means an equal later value never displaces an earlier one. Most values fail the single
// comparison against the current k-th best.
template <class C, bool kLargest>
void topk_small(const C* v, int64_t n, int64_t k, C* best_v, int64_t* best_i) {
  auto better = [](C a, C b) { return kLargest ? num_less(b, a) : num_less(a, b); };
  int64_t size = 0;
  for (int64_t j = 0; j < n; ++j) {
    const C x = v[j];
    if (size == k && !better(x, best_v[k - 1])) continue;
    int64_t pos = size < k ? size++ : k - 1;
    while (pos > 0 && better(x, best_v[pos - 1])) {
      best_v[pos] = best_v[pos - 1];
      best_i[pos] = best_i[pos - 1];
      --pos;
    }
    best_v[pos] = x;
    best_i[pos] = j;
  }
}

template <class T>
void topk_typed(const T* x, T* values, int64_t* indices, int64_t outer, int64_t n, int64_t inner, int64_t k,
                bool largest, ThreadPool& pool) {
  using C = compute_t<T>;
  const int64_t slices = outer * inner;
  const int64_t grain = std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(1, n));
  const bool small = k <= 64 && k * 8 <= n;
  pool.parallel_for(slices, grain, [&](int64_t s0, int64_t s1) {
    std::vector<C> v(static_cast<size_t>(n));
    std::vector<int64_t> order(static_cast<size_t>(small ? k : n));
    std::vector<C> best(static_cast<size_t>(small ? k : 0));
    for (int64_t s = s0; s < s1; ++s) {
      const int64_t o = s / inner, i = s % inner;
      const T* src = x + o * n * inner + i;
      const C* vals;
      if (std::is_same_v<C, T> && inner == 1) {
        vals = reinterpret_cast<const C*>(src);
      } else {
        for (int64_t j = 0; j < n; ++j) v[static_cast<size_t>(j)] = to_computed<C>(src[j * inner]);
        vals = v.data();
      }
      if (small) {
        if (largest) topk_small<C, true>(vals, n, k, best.data(), order.data());
        else topk_small<C, false>(vals, n, k, best.data(), order.data());
      } else {
        std::iota(order.begin(), order.end(), int64_t{0});
        auto before = [&](int64_t a, int64_t b) {
          C va = vals[a], vb = vals[b];
          if (largest ? num_less(vb, va) : num_less(va, vb)) return true;
          if (largest ? num_less(va, vb) : num_less(vb, va)) return false;
          return a < b;
        };
        std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
      }
      T* vout = values + o * k * inner + i;
      int64_t* iout = indices + o * k * inner + i;
      for (int64_t j = 0; j < k; ++j) {
        int64_t at = order[static_cast<size_t>(j)];
        vout[j * inner] = src[at * inner];
        iout[j * inner] = at;
      }
    }
  });
}

class TopKKernel : public OpKernel {
 public:
  explicit TopKKernel(const KernelInfo& info)
      : axis_(info.attr_int("axis", -1)),
        k_attr_(info.since_version() < 10 ? info.attr_int("k", -1) : -1),
        k_from_input_(info.since_version() >= 10),
        largest_(info.attr_int("largest", 1) != 0),
        sorted_(info.attr_int("sorted", 1) != 0) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    int64_t k = k_attr_;
    if (k_from_input_) {
      const Tensor* kt = ctx.input(1);
      if (!kt || kt->size() != 1) return ctx.error("input 'K' must hold exactly one value");
      auto r = tensor_to_int64s(*kt, "input 'K'");
      if (!r.is_ok()) return r.status().with_context(ctx.node().describe());
      k = r.value()[0];
    }
    const int64_t rank = static_cast<int64_t>(x->rank());
    if (rank == 0) return ctx.error("input 'X' must have rank >= 1");
    auto ax = normalize_axis(axis_, rank, ctx.node());
    if (!ax.is_ok()) return ax.status();
    int64_t outer, n, inner;
    split_at_axis(x->shape(), ax.value(), outer, n, inner);
    if (k < 0 || k > n) return ctx.error("k = ", k, " is outside [0, ", n, "] for axis ", ax.value());
    Shape out_shape = x->shape();
    out_shape[static_cast<size_t>(ax.value())] = k;
    Tensor& values = ctx.allocate_output(0, x->dtype(), out_shape);
    Tensor& indices = ctx.allocate_output(1, DataType::int64, out_shape);
    if (values.size() == 0) return Status::ok();
    (void)sorted_;  // always sorted: a valid answer for sorted=0 too
    return dispatch<kNumericTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          topk_typed<T>(x->data<T>(), values.data<T>(), indices.data<int64_t>(), outer, n, inner, k, largest_,
                        ctx.thread_pool());
          return Status::ok();
        },
        ctx.node());
  }

 private:
  int64_t axis_;
  int64_t k_attr_;
  bool k_from_input_;
  bool largest_;
  bool sorted_;
};

}  // namespace

void register_topk(KernelRegistry& r) {
  r.add({"", "TopK", 1, kLatestOnnxOpset, make_factory<TopKKernel>()});
}

}  // namespace tessera
