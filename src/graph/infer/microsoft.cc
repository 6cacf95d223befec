// Shape inference of ONNX Runtime's contrib ops (com.microsoft, and the ONNX-domain
// SimplifiedLayerNormalization/LayerNormalization-1 it defines): schemas in
// src/graph/microsoft_op_schemas.inc. The elementwise ones use same_as_input0 (infer/elementwise.cc),
// FusedGemm the Gemm rule (infer/math.cc), FusedConv the Conv rule (infer/nn.cc).
#include <numeric>

#include "graph/infer/infer_rules.h"

namespace tessera {

namespace {

Dim divided(const Dim& d, int64_t k) { return d.is_fixed() && k > 0 && d.value % k == 0 ? fixed_dim(d.value / k) : unknown_dim(); }

// FusedMatMul: MatMul after the optional transposes of the batch dims (transBatch: the first dim
// moves behind the other batch dims) and of the last two.
Dims transposed_operand(const Dims& s, bool trans_batch, bool trans) {
  Dims d = s;
  if (trans_batch && d.size() > 2) {
    const Dim first = d.front();
    d.erase(d.begin());
    d.insert(d.end() - 1, first);
  }
  if (trans && d.size() >= 2) std::swap(d[d.size() - 1], d[d.size() - 2]);
  return d;
}

Status fused_matmul(InferContext& ctx) {
  const Dims* a = ctx.input_shape(0);
  const Dims* b = ctx.input_shape(1);
  if (!a || !b || a->size() < 2 || b->size() < 2) return Status::ok();
  const Dims a2 = transposed_operand(*a, ctx.attr_int("transBatchA", 0) != 0, ctx.attr_int("transA", 0) != 0);
  const Dims b2 = transposed_operand(*b, ctx.attr_int("transBatchB", 0) != 0, ctx.attr_int("transB", 0) != 0);
  if (dims_differ(a2.back(), b2[b2.size() - 2]))
    return ctx.error("inner dimensions differ: ", dims_string(a2), " x ", dims_string(b2), " (after the transposes)");
  TS_ASSIGN_OR_RETURN(Dims out, broadcast_dims(ctx, Dims(a2.begin(), a2.end() - 2), Dims(b2.begin(), b2.end() - 2)));
  out.push_back(a2[a2.size() - 2]);
  out.push_back(b2.back());
  ctx.set_output(0, out);
  return Status::ok();
}

// Skip(Simplified)LayerNormalization: output and input_skip_bias_sum have the input's shape, mean
// and inv_std_var the input's with the last dim 1 (float).
Status skip_layer_norm(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  if (!x || x->empty()) return Status::ok();
  Dims stat = *x;
  stat.back() = fixed_dim(1);
  ctx.set_output(0, *x);
  for (size_t j = 1; j < ctx.num_outputs() && j < 3; ++j) ctx.set_output(j, stat, DataType::float32);
  if (ctx.num_outputs() > 3) ctx.set_output(3, *x);
  return Status::ok();
}

// Attention: input [B, S, in] and weights [in, Dq + Dk + Dv] give output [B, S, Dv]; present is
// [2, B, heads, past + S, head].
Status attention(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  const Dims* w = ctx.input_shape(1);
  if (!x || !w || x->size() != 3 || w->size() != 2) return Status::ok();
  const int64_t heads = ctx.attr_int("num_heads", 0);
  Dim v_hidden = divided((*w)[1], 3), qk_hidden = v_hidden;
  if (auto sizes = ctx.attr_ints("qkv_hidden_sizes"); sizes && sizes->size() == 3) {
    qk_hidden = fixed_dim((*sizes)[0]);
    v_hidden = fixed_dim((*sizes)[2]);
  }
  ctx.set_output(0, Dims{(*x)[0], (*x)[1], v_hidden});
  if (ctx.num_outputs() > 1 && ctx.has_output(1)) {
    Dim total = (*x)[1];
    if (ctx.has_input(4)) {
      const Dims* past = ctx.input_shape(4);
      total = past && past->size() == 5 ? sum_dim((*past)[3], (*x)[1]) : unknown_dim();
    }
    ctx.set_output(1, Dims{fixed_dim(2), (*x)[0], fixed_dim(heads), total, divided(qk_hidden, heads)});
  }
  return Status::ok();
}

// MultiHeadAttention: output [B, S, heads * head_v]; query packed as [B, S, heads, 3, head] when
// key and value are absent; value [B, L, Dv] or [B, heads, L, head_v], or packed in key
// [B, L, heads, 2, head].
Status multi_head_attention(InferContext& ctx) {
  const Dims* q = ctx.input_shape(0);
  if (!q) return Status::ok();
  const int64_t heads = ctx.attr_int("num_heads", 0);
  const Dims* k = ctx.input_shape(1);
  const Dims* v = ctx.input_shape(2);
  Dim dv;
  if (q->size() == 5) dv = scaled_dim((*q)[4], heads);
  else if (v && v->size() == 3) dv = (*v)[2];
  else if (v && v->size() == 4) dv = scaled_dim((*v)[3], heads);
  else if (!v && k && k->size() == 5) dv = scaled_dim((*k)[4], heads);
  if (q->size() == 3 || q->size() == 5) ctx.set_output(0, Dims{(*q)[0], (*q)[1], dv});
  return Status::ok();
}

// EmbedLayerNormalization: input_ids [B, S] give output and embedding_sum [B, S, hidden] and
// mask_index [B].
Status embed_layer_norm(InferContext& ctx) {
  const Dims* ids = ctx.input_shape(0);
  const Dims* word = ctx.input_shape(2);
  if (!ids || ids->size() != 2) return Status::ok();
  const Dim hidden = word && word->size() == 2 ? (*word)[1] : unknown_dim();
  ctx.set_output(0, Dims{(*ids)[0], (*ids)[1], hidden});
  if (ctx.num_outputs() > 1) ctx.set_output(1, Dims{(*ids)[0]});
  if (ctx.num_outputs() > 2) ctx.set_output(2, Dims{(*ids)[0], (*ids)[1], hidden});
  return Status::ok();
}

// GroupQueryAttention: query [B, S, heads * head] (or packed [B, S, (heads + 2 kv_heads) * head]
// without key and value) gives output [B, S, heads * head]; present_key/value are
// [B, kv_heads, total, head], total known only from the run's inputs.
Status group_query_attention(InferContext& ctx) {
  const Dims* q = ctx.input_shape(0);
  if (!q || q->size() != 3) return Status::ok();
  const int64_t heads = ctx.attr_int("num_heads", 0), kv_heads = ctx.attr_int("kv_num_heads", 0);
  const bool packed = !ctx.has_input(1);
  const Dim head = divided((*q)[2], packed ? heads + 2 * kv_heads : heads);
  ctx.set_output(0, Dims{(*q)[0], (*q)[1], scaled_dim(head, heads)});
  for (size_t j = 1; j < 3 && j < ctx.num_outputs(); ++j) ctx.set_output(j, Dims{(*q)[0], fixed_dim(kv_heads), unknown_dim(), head});
  return Status::ok();
}

}  // namespace

std::vector<InferRule> microsoft_infer_rules() {
  return {
      {"com.microsoft", "FusedMatMul", 1, kAnyOpset, fused_matmul},
      {"com.microsoft", "SkipLayerNormalization", 1, kAnyOpset, skip_layer_norm},
      {"com.microsoft", "SkipSimplifiedLayerNormalization", 1, kAnyOpset, skip_layer_norm},
      {"com.microsoft", "Attention", 1, kAnyOpset, attention},
      {"com.microsoft", "MultiHeadAttention", 1, kAnyOpset, multi_head_attention},
      {"com.microsoft", "EmbedLayerNormalization", 1, kAnyOpset, embed_layer_norm},
      {"com.microsoft", "GroupQueryAttention", 1, kAnyOpset, group_query_attention},
  };
}

}  // namespace tessera
