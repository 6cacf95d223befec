// FlexAttention (ai.onnx.preview, version 1): scaled dot-product attention over rank-4 inputs
// with optional score_mod / prob_mod subgraphs applied to the whole score and probability
// tensors (B, Hq, L, S).
//
// Without modifiers, each (batch, head) runs scores -> softmax -> P V in one task with a
// scratch block. With a modifier the subgraph needs the full tensor, so the stages run as
// separate passes over one (B, Hq, L, S) buffer with the subgraph calls in between.
//
// Precision follows the reference: Q and K are scaled by sqrt(scale) and multiplied in the input
// type T; scores are then cast to the softmax type P (float unless T is double, or the
// softmax_precision attribute), in which softmax, the modifiers and P V run; Y is cast back to T.
// Arithmetic happens in float (double when T or P is double) with intermediate values rounded
// to the narrower storage types where the reference stores them.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "providers/cpu/controlflow/subgraph_util.h"

#include "core/tensor_alloc.h"
#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/microkernels/gemm.h"
#include "providers/cpu/math/widen.h"

namespace tessera {
namespace {

bool is_float(DataType t) { return (kFloatTypes & type_bit(t)) != 0; }

// Rounding of an arithmetic value (float or double) to a storage type narrower than it.
enum class Rounding { none, f32, f16, bf16 };

template <class C>
Rounding rounding_of(DataType t) {
  if (t == DataType::float16) return Rounding::f16;
  if (t == DataType::bfloat16) return Rounding::bf16;
  if (t == DataType::float32 && std::is_same_v<C, double>) return Rounding::f32;
  return Rounding::none;
}

template <class C>
inline C round_as(Rounding r, C v) {
  switch (r) {
    case Rounding::f16: return round_to<float16_t>(v);
    case Rounding::bf16: return round_to<bfloat16_t>(v);
    case Rounding::f32: return static_cast<C>(static_cast<float>(v));
    case Rounding::none: break;
  }
  return v;
}

template <class C>
void round_span(Rounding r, C* p, int64_t n) {
  if (r == Rounding::none) return;
  for (int64_t i = 0; i < n; ++i) p[i] = round_as(r, p[i]);
}

struct FlexDims {
  int64_t B = 0, Hq = 0, Hkv = 0, L = 0, S = 0, E = 0, Ev = 0;
};

class FlexAttentionKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    std::unique_ptr<FlexAttentionKernel> k(new FlexAttentionKernel());
    k->has_scale_ = info.has_attr("scale");
    k->scale_ = info.attr_float("scale", 1.0f);
    if (info.has_attr("softmax_precision")) {
      const int64_t p = info.attr_int("softmax_precision", 0);
      const DataType t = static_cast<DataType>(p);
      if (!is_known_dtype(static_cast<int32_t>(p)) || !is_float(t))
        return info.error("softmax_precision must name float, float16, bfloat16 or double, got ", p);
      k->softmax_precision_ = t;
    }
    for (const char* name : {"score_mod", "prob_mod"}) {
      if (!info.has_attr(name)) continue;
      const SubgraphRunner* g = info.subgraph(name);
      if (!g) return info.error("attribute '", name, "' must be a graph");
      TS_RETURN_IF_ERROR(controlflow::check_body_arity(info, g, name, 1, 1));
      (name[0] == 's' ? k->score_mod_ : k->prob_mod_) = g;
    }
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* q = ctx.input(0);
    const Tensor* k = ctx.input(1);
    const Tensor* v = ctx.input(2);
    if (!q || !k || !v) return ctx.error("inputs Q, K and V are required");
    if (q->rank() != 4 || k->rank() != 4 || v->rank() != 4)
      return ctx.error("Q, K and V must be rank 4, got ", shape_to_string(q->shape()), ", ", shape_to_string(k->shape()),
                       ", ", shape_to_string(v->shape()));
    if (!is_float(q->dtype()) || k->dtype() != q->dtype() || v->dtype() != q->dtype())
      return ctx.error("Q, K and V must have the same float type, got ", dtype_name(q->dtype()), ", ",
                       dtype_name(k->dtype()), ", ", dtype_name(v->dtype()));
    FlexDims d{q->dim(0), q->dim(1), k->dim(1), q->dim(2), k->dim(2), q->dim(3), v->dim(3)};
    if (k->dim(0) != d.B || v->dim(0) != d.B) return ctx.error("Q, K and V must have the same batch size");
    if (v->dim(1) != d.Hkv || v->dim(2) != d.S)
      return ctx.error("K ", shape_to_string(k->shape()), " and V ", shape_to_string(v->shape()),
                       " must have the same heads and sequence length");
    if (k->dim(3) != d.E) return ctx.error("Q and K head sizes differ: ", d.E, " vs ", k->dim(3));
    if (d.Hkv <= 0 || d.Hq % d.Hkv != 0)
      return ctx.error("Q heads (", d.Hq, ") must be a multiple of K/V heads (", d.Hkv, ")");

