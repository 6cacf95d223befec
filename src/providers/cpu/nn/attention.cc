// Attention (opset 23/24) and RotaryEmbedding (opset 23).
//
// Attention works on one query row at a time: scores against every key, bias, softmax, then the
// weighted sum of values. Q, K and V are first widened into [batch, heads, seq, head_size]
// buffers of the arithmetic type (float, or double for double inputs), so each row reads
// contiguous memory whether the inputs were 3-D or 4-D. For 16-bit inputs, intermediate results
// are rounded to the storage type where the ONNX reference stores them, so results track it.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/microkernels/gemm.h"
#include "providers/cpu/nn/attention_core.h"
#include "providers/cpu/nn/contrib_attention.h"
#include "providers/cpu/math/widen.h"

namespace tessera {
namespace {


bool is_float(DataType t) { return (kFloatTypes & type_bit(t)) != 0; }

// Where an intermediate value is stored in the reference: in float/double (no rounding needed
// beyond the arithmetic type) or in a 16-bit type.
enum class Rounding { none, f16, bf16 };

Rounding rounding_of(DataType t) {
  if (t == DataType::float16) return Rounding::f16;
  if (t == DataType::bfloat16) return Rounding::bf16;
  return Rounding::none;
}

template <class C>
inline C round_as(Rounding r, C v) {
  if (r == Rounding::f16) return round_to<float16_t>(v);
  if (r == Rounding::bf16) return round_to<bfloat16_t>(v);
  return v;
}

template <class C>
void round_span(Rounding r, C* p, int64_t n) {
  if (r == Rounding::none) return;
  for (int64_t i = 0; i < n; ++i) p[i] = round_as(r, p[i]);
}

template <class C>
Status narrow_into(const KernelContext& ctx, Tensor& out, const C* src) {
  return dispatch<kFloatTypes>(out.dtype(), [&]<class T>() -> Status {
    narrow_span(src, out.data<T>(), out.size());
    return Status::ok();
  }, ctx.node());
}

// Sizes of one Attention call, in the [batch, heads, seq, head] layout.
struct AttnDims {
  int64_t batch = 0, q_heads = 0, kv_heads = 0;
  int64_t q_len = 0;      // query sequence length
  int64_t new_len = 0;    // sequence length of K and V
  int64_t past_len = 0;   // of past_key / past_value
  int64_t total_len = 0;  // past_len + new_len
  int64_t head = 0, v_head = 0;
  bool three_d = false;
};

// The additive bias of one query row comes from three sources, all optional: attn_mask
// (broadcast to [B, q_heads, q_len, mask_len], missing keys beyond mask_len are -inf), the causal
// frontier (key j is allowed iff j <= i + offset[b]) and the padding of nonpad_kv_seqlen.
template <class C>
struct BiasSource {
  std::vector<C> mask;  // additive: bool masks become 0 / -inf
  int64_t mask_len = 0;
  int64_t stride_b = 0, stride_h = 0, stride_q = 0;
  bool causal = false;
  std::vector<int64_t> causal_offset;  // per batch
  std::vector<int64_t> nonpad;         // per batch, empty when not given

  bool any() const { return !mask.empty() || causal || !nonpad.empty(); }

