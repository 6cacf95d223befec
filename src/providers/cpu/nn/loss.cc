// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (opset 12+).
//
// Both pick, per sample position, the (log-)probability of the target class from an input of
// shape [N, C, d1..dk], viewed as [N, C, D]: loss = -weight[t] * logp[n, t, d], zero where the
// target equals ignore_index. 'mean' divides by the summed weights of the positions that count.
// SoftmaxCrossEntropyLoss first takes log_softmax over the class axis. Arithmetic is in float
// (double for double inputs).
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/math/widen.h"

namespace tessera {
namespace {

enum class Reduction { none, sum, mean };

Result<Reduction> parse_reduction(const KernelInfo& info) {
  const std::string r = info.attr_string("reduction");
  if (r == "none") return Reduction::none;
  if (r == "sum") return Reduction::sum;
  if (r == "mean") return Reduction::mean;
  return info.error("reduction must be 'none', 'sum' or 'mean', got '", r, "'");
}

// The sizes of a loss input [N, C, d1..dk] and its target [N, d1..dk].
struct LossDims {
  int64_t n = 0, classes = 0, inner = 1;  // inner = d1 * ... * dk
};

Status check_shapes(const KernelContext& ctx, const Tensor& x, const Tensor& target, const Tensor* weight,
                    LossDims& d) {
  if (x.rank() < 2) return ctx.error("input must have shape [N, C, ...], got ", shape_to_string(x.shape()));
  Shape want = {x.dim(0)};
  want.insert(want.end(), x.shape().begin() + 2, x.shape().end());
  if (target.shape() != want)
    return ctx.error("target shape ", shape_to_string(target.shape()), " does not match input shape ",
                     shape_to_string(x.shape()), " (expected ", shape_to_string(want), ")");
  if (target.dtype() != DataType::int32 && target.dtype() != DataType::int64)
    return ctx.error("target must be int32 or int64, got ", dtype_name(target.dtype()));
  if (weight && (weight->rank() != 1 || weight->dim(0) != x.dim(1) || weight->dtype() != x.dtype()))
    return ctx.error("weight must be a 1-D tensor of ", x.dim(1), " elements of the input type");
  d.n = x.dim(0);
  d.classes = x.dim(1);
  d.inner = 1;
  for (size_t a = 2; a < x.rank(); ++a) d.inner *= x.dim(a);
  return Status::ok();
}

std::vector<int64_t> targets_as_int64(const Tensor& t) {
  std::vector<int64_t> out(static_cast<size_t>(t.size()));
  if (t.dtype() == DataType::int64)
    std::copy(t.data<int64_t>(), t.data<int64_t>() + t.size(), out.begin());
  else
    std::copy(t.data<int32_t>(), t.data<int32_t>() + t.size(), out.begin());
  return out;
}

// Gathers the negative log-probabilities of the targets and reduces them into output 0.
template <class C>
Status gather_and_reduce(KernelContext& ctx, DataType dtype, const Tensor& target, const C* logp, const LossDims& d,
                         const Tensor* weight, std::optional<int64_t> ignore_index, Reduction reduction) {
  std::vector<int64_t> t = targets_as_int64(target);
  std::vector<C> w;
  if (weight) {
    w.resize(static_cast<size_t>(d.classes));
    TS_RETURN_IF_ERROR(widen::widen_tensor(*weight, w.data(), ctx.node()));
  }
  std::vector<C> loss(t.size());
  C weight_sum = 0;
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t i = 0; i < d.inner; ++i) {
      const int64_t pos = n * d.inner + i, cls = t[pos];
      if (ignore_index && cls == *ignore_index) {
        loss[pos] = 0;
        continue;
      }
      if (cls < 0 || cls >= d.classes)
        return ctx.error("target value ", cls, " at position ", pos, " is outside [0, ", d.classes, ")");
      const C wt = weight ? w[cls] : C(1);
      loss[pos] = -logp[(n * d.classes + cls) * d.inner + i] * wt;
      weight_sum += wt;
    }
  return dispatch<kFloatTypes>(dtype, [&]<class T>() -> Status {
    if (reduction == Reduction::none) {
      narrow_span(loss.data(), ctx.allocate_output(0, dtype, target.shape()).template data<T>(),
                         static_cast<int64_t>(loss.size()));
      return Status::ok();
    }
    C total = 0;
    for (C v : loss) total += v;
    if (reduction == Reduction::mean) total /= weight_sum;  // 0/0 = NaN when every position is ignored
    ctx.allocate_output(0, dtype, {}).template data<T>()[0] = from_computed<T>(total);
    return Status::ok();
  }, ctx.node());
}

class LossKernel final : public OpKernel {
 public:
  LossKernel(const KernelInfo& info, Reduction reduction, bool softmax)
      : reduction_(reduction), softmax_(softmax) {
    if (info.has_attr("ignore_index")) ignore_index_ = info.attr_int("ignore_index", 0);
  }

