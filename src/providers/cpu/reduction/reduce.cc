// ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceLogSum,
// ReduceLogSumExp, ReduceSumSquare. Axes come from the `axes` attribute in old opsets and from
// input 1 since ReduceSum-13 / the others' 18. The work is driven by reduce_common.h's plan;
// each op is an accumulator policy plus a finishing step.
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/reduction/reduce_common.h"
#include "providers/cpu/microkernels/vector_math.h"

namespace tessera {
namespace {

using namespace reduce_impl;

enum class ReduceKind { sum, mean, max, min, prod, l1, l2, log_sum, log_sum_exp, sum_square };

// ---- accumulator policies --------------------------------------------------------------------

// Sum of f(x). Integer sums wrap modulo 2^64 (as numpy's fixed-width sums do after the final cast).
template <class T, class A, class F>
struct SumPolicy {
  F f;
  A init() const { return A(0); }
  void run(A& acc, const T* x, int64_t n, const A*) const { acc += sum_run<A>(x, n, f); }
  void rows(A* acc, const T* x, int64_t n, const A*) const {
    for (int64_t i = 0; i < n; ++i) acc[i] += f(to_computed<A>(x[i]));
  }
  void combine(A& acc, A other) const { acc += other; }
};

template <class T, class A>
struct ProdPolicy {
  A init() const { return A(1); }
  void run(A& acc, const T* x, int64_t n, const A*) const {
    for (int64_t i = 0; i < n; ++i) acc *= to_computed<A>(x[i]);
  }
  void rows(A* acc, const T* x, int64_t n, const A*) const {
    for (int64_t i = 0; i < n; ++i) acc[i] *= to_computed<A>(x[i]);
  }
  void combine(A& acc, A other) const { acc *= other; }
};

// Max (kMax) or min; NaN wins, as in numpy.
template <class T, class A, bool kMax>
struct ExtremePolicy {
  A init() const {
    if constexpr (std::is_floating_point_v<A>) {
      return kMax ? -std::numeric_limits<A>::infinity() : std::numeric_limits<A>::infinity();
    } else {
      return kMax ? std::numeric_limits<A>::lowest() : std::numeric_limits<A>::max();
    }
  }
  static bool better(A v, A acc) {
    if constexpr (std::is_floating_point_v<A>) {
      return (kMax ? v > acc : v < acc) || v != v;
    } else {
      return kMax ? v > acc : v < acc;
    }
  }
  void run(A& acc, const T* x, int64_t n, const A*) const {
    for (int64_t i = 0; i < n; ++i) {
      A v = to_computed<A>(x[i]);
      acc = better(v, acc) ? v : acc;
    }
  }
  void rows(A* acc, const T* x, int64_t n, const A*) const {
    for (int64_t i = 0; i < n; ++i) {
      A v = to_computed<A>(x[i]);
      acc[i] = better(v, acc[i]) ? v : acc[i];
    }
  }
  void combine(A& acc, A other) const {
    if (better(other, acc)) acc = other;
  }
};

// LogSumExp pass 2: sum of exp(x - shift) with the per-output shift in aux.
template <class T, class A>
struct ExpSumPolicy {
  A init() const { return A(0); }
  void run(A& acc, const T* x, int64_t n, const A* aux) const {
    const A s = *aux;
    acc += sum_run<A>(x, n, [s](A v) { return std::exp(v - s); });
  }
  void rows(A* acc, const T* x, int64_t n, const A* aux) const {
    for (int64_t i = 0; i < n; ++i) acc[i] += std::exp(to_computed<A>(x[i]) - aux[i]);
  }
  void combine(A& acc, A other) const { acc += other; }
};

// float32 policies over the ISA-dispatched array kernels.
enum class VecSum { plain, square, abs };

struct VecSumPolicy {
  VecSum kind;
  const vec::Kernels& k = vec::kernels();
  float init() const { return 0.0f; }
  void run(float& acc, const float* x, int64_t n, const float*) const {
    acc += kind == VecSum::plain ? k.sum(x, n) : kind == VecSum::square ? k.sum_sq(x, n) : k.sum_abs(x, n);
  }
  void rows(float* acc, const float* x, int64_t n, const float*) const {
    if (kind == VecSum::plain) k.add_rows(acc, x, n);
    else if (kind == VecSum::square) k.sq_add_rows(acc, x, n);
    else k.abs_add_rows(acc, x, n);
  }
  void combine(float& acc, float other) const { acc += other; }
};

template <bool kMax>
struct VecExtremePolicy {
  const vec::Kernels& k = vec::kernels();
  float init() const { return kMax ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity(); }
  void run(float& acc, const float* x, int64_t n, const float*) const { combine(acc, kMax ? k.max(x, n) : k.min(x, n)); }
  void rows(float* acc, const float* x, int64_t n, const float*) const {
    if (kMax) k.max_rows(acc, x, n);
    else k.min_rows(acc, x, n);
  }
  void combine(float& acc, float other) const { acc = ExtremePolicy<float, float, kMax>::better(other, acc) ? other : acc; }
};

struct VecExpSumPolicy {
  const vec::Kernels& k = vec::kernels();
  float init() const { return 0.0f; }
  void run(float& acc, const float* x, int64_t n, const float* aux) const { acc += k.exp_sum(x, n, *aux); }
  void rows(float* acc, const float* x, int64_t n, const float* aux) const { k.exp_sub_add_rows(acc, x, aux, n); }
  void combine(float& acc, float other) const { acc += other; }
};

// LogSumExp from a max pass and a shifted exp-sum pass. A non-finite max is the answer itself:
// -inf (every value -inf, or none), +inf (some +inf), NaN (some NaN).
template <class T, class F, class MaxPolicy, class ExpPolicy>
void log_sum_exp(const ReducePlan& p, const T* x, T* y, const MaxPolicy& max_policy, const ExpPolicy& exp_policy,
                 ThreadPool& pool) {
  std::vector<F> shift(static_cast<size_t>(p.output_size));
  run_reduce<T, F>(p, x, shift.data(), max_policy, nullptr, pool);
  std::vector<F> safe(shift);
  for (F& s : safe)
    if (!std::isfinite(s)) s = F(0);
  std::vector<F> sum(static_cast<size_t>(p.output_size));
  run_reduce<T, F>(p, x, sum.data(), exp_policy, safe.data(), pool);
  for (size_t i = 0; i < shift.size(); ++i)
    y[i] = saturating_from_computed<T>(std::isfinite(shift[i]) ? std::log(sum[i]) + shift[i] : shift[i]);
}

// Runs `policy` into a scratch accumulator and writes finish(acc) to y.
template <class T, class A, class Policy, class Finish>
void reduce_into(const ReducePlan& p, const T* x, T* y, const Policy& policy, Finish&& finish, ThreadPool& pool) {
  if constexpr (std::is_same_v<T, A>) {  // accumulate straight into the output
    run_reduce<T, A>(p, x, y, policy, nullptr, pool);
    for (int64_t i = 0; i < p.output_size; ++i) y[i] = finish(y[i]);
    return;
  }
  std::vector<A> acc(static_cast<size_t>(p.output_size));
  run_reduce<T, A>(p, x, acc.data(), policy, nullptr, pool);
  for (int64_t i = 0; i < p.output_size; ++i) y[i] = saturating_from_computed<T>(finish(acc[static_cast<size_t>(i)]));
}

template <class T>
Status reduce_typed(ReduceKind kind, const ReducePlan& p, const T* x, T* y, ThreadPool& pool) {
  const int64_t count = p.reduced_count;
  if constexpr (std::is_same_v<T, bool>) {
    // Only ReduceMax/ReduceMin accept bool (opset 20).
    // Accumulate as bytes (std::vector<bool> has no data()).
    auto same = [](uint8_t v) { return v; };
    if (kind == ReduceKind::max) {
      reduce_into<T, uint8_t>(p, x, y, ExtremePolicy<T, uint8_t, true>{}, same, pool);
    } else {
      reduce_into<T, uint8_t>(p, x, y, ExtremePolicy<T, uint8_t, false>{}, same, pool);
    }
    return Status::ok();
  } else {
    if constexpr (std::is_same_v<T, float>) {
      const float n = static_cast<float>(count);
      auto same = [](float v) { return v; };
      switch (kind) {
        case ReduceKind::sum: reduce_into<T, float>(p, x, y, VecSumPolicy{VecSum::plain}, same, pool); return Status::ok();
        case ReduceKind::mean:
          reduce_into<T, float>(p, x, y, VecSumPolicy{VecSum::plain}, [n](float v) { return v / n; }, pool);
          return Status::ok();
        case ReduceKind::sum_square: reduce_into<T, float>(p, x, y, VecSumPolicy{VecSum::square}, same, pool); return Status::ok();
        case ReduceKind::l1: reduce_into<T, float>(p, x, y, VecSumPolicy{VecSum::abs}, same, pool); return Status::ok();
        case ReduceKind::l2:
          reduce_into<T, float>(p, x, y, VecSumPolicy{VecSum::square}, [](float v) { return std::sqrt(v); }, pool);
          return Status::ok();
        case ReduceKind::log_sum:
          reduce_into<T, float>(p, x, y, VecSumPolicy{VecSum::plain}, [](float v) { return std::log(v); }, pool);
          return Status::ok();
        case ReduceKind::max: reduce_into<T, float>(p, x, y, VecExtremePolicy<true>{}, same, pool); return Status::ok();
        case ReduceKind::min: reduce_into<T, float>(p, x, y, VecExtremePolicy<false>{}, same, pool); return Status::ok();
        case ReduceKind::log_sum_exp:
          log_sum_exp<T, float>(p, x, y, VecExtremePolicy<true>{}, VecExpSumPolicy{}, pool);
          return Status::ok();
        case ReduceKind::prod: break;  // the generic path below
      }
    }
    using F = float_acc_t<T>;  // float math: float or double
    using C = compute_t<T>;    // T itself, or float for the 16-bit floats
    // Integer sums wrap in 64-bit unsigned arithmetic; floats accumulate in F.
    using S = std::conditional_t<std::is_integral_v<T>, uint64_t, F>;
    auto identity = [](S v) { return v; };
    switch (kind) {
      case ReduceKind::sum:
        reduce_into<T, S>(p, x, y, SumPolicy<T, S, decltype(identity)>{identity}, identity, pool);
        break;
      case ReduceKind::mean: {
        auto finish = [count](S v) -> F {
          if constexpr (std::is_integral_v<T>) {
            if (count == 0) return F(0);
            // Integer means truncate toward zero, like numpy's cast of the true quotient.
            if constexpr (std::is_signed_v<T>) return static_cast<F>(static_cast<int64_t>(v) / count);
            else return static_cast<F>(v / static_cast<uint64_t>(count));
          } else {
            return v / static_cast<F>(count);
          }
        };
        reduce_into<T, S>(p, x, y, SumPolicy<T, S, decltype(identity)>{identity}, finish, pool);
        break;
      }
      case ReduceKind::sum_square: {
        auto sq = [](S v) { return v * v; };
        reduce_into<T, S>(p, x, y, SumPolicy<T, S, decltype(sq)>{sq}, identity, pool);
        break;
      }
      case ReduceKind::l1: {
        auto ab = [](S v) -> S {
          if constexpr (std::is_integral_v<T>) {
            if constexpr (std::is_signed_v<T>) return static_cast<int64_t>(v) < 0 ? S(0) - v : v;
            else return v;
          } else {
            return std::abs(v);
          }
        };
        reduce_into<T, S>(p, x, y, SumPolicy<T, S, decltype(ab)>{ab}, identity, pool);
        break;
      }
      case ReduceKind::l2: {
        auto sq = [](F v) { return v * v; };
        reduce_into<T, F>(p, x, y, SumPolicy<T, F, decltype(sq)>{sq}, [](F v) { return std::sqrt(v); }, pool);
        break;
      }
      case ReduceKind::log_sum: {
        auto id = [](F v) { return v; };
        reduce_into<T, F>(p, x, y, SumPolicy<T, F, decltype(id)>{id}, [](F v) { return std::log(v); }, pool);
        break;
      }
      case ReduceKind::prod:
        reduce_into<T, S>(p, x, y, ProdPolicy<T, S>{}, identity, pool);
        break;
      case ReduceKind::max:
        reduce_into<T, C>(p, x, y, ExtremePolicy<T, C, true>{}, [](C v) { return v; }, pool);
        break;
      case ReduceKind::min:
        reduce_into<T, C>(p, x, y, ExtremePolicy<T, C, false>{}, [](C v) { return v; }, pool);
        break;
      case ReduceKind::log_sum_exp:
        log_sum_exp<T, F>(p, x, y, ExtremePolicy<T, F, true>{}, ExpSumPolicy<T, F>{}, pool);
        break;
    }
    return Status::ok();
  }
}

struct ReduceOpInfo {
  const char* name;
  ReduceKind kind;
  int64_t axes_input_since;  // first opset where axes is input 1 instead of an attribute
};

class ReduceKernel : public OpKernel {
 public:
  ReduceKernel(const KernelInfo& info, ReduceKind kind, int64_t axes_input_since)
      : kind_(kind),
        keepdims_(info.attr_int("keepdims", 1) != 0),
        noop_with_empty_axes_(info.attr_int("noop_with_empty_axes", 0) != 0),
        axes_from_input_(info.since_version() >= axes_input_since),
        axes_attr_(info.attr_ints("axes")) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    const int64_t rank = static_cast<int64_t>(x->rank());
    Shape axes = axes_attr_;
    if (axes_from_input_) {
      axes.clear();
      if (const Tensor* a = ctx.input(1)) {
        auto r = tensor_to_int64s(*a, "input 'axes'");
        if (!r.is_ok()) return r.status().with_context(ctx.node().describe());
        axes = std::move(r).value();
      }
    }
    AxisFlags reduce(static_cast<size_t>(rank), axes.empty() && !noop_with_empty_axes_);
    if (!axes.empty()) {
      auto r = normalize_axes(axes, rank, ctx.node());
      if (!r.is_ok()) return r.status();
      for (int64_t a : r.value()) reduce[static_cast<size_t>(a)] = true;
    }
    Shape out_shape;
    for (int64_t i = 0; i < rank; ++i) {
      if (!reduce[static_cast<size_t>(i)]) out_shape.push_back(x->dim(static_cast<size_t>(i)));
      else if (keepdims_) out_shape.push_back(1);
    }
    const ReducePlan plan = make_reduce_plan(x->shape(), reduce);
    Tensor& y = ctx.allocate_output(0, x->dtype(), out_shape);
    auto body = [&]<class T>() -> Status {
      return reduce_typed<T>(kind_, plan, x->data<T>(), y.data<T>(), ctx.thread_pool());
    };
    if (kind_ == ReduceKind::max || kind_ == ReduceKind::min)
      return dispatch<kNumericTypes | type_bit(DataType::boolean)>(x->dtype(), body, ctx.node());
    return dispatch<kNumericTypes>(x->dtype(), body, ctx.node());
  }