  void fill_row(int64_t b, int64_t h, int64_t i, int64_t total_len, C* row) const {
    constexpr C kNegInf = -std::numeric_limits<C>::infinity();
    if (!mask.empty()) {
      const C* m = mask.data() + b * stride_b + h * stride_h + i * stride_q;
      const int64_t n = std::min(mask_len, total_len);
      std::copy(m, m + n, row);
      std::fill(row + n, row + total_len, kNegInf);
    } else {
      std::fill(row, row + total_len, C(0));
    }
    if (causal)
      for (int64_t j = std::max<int64_t>(0, i + causal_offset[b] + 1); j < total_len; ++j) row[j] += kNegInf;
    if (!nonpad.empty())
      for (int64_t j = std::max<int64_t>(0, nonpad[b]); j < total_len; ++j) row[j] += kNegInf;
  }
};

class AttentionKernel final : public OpKernel {
 public:
  explicit AttentionKernel(const KernelInfo& info)
      : is_causal_(info.attr_int("is_causal") != 0),
        q_num_heads_(info.attr_int("q_num_heads", 0)),
        kv_num_heads_(info.attr_int("kv_num_heads", 0)),
        mode_(info.attr_int("qk_matmul_output_mode")),
        has_scale_(info.has_attr("scale")),
        scale_(info.attr_float("scale", 1.0f)),
        softcap_(info.attr_float("softcap")),
        softmax_precision_(static_cast<DataType>(info.attr_int("softmax_precision", 0))) {}

  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    int64_t mode = info.attr_int("qk_matmul_output_mode");
    if (mode < 0 || mode > 3) return info.error("qk_matmul_output_mode must be 0, 1, 2 or 3, got ", mode);
    if (info.has_attr("softmax_precision")) {
      int64_t p = info.attr_int("softmax_precision", 0);
      if (!is_known_dtype(static_cast<int32_t>(p)) || !is_float(static_cast<DataType>(p)))
        return info.error("softmax_precision must name float, float16, bfloat16 or double, got ", p);
    }
    return std::unique_ptr<OpKernel>(new AttentionKernel(info));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* q, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* k, ctx.required_input(1));
    TS_ASSIGN_OR_RETURN(const Tensor* v, ctx.required_input(2));
    if (!is_float(q->dtype()) || k->dtype() != q->dtype() || !is_float(v->dtype()))
      return ctx.error("Q and K must have the same float type and V a float type, got ", dtype_name(q->dtype()),
                       ", ", dtype_name(k->dtype()), ", ", dtype_name(v->dtype()));
    AttnDims d;
    TS_RETURN_IF_ERROR(resolve_dims(ctx, *q, *k, *v, d));
    if (q->dtype() == DataType::float64) return run<double>(ctx, *q, *k, *v, d);
    return run<float>(ctx, *q, *k, *v, d);
  }

 private:
  Status resolve_dims(const KernelContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v, AttnDims& d) const {
    if (q.rank() != k.rank() || q.rank() != v.rank() || (q.rank() != 3 && q.rank() != 4))
      return ctx.error("Q, K and V must all be 3-D or all 4-D, got shapes ", shape_to_string(q.shape()), ", ",
                       shape_to_string(k.shape()), ", ", shape_to_string(v.shape()));
    d.three_d = q.rank() == 3;
    d.batch = q.dim(0);
    if (k.dim(0) != d.batch || v.dim(0) != d.batch) return ctx.error("Q, K and V must have the same batch size");
    if (d.three_d) {
      if (q_num_heads_ <= 0 || kv_num_heads_ <= 0)
        return ctx.error("3-D inputs need positive q_num_heads and kv_num_heads attributes");
      d.q_heads = q_num_heads_;
      d.kv_heads = kv_num_heads_;
      if (q.dim(2) % d.q_heads != 0 || k.dim(2) % d.kv_heads != 0 || v.dim(2) % d.kv_heads != 0)
        return ctx.error("hidden sizes of Q, K, V (", q.dim(2), ", ", k.dim(2), ", ", v.dim(2),
                         ") must be multiples of the head counts (", d.q_heads, ", ", d.kv_heads, ")");
      d.q_len = q.dim(1);
      d.new_len = k.dim(1);
      d.head = q.dim(2) / d.q_heads;
      d.v_head = v.dim(2) / d.kv_heads;
      if (k.dim(2) / d.kv_heads != d.head) return ctx.error("Q and K head sizes differ");
      if (v.dim(1) != d.new_len) return ctx.error("K and V sequence lengths differ");
    } else {
      d.q_heads = q.dim(1);
      d.kv_heads = k.dim(1);
      d.q_len = q.dim(2);
      d.new_len = k.dim(2);
      d.head = q.dim(3);
      d.v_head = v.dim(3);
      if (k.dim(3) != d.head) return ctx.error("Q and K head sizes differ: ", q.dim(3), " vs ", k.dim(3));
      if (v.dim(1) != d.kv_heads || v.dim(2) != d.new_len)
        return ctx.error("V shape ", shape_to_string(v.shape()), " does not match K shape ",
                         shape_to_string(k.shape()));
    }
    if (d.kv_heads <= 0 || d.q_heads % d.kv_heads != 0)
      return ctx.error("q_num_heads (", d.q_heads, ") must be a multiple of kv_num_heads (", d.kv_heads, ")");
    const Tensor* past_k = ctx.input(4);
    const Tensor* past_v = ctx.input(5);
    if ((past_k == nullptr) != (past_v == nullptr)) return ctx.error("past_key and past_value must be given together");
    if (past_k) {
      if (past_k->rank() != 4 || past_v->rank() != 4 || past_k->dim(0) != d.batch || past_k->dim(1) != d.kv_heads ||
          past_k->dim(3) != d.head || past_v->dim(0) != d.batch || past_v->dim(1) != d.kv_heads ||
          past_v->dim(2) != past_k->dim(2) || past_v->dim(3) != d.v_head)
        return ctx.error("past_key ", shape_to_string(past_k->shape()), " and past_value ",
                         shape_to_string(past_v->shape()), " do not match the key and value shapes");
      if (past_k->dtype() != k.dtype() || past_v->dtype() != v.dtype())
        return ctx.error("past_key and past_value must have the types of K and V");
      d.past_len = past_k->dim(2);
    }
    d.total_len = d.past_len + d.new_len;
    return Status::ok();
  }

