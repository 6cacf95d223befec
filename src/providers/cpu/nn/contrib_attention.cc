// ONNX Runtime's attention ops (com.microsoft), on the attention loop shared with com.tessera
// Attention (attention_core.h). Inputs are widened to float32 (float16 accepted), K and V laid
// out as [B, heads, past + new, head] (which is also the present output), and every mask form
// becomes one additive float mask [B, 1 or heads, S, total] with ONNX Runtime's
// mask_filter_value where a key is masked.
//
// Attention(input, weights, bias?, mask_index?, past?, attention_bias?): Q, K, V are the
// input's projection X W + bias, split by qkv_hidden_sizes (equal thirds by default); past and
// present are [2, B, heads, len, head]; mask_index is key lengths [B], end and start positions
// [2B], a 0/1 mask [B, total] or [B, S, total], or [B, 1, max, max] (rows past + i);
// unidirectional masks keys after past + i.
// MultiHeadAttention(query, key?, value?, bias?, key_padding_mask?, attention_bias?, past_key?,
// past_value?): query [B, S, D] with key/value [B, L, D] (bias [3D] added), [B, heads, L, head]
// (already projected), key packed [B, L, heads, 2, head], or query packed [B, S, heads, 3, head];
// key_padding_mask [B] (lengths) or [B, total] / [B, S, total] (0/1).
// EmbedLayerNormalization, BERT's input block, lives here too (ONNX Runtime's BERT ops).
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "core/dispatch.h"
#include "core/float_types.h"
#include "providers/cpu/math/widen.h"
#include "providers/cpu/microkernels/gemm.h"
#include "providers/cpu/nn/attention_core.h"
#include "providers/cpu/nn/contrib_attention.h"

namespace tessera {
namespace {

std::vector<float> widened(const KernelContext& ctx, const Tensor& t, Status& st) {
  std::vector<float> out(static_cast<size_t>(t.size()));
  if (st.is_ok()) st = widen::widen_tensor(t, out.data(), ctx.node());
  return out;
}

bool float_type(DataType t) { return t == DataType::float32 || t == DataType::float16; }

// The additive mask of one call, [B, heads_or_1, S, T]; empty until something masks.
struct MaskBuilder {
  int64_t B, N, S, T, past;
  float filter;
  std::vector<float> m;
  int64_t heads_dim = 1;

  void ensure() {
    if (m.empty()) m.assign(static_cast<size_t>(B * S * T), 0.0f);
  }
  float& at(int64_t b, int64_t i, int64_t j) { return m[static_cast<size_t>((b * S + i) * T + j)]; }

  Status key_mask(const KernelContext& ctx, const Tensor& mask) {
    if (mask.dtype() != DataType::int32) return ctx.error("the mask must be int32, got ", dtype_name(mask.dtype()));
    const int32_t* p = mask.data<int32_t>();
    ensure();
    const Shape& s = mask.shape();
    if (s.size() == 1 && (s[0] == B || s[0] == 2 * B)) {
      for (int64_t b = 0; b < B; ++b) {
        const int64_t end = p[b], start = s[0] == 2 * B ? p[B + b] : 0;
        for (int64_t i = 0; i < S; ++i)
          for (int64_t j = 0; j < T; ++j)
            if (j >= end || j < start) at(b, i, j) = filter;
      }
    } else if (s.size() == 2 && s[0] == B && s[1] == T) {
      for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < S; ++i)
          for (int64_t j = 0; j < T; ++j)
            if (p[b * T + j] == 0) at(b, i, j) = filter;
    } else if (s.size() == 3 && s[0] == B && s[1] == S && s[2] == T) {
      for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < S; ++i)
          for (int64_t j = 0; j < T; ++j)
            if (p[(b * S + i) * T + j] == 0) at(b, i, j) = filter;
    } else if (s.size() == 4 && s[0] == B && s[1] == 1 && s[2] == s[3] && s[2] >= T) {
      const int64_t max = s[2];
      for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < S; ++i)
          for (int64_t j = 0; j < T; ++j)
            if (p[(b * max + past + i) * max + j] == 0) at(b, i, j) = filter;
    } else {
      return ctx.error("mask of shape ", shape_to_string(s), " is none of [B], [2B], [B, total], [B, S, total], [B, 1, max, max] with B = ",
                       B, ", S = ", S, ", total = ", T);
    }
    return Status::ok();
  }

  void causal() {
    ensure();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < S; ++i)
        for (int64_t j = past + i + 1; j < T; ++j) at(b, i, j) = filter;
  }

  // attention_bias [B or 1, heads or 1, S, T] added: the mask gains the heads dim.
  Status add_bias(const KernelContext& ctx, const Tensor& bias) {
    const Shape& s = bias.shape();
    if (s.size() != 4 || (s[0] != B && s[0] != 1) || (s[1] != N && s[1] != 1) || s[2] != S || s[3] != T)
      return ctx.error("attention_bias ", shape_to_string(s), " is not [", B, " or 1, ", N, " or 1, ", S, ", ", T, "]");
    Status st = Status::ok();
    const std::vector<float> ab = widened(ctx, bias, st);
    TS_RETURN_IF_ERROR(st);
    std::vector<float> full(static_cast<size_t>(B * N * S * T));
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < N; ++h)
        for (int64_t i = 0; i < S; ++i)
          for (int64_t j = 0; j < T; ++j) {
            const float base = m.empty() ? 0.0f : at(b, i, j);
            full[static_cast<size_t>(((b * N + h) * S + i) * T + j)] =
                base + ab[static_cast<size_t>((((s[0] == 1 ? 0 : b) * s[1] + (s[1] == 1 ? 0 : h)) * S + i) * T + j)];
          }
    m = std::move(full);
    heads_dim = N;
    return Status::ok();
  }

  const float* data() const { return m.empty() ? nullptr : m.data(); }
  void strides(int64_t out[4]) const {
    out[3] = 1;
    out[2] = T;
    out[1] = heads_dim == 1 ? 0 : S * T;
    out[0] = heads_dim * S * T;
  }
};