  template <bool Softmax>
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    TS_ASSIGN_OR_RETURN(Reduction reduction, parse_reduction(info));
    return std::unique_ptr<OpKernel>(new LossKernel(info, reduction, Softmax));
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* target = ctx.input(1);
    if (!x || !target) return ctx.error("inputs 0 (scores) and 1 (target) are required");
    const Tensor* weight = ctx.input(2);
    if ((kFloatTypes & type_bit(x->dtype())) == 0)
      return ctx.error("input must be a float tensor, got ", dtype_name(x->dtype()));
    LossDims d;
    TS_RETURN_IF_ERROR(check_shapes(ctx, *x, *target, weight, d));
    if (x->dtype() == DataType::float64) return run<double>(ctx, *x, *target, weight, d);
    return run<float>(ctx, *x, *target, weight, d);
  }

 private:
  template <class C>
  Status run(KernelContext& ctx, const Tensor& x, const Tensor& target, const Tensor* weight, const LossDims& d) const {
    std::vector<C> v(static_cast<size_t>(x.size()));
    TS_RETURN_IF_ERROR(widen::widen_tensor(x, v.data(), ctx.node()));
    if (softmax_) {
      log_softmax(v.data(), d);
      if (ctx.output_count() > 1 && ctx.output_requested(1)) {
        Tensor& lp = ctx.allocate_output(1, x.dtype(), x.shape());
        TS_RETURN_IF_ERROR(dispatch<kFloatTypes>(x.dtype(), [&]<class T>() -> Status {
          narrow_span(v.data(), lp.data<T>(), lp.size());
          return Status::ok();
        }, ctx.node()));
      }
    }
    return gather_and_reduce<C>(ctx, x.dtype(), target, v.data(), d, weight, ignore_index_, reduction_);
  }

  // log_softmax over the class axis of [N, C, D], in place.
  template <class C>
  static void log_softmax(C* v, const LossDims& d) {
    std::vector<C> mx(static_cast<size_t>(d.inner)), sum(static_cast<size_t>(d.inner));
    for (int64_t n = 0; n < d.n; ++n) {
      C* base = v + n * d.classes * d.inner;
      std::fill(mx.begin(), mx.end(), -std::numeric_limits<C>::infinity());
      for (int64_t c = 0; c < d.classes; ++c)
        for (int64_t i = 0; i < d.inner; ++i) mx[i] = std::max(mx[i], base[c * d.inner + i]);
      std::fill(sum.begin(), sum.end(), C(0));
      for (int64_t c = 0; c < d.classes; ++c)
        for (int64_t i = 0; i < d.inner; ++i) sum[i] += std::exp(base[c * d.inner + i] - mx[i]);
      for (int64_t i = 0; i < d.inner; ++i) sum[i] = std::log(sum[i]);
      for (int64_t c = 0; c < d.classes; ++c)
        for (int64_t i = 0; i < d.inner; ++i) base[c * d.inner + i] = (base[c * d.inner + i] - mx[i]) - sum[i];
    }
  }

  Reduction reduction_;
  bool softmax_;
  std::optional<int64_t> ignore_index_;
};

}  // namespace

void register_loss(KernelRegistry& r) {
  const KernelDef defs[] = {
      {"", "NegativeLogLikelihoodLoss", 12, kLatestOnnxOpset, LossKernel::create<false>},
      {"", "SoftmaxCrossEntropyLoss", 12, kLatestOnnxOpset, LossKernel::create<true>},
  };
  for (const KernelDef& def : defs) r.add(def);
}

}  // namespace tessera