  // Widens K or V (after its past) into [B, kv_heads, total_len, head].
  template <class C>
  static Status gather_kv(const KernelContext& ctx, const Tensor& x, const Tensor* past, const AttnDims& d,
                          int64_t head, std::vector<C>& out) {
    out.assign(static_cast<size_t>(d.batch * d.kv_heads * d.total_len * head), C(0));
    std::vector<C> tmp(static_cast<size_t>(x.size()));
    TS_RETURN_IF_ERROR(widen::widen_tensor(x, tmp.data(), ctx.node()));
    to_head_layout(tmp.data(), d.three_d, d.batch, d.kv_heads, d.new_len, head, out.data(), d.total_len, d.past_len);
    if (past) {
      tmp.resize(static_cast<size_t>(past->size()));
      TS_RETURN_IF_ERROR(widen::widen_tensor(*past, tmp.data(), ctx.node()));
      to_head_layout(tmp.data(), false, d.batch, d.kv_heads, d.past_len, head, out.data(), d.total_len, 0);
    }
    return Status::ok();
  }

  template <class C>
  Status make_bias(const KernelContext& ctx, const AttnDims& d, BiasSource<C>& bias) const {
    if (const Tensor* m = ctx.input(3)) {
      if (m->rank() < 1 || m->rank() > 4) return ctx.error("attn_mask must have rank 1 to 4, got ", m->rank());
      const Shape target = {d.batch, d.q_heads, d.q_len};
      Shape full(4 - m->rank(), 1);
      full.insert(full.end(), m->shape().begin(), m->shape().end());
      for (int a = 0; a < 3; ++a)
        if (full[a] != 1 && full[a] != target[a])
          return ctx.error("attn_mask shape ", shape_to_string(m->shape()), " does not broadcast to [", d.batch, ",",
                           d.q_heads, ",", d.q_len, ",", d.total_len, "]");
      bias.mask_len = full[3];
      if (bias.mask_len > d.total_len)
        return ctx.error("attn_mask has ", bias.mask_len, " keys but there are only ", d.total_len);
      bias.stride_q = full[2] == 1 ? 0 : full[3];
      bias.stride_h = full[1] == 1 ? 0 : full[2] * full[3];
      bias.stride_b = full[0] == 1 ? 0 : full[1] * full[2] * full[3];
      bias.mask.resize(static_cast<size_t>(m->size()));
      if (m->dtype() == DataType::boolean) {
        const bool* p = m->data<bool>();
        for (int64_t i = 0; i < m->size(); ++i) bias.mask[i] = p[i] ? C(0) : -std::numeric_limits<C>::infinity();
      } else {
        TS_RETURN_IF_ERROR(widen::widen_tensor(*m, bias.mask.data(), ctx.node()));
      }
    }
    if (const Tensor* n = ctx.input(6)) {
      if (n->dtype() != DataType::int64 || n->size() != d.batch)
        return ctx.error("nonpad_kv_seqlen must be an int64 tensor of ", d.batch, " elements");
      bias.nonpad.assign(n->data<int64_t>(), n->data<int64_t>() + d.batch);
    }
    if (is_causal_) {
      bias.causal = true;
      // The frontier sits after the keys that precede this query block.
      bias.causal_offset.assign(static_cast<size_t>(d.batch), d.past_len);
      if (d.past_len == 0 && !bias.nonpad.empty())
        for (int64_t b = 0; b < d.batch; ++b) bias.causal_offset[b] = bias.nonpad[b] - d.q_len;
    }
    return Status::ok();
  }