// The attention of prepared float buffers: q [B, S, N*H] (row stride q_row), k and v
// [B, N, T, H/Hv]; writes y [B, S, N*Hv].
void attend(KernelContext& ctx, const AttentionShape& s, float scale, const float* q, int64_t q_row, const float* k,
            const float* v, const MaskBuilder& mask, float* y) {
  int64_t ms[4];
  mask.strides(ms);
  const int64_t N = s.heads, H = s.head, Hv = s.v_head, T = s.kv_len;
  multi_head_attention(ctx.thread_pool(), s, scale, {q, s.q_len * q_row, H, q_row}, {k, N * T * H, T * H, H},
                       {v, N * T * Hv, T * Hv, Hv}, mask.data(), ms, {y, s.q_len * N * Hv, Hv, N * Hv});
}

Status write_output(KernelContext& ctx, size_t index, DataType dtype, const Shape& shape, const float* src) {
  Tensor& out = ctx.allocate_output(index, dtype, shape);
  if (dtype == DataType::float32) std::copy(src, src + out.size(), out.data<float>());
  else narrow_span(src, out.data<float16_t>(), out.size());
  return Status::ok();
}

// The attributes the three attention kernels share: heads, the causal flag, the masked-key value
// and the score scale (0 or absent: 1/sqrt(head size)).
struct HeadAttributes {
  explicit HeadAttributes(const KernelInfo& info)
      : heads(info.attr_int("num_heads", 0)),
        unidirectional(info.attr_int("unidirectional") != 0),
        mask_filter(info.attr_float("mask_filter_value")),
        scale(info.attr_float("scale", 0.0f)) {}
  float scale_for(int64_t head_size) const {
    return scale != 0.0f ? scale : 1.0f / std::sqrt(static_cast<float>(head_size));
  }
  int64_t heads;
  bool unidirectional;
  float mask_filter;
  float scale;
};

class ContribAttentionKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<ContribAttentionKernel>(new ContribAttentionKernel(info));
    if (k->attrs_.heads <= 0) return info.error("attribute 'num_heads' must be positive, got ", k->attrs_.heads);
    if (info.attr_int("do_rotary") != 0) return info.error("do_rotary = 1 is not supported");
    if (info.attr_int("past_present_share_buffer") != 0) return info.error("past_present_share_buffer = 1 is not supported");
    if (!k->qkv_sizes_.empty() && k->qkv_sizes_.size() != 3)
      return info.error("qkv_hidden_sizes must have 3 values, got ", k->qkv_sizes_.size());
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* w, ctx.required_input(1));
    const Tensor* bias = ctx.input(2);
    const Tensor* mask = ctx.input(3);
    const Tensor* past = ctx.input(4);
    const Tensor* attn_bias = ctx.input(5);
    const DataType dt = x->dtype();
    if (!float_type(dt) || w->dtype() != dt || (bias && bias->dtype() != dt))
      return ctx.error("input, weights and bias must share one type, float or float16");
    if (x->rank() != 3 || w->rank() != 2 || w->dim(0) != x->dim(2))
      return ctx.error("input [B, S, hidden] ", shape_to_string(x->shape()), " and weights [hidden, 3 * hidden] ",
                       shape_to_string(w->shape()), " do not match");
    const int64_t B = x->dim(0), S = x->dim(1), In = x->dim(2), Dtot = w->dim(1), N = attrs_.heads;
    const int64_t Dq = qkv_sizes_.empty() ? Dtot / 3 : qkv_sizes_[0];
    const int64_t Dk = qkv_sizes_.empty() ? Dtot / 3 : qkv_sizes_[1];
    const int64_t Dv = qkv_sizes_.empty() ? Dtot / 3 : qkv_sizes_[2];
    if (Dq + Dk + Dv != Dtot || Dq != Dk || Dq % N != 0 || Dv % N != 0)
      return ctx.error("weights ", shape_to_string(w->shape()), " do not split into Q, K, V of ", N, " heads");
    if (bias && bias->size() != Dtot) return ctx.error("bias must have ", Dtot, " elements, got ", bias->size());
    const int64_t H = Dq / N, Hv = Dv / N;
    int64_t P = 0;
    if (past) {
      if (past->dtype() != dt || past->rank() != 5 || past->dim(0) != 2 || past->dim(1) != B || past->dim(2) != N ||
          past->dim(4) != H || Hv != H)
        return ctx.error("past ", shape_to_string(past->shape()), " is not [2, ", B, ", ", N, ", past, ", H, "]");
      P = past->dim(3);
    }
    const int64_t T = P + S;
    Status st = Status::ok();
    const std::vector<float> xf = widened(ctx, *x, st), wf = widened(ctx, *w, st);
    const std::vector<float> bf = bias ? widened(ctx, *bias, st) : std::vector<float>();
    TS_RETURN_IF_ERROR(st);
    // The projection [B*S, Dq + Dk + Dv], bias in the GEMM's epilogue.
    std::vector<float> qkv(static_cast<size_t>(B * S * Dtot));
    kernels::GemmEpilogue<float> ep;
    if (bias) ep.bias_n = bf.data();
    kernels::gemm(B * S, Dtot, In, 1.0f, {xf.data(), In, false}, {wf.data(), Dtot, false}, 0.0f, qkv.data(), Dtot, ep,
                  &ctx.thread_pool());
    // K and V as [B, N, T, H], past first: together they are `present`.
    std::vector<float> kv(static_cast<size_t>(B * N * T * (H + Hv)));
    float* k = kv.data();
    float* v = kv.data() + B * N * T * H;
    if (past) {
      const std::vector<float> pf = widened(ctx, *past, st);
      TS_RETURN_IF_ERROR(st);
      to_head_layout(pf.data(), false, B, N, P, H, k, T, 0);
      to_head_layout(pf.data() + B * N * P * H, false, B, N, P, H, v, T, 0);
    }
    for (int64_t b = 0; b < B; ++b)
      for (int64_t s = 0; s < S; ++s) {
        const float* row = qkv.data() + (b * S + s) * Dtot;
        for (int64_t h = 0; h < N; ++h) {
          std::copy(row + Dq + h * H, row + Dq + (h + 1) * H, k + ((b * N + h) * T + P + s) * H);
          std::copy(row + Dq + Dk + h * Hv, row + Dq + Dk + (h + 1) * Hv, v + ((b * N + h) * T + P + s) * Hv);
        }
      }
    MaskBuilder mb{B, N, S, T, P, attrs_.mask_filter, {}};
    if (mask) TS_RETURN_IF_ERROR(mb.key_mask(ctx, *mask));
    if (attrs_.unidirectional) mb.causal();
    if (attn_bias) TS_RETURN_IF_ERROR(mb.add_bias(ctx, *attn_bias));
    std::vector<float> y(static_cast<size_t>(B * S * Dv));
    const float scale = attrs_.scale_for(H);
    attend(ctx, {B, N, N, S, T, H, Hv}, scale, qkv.data(), Dtot, k, v, mb, y.data());
    TS_RETURN_IF_ERROR(write_output(ctx, 0, dt, {B, S, Dv}, y.data()));
    if (ctx.output_count() > 1 && ctx.output_requested(1)) {
      if (Hv != H) return ctx.error("present needs equal K and V head sizes");
      TS_RETURN_IF_ERROR(write_output(ctx, 1, dt, {2, B, N, T, H}, kv.data()));
    }
    return Status::ok();
  }

 private:
  explicit ContribAttentionKernel(const KernelInfo& info)
      : attrs_(info), qkv_sizes_(info.attr_ints("qkv_hidden_sizes")) {}

  HeadAttributes attrs_;
  std::vector<int64_t> qkv_sizes_;
};

class MultiHeadAttentionKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<MultiHeadAttentionKernel>(new MultiHeadAttentionKernel(info));
    if (k->attrs_.heads <= 0) return info.error("attribute 'num_heads' must be positive, got ", k->attrs_.heads);
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* q_in, ctx.required_input(0));
    const Tensor* k_in = ctx.input(1);
    const Tensor* v_in = ctx.input(2);
    const Tensor* bias = ctx.input(3);
    const Tensor* mask = ctx.input(4);
    const Tensor* attn_bias = ctx.input(5);
    const Tensor* past_k = ctx.input(6);
    const Tensor* past_v = ctx.input(7);
    if (ctx.input(8) || ctx.input(9)) return ctx.error("past_sequence_length and cache_indirection are not supported");
    if (ctx.output_count() > 3 && ctx.output_requested(3)) return ctx.error("the qk output is not supported");
    const DataType dt = q_in->dtype();
    for (const Tensor* t : {q_in, k_in, v_in, bias, past_k, past_v})
      if (t && t->dtype() != dt) return ctx.error("query, key, value, bias and past must share one type");
    if (!float_type(dt)) return ctx.error("query must be float or float16, got ", dtype_name(dt));
    const int64_t N = attrs_.heads;
    Status st = Status::ok();
    const std::vector<float> qf = widened(ctx, *q_in, st);
    const std::vector<float> kf = k_in ? widened(ctx, *k_in, st) : std::vector<float>();
    const std::vector<float> vf = v_in ? widened(ctx, *v_in, st) : std::vector<float>();
    const std::vector<float> bf = bias ? widened(ctx, *bias, st) : std::vector<float>();
    TS_RETURN_IF_ERROR(st);
    const int64_t B = q_in->dim(0), S = q_in->rank() >= 2 ? q_in->dim(1) : 0;
    int64_t H = 0, Hv = 0, L = 0;
    // Q [B, S, N*H] and new K, V [B, L, N*H] ("bsd") or [B, N, L, H] (already per head).
    std::vector<float> q, k, v;
    bool kv_bsd = true;
    if (q_in->rank() == 5) {  // packed QKV [B, S, N, 3, H]
      if (k_in || v_in || q_in->dim(2) != N || q_in->dim(3) != 3)
        return ctx.error("packed query ", shape_to_string(q_in->shape()), " must be [B, S, ", N, ", 3, head] without key and value");
      H = Hv = q_in->dim(4), L = S;
      q.resize(static_cast<size_t>(B * S * N * H)), k.resize(q.size()), v.resize(q.size());
      for (int64_t r = 0; r < B * S * N; ++r)
        for (int64_t j = 0; j < 3; ++j)
          std::copy(qf.begin() + (r * 3 + j) * H, qf.begin() + (r * 3 + j + 1) * H, (j == 0 ? q : j == 1 ? k : v).begin() + r * H);
    } else {
      if (q_in->rank() != 3 || q_in->dim(2) % N != 0)
        return ctx.error("query ", shape_to_string(q_in->shape()), " must be [B, S, ", N, " * head]");
      H = q_in->dim(2) / N;
      q = qf;
      if (!k_in) return ctx.error("key is required unless query is packed [B, S, heads, 3, head]");
      if (k_in->rank() == 5) {  // packed KV [B, L, N, 2, H]
        if (v_in || k_in->dim(0) != B || k_in->dim(2) != N || k_in->dim(3) != 2 || k_in->dim(4) != H)
          return ctx.error("packed key ", shape_to_string(k_in->shape()), " must be [", B, ", L, ", N, ", 2, ", H, "] without value");
        L = k_in->dim(1), Hv = H;
        k.resize(static_cast<size_t>(B * L * N * H)), v.resize(k.size());
        for (int64_t r = 0; r < B * L * N; ++r) {
          std::copy(kf.begin() + (r * 2) * H, kf.begin() + (r * 2 + 1) * H, k.begin() + r * H);
          std::copy(kf.begin() + (r * 2 + 1) * H, kf.begin() + (r * 2 + 2) * H, v.begin() + r * H);
        }
      } else if (v_in && k_in->rank() == 3 && v_in->rank() == 3) {
        L = k_in->dim(1), k = kf, v = vf;
        if (k_in->dim(0) != B || v_in->dim(0) != B || k_in->dim(2) != N * H || v_in->dim(1) != L || v_in->dim(2) % N != 0)
          return ctx.error("key ", shape_to_string(k_in->shape()), " and value ", shape_to_string(v_in->shape()),
                           " do not match query ", shape_to_string(q_in->shape()));
        Hv = v_in->dim(2) / N;
      } else if (v_in && k_in->rank() == 4 && v_in->rank() == 4) {
        L = k_in->dim(2), k = kf, v = vf, kv_bsd = false;
        if (k_in->dim(0) != B || k_in->dim(1) != N || k_in->dim(3) != H || v_in->dim(0) != B || v_in->dim(1) != N ||
            v_in->dim(2) != L)
          return ctx.error("key ", shape_to_string(k_in->shape()), " and value ", shape_to_string(v_in->shape()),
                           " are not [", B, ", ", N, ", L, ", H, "]");
        Hv = v_in->dim(3);
      } else {
        return ctx.error("key and value must both be 3-D or 4-D, or key packed [B, L, heads, 2, head]");
      }
    }
    if (bias) {  // [Dq + Dk + Dv], for the projected parts only
      if (bias->size() != N * (2 * H + Hv)) return ctx.error("bias must have ", N * (2 * H + Hv), " elements, got ", bias->size());
      for (int64_t r = 0; r < B * S; ++r)
        for (int64_t j = 0; j < N * H; ++j) q[static_cast<size_t>(r * N * H + j)] += bf[static_cast<size_t>(j)];
      if (kv_bsd)
        for (int64_t r = 0; r < B * L; ++r) {
          for (int64_t j = 0; j < N * H; ++j) k[static_cast<size_t>(r * N * H + j)] += bf[static_cast<size_t>(N * H + j)];
          for (int64_t j = 0; j < N * Hv; ++j) v[static_cast<size_t>(r * N * Hv + j)] += bf[static_cast<size_t>(2 * N * H + j)];
        }
    }
    int64_t P = 0;
    if ((past_k == nullptr) != (past_v == nullptr)) return ctx.error("past_key and past_value must be given together");
    if (past_k) {
      if (past_k->rank() != 4 || past_k->dim(0) != B || past_k->dim(1) != N || past_k->dim(3) != H || past_v->rank() != 4 ||
          past_v->shape() != Shape{B, N, past_k->dim(2), Hv})
        return ctx.error("past_key ", shape_to_string(past_k->shape()), " and past_value ", shape_to_string(past_v->shape()),
                         " are not [", B, ", ", N, ", past, ", H, "]");
      P = past_k->dim(2);
    }
    const int64_t T = P + L;
    std::vector<float> k_all(static_cast<size_t>(B * N * T * H)), v_all(static_cast<size_t>(B * N * T * Hv));
    if (past_k) {
      const std::vector<float> pk = widened(ctx, *past_k, st), pv = widened(ctx, *past_v, st);
      TS_RETURN_IF_ERROR(st);
      to_head_layout(pk.data(), false, B, N, P, H, k_all.data(), T, 0);
      to_head_layout(pv.data(), false, B, N, P, Hv, v_all.data(), T, 0);
    }
    to_head_layout(k.data(), kv_bsd, B, N, L, H, k_all.data(), T, P);
    to_head_layout(v.data(), kv_bsd, B, N, L, Hv, v_all.data(), T, P);
    MaskBuilder mb{B, N, S, T, P, attrs_.mask_filter, {}};
    if (mask) TS_RETURN_IF_ERROR(mb.key_mask(ctx, *mask));
    if (attrs_.unidirectional) mb.causal();
    if (attn_bias) TS_RETURN_IF_ERROR(mb.add_bias(ctx, *attn_bias));
    std::vector<float> y(static_cast<size_t>(B * S * N * Hv));
    const float scale = attrs_.scale_for(H);
    attend(ctx, {B, N, N, S, T, H, Hv}, scale, q.data(), N * H, k_all.data(), v_all.data(), mb, y.data());
    TS_RETURN_IF_ERROR(write_output(ctx, 0, dt, {B, S, N * Hv}, y.data()));
    if (ctx.output_count() > 1 && ctx.output_requested(1)) TS_RETURN_IF_ERROR(write_output(ctx, 1, dt, {B, N, T, H}, k_all.data()));
    if (ctx.output_count() > 2 && ctx.output_requested(2)) TS_RETURN_IF_ERROR(write_output(ctx, 2, dt, {B, N, T, Hv}, v_all.data()));
    return Status::ok();
  }

 private:
  explicit MultiHeadAttentionKernel(const KernelInfo& info)
      : attrs_(info) {}

  HeadAttributes attrs_;
};

