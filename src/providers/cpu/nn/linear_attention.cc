// LinearAttention (opset 27): the recurrent form of linear attention with its four update
// rules (linear, gated, delta, gated_delta) and grouped query heads.
//
// Each (batch, kv head) owns a d_k x d_v state matrix that is updated token by token:
//   S *= exp(g_t)                                  (gated rules; g per head or per key row)
//   v_t <- beta_t * (v_t - S^T k_t)                (delta rules)
//   S += k_t v_t^T
//   o_t = scale * q_t^T S                          (for each query head sharing this kv head)
// The chunk_size attribute is a tuning hint for chunk-parallel GPU kernels; on the CPU the
// recurrence is already O(T d_k d_v) per head, so it is ignored. Everything runs in float (as
// the reference does, whatever the storage type); outputs are rounded to their types at the end.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/math/widen.h"

namespace tessera {
namespace {

bool is_float_type(DataType t) { return (kFloatTypes & type_bit(t)) != 0 && t != DataType::float64; }

Status narrow_into(const KernelContext& ctx, Tensor& out, const std::vector<float>& src) {
  return dispatch<kFloatTypes>(out.dtype(), [&]<class T>() -> Status {
    narrow_span(src.data(), out.data<T>(), out.size());
    return Status::ok();
  }, ctx.node());
}

Status widen_into(const KernelContext& ctx, const Tensor& t, std::vector<float>& out) {
  out.resize(static_cast<size_t>(t.size()));
  return widen::widen_tensor(t, out.data(), ctx.node());
}

class LinearAttentionKernel final : public OpKernel {
 public:
  LinearAttentionKernel(int64_t q_heads, int64_t kv_heads, float scale, bool gating, bool delta)
      : q_heads_(q_heads), kv_heads_(kv_heads), scale_(scale), gating_(gating), delta_(delta) {}

  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    TS_ASSIGN_OR_RETURN(int64_t q_heads, info.required_int("q_num_heads"));
    TS_ASSIGN_OR_RETURN(int64_t kv_heads, info.required_int("kv_num_heads"));
    if (q_heads <= 0 || kv_heads <= 0 || q_heads % kv_heads != 0)
      return info.error("q_num_heads (", q_heads, ") must be a positive multiple of kv_num_heads (", kv_heads, ")");
    const std::string rule = info.attr_string("update_rule");
    if (rule != "linear" && rule != "gated" && rule != "delta" && rule != "gated_delta")
      return info.error("update_rule must be 'linear', 'gated', 'delta' or 'gated_delta', got '", rule, "'");
    const bool gating = rule == "gated" || rule == "gated_delta";
    const bool delta = rule == "delta" || rule == "gated_delta";
    // Which optional inputs a rule needs is known from the node alone.
    if (gating != info.has_input(4))
      return info.error("update_rule '", rule, "' ", gating ? "requires" : "forbids", " the decay input");
    if (delta != info.has_input(5))
      return info.error("update_rule '", rule, "' ", delta ? "requires" : "forbids", " the beta input");
    return std::unique_ptr<OpKernel>(
        new LinearAttentionKernel(q_heads, kv_heads, info.attr_float("scale"), gating, delta));
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* q = ctx.input(0);
    const Tensor* k = ctx.input(1);
    const Tensor* v = ctx.input(2);
    const Tensor* past = ctx.input(3);
    const Tensor* decay = ctx.input(4);
    const Tensor* beta = ctx.input(5);
    if (!q || !k || !v) return ctx.error("inputs query, key and value are required");
    if (q->rank() != 3 || k->rank() != 3 || v->rank() != 3)
      return ctx.error("query, key and value must be 3-D (B, T, H*D), got ", shape_to_string(q->shape()), ", ",
                       shape_to_string(k->shape()), ", ", shape_to_string(v->shape()));
    for (const Tensor* t : {q, k, v, past, decay, beta})
      if (t && !is_float_type(t->dtype()))
        return ctx.error("inputs must be float, float16 or bfloat16, got ", dtype_name(t->dtype()));
    if (gating_ != (decay != nullptr)) return ctx.error("decay input is ", decay ? "forbidden" : "required", " by update_rule");
    if (delta_ != (beta != nullptr)) return ctx.error("beta input is ", beta ? "forbidden" : "required", " by update_rule");