  template <class C>
  Status run(KernelContext& ctx, const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, const AttnDims& d) const {
    const Rounding t_round = rounding_of(q_in.dtype());
    const DataType sm_type = softmax_precision_ != DataType::undefined ? softmax_precision_ : q_in.dtype();
    const Rounding sm_round = rounding_of(sm_type);
    const Node& where = ctx.node();  // described only on error

    std::vector<C> qs(static_cast<size_t>(d.batch * d.q_heads * d.q_len * d.head));
    {
      std::vector<C> tmp(static_cast<size_t>(q_in.size()));
      TS_RETURN_IF_ERROR(widen::widen_tensor(q_in, tmp.data(), where));
      to_head_layout(tmp.data(), d.three_d, d.batch, d.q_heads, d.q_len, d.head, qs.data(), d.q_len, 0);
    }
    std::vector<C> ks, vs;
    TS_RETURN_IF_ERROR(gather_kv(ctx, k_in, ctx.input(4), d, d.head, ks));
    TS_RETURN_IF_ERROR(gather_kv(ctx, v_in, ctx.input(5), d, d.v_head, vs));
    if (ctx.output_requested(1))
      TS_RETURN_IF_ERROR(narrow_into(ctx, ctx.allocate_output(1, k_in.dtype(), {d.batch, d.kv_heads, d.total_len, d.head}), ks.data()));
    if (ctx.output_requested(2))
      TS_RETURN_IF_ERROR(narrow_into(ctx, ctx.allocate_output(2, v_in.dtype(), {d.batch, d.kv_heads, d.total_len, d.v_head}), vs.data()));

    // Q and K are each scaled by sqrt(scale) before the product, as the spec prescribes.
    const C scale = has_scale_ ? C(scale_) : C(1) / std::sqrt(static_cast<C>(d.head));
    const C root = std::sqrt(scale);
    for (C& x : qs) x = round_as(t_round, x * root);
    for (C& x : ks) x = round_as(t_round, x * root);

    BiasSource<C> bias;
    TS_RETURN_IF_ERROR(make_bias(ctx, d, bias));

    const Shape y_shape = d.three_d ? Shape{d.batch, d.q_len, d.q_heads * d.v_head}
                                    : Shape{d.batch, d.q_heads, d.q_len, d.v_head};
    std::vector<C> y(static_cast<size_t>(shape_size(y_shape)));
    const bool want_qk = ctx.output_count() > 3 && ctx.output_requested(3);
    std::vector<C> qk(want_qk ? static_cast<size_t>(d.batch * d.q_heads * d.q_len * d.total_len) : 0);

    const int64_t L = d.total_len, group = d.q_heads / d.kv_heads;
    const C softcap = C(softcap_);
    // Tasks are blocks of query rows of one (batch, head): scores = Q_blk K^T and Y_blk = P V are
    // GEMMs; bias, softcap and softmax run row by row in between.
    constexpr int64_t kRowBlock = 32;
    const int64_t blocks = (d.q_len + kRowBlock - 1) / kRowBlock;
    const int64_t tasks = d.batch * d.q_heads * blocks;
    auto work = [&](int64_t begin, int64_t end) {
      std::vector<C> probs(static_cast<size_t>(kRowBlock * L)), brow(static_cast<size_t>(L));
      for (int64_t task = begin; task < end; ++task) {
        const int64_t blk = task % blocks, bh = task / blocks, h = bh % d.q_heads, b = bh / d.q_heads;
        const int64_t i0 = blk * kRowBlock, nrows = std::min(kRowBlock, d.q_len - i0);
        const int64_t kvh = h / group;
        const C* kbase = ks.data() + (b * d.kv_heads + kvh) * L * d.head;
        const C* vbase = vs.data() + (b * d.kv_heads + kvh) * L * d.v_head;
        if (L > 0 && d.head > 0)
          kernels::gemm(nrows, L, d.head, C(1), {qs.data() + (bh * d.q_len + i0) * d.head, d.head, false},
                        {kbase, d.head, true}, C(0), probs.data(), L);
        else
          std::fill(probs.begin(), probs.end(), C(0));

        for (int64_t r = 0; r < nrows; ++r) {
          const int64_t i = i0 + r;
          C* scores = probs.data() + r * L;
          C* qk_row = want_qk ? qk.data() + (bh * d.q_len + i) * L : nullptr;
          round_span(t_round, scores, L);
          if (qk_row && mode_ == 0) std::copy(scores, scores + L, qk_row);
          if (softcap > 0)
            for (int64_t j = 0; j < L; ++j)
              scores[j] = round_as(t_round, round_as(t_round, std::tanh(round_as(t_round, scores[j] / softcap))) * softcap);
          if (qk_row && mode_ == 1) std::copy(scores, scores + L, qk_row);

          bool all_masked = false;
          if (bias.any()) {
            bias.fill_row(b, h, i, L, brow.data());
            round_span(t_round, brow.data(), L);
            // A row whose bias is -inf everywhere attends nothing: its output is zero, not NaN.
            C m = -std::numeric_limits<C>::infinity();
            bool nan = false;
            for (C x : brow) {
              nan |= std::isnan(x);
              m = std::max(m, x);
            }
            all_masked = !nan && std::isinf(m) && m < 0;
            for (int64_t j = 0; j < L; ++j) scores[j] = round_as(t_round, scores[j] + brow[j]);
          }
          if (qk_row && mode_ == 2) std::copy(scores, scores + L, qk_row);

          if (all_masked)
            std::fill(scores, scores + L, C(0));
          else
            softmax_row(scores, L, sm_round);
          if (qk_row && mode_ == 3) std::copy(scores, scores + L, qk_row);
        }

        // 3-D outputs interleave heads: row i of head h starts at (i * q_heads + h) * v_head.
        C* ydst = d.three_d ? y.data() + ((b * d.q_len + i0) * d.q_heads + h) * d.v_head
                            : y.data() + (bh * d.q_len + i0) * d.v_head;
        const int64_t ldy = d.three_d ? d.q_heads * d.v_head : d.v_head;
        if (L > 0 && d.v_head > 0)
          kernels::gemm(nrows, d.v_head, L, C(1), {probs.data(), L, false}, {vbase, d.v_head, false}, C(0), ydst, ldy);
      }
    };
    const int64_t task_cost = kRowBlock * (L * (d.head + d.v_head) + 1);
    if (tasks > 0) ctx.thread_pool().parallel_for(tasks, std::max<int64_t>(1, (1 << 16) / task_cost), work);

    TS_RETURN_IF_ERROR(narrow_into(ctx, ctx.allocate_output(0, q_in.dtype(), y_shape), y.data()));
    if (want_qk)
      TS_RETURN_IF_ERROR(narrow_into(ctx, ctx.allocate_output(3, q_in.dtype(), {d.batch, d.q_heads, d.q_len, L}), qk.data()));
    return Status::ok();
  }