// GroupQueryAttention(query, key?, value?, past_key?, past_value?, seqlens_k, total_sequence_length,
// cos_cache?, sin_cache?) -> output, present_key, present_value: causal attention of num_heads
// query heads over kv_num_heads K/V heads. Batch b holds seqlens_k[b] + 1 keys; the new keys
// sit after the past ones (a prompt, S == total_sequence_length, has none), so query i attends
// keys j <= past_b + i (and > past_b + i - local_window_size when that is set). query may pack
// Q, K and V ([B, S, (heads + 2 kv_heads) * head]); with do_rotary, Q and K are rotated at
// positions past_b + i first. past/present are [B, kv_heads, len, head] (present len: the larger
// of past's and total_sequence_length).
class GroupQueryAttentionKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<GroupQueryAttentionKernel>(new GroupQueryAttentionKernel(info));
    if (k->attrs_.heads <= 0 || k->kv_heads_ <= 0 || k->attrs_.heads % k->kv_heads_ != 0)
      return info.error("num_heads (", k->attrs_.heads, ") must be a positive multiple of kv_num_heads (", k->kv_heads_, ")");
    if (info.attr_float("softcap", 0.0f) != 0.0f || info.attr_int("smooth_softmax", 0) != 0 || info.attr_int("qk_output", 0) != 0)
      return info.error("softcap, smooth_softmax and qk_output are not supported");
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* q_in, ctx.required_input(0));
    const Tensor* k_in = ctx.input(1);
    const Tensor* v_in = ctx.input(2);
    const Tensor* past_k = ctx.input(3);
    const Tensor* past_v = ctx.input(4);
    TS_ASSIGN_OR_RETURN(const Tensor* seqlens, ctx.required_input(5));
    TS_ASSIGN_OR_RETURN(const Tensor* total_t, ctx.required_input(6));
    const Tensor* cos_t = ctx.input(7);
    const Tensor* sin_t = ctx.input(8);
    if (ctx.input(9) || ctx.input(11)) return ctx.error("position_ids and head_sink are not supported");
    const Tensor* attn_bias = ctx.input(10);
    const DataType dt = q_in->dtype();
    for (const Tensor* t : {q_in, k_in, v_in, past_k, past_v, cos_t, sin_t})
      if (t && t->dtype() != dt) return ctx.error("query, key, value, past and caches must share one type");
    if (!float_type(dt)) return ctx.error("query must be float or float16, got ", dtype_name(dt));
    if (q_in->rank() != 3) return ctx.error("query must be [B, S, hidden], got ", shape_to_string(q_in->shape()));
    const int64_t B = q_in->dim(0), S = q_in->dim(1), N = attrs_.heads, Nk = kv_heads_;
    const bool packed = k_in == nullptr;
    if (packed != (v_in == nullptr)) return ctx.error("key and value must be given together");
    const int64_t H = q_in->dim(2) / (packed ? N + 2 * Nk : N);
    if (H * (packed ? N + 2 * Nk : N) != q_in->dim(2)) return ctx.error("query ", shape_to_string(q_in->shape()), " does not split into heads");
    if (!packed && (k_in->shape() != Shape{B, S, Nk * H} || v_in->shape() != Shape{B, S, Nk * H}))
      return ctx.error("key and value must be [", B, ", ", S, ", ", Nk * H, "], got ", shape_to_string(k_in->shape()), " and ",
                       shape_to_string(v_in->shape()));
    if (seqlens->dtype() != DataType::int32 || seqlens->size() != B || total_t->dtype() != DataType::int32 || total_t->size() != 1)
      return ctx.error("seqlens_k must be int32 [", B, "] and total_sequence_length an int32 scalar");
    const int64_t total = total_t->data<int32_t>()[0];
    if ((past_k == nullptr) != (past_v == nullptr)) return ctx.error("past_key and past_value must be given together");
    int64_t P_buf = 0;
    if (past_k) {
      if (past_k->rank() != 4 || past_k->dim(0) != B || past_k->dim(1) != Nk || past_k->dim(3) != H || past_v->shape() != past_k->shape())
        return ctx.error("past_key and past_value must be [", B, ", ", Nk, ", len, ", H, "], got ", shape_to_string(past_k->shape()));
      P_buf = past_k->dim(2);
    }
    const int64_t T = std::max(P_buf, total);
    const bool prompt = S == total;  // no past keys in any batch
    std::vector<int64_t> past_len(static_cast<size_t>(B)), kv_len(static_cast<size_t>(B));
    for (int64_t b = 0; b < B; ++b) {
      kv_len[b] = seqlens->data<int32_t>()[b] + 1;
      past_len[b] = prompt ? 0 : kv_len[b] - S;
      if (kv_len[b] < 1 || kv_len[b] > T || past_len[b] < 0 || past_len[b] > P_buf)
        return ctx.error("seqlens_k[", b, "] = ", kv_len[b] - 1, " does not fit ", S, " new tokens, past length ", P_buf,
                         " and total_sequence_length ", total);
    }
    Status st = Status::ok();
    const std::vector<float> qf = widened(ctx, *q_in, st);
    const std::vector<float> kf = packed ? std::vector<float>() : widened(ctx, *k_in, st);
    const std::vector<float> vf = packed ? std::vector<float>() : widened(ctx, *v_in, st);
    TS_RETURN_IF_ERROR(st);
    // Q [B, S, N*H] and new K, V [B, S, Nk*H].
    std::vector<float> q(static_cast<size_t>(B * S * N * H)), k, v;
    if (packed) {
      k.resize(static_cast<size_t>(B * S * Nk * H)), v.resize(k.size());
      const int64_t row = (N + 2 * Nk) * H;
      for (int64_t r = 0; r < B * S; ++r) {
        const float* src = qf.data() + r * row;
        std::copy(src, src + N * H, q.data() + r * N * H);
        std::copy(src + N * H, src + (N + Nk) * H, k.data() + r * Nk * H);
        std::copy(src + (N + Nk) * H, src + row, v.data() + r * Nk * H);
      }
    } else {
      q = qf, k = kf, v = vf;
    }
    if (do_rotary_) TS_RETURN_IF_ERROR(rotate(ctx, cos_t, sin_t, B, S, N, Nk, H, past_len, q, k));
    // present: each batch's past keys, then its new ones at past_b; the rest stays zero.
    std::vector<float> pk(static_cast<size_t>(B * Nk * T * H), 0.0f), pv(pk.size(), 0.0f);
    if (past_k) {
      const std::vector<float> pkf = widened(ctx, *past_k, st), pvf = widened(ctx, *past_v, st);
      TS_RETURN_IF_ERROR(st);
      for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < Nk; ++h) {
          const int64_t n = past_len[b] * H, from = (b * Nk + h) * P_buf * H, to = (b * Nk + h) * T * H;
          std::copy(pkf.begin() + from, pkf.begin() + from + n, pk.begin() + to);
          std::copy(pvf.begin() + from, pvf.begin() + from + n, pv.begin() + to);
        }
    }
    for (int64_t b = 0; b < B; ++b)
      for (int64_t s = 0; s < S; ++s)
        for (int64_t h = 0; h < Nk; ++h) {
          const int64_t from = ((b * S + s) * Nk + h) * H, to = ((b * Nk + h) * T + past_len[b] + s) * H;
          std::copy(k.begin() + from, k.begin() + from + H, pk.begin() + to);
          std::copy(v.begin() + from, v.begin() + from + H, pv.begin() + to);
        }
    MaskBuilder mb{B, N, S, T, 0, -std::numeric_limits<float>::infinity(), {}};
    mb.ensure();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < S; ++i)
        for (int64_t j = 0; j < T; ++j) {
          const int64_t last = past_len[b] + i;  // the query's own position
          if (j > last || j >= kv_len[b] || (window_ > 0 && j <= last - window_)) mb.at(b, i, j) = mb.filter;
        }
    if (attn_bias) TS_RETURN_IF_ERROR(mb.add_bias(ctx, *attn_bias));
    std::vector<float> y(static_cast<size_t>(B * S * N * H));
    const float scale = attrs_.scale_for(H);
    int64_t ms[4];
    mb.strides(ms);
    multi_head_attention(ctx.thread_pool(), {B, N, Nk, S, T, H, H}, scale, {q.data(), S * N * H, H, N * H},
                         {pk.data(), Nk * T * H, T * H, H}, {pv.data(), Nk * T * H, T * H, H}, mb.data(), ms,
                         {y.data(), S * N * H, H, N * H});
    TS_RETURN_IF_ERROR(write_output(ctx, 0, dt, {B, S, N * H}, y.data()));
    TS_RETURN_IF_ERROR(write_output(ctx, 1, dt, {B, Nk, T, H}, pk.data()));
    TS_RETURN_IF_ERROR(write_output(ctx, 2, dt, {B, Nk, T, H}, pv.data()));
    return Status::ok();
  }

 private:
  explicit GroupQueryAttentionKernel(const KernelInfo& info)
      : attrs_(info),
        kv_heads_(info.attr_int("kv_num_heads", 0)),
        window_(info.attr_int("local_window_size", -1)),
        do_rotary_(info.attr_int("do_rotary", 0) != 0),
        interleaved_(info.attr_int("rotary_interleaved", 0) != 0) {}

  // Rotary embedding of Q and K (each head's first 2 * cache width values) at positions past_b + s.
  Status rotate(const KernelContext& ctx, const Tensor* cos_t, const Tensor* sin_t, int64_t B, int64_t S, int64_t N, int64_t Nk,
                int64_t H, const std::vector<int64_t>& past_len, std::vector<float>& q, std::vector<float>& k) const {
    if (!cos_t || !sin_t || cos_t->rank() != 2 || sin_t->shape() != cos_t->shape() || 2 * cos_t->dim(1) > H)
      return ctx.error("do_rotary needs cos_cache and sin_cache of shape [max_len, rotary_dim / 2] with rotary_dim <= ", H);
    Status st = Status::ok();
    const std::vector<float> cf = widened(ctx, *cos_t, st), sf = widened(ctx, *sin_t, st);
    TS_RETURN_IF_ERROR(st);
    const int64_t half = cos_t->dim(1);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t s = 0; s < S; ++s) {
        const int64_t pos = past_len[b] + s;
        if (pos >= cos_t->dim(0)) return ctx.error("position ", pos, " is outside the rotary cache of ", cos_t->dim(0), " rows");
        const float* c = cf.data() + pos * half;
        const float* sn = sf.data() + pos * half;
        auto apply = [&](float* x) {
          for (int64_t j = 0; j < half; ++j) {
            const int64_t i1 = interleaved_ ? 2 * j : j, i2 = interleaved_ ? 2 * j + 1 : j + half;
            const float x1 = x[i1], x2 = x[i2];
            x[i1] = x1 * c[j] - x2 * sn[j];
            x[i2] = x1 * sn[j] + x2 * c[j];
          }
        };
        for (int64_t h = 0; h < N; ++h) apply(q.data() + ((b * S + s) * N + h) * H);
        for (int64_t h = 0; h < Nk; ++h) apply(k.data() + ((b * S + s) * Nk + h) * H);
      }
    return Status::ok();
  }

  HeadAttributes attrs_;
  int64_t kv_heads_, window_;
  bool do_rotary_, interleaved_;
};