    const int64_t B = q->dim(0), T = q->dim(1);
    if (q->dim(2) % q_heads_ != 0 || v->dim(2) % kv_heads_ != 0)
      return ctx.error("query width ", q->dim(2), " and value width ", v->dim(2),
                       " must be multiples of q_num_heads and kv_num_heads");
    const int64_t dk = q->dim(2) / q_heads_, dv = v->dim(2) / kv_heads_;
    if (k->shape() != Shape{B, T, kv_heads_ * dk} || v->dim(0) != B || v->dim(1) != T)
      return ctx.error("key ", shape_to_string(k->shape()), " and value ", shape_to_string(v->shape()),
                       " do not match query ", shape_to_string(q->shape()), " with head size ", dk);
    const Shape state_shape{B, kv_heads_, dk, dv};
    if (past && past->shape() != state_shape)
      return ctx.error("past_state must have shape ", shape_to_string(state_shape), ", got ", shape_to_string(past->shape()));
    bool decay_per_key = false;
    if (decay) {
      decay_per_key = decay->rank() == 3 && decay->dim(2) == kv_heads_ * dk && kv_heads_ * dk != kv_heads_;
      if (decay->rank() != 3 || decay->dim(0) != B || decay->dim(1) != T ||
          (decay->dim(2) != kv_heads_ && decay->dim(2) != kv_heads_ * dk))
        return ctx.error("decay must have shape (", B, ", ", T, ", ", kv_heads_, ") or (", B, ", ", T, ", ",
                         kv_heads_ * dk, "), got ", shape_to_string(decay->shape()));
    }
    if (beta && (beta->rank() != 3 || beta->dim(0) != B || beta->dim(1) != T ||
                 (beta->dim(2) != kv_heads_ && beta->dim(2) != 1)))
      return ctx.error("beta must have shape (", B, ", ", T, ", ", kv_heads_, ") or (", B, ", ", T, ", 1), got ",
                       shape_to_string(beta->shape()));

    std::vector<float> qf, kf, vf, state, gf, bf;
    TS_RETURN_IF_ERROR(widen_into(ctx, *q, qf));
    TS_RETURN_IF_ERROR(widen_into(ctx, *k, kf));
    TS_RETURN_IF_ERROR(widen_into(ctx, *v, vf));
    if (decay) TS_RETURN_IF_ERROR(widen_into(ctx, *decay, gf));
    if (beta) TS_RETURN_IF_ERROR(widen_into(ctx, *beta, bf));
    if (past)
      TS_RETURN_IF_ERROR(widen_into(ctx, *past, state));
    else
      state.assign(static_cast<size_t>(shape_size(state_shape)), 0.0f);
    std::vector<float> out(static_cast<size_t>(B * T * q_heads_ * dv));

    const float scale = scale_ != 0.0f ? scale_ : 1.0f / std::sqrt(static_cast<float>(dk));
    const int64_t group = q_heads_ / kv_heads_;
    const int64_t beta_width = beta ? beta->dim(2) : 0, decay_width = decay ? decay->dim(2) : 0;
    auto work = [&](int64_t begin, int64_t end) {
      std::vector<float> vt(static_cast<size_t>(dv)), gate(static_cast<size_t>(dk));
      for (int64_t task = begin; task < end; ++task) {  // task runs over (b, kv head)
        const int64_t b = task / kv_heads_, h = task % kv_heads_;
        float* S = state.data() + task * dk * dv;
        for (int64_t t = 0; t < T; ++t) {
          const int64_t bt = b * T + t;
          const float* kt = kf.data() + (bt * kv_heads_ + h) * dk;
          std::copy_n(vf.data() + (bt * kv_heads_ + h) * dv, dv, vt.data());
          if (gating_) {
            for (int64_t i = 0; i < dk; ++i)
              gate[i] = std::exp(gf[bt * decay_width + (decay_per_key ? h * dk + i : h)]);
            for (int64_t i = 0; i < dk; ++i)
              for (int64_t m = 0; m < dv; ++m) S[i * dv + m] *= gate[i];
          }
          if (delta_) {
            // v_t <- beta * (v_t - S^T k_t), with S already decayed.
            const float bt_rate = bf[bt * beta_width + (beta_width == 1 ? 0 : h)];
            for (int64_t i = 0; i < dk; ++i)
              for (int64_t m = 0; m < dv; ++m) vt[m] -= S[i * dv + m] * kt[i];
            for (float& x : vt) x *= bt_rate;
          }
          for (int64_t i = 0; i < dk; ++i)
            for (int64_t m = 0; m < dv; ++m) S[i * dv + m] += kt[i] * vt[m];
          for (int64_t g = 0; g < group; ++g) {
            const int64_t qh = h * group + g;
            const float* qt = qf.data() + (bt * q_heads_ + qh) * dk;
            float* ot = out.data() + (bt * q_heads_ + qh) * dv;
            for (int64_t i = 0; i < dk; ++i)
              for (int64_t m = 0; m < dv; ++m) ot[m] += qt[i] * S[i * dv + m];
            for (int64_t m = 0; m < dv; ++m) ot[m] *= scale;
          }
        }
      }
    };
    ctx.thread_pool().parallel_for(B * kv_heads_, std::max<int64_t>(1, 8192 / (T * dk * dv * (group + 2) + 1)), work);

    TS_RETURN_IF_ERROR(narrow_into(ctx, ctx.allocate_output(0, q->dtype(), {B, T, q_heads_ * dv}), out));
    if (ctx.output_requested(1))
      TS_RETURN_IF_ERROR(narrow_into(ctx, ctx.allocate_output(1, past ? past->dtype() : q->dtype(), state_shape), state));
    return Status::ok();
  }

 private:
  int64_t q_heads_, kv_heads_;
  float scale_;
  bool gating_, delta_;
};

}  // namespace

void register_linear_attention(KernelRegistry& r) {
  r.add({"", "LinearAttention", 27, kLatestOnnxOpset, LinearAttentionKernel::create});
}

}  // namespace tessera