    const DataType p_type = softmax_precision_ != DataType::undefined ? softmax_precision_
                            : q->dtype() == DataType::float64   ? DataType::float64
                                                                : DataType::float32;
    if (q->dtype() == DataType::float64 || p_type == DataType::float64) return run<double>(ctx, *q, *k, *v, d, p_type);
    return run<float>(ctx, *q, *k, *v, d, p_type);
  }

 private:
  FlexAttentionKernel() = default;

  // Widens a tensor and rounds its values to `r` (the reference casts it to that type).
  template <class C>
  static Status widen_rounded(const KernelContext& ctx, const Tensor& t, Rounding r, std::vector<C>& out) {
    out.resize(static_cast<size_t>(t.size()));
    TS_RETURN_IF_ERROR(widen::widen_tensor(t, out.data(), ctx.node()));
    round_span(r, out.data(), t.size());
    return Status::ok();
  }

  // Runs a modifier on the whole buffer (as a tensor of the softmax type) and reads its result back.
  template <class C>
  static Status apply_mod(KernelContext& ctx, const SubgraphRunner& mod, const char* name, DataType p_type,
                          const Shape& shape, Rounding p_round, std::vector<C>& buf) {
    Tensor arg = allocate_or_throw(p_type, shape);
    TS_RETURN_IF_ERROR(dispatch<kFloatTypes>(p_type, [&]<class P>() -> Status {
      narrow_span(buf.data(), arg.data<P>(), arg.size());
      return Status::ok();
    }, ctx.node()));
    TS_ASSIGN_OR_RETURN(std::vector<Value> outs, mod.run(ctx, {Value(std::move(arg))}));
    if (outs.size() != 1 || !outs[0].is_tensor() || outs[0].tensor().shape() != shape ||
        !is_float(outs[0].tensor().dtype()))
      return ctx.error(name, " must return one float tensor of shape ", shape_to_string(shape),
                       outs.size() == 1 && outs[0].is_tensor() ? ", got " + shape_to_string(outs[0].tensor().shape()) : "");
    return widen_rounded(ctx, outs[0].tensor(), p_round, buf);
  }

  // In-place softmax of one row in the softmax type (NaN for a row that is all -inf, as the
  // formula gives).
  template <class C>
  static void softmax_row(C* x, int64_t n, Rounding r) {
    C m = -std::numeric_limits<C>::infinity();
    for (int64_t j = 0; j < n; ++j) m = std::max(m, x[j]);
    C sum = 0;
    for (int64_t j = 0; j < n; ++j) {
      x[j] = round_as(r, std::exp(round_as(r, x[j] - m)));
      sum += x[j];
    }
    sum = round_as(r, sum);
    for (int64_t j = 0; j < n; ++j) x[j] = round_as(r, x[j] / sum);
  }

