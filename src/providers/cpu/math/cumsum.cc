// CumSum and CumProd (exclusive, reverse): running sums and products along one axis, a scan
// over the elements.
#include <algorithm>
#include <memory>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/reduction/reduce_common.h"

namespace tessera {
namespace {

using namespace reduce_impl;

template <class T, bool kProd>
void cumulate(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool exclusive, bool reverse,
              ThreadPool& pool) {
  // Integers wrap in 64-bit unsigned arithmetic (numpy's fixed-width results after the cast);
  // the 16-bit floats accumulate in float.
  using A = std::conditional_t<std::is_integral_v<T>, uint64_t, compute_t<T>>;
  const A start = kProd ? A(1) : A(0);
  const int64_t grain = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, n * inner));
  pool.parallel_for(outer, grain, [&](int64_t o0, int64_t o1) {
    std::vector<A> acc(static_cast<size_t>(inner));
    for (int64_t o = o0; o < o1; ++o) {
      std::fill(acc.begin(), acc.end(), start);
      const T* src = x + o * n * inner;
      T* dst = y + o * n * inner;
      for (int64_t step = 0; step < n; ++step) {
        const int64_t j = reverse ? n - 1 - step : step;
        const T* row = src + j * inner;
        T* out = dst + j * inner;
        for (int64_t i = 0; i < inner; ++i) {
          A v = to_computed<A>(row[i]);
          A& a = acc[static_cast<size_t>(i)];
          if (exclusive) out[i] = saturating_from_computed<T>(a);
          if constexpr (kProd) a *= v;
          else a += v;
          if (!exclusive) out[i] = saturating_from_computed<T>(a);
        }
      }
    }
  });
}

class CumulativeKernel : public OpKernel {
 public:
  CumulativeKernel(const KernelInfo& info, bool prod)
      : prod_(prod), exclusive_(info.attr_int("exclusive") != 0), reverse_(info.attr_int("reverse") != 0) {}

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* axis_t = ctx.input(1);
    if (!x || !axis_t) return ctx.error("inputs 'x' and 'axis' are required");
    if (axis_t->size() != 1) return ctx.error("input 'axis' must hold exactly one value");
    auto a = tensor_to_int64s(*axis_t, "input 'axis'");
    if (!a.is_ok()) return a.status().with_context(ctx.node().describe());
    const int64_t rank = static_cast<int64_t>(x->rank());
    if (rank == 0) return ctx.error("input 'x' must have rank >= 1");
    auto ax = normalize_axis(a.value()[0], rank, ctx.node());
    if (!ax.is_ok()) return ax.status();
    int64_t outer, n, inner;
    split_at_axis(x->shape(), ax.value(), outer, n, inner);
    Tensor& y = ctx.allocate_output(0, x->dtype(), x->shape());
    if (y.size() == 0) return Status::ok();
    return dispatch<kNumericTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          if (prod_) cumulate<T, true>(x->data<T>(), y.data<T>(), outer, n, inner, exclusive_, reverse_, ctx.thread_pool());
          else cumulate<T, false>(x->data<T>(), y.data<T>(), outer, n, inner, exclusive_, reverse_, ctx.thread_pool());
          return Status::ok();
        },
        ctx.node());
  }

 private:
  bool prod_;
  bool exclusive_;
  bool reverse_;
};

}  // namespace

void register_cumsum(KernelRegistry& r) {
  r.add({"", "CumSum", 11, kLatestOnnxOpset, [](const KernelInfo& info) -> Result<std::unique_ptr<OpKernel>> {
           return std::unique_ptr<OpKernel>(new CumulativeKernel(info, false));
         }});
  r.add({"", "CumProd", 26, kLatestOnnxOpset, [](const KernelInfo& info) -> Result<std::unique_ptr<OpKernel>> {
           return std::unique_ptr<OpKernel>(new CumulativeKernel(info, true));
         }});
}

}  // namespace tessera