  // In-place softmax; a row whose maximum is -inf becomes all zeros, a NaN anywhere spreads.
  template <class C>
  static void softmax_row(C* x, int64_t n, Rounding r) {
    C m = -std::numeric_limits<C>::infinity();
    for (int64_t j = 0; j < n; ++j) {
      if (std::isnan(x[j])) {
        std::fill(x, x + n, std::numeric_limits<C>::quiet_NaN());
        return;
      }
      m = std::max(m, x[j]);
    }
    if (std::isinf(m) && m < 0) {
      std::fill(x, x + n, C(0));
      return;
    }
    for (int64_t j = 0; j < n; ++j) x[j] = round_as(r, x[j]);  // the softmax input, in its precision
    C sum = 0;
    for (int64_t j = 0; j < n; ++j) {
      x[j] = round_as(r, std::exp(round_as(r, x[j] - m)));
      sum += x[j];
    }
    sum = round_as(r, sum);
    for (int64_t j = 0; j < n; ++j) x[j] = round_as(r, x[j] / sum);
  }

  bool is_causal_;
  int64_t q_num_heads_, kv_num_heads_, mode_;
  bool has_scale_;
  float scale_, softcap_;
  DataType softmax_precision_;
};

// Rotates pairs of each head's first rotary_embedding_dim values by position-dependent angles:
// either the two halves (x[k], x[k + half]) or neighbours (x[2k], x[2k + 1]).
// ONNX's inputs are (X, cos_cache, sin_cache, position_ids?); com.microsoft's (input,
// position_ids, cos_cache, sin_cache), its position_ids [B, S] or [1] (an offset: position
// offset + s), and with num_heads 0 a 3-D input's head size is the cache's 2 * width.
class RotaryEmbeddingKernel final : public OpKernel {
 public:
  explicit RotaryEmbeddingKernel(const KernelInfo& info)
      : microsoft_(info.node().domain == "com.microsoft"),
        interleaved_(info.attr_int("interleaved") != 0),
        rotary_dim_(info.attr_int("rotary_embedding_dim")),
        num_heads_(info.attr_int("num_heads", 0)) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* cos_t, ctx.required_input(microsoft_ ? 2 : 1));
    TS_ASSIGN_OR_RETURN(const Tensor* sin_t, ctx.required_input(microsoft_ ? 3 : 2));
    const Tensor* pos = ctx.input(microsoft_ ? 1 : 3);
    if (x->rank() != 3 && x->rank() != 4) return ctx.error("X must be 3-D or 4-D, got ", shape_to_string(x->shape()));
    if (cos_t->dtype() != x->dtype() || sin_t->dtype() != x->dtype())
      return ctx.error("cos_cache and sin_cache must have the type of X");
    const bool three_d = x->rank() == 3;
    const int64_t B = x->dim(0);
    int64_t H, S, D;
    if (three_d) {
      const int64_t from_cache = microsoft_ && num_heads_ <= 0 && rotary_dim_ <= 0 && cos_t->rank() == 2 && cos_t->dim(1) > 0
                                     ? x->dim(2) / (2 * cos_t->dim(1)) : 0;
      const int64_t heads = num_heads_ > 0 ? num_heads_ : from_cache;
      if (heads <= 0 || x->dim(2) % heads != 0)
        return ctx.error("3-D input needs a num_heads attribute dividing the hidden size ", x->dim(2));
      H = heads;
      S = x->dim(1);
      D = x->dim(2) / H;
    } else {
      H = x->dim(1);
      S = x->dim(2);
      D = x->dim(3);
    }
    const int64_t rot = rotary_dim_ > 0 ? rotary_dim_ : D;
    if (rot > D || rot % 2 != 0) return ctx.error("rotary_embedding_dim ", rot, " must be even and at most ", D);
    const int64_t half = rot / 2;
    if (cos_t->shape() != sin_t->shape() || cos_t->rank() < 1 || cos_t->shape().back() != half)
      return ctx.error("cos_cache ", shape_to_string(cos_t->shape()), " and sin_cache ",
                       shape_to_string(sin_t->shape()), " must match and end in rotary_embedding_dim/2 = ", half);
    std::vector<int64_t> row_of(static_cast<size_t>(B * S));  // cache row of each (b, s)
    if (pos && microsoft_ && pos->size() == 1 && pos->dtype() == DataType::int64) {
      if (cos_t->rank() != 2) return ctx.error("cos_cache must be 2-D");
      for (int64_t i = 0; i < B * S; ++i) {
        const int64_t p = pos->data<int64_t>()[0] + i % S;
        if (p < 0 || p >= cos_t->dim(0))
          return ctx.error("position ", p, " is outside the cache of ", cos_t->dim(0), " rows");
        row_of[i] = p;
      }
    } else if (pos) {
      if (pos->dtype() != DataType::int64 || pos->shape() != Shape{B, S})
        return ctx.error("position_ids must be int64 of shape [", B, ",", S, "], got ", shape_to_string(pos->shape()));
      if (cos_t->rank() != 2) return ctx.error("with position_ids, cos_cache must be 2-D");
      for (int64_t i = 0; i < B * S; ++i) {
        int64_t p = pos->data<int64_t>()[i];
        if (p < 0 || p >= cos_t->dim(0))
          return ctx.error("position id ", p, " is outside the cache of ", cos_t->dim(0), " rows");
        row_of[i] = p;
      }
    } else {
      if (cos_t->shape() != Shape{B, S, half})
        return ctx.error("without position_ids, cos_cache must have shape [", B, ",", S, ",", half, "]");
      for (int64_t i = 0; i < B * S; ++i) row_of[i] = i;
    }

    Tensor& out = ctx.allocate_output(0, x->dtype(), x->shape());
    return dispatch<kFloatTypes>(x->dtype(), [&]<class T>() -> Status {
      using C = compute_t<T>;
      const T* in = x->data<T>();
      T* o = out.data<T>();
      const T* cc = cos_t->data<T>();
      const T* sc = sin_t->data<T>();
      auto work = [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {  // r runs over (b, s, h)
          const int64_t h = r % H, s = (r / H) % S, b = r / (H * S);
          const int64_t off = three_d ? r * D : ((b * H + h) * S + s) * D;
          const T* xi = in + off;
          T* xo = o + off;
          const T* c = cc + row_of[b * S + s] * half;
          const T* sn = sc + row_of[b * S + s] * half;
          for (int64_t k = 0; k < half; ++k) {
            const int64_t i1 = interleaved_ ? 2 * k : k, i2 = interleaved_ ? 2 * k + 1 : k + half;
            const C x1 = to_computed<C>(xi[i1]), x2 = to_computed<C>(xi[i2]);
            const C cv = to_computed<C>(c[k]), sv = to_computed<C>(sn[k]);
            xo[i1] = from_computed<T>(cv * x1 - sv * x2);
            xo[i2] = from_computed<T>(sv * x1 + cv * x2);
          }
          std::copy(xi + rot, xi + D, xo + rot);
        }
      };
      ctx.thread_pool().parallel_for(B * S * H, std::max<int64_t>(1, 8192 / (D + 1)), work);
      return Status::ok();
    }, ctx.node());
  }

 private:
  bool microsoft_;
  bool interleaved_;
  int64_t rotary_dim_, num_heads_;
};