  template <class C>
  Status run(KernelContext& ctx, const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, const FlexDims& d,
             DataType p_type) const {
    const Rounding t_round = rounding_of<C>(q_in.dtype());
    const Rounding p_round = rounding_of<C>(p_type);
    // sqrt(scale) is taken in float and stored in T, then Q and K are each scaled in T.
    const float scale = has_scale_ ? scale_ : static_cast<float>(1.0 / std::sqrt(static_cast<double>(d.E)));
    const C root = round_as(t_round, static_cast<C>(std::sqrt(scale)));
    std::vector<C> qs, ks, vs;
    TS_RETURN_IF_ERROR(widen_rounded(ctx, q_in, Rounding::none, qs));
    TS_RETURN_IF_ERROR(widen_rounded(ctx, k_in, Rounding::none, ks));
    TS_RETURN_IF_ERROR(widen_rounded(ctx, v_in, p_round, vs));  // V is cast to P before P V
    for (C& x : qs) x = round_as(t_round, x * root);
    for (C& x : ks) x = round_as(t_round, x * root);

    const int64_t group = d.Hq / d.Hkv, tasks = d.B * d.Hq, LS = d.L * d.S;
    const Shape score_shape{d.B, d.Hq, d.L, d.S};
    std::vector<C> y(static_cast<size_t>(tasks * d.L * d.Ev));

    // Stage 1: scores of one (b, h) into dst[L, S], in T and then in P.
    auto scores_of = [&](int64_t bh, C* dst) {
      const int64_t b = bh / d.Hq, kvh = (bh % d.Hq) / group;
      const C* qb = qs.data() + bh * d.L * d.E;
      const C* kb = ks.data() + (b * d.Hkv + kvh) * d.S * d.E;
      if (d.E > 0)
        kernels::gemm(d.L, d.S, d.E, C(1), {qb, d.E, false}, {kb, d.E, true}, C(0), dst, d.S);
      else
        std::fill(dst, dst + LS, C(0));
      round_span(t_round, dst, LS);
      round_span(p_round, dst, LS);
    };
    auto softmax_of = [&](C* block) {
      for (int64_t i = 0; i < d.L; ++i) softmax_row(block + i * d.S, d.S, p_round);
    };
    // Stage 3: Y[b, h] = P V in P.
    auto output_of = [&](int64_t bh, const C* probs) {
      const int64_t b = bh / d.Hq, kvh = (bh % d.Hq) / group;
      C* yb = y.data() + bh * d.L * d.Ev;
      if (d.S > 0)
        kernels::gemm(d.L, d.Ev, d.S, C(1), {probs, d.S, false}, {vs.data() + (b * d.Hkv + kvh) * d.S * d.Ev, d.Ev, false},
                      C(0), yb, d.Ev);
      else
        std::fill(yb, yb + d.L * d.Ev, C(0));
      round_span(p_round, yb, d.L * d.Ev);
    };
    const int64_t grain = std::max<int64_t>(1, (1 << 16) / (LS * (d.E + d.Ev) + 1));

    if (!score_mod_ && !prob_mod_) {
      ctx.thread_pool().parallel_for(tasks, grain, [&](int64_t begin, int64_t end) {
        std::vector<C> block(static_cast<size_t>(LS));
        for (int64_t bh = begin; bh < end; ++bh) {
          scores_of(bh, block.data());
          softmax_of(block.data());
          output_of(bh, block.data());
        }
      });
    } else {
      std::vector<C> buf(static_cast<size_t>(tasks * LS));
      ctx.thread_pool().parallel_for(tasks, grain, [&](int64_t begin, int64_t end) {
        for (int64_t bh = begin; bh < end; ++bh) scores_of(bh, buf.data() + bh * LS);
      });
      if (score_mod_) TS_RETURN_IF_ERROR(apply_mod(ctx, *score_mod_, "score_mod", p_type, score_shape, p_round, buf));
      ctx.thread_pool().parallel_for(tasks, grain, [&](int64_t begin, int64_t end) {
        for (int64_t bh = begin; bh < end; ++bh) softmax_of(buf.data() + bh * LS);
      });
      if (prob_mod_) TS_RETURN_IF_ERROR(apply_mod(ctx, *prob_mod_, "prob_mod", p_type, score_shape, p_round, buf));
      ctx.thread_pool().parallel_for(tasks, grain, [&](int64_t begin, int64_t end) {
        for (int64_t bh = begin; bh < end; ++bh) output_of(bh, buf.data() + bh * LS);
      });
    }

    Tensor& out = ctx.allocate_output(0, v_in.dtype(), {d.B, d.Hq, d.L, d.Ev});
    return dispatch<kFloatTypes>(out.dtype(), [&]<class T>() -> Status {
      narrow_span(y.data(), out.data<T>(), out.size());
      return Status::ok();
    }, ctx.node());
  }

  bool has_scale_ = false;
  float scale_ = 1.0f;
  DataType softmax_precision_ = DataType::undefined;
  const SubgraphRunner* score_mod_ = nullptr;
  const SubgraphRunner* prob_mod_ = nullptr;
};

}  // namespace

void register_flex_attention(KernelRegistry& r) {
  r.add({"ai.onnx.preview", "FlexAttention", 1, kLatestPreviewOpset, FlexAttentionKernel::create});
}

}  // namespace tessera