// EmbedLayerNormalization(input_ids, segment_ids?, word_embedding, position_embedding,
// segment_embedding?, gamma, beta, mask?, position_ids?) -> output, mask_index[, embedding_sum]:
// BERT's input block. output = LayerNorm(word[id] + position[pos] + segment[seg]) * gamma + beta
// over the hidden axis (statistics in float), pos = position_ids[b or 0, s] or s; mask_index[b] =
// how many mask[b, :] are 1 (0 without a mask).
class EmbedLayerNormKernel final : public OpKernel {
 public:
  explicit EmbedLayerNormKernel(const KernelInfo& info) : epsilon_(info.attr_float("epsilon")) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* ids, ctx.required_input(0));
    const Tensor* seg_ids = ctx.input(1);
    TS_ASSIGN_OR_RETURN(const Tensor* word, ctx.required_input(2));
    TS_ASSIGN_OR_RETURN(const Tensor* pos_table, ctx.required_input(3));
    const Tensor* seg_table = ctx.input(4);
    TS_ASSIGN_OR_RETURN(const Tensor* gamma, ctx.required_input(5));
    TS_ASSIGN_OR_RETURN(const Tensor* beta, ctx.required_input(6));
    const Tensor* mask = ctx.input(7);
    const Tensor* pos_ids = ctx.input(8);
    if (ids->rank() != 2) return ctx.error("input_ids must be [B, S], got ", shape_to_string(ids->shape()));
    const int64_t B = ids->dim(0), S = ids->dim(1);
    const DataType dt = word->dtype();
    if (!float_type(dt) || word->rank() != 2) return ctx.error("word_embedding must be a 2-D float or float16 table");
    const int64_t Hd = word->dim(1);
    for (const Tensor* t : {pos_table, seg_table})
      if (t && (t->dtype() != dt || t->rank() != 2 || t->dim(1) != Hd))
        return ctx.error("position and segment embeddings must be [rows, ", Hd, "] tables of the word embedding's type");
    for (const Tensor* t : {gamma, beta})
      if (t->dtype() != dt || t->size() != Hd) return ctx.error("gamma and beta must have ", Hd, " elements");
    for (const Tensor* t : {ids, seg_ids, mask})
      if (t && (t->dtype() != DataType::int32 || t->shape() != ids->shape()))
        return ctx.error("input_ids, segment_ids and mask must be int32 [", B, ", ", S, "]");
    if ((seg_ids == nullptr) != (seg_table == nullptr)) return ctx.error("segment_ids and segment_embedding go together");
    if (pos_ids && (pos_ids->dtype() != DataType::int32 || pos_ids->rank() != 2 || pos_ids->dim(1) != S ||
                    (pos_ids->dim(0) != B && pos_ids->dim(0) != 1)))
      return ctx.error("position_ids must be int32 [", B, " or 1, ", S, "], got ", shape_to_string(pos_ids->shape()));
    Status st = Status::ok();
    const std::vector<float> wf = widened(ctx, *word, st), pf = widened(ctx, *pos_table, st);
    const std::vector<float> sf = seg_table ? widened(ctx, *seg_table, st) : std::vector<float>();
    const std::vector<float> gf = widened(ctx, *gamma, st), bf = widened(ctx, *beta, st);
    TS_RETURN_IF_ERROR(st);
    std::vector<float> sum(static_cast<size_t>(B * S * Hd)), y(sum.size());
    auto row_of = [&](const Tensor* t, int64_t i, int64_t rows, const char* what, int64_t& out) -> Status {
      out = t->data<int32_t>()[i];
      if (out < 0 || out >= rows) return ctx.error(what, " ", out, " is outside the table of ", rows, " rows");
      return Status::ok();
    };
    for (int64_t b = 0; b < B; ++b)
      for (int64_t s = 0; s < S; ++s) {
        const int64_t i = b * S + s;
        int64_t w = 0, p = s, g = 0;
        TS_RETURN_IF_ERROR(row_of(ids, i, word->dim(0), "input id", w));
        if (pos_ids) TS_RETURN_IF_ERROR(row_of(pos_ids, pos_ids->dim(0) == 1 ? s : i, pos_table->dim(0), "position id", p));
        else if (p >= pos_table->dim(0)) return ctx.error("position ", p, " is outside the table of ", pos_table->dim(0), " rows");
        if (seg_ids) TS_RETURN_IF_ERROR(row_of(seg_ids, i, seg_table->dim(0), "segment id", g));
        float* e = sum.data() + i * Hd;
        for (int64_t j = 0; j < Hd; ++j)
          e[j] = wf[static_cast<size_t>(w * Hd + j)] + pf[static_cast<size_t>(p * Hd + j)] + (seg_ids ? sf[static_cast<size_t>(g * Hd + j)] : 0.0f);
        float mean = 0, var = 0;
        for (int64_t j = 0; j < Hd; ++j) mean += e[j];
        mean /= static_cast<float>(Hd);
        for (int64_t j = 0; j < Hd; ++j) var += (e[j] - mean) * (e[j] - mean);
        const float inv = 1.0f / std::sqrt(var / static_cast<float>(Hd) + epsilon_);
        for (int64_t j = 0; j < Hd; ++j) y[static_cast<size_t>(i * Hd + j)] = (e[j] - mean) * inv * gf[static_cast<size_t>(j)] + bf[static_cast<size_t>(j)];
      }
    TS_RETURN_IF_ERROR(write_output(ctx, 0, dt, {B, S, Hd}, y.data()));
    Tensor& mask_index = ctx.allocate_output(1, DataType::int32, {B});
    for (int64_t b = 0; b < B; ++b) {
      int32_t n = 0;
      if (mask)
        for (int64_t s = 0; s < S; ++s) n += mask->data<int32_t>()[b * S + s] == 1;
      mask_index.data<int32_t>()[b] = n;
    }
    if (ctx.output_count() > 2 && ctx.output_requested(2)) TS_RETURN_IF_ERROR(write_output(ctx, 2, dt, {B, S, Hd}, sum.data()));
    return Status::ok();
  }

 private:
  float epsilon_;
};

}  // namespace

void register_contrib_attention(KernelRegistry& r) {
  r.add({"com.microsoft", "Attention", 1, 1, ContribAttentionKernel::create});
  r.add({"com.microsoft", "MultiHeadAttention", 1, 1, MultiHeadAttentionKernel::create});
  r.add({"com.microsoft", "EmbedLayerNormalization", 1, 1, make_factory<EmbedLayerNormKernel>()});
  r.add({"com.microsoft", "GroupQueryAttention", 1, 1, GroupQueryAttentionKernel::create});
}

}  // namespace tessera