// com.tessera Attention(Q, K, V[, mask]) {num_heads, scale, sequence_first}, written by
// attention_fusion and mha_attention_fusion: Q [B, Sq, H*D], K [B, Sk, H*D], V [B, Sk, H*Dv]
// (any trailing dims, their product split into H heads; with sequence_first the first two dims
// swap: [Sq, B, H*D]...), mask additive and broadcastable to [B, H, Sq, Sk]; Y [B, Sq, H, Dv]
// ([Sq, B*H, Dv], nn.MultiheadAttention's layout before its out-projection: the same memory as
// [Sq, B, H, Dv]) = softmax(scale * Q_h K_h^T + mask) V_h per batch and head. With K and V left
// out (packed_qkv_fusion), Q is one projection [B, S, 3*H*D] whose rows hold Q, K and V side by
// side, read in place: no Slice copies them apart. Each (batch, head) runs as one task: the
// scores GEMM reads the heads in place (row stride H*D, or 3*H*D packed; times B sequence
// first), softmax runs in place on the scores, and the context GEMM writes straight into the
// merged-heads layout. float32 only.
class TesseraAttentionKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    const int64_t heads = info.attr_int("num_heads", 0);
    if (heads <= 0) return info.error("attribute 'num_heads' must be positive, got ", heads);
    if (info.has_input(1) != info.has_input(2))
      return info.error("K and V must both be given, or both left out (Q then holds Q, K and V packed)");
    return std::unique_ptr<OpKernel>(new TesseraAttentionKernel(
        heads, info.attr_float("scale", 1.0f), info.attr_int("sequence_first", 0) != 0, !info.has_input(1)));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* q, ctx.required_input(0));
    const bool packed = packed_;
    const Tensor* k = q;
    const Tensor* v = q;
    if (!packed) {
      TS_ASSIGN_OR_RETURN(k, ctx.required_input(1));
      TS_ASSIGN_OR_RETURN(v, ctx.required_input(2));
    }
    const Tensor* mask = ctx.input(3);
    for (const Tensor* t : {q, k, v, mask})
      if (t && t->dtype() != DataType::float32) return ctx.error("com.tessera Attention takes float32 inputs");
    if (q->rank() < 2 || k->rank() < 2 || v->rank() < 2) return ctx.error("Q, K and V must have rank >= 2");
    const bool sf = sequence_first_;
    auto batch_of = [&](const Tensor* t) { return t->dim(sf ? 1 : 0); };
    auto seq_of = [&](const Tensor* t) { return t->dim(sf ? 0 : 1); };
    const int64_t H = heads_, B = batch_of(q), Sq = seq_of(q), Sk = seq_of(k);
    if (batch_of(k) != B || batch_of(v) != B || seq_of(v) != Sk)
      return ctx.error("Q ", shape_to_string(q->shape()), ", K ", shape_to_string(k->shape()), " and V ",
                       shape_to_string(v->shape()), " do not share batch and sequence sizes");
    // Values per sequence position and batch entry: Q, K, V each, or the three together packed.
    auto row_width = [](const Tensor* t, int64_t rows) { return rows == 0 ? 0 : t->size() / rows; };
    const int64_t wq = row_width(q, B * Sq), wk = row_width(k, B * Sk), wv = row_width(v, B * Sk);
    if (packed && wq % (3 * H) != 0)
      return ctx.error("packed Q ", shape_to_string(q->shape()), " does not split into Q, K and V of ", H, " heads");
    const int64_t D = packed ? wq / (3 * H) : (wq % H == 0 ? wq / H : -1);
    const int64_t Dk = packed ? D : (wk % H == 0 ? wk / H : -1), Dv = packed ? D : (wv % H == 0 ? wv / H : -1);
    if (D < 0 || Dk != D || Dv < 0)
      return ctx.error("Q ", shape_to_string(q->shape()), ", K ", shape_to_string(k->shape()), " and V ",
                       shape_to_string(v->shape()), " do not split into ", H, " heads of one size");
    // Mask strides over [B, H, Sq, Sk] (0 along broadcast dims).
    int64_t ms[4] = {0, 0, 0, 0};
    if (mask) {
      const Shape& s = mask->shape();
      const int64_t full[4] = {B, H, Sq, Sk};
      if (s.size() > 4) return ctx.error("mask of rank ", s.size(), " does not broadcast to [B, H, Sq, Sk]");
      int64_t stride = 1;
      for (size_t i = 4, j = s.size(); i-- > 0 && j-- > 0;) {
        if (s[j] != 1 && s[j] != full[i])
          return ctx.error("mask ", shape_to_string(s), " does not broadcast to [", B, ",", H, ",", Sq, ",", Sk, "]");
        ms[i] = s[j] == 1 ? 0 : stride;
        stride *= s[j];
      }
    }
    // Every element is written (a head with no keys gets zeros).
    Tensor& y = ctx.allocate_output_uninitialized(0, DataType::float32, sf ? Shape{Sq, B * H, Dv} : Shape{B, Sq, H, Dv});
    if (y.size() == 0) return Status::ok();
    // Head h of batch b at offset b * (width or seq * width) + h * d; rows `width` apart (batch
    // first) or B * width (sequence first), width the values of one (position, batch) row.
    auto view = [&](auto* data, int64_t seq, int64_t width, int64_t d) {
      return HeadsView<std::remove_pointer_t<decltype(data)>>{data, sf ? width : seq * width, d, sf ? B * width : width};
    };
    const float* qd = q->data<float>();
    const float* kd = packed ? qd + H * D : k->data<float>();
    const float* vd = packed ? qd + 2 * H * D : v->data<float>();
    multi_head_attention(ctx.thread_pool(), {B, H, H, Sq, Sk, D, Dv}, scale_, view(qd, Sq, wq, D), view(kd, Sk, wk, D),
                         view(vd, Sk, wv, Dv), mask ? mask->data<float>() : nullptr, ms,
                         view(y.data<float>(), Sq, H * Dv, Dv));
    return Status::ok();
  }

 private:
  TesseraAttentionKernel(int64_t heads, float scale, bool sequence_first, bool packed)
      : heads_(heads), scale_(scale), sequence_first_(sequence_first), packed_(packed) {}
  int64_t heads_;
  float scale_;
  bool sequence_first_;
  bool packed_;  // K and V left out: Q holds Q, K and V side by side
};

}  // namespace

void register_attention(KernelRegistry& r) {
  r.add({"com.tessera", "Attention", 1, 1, TesseraAttentionKernel::create});
  register_contrib_attention(r);  // com.microsoft Attention, MultiHeadAttention (nn/contrib_attention.cc)
  const KernelDef defs[] = {
      {"", "Attention", 23, kLatestOnnxOpset, AttentionKernel::create},
      {"", "RotaryEmbedding", 23, kLatestOnnxOpset, make_factory<RotaryEmbeddingKernel>()},
      {"com.microsoft", "RotaryEmbedding", 1, 1,
       [](const KernelInfo& info) -> Result<std::unique_ptr<OpKernel>> {
         // Not implemented: refused rather than ignored, which would give other numbers.
         if (info.attr_float("scale", 1.0f) != 1.0f) return info.error("attribute scale other than 1 is not supported");
         if (info.attr_int("is_packed_batching", 0) != 0) return info.error("is_packed_batching is not supported");
         return std::unique_ptr<OpKernel>(new RotaryEmbeddingKernel(info));
       }},
  };
  for (const KernelDef& def : defs) r.add(def);
}

}  // namespace tessera