 private:
  ReduceKind kind_;
  bool keepdims_;
  bool noop_with_empty_axes_;
  bool axes_from_input_;
  Shape axes_attr_;
};

constexpr ReduceOpInfo kReduceOps[] = {
    {"ReduceSum", ReduceKind::sum, 13},
    {"ReduceMean", ReduceKind::mean, 18},
    {"ReduceMax", ReduceKind::max, 18},
    {"ReduceMin", ReduceKind::min, 18},
    {"ReduceProd", ReduceKind::prod, 18},
    {"ReduceL1", ReduceKind::l1, 18},
    {"ReduceL2", ReduceKind::l2, 18},
    {"ReduceLogSum", ReduceKind::log_sum, 18},
    {"ReduceLogSumExp", ReduceKind::log_sum_exp, 18},
    {"ReduceSumSquare", ReduceKind::sum_square, 18},
};

}  // namespace

void register_reduce(KernelRegistry& r) {
  for (const ReduceOpInfo& op : kReduceOps) {
    ReduceKind kind = op.kind;
    int64_t since = op.axes_input_since;
    r.add({"", op.name, 1, kLatestOnnxOpset, [kind, since](const KernelInfo& info) -> Result<std::unique_ptr<OpKernel>> {
             return std::unique_ptr<OpKernel>(new ReduceKernel(info, kind, since));
           }});
  }
}

}  // namespace tessera
