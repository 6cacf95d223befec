// ArgMax and ArgMin: int64 index of the extreme value along one axis (first occurrence, or last
// with select_last_index since opset 12). NaN counts as the extreme value, as in numpy.
#include <memory>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/reduction/reduce_common.h"

namespace tessera {
namespace {

using namespace reduce_impl;

template <class C, bool kMax, bool kLast>
inline bool replaces(C v, C best) {
  bool hit = kMax ? (kLast ? v >= best : v > best) : (kLast ? v <= best : v < best);
  if constexpr (std::is_floating_point_v<C>) {
    if (v != v) return kLast || best == best;  // first NaN wins, or the last one
    if (best != best) return false;
  }
  return hit;
}

template <class T, bool kMax, bool kLast>
void arg_reduce(const T* x, int64_t* y, int64_t outer, int64_t n, int64_t inner, ThreadPool& pool) {
  using C = compute_t<T>;
  const int64_t grain = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, n * inner));
  if (inner == 1) {
    pool.parallel_for(outer, grain, [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) {
        const T* row = x + o * n;
        C best = to_computed<C>(row[0]);
        int64_t at = 0;
        for (int64_t j = 1; j < n; ++j) {
          C v = to_computed<C>(row[j]);
          if (replaces<C, kMax, kLast>(v, best)) {
            best = v;
            at = j;
          }
        }
        y[o] = at;
      }
    });
    return;
  }
  // Strided axis: sweep whole rows of `inner` values, keeping a best value per column.
  pool.parallel_for(outer, grain, [&](int64_t o0, int64_t o1) {
    std::vector<C> best(static_cast<size_t>(inner));
    for (int64_t o = o0; o < o1; ++o) {
      const T* block = x + o * n * inner;
      int64_t* out = y + o * inner;
      for (int64_t i = 0; i < inner; ++i) {
        best[static_cast<size_t>(i)] = to_computed<C>(block[i]);
        out[i] = 0;
      }
      for (int64_t j = 1; j < n; ++j) {
        const T* row = block + j * inner;
        for (int64_t i = 0; i < inner; ++i) {
          C v = to_computed<C>(row[i]);
          if (replaces<C, kMax, kLast>(v, best[static_cast<size_t>(i)])) {
            best[static_cast<size_t>(i)] = v;
            out[i] = j;
          }
        }
      }
    }
  });
}

class ArgReduceKernel : public OpKernel {
 public:
  ArgReduceKernel(const KernelInfo& info, bool is_max)
      : is_max_(is_max),
        axis_(info.attr_int("axis")),
        keepdims_(info.attr_int("keepdims") != 0),
        select_last_(info.since_version() >= 12 && info.attr_int("select_last_index") != 0) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    const int64_t rank = static_cast<int64_t>(x->rank());
    int64_t axis = 0;
    if (rank > 0) {
      auto r = normalize_axis(axis_, rank, ctx.node());
      if (!r.is_ok()) return r.status();
      axis = r.value();
    } else if (axis_ != 0 && axis_ != -1) {
      return ctx.error("axis ", axis_, " is out of range for a scalar input");
    }
    int64_t outer = 1, n = 1, inner = 1;
    Shape out_shape;
    for (int64_t i = 0; i < rank; ++i) {
      int64_t d = x->dim(static_cast<size_t>(i));
      if (i < axis) outer *= d;
      else if (i == axis) n = d;
      else inner *= d;
      if (i != axis) out_shape.push_back(d);
      else if (keepdims_) out_shape.push_back(1);
    }
    if (n == 0 && outer * inner > 0) return ctx.error("cannot take the arg-extreme of an empty axis ", axis);
    Tensor& y = ctx.allocate_output(0, DataType::int64, out_shape);
    if (y.size() == 0) return Status::ok();
    return dispatch<kNumericTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          const T* in = x->data<T>();
          int64_t* out = y.data<int64_t>();
          ThreadPool& pool = ctx.thread_pool();
          if (is_max_) {
            if (select_last_) arg_reduce<T, true, true>(in, out, outer, n, inner, pool);
            else arg_reduce<T, true, false>(in, out, outer, n, inner, pool);
          } else {
            if (select_last_) arg_reduce<T, false, true>(in, out, outer, n, inner, pool);
            else arg_reduce<T, false, false>(in, out, outer, n, inner, pool);
          }
          return Status::ok();
        },
        ctx.node());
  }

 private:
  bool is_max_;
  int64_t axis_;
  bool keepdims_;
  bool select_last_;
};

}  // namespace

void register_arg_reduce(KernelRegistry& r) {
  r.add({"", "ArgMax", 1, kLatestOnnxOpset, [](const KernelInfo& info) -> Result<std::unique_ptr<OpKernel>> {
           return std::unique_ptr<OpKernel>(new ArgReduceKernel(info, true));
         }});
  r.add({"", "ArgMin", 1, kLatestOnnxOpset, [](const KernelInfo& info) -> Result<std::unique_ptr<OpKernel>> {
           return std::unique_ptr<OpKernel>(new ArgReduceKernel(info, false));
         }});
}

}  // namespace tessera
