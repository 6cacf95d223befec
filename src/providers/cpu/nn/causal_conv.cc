// CausalConvWithState (opset 27): a depthwise 1-D convolution over [past_state | input] with
// valid padding, so output t sees input positions t-k+1 .. t, plus an optional fused SiLU.
//
// Each (batch, channel) row is independent: its k-1 carried values and L new ones are widened
// into one padded row, convolved, and its last k-1 values become present_state. Sums run in
// float (double for double); for 16-bit types the convolution result is rounded to the storage
// type before the bias and the activation, as the reference stores it.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "core/float_types.h"

namespace tessera {
namespace {

class CausalConvWithStateKernel final : public OpKernel {
 public:
  explicit CausalConvWithStateKernel(bool silu) : silu_(silu) {}

  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    const std::string activation = info.attr_string("activation");
    if (activation != "none" && activation != "silu" && activation != "swish")
      return info.error("activation must be 'none', 'silu' or 'swish', got '", activation, "'");
    return std::unique_ptr<OpKernel>(new CausalConvWithStateKernel(activation != "none"));
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* w = ctx.input(1);
    const Tensor* bias = ctx.input(2);
    const Tensor* past = ctx.input(3);
    if (!x || !w) return ctx.error("inputs 0 (input) and 1 (weight) are required");
    if (x->rank() != 3) return ctx.error("input must have shape (batch, channels, length), got ", shape_to_string(x->shape()));
    const int64_t B = x->dim(0), C = x->dim(1), L = x->dim(2);
    if (w->rank() != 3 || w->dim(0) != C || w->dim(1) != 1 || w->dim(2) < 1)
      return ctx.error("weight must have shape (", C, ", 1, k) with k >= 1, got ", shape_to_string(w->shape()));
    const int64_t k = w->dim(2);
    if (bias && bias->shape() != Shape{C})
      return ctx.error("bias must have shape (", C, "), got ", shape_to_string(bias->shape()));
    if (past && past->shape() != Shape{B, C, k - 1})
      return ctx.error("past_state must have shape (", B, ", ", C, ", ", k - 1, "), got ", shape_to_string(past->shape()));
    for (const Tensor* t : {w, bias, past})
      if (t && t->dtype() != x->dtype())
        return ctx.error("weight, bias and past_state must have the type of input (", dtype_name(x->dtype()), "), got ",
                         dtype_name(t->dtype()));

    Tensor& y = ctx.allocate_output(0, x->dtype(), x->shape());
    Tensor* state = ctx.output_requested(1) ? &ctx.allocate_output(1, x->dtype(), {B, C, k - 1}) : nullptr;
    return dispatch<kFloatTypes>(x->dtype(), [&]<class T>() -> Status {
      run<T>(ctx, *x, *w, bias, past, y, state, B, C, L, k);
      return Status::ok();
    }, ctx.node());
  }

 private:
  template <class T>
  void run(const KernelContext& ctx, const Tensor& x, const Tensor& w, const Tensor* bias, const Tensor* past, Tensor& y,
           Tensor* state, int64_t B, int64_t C, int64_t L, int64_t k) const {
    using W = compute_t<T>;
    const T* xp = x.data<T>();
    const T* wp = w.data<T>();
    const T* bp = bias ? bias->data<T>() : nullptr;
    const T* pp = past ? past->data<T>() : nullptr;
    T* yp = y.data<T>();
    T* sp = state ? state->data<T>() : nullptr;
    const int64_t carry = k - 1, padded_len = L + carry;

    auto work = [&](int64_t begin, int64_t end) {
      std::vector<W> row(static_cast<size_t>(padded_len)), taps(static_cast<size_t>(k));
      for (int64_t r = begin; r < end; ++r) {  // r runs over (b, c)
        const int64_t c = r % C;
        const T* xr = xp + r * L;
        if (pp)
          widen_span(pp + r * carry, row.data(), carry);
        else
          std::fill(row.begin(), row.begin() + carry, W(0));
        widen_span(xr, row.data() + carry, L);
        widen_span(wp + c * k, taps.data(), k);
        const W b = bp ? to_computed<W>(bp[c]) : W(0);

        T* yr = yp + r * L;
        for (int64_t t = 0; t < L; ++t) {
          const W* win = row.data() + t;
          W acc = 0;
          for (int64_t j = 0; j < k; ++j) acc += win[j] * taps[j];
          W v = round_to<T>(round_to<T>(acc) + b);
          if (silu_) v = v / (W(1) + std::exp(-v));
          yr[t] = from_computed<T>(v);
        }
        // The carry is the tail of [past | input], so it may still hold past values when L < k-1.
        if (sp) {
          T* sr = sp + r * carry;
          for (int64_t j = 0; j < carry; ++j) {
            const int64_t src = L + j;  // position in the padded row
            sr[j] = src >= carry ? xr[src - carry] : (pp ? pp[r * carry + src] : T{});
          }
        }
      }
    };
    ctx.thread_pool().parallel_for(B * C, std::max<int64_t>(1, 16384 / (padded_len * k + 1)), work);
  }

  bool silu_;
};

}  // namespace

void register_causal_conv(KernelRegistry& r) {
  r.add({"", "CausalConvWithState", 27, kLatestOnnxOpset, CausalConvWithStateKernel::create});
}

}  // namespace tessera
