// Dropout. In inference the output is the input itself (forwarded, not copied) and the mask is
// all ones. Training mode: opset 1-6 when is_test=0, opset 12+ when the training_mode input is
// true; then each element is kept with probability 1-ratio and scaled by 1/(1-ratio). With a
// `seed` every run draws the same mask, the one numpy's RandomState(seed).uniform gives (the
// reference's generator: MT19937 and 53-bit doubles); without one each run draws a fresh mask.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/reduction/reduce_common.h"

namespace tessera {
namespace {

using namespace reduce_impl;

class DropoutKernel : public OpKernel {
 public:
  explicit DropoutKernel(const KernelInfo& info)
      : opset_(info.since_version()),
        ratio_attr_(info.attr_float("ratio", 0.5f)),
        is_test_(info.attr_int("is_test") != 0),
        has_seed_(info.has_attr("seed")),
        seed_(info.attr_int("seed", 0)) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    float ratio = ratio_attr_;
    bool training = opset_ < 7 && !is_test_;
    if (opset_ >= 12) {
      if (const Tensor* r = ctx.input(1)) {
        if (r->size() != 1) return ctx.error("input 'ratio' must be a scalar");
        std::vector<double> v = tensor_to_doubles(*r);
        if (v.empty()) return ctx.error("input 'ratio' has unsupported type ", dtype_name(r->dtype()));
        ratio = static_cast<float>(v[0]);
      } else {
        ratio = 0.5f;
      }
      const Tensor* t = ctx.input(2);
      if (t && (t->dtype() != DataType::boolean || t->size() != 1))
        return ctx.error("input 'training_mode' must be a bool scalar");
      training = t && t->data<bool>()[0];
    }
    if (training && (ratio < 0.0f || ratio > 1.0f)) return ctx.error("ratio ", ratio, " is outside [0, 1]");
    // Before opset 10 the mask has the data's type; from 10 it is bool.
    const bool bool_mask = opset_ >= 10;
    const bool want_mask = ctx.output_count() > 1 && ctx.output_requested(1);

    if (!training || ratio == 0.0f) {
      ctx.set_output(0, Value(*x));
      if (want_mask) {
        Tensor& m = ctx.allocate_output(1, bool_mask ? DataType::boolean : x->dtype(), x->shape());
        if (bool_mask) {
          std::fill(m.data<bool>(), m.data<bool>() + m.size(), true);
        } else {
          Status s = fill_ones(m, ctx);
          if (!s.is_ok()) return s;
        }
      }
      return Status::ok();
    }

    Tensor& y = ctx.allocate_output(0, x->dtype(), x->shape());
    Tensor* mask = want_mask ? &ctx.allocate_output(1, bool_mask ? DataType::boolean : x->dtype(), x->shape()) : nullptr;
    std::mt19937 rng(has_seed_ ? static_cast<uint32_t>(seed_) : std::random_device{}());
    auto uniform = [&rng]() {
      const double a = static_cast<double>(rng() >> 5), b = static_cast<double>(rng() >> 6);
      return (a * 67108864.0 + b) / 9007199254740992.0;
    };
    return dispatch<kFloatTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          using F = compute_t<T>;
          const F scale = ratio >= 1.0f ? F(0) : F(1) / (F(1) - static_cast<F>(ratio));
          const T* in = x->data<T>();
          T* out = y.data<T>();
          for (int64_t i = 0; i < x->size(); ++i) {
            const bool keep = uniform() >= static_cast<double>(ratio);
            out[i] = saturating_from_computed<T>(keep ? to_computed<F>(in[i]) * scale : F(0));
            if (mask) {
              if (bool_mask) mask->data<bool>()[i] = keep;
              else mask->data<T>()[i] = saturating_from_computed<T>(F(keep ? 1 : 0));
            }
          }
          return Status::ok();
        },
        ctx.node());
  }

 private:
  static Status fill_ones(Tensor& m, const KernelContext& ctx) {
    return dispatch<kFloatTypes>(
        m.dtype(),
        [&]<class T>() -> Status {
          const T one = saturating_from_computed<T>(compute_t<T>(1));
          std::fill(m.data<T>(), m.data<T>() + m.size(), one);
          return Status::ok();
        },
        ctx.node());
  }

  int64_t opset_;
  float ratio_attr_;
  bool is_test_;
  bool has_seed_;
  int64_t seed_;
};

}  // namespace

void register_dropout(KernelRegistry& r) { r.add({"", "Dropout", 1, kLatestOnnxOpset, make_factory<DropoutKernel>()}); }

}  // namespace tessera
