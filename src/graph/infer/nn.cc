// Convolution and pooling (through the one geometry, conv_geometry.h), normalizations,
// DepthToSpace/SpaceToDepth, Resize/Upsample.
#include <cmath>

#include "graph/conv_geometry.h"
#include "graph/infer/infer_rules.h"

namespace tessera {

namespace {

// Fixed spatial dims (from index 2), or nullopt when one is not fixed.
std::optional<std::vector<int64_t>> spatial(const Dims& dims) {
  std::vector<int64_t> out;
  for (size_t k = 2; k < dims.size(); ++k) {
    if (!dims[k].is_fixed()) return std::nullopt;
    out.push_back(dims[k].value);
  }
  return out;
}

// Conv-like: x [N, C, spatial...], w [M, C/group, kernel...] -> [N, M, out...]. `x_name` names
// the input in errors.
Result<Dims> conv_output(InferContext& ctx, const Dims& x, const Dims* w, const std::string& x_name, bool transpose) {
  TS_ASSIGN_OR_RETURN(ConvAttributes attrs, parse_conv_attributes(ctx.node()));
  Dims out(x.size());
  out[0] = x[0];
  if (w && w->size() == x.size()) {
    if (!transpose) {
      out[1] = (*w)[0];
      const Dim& in_c = x[1];
      const Dim& w_c = (*w)[1];
      const Dim taken = scaled_dim(w_c, attrs.group);
      if (in_c.is_fixed() && w_c.is_fixed() && (!taken.is_fixed() || in_c.value != taken.value))
        return ctx.error("input ", x_name, " has ", in_c.value, " channels, but the weights ", dims_string(*w),
                         " with group ", attrs.group, " take ",
                         taken.is_fixed() ? std::to_string(taken.value) : std::string("more than 2^63"));
    } else {
      out[1] = scaled_dim((*w)[1], attrs.group);
    }
  }
  auto in_sp = spatial(x);
  std::optional<std::vector<int64_t>> k_sp;
  if (w && w->size() == x.size()) k_sp = spatial(*w);
  if (!k_sp && attrs.kernel_shape.size() == x.size() - 2) k_sp = attrs.kernel_shape;
  if (transpose && !attrs.output_shape.empty() && attrs.output_shape.size() >= x.size() - 2) {
    const size_t skip = attrs.output_shape.size() - (x.size() - 2);
    for (size_t k = 2; k < x.size(); ++k) out[k] = fixed_dim(attrs.output_shape[skip + k - 2]);
    return out;
  }
  if (in_sp && k_sp) {
    auto g = transpose ? transpose_geometry(attrs, *in_sp, *k_sp) : window_geometry(attrs, *in_sp, *k_sp);
    if (!g.is_ok()) return ctx.error(g.status().message());
    for (size_t k = 2; k < x.size(); ++k) out[k] = fixed_dim(g->output[k - 2]);
  }
  return out;
}

Status conv_impl(InferContext& ctx, size_t x_index, size_t w_index, bool transpose) {
  const Dims* x = ctx.input_shape(x_index);
  if (!x || x->size() < 3) return Status::ok();
  TS_ASSIGN_OR_RETURN(Dims out, conv_output(ctx, *x, ctx.input_shape(w_index), ctx.node().inputs[x_index], transpose));
  ctx.set_output(0, out);
  return Status::ok();
}

Status conv(InferContext& ctx) { return conv_impl(ctx, 0, 1, false); }
Status qlinear_conv(InferContext& ctx) { return conv_impl(ctx, 0, 3, false); }
Status conv_transpose(InferContext& ctx) { return conv_impl(ctx, 0, 1, true); }

// [N, C, out...] of a pooling window over x [N, C, spatial...]; `unpool` inverts the window
// (MaxUnpool). Spatial dims stay unknown unless all of x's are fixed.
Result<Dims> pooled_shape(InferContext& ctx, const Dims& x, bool unpool) {
  TS_ASSIGN_OR_RETURN(ConvAttributes attrs, parse_conv_attributes(ctx.node()));
  Dims out(x.size());
  out[0] = x[0];
  out[1] = x[1];
  if (auto in_sp = spatial(x)) {
    auto g = unpool ? transpose_geometry(attrs, *in_sp) : window_geometry(attrs, *in_sp);
    if (!g.is_ok()) return ctx.error(g.status().message());
    for (size_t k = 2; k < x.size(); ++k) out[k] = fixed_dim(g->output[k - 2]);
  }
  return out;
}

// Pools: the same shape for every output (MaxPool's Indices too).
Status pool(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  if (!x || x->size() < 3) return Status::ok();
  TS_ASSIGN_OR_RETURN(Dims out, pooled_shape(ctx, *x, false));
  for (size_t j = 0; j < ctx.num_outputs(); ++j) ctx.set_output(j, out);
  return Status::ok();
}

Status max_unpool(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  if (ctx.has_input(2)) {
    if (auto s = ctx.input_ints(2)) ctx.set_output(0, fixed_dims(*s));
    return Status::ok();
  }
  if (!x || x->size() < 3) return Status::ok();
  TS_ASSIGN_OR_RETURN(Dims out, pooled_shape(ctx, *x, true));
  ctx.set_output(0, out);
  return Status::ok();
}

Status global_pool(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  if (!x || x->size() < 2) return Status::ok();
  Dims out = *x;
  for (size_t k = 2; k < out.size(); ++k) out[k] = fixed_dim(1);
  ctx.set_output(0, out);
  return Status::ok();
}

// Y has X's shape; the training-mode outputs (running mean/var) have the scale's.
Status batch_norm(InferContext& ctx) {
  if (const Dims* x = ctx.input_shape(0)) ctx.set_output(0, *x);
  if (const Dims* c = ctx.input_shape(1))
    for (size_t j = 1; j < ctx.num_outputs(); ++j) ctx.set_output(j, *c);
  return Status::ok();
}

// Y has X's shape; Mean and InvStdDev keep the dims before `axis` and are 1 after.
Status layer_norm(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  if (!x) return Status::ok();
  ctx.set_output(0, *x);
  TS_ASSIGN_OR_RETURN(int64_t axis, ctx.axis(ctx.attr_int("axis", -1), static_cast<int64_t>(x->size())));
  Dims stat = *x;
  for (size_t k = static_cast<size_t>(axis); k < stat.size(); ++k) stat[k] = fixed_dim(1);
  // Mean and InvStdDev are computed in stash_type (float by default).
  const auto stash = static_cast<DataType>(ctx.attr_int("stash_type", 1));
  for (size_t j = 1; j < ctx.num_outputs(); ++j) ctx.set_output(j, stat, stash);
  return Status::ok();
}

Status depth_to_space(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  if (!x || x->size() != 4) return Status::ok();
  const int64_t b = ctx.attr_int("blocksize", 1);
  if (b <= 0) return ctx.error("blocksize must be positive, got ", b);
  const bool to_space = ctx.node().op_type == "DepthToSpace";
  // Growing dims go through product_dim: a crafted blocksize can push them past int64 (unknown
  // then, and the kernel refuses the run); b * b itself may overflow too.
  const Dim block = fixed_dim(b);
  const Dim area = product_dim({block, block}, 0, 2);
  auto grow = [&](const Dim& d, const Dim& by) { return d.is_fixed() && by.is_fixed() ? product_dim({d, by}, 0, 2) : unknown_dim(); };
  auto shrink = [&](const Dim& d, const Dim& by) { return d.is_fixed() && by.is_fixed() ? fixed_dim(d.value / by.value) : unknown_dim(); };
  Dims out = *x;
  out[1] = to_space ? shrink((*x)[1], area) : grow((*x)[1], area);
  out[2] = to_space ? grow((*x)[2], block) : shrink((*x)[2], block);
  out[3] = to_space ? grow((*x)[3], block) : shrink((*x)[3], block);
  ctx.set_output(0, out);
  return Status::ok();
}

// out = floor(in * scale) per axis, or the sizes given.
Status resize_impl(InferContext& ctx, std::optional<std::vector<double>> scales, std::optional<std::vector<int64_t>> sizes) {
  const Dims* x = ctx.input_shape(0);
  if (!x) return Status::ok();
  const size_t rank = x->size();
  std::vector<int64_t> axes;
  if (auto a = ctx.attr_ints("axes")) {
    for (int64_t v : *a) {
      TS_ASSIGN_OR_RETURN(int64_t axis, ctx.axis(v, static_cast<int64_t>(rank)));
      axes.push_back(axis);
    }
  } else {
    for (size_t k = 0; k < rank; ++k) axes.push_back(static_cast<int64_t>(k));
  }
  Dims out = *x;
  if (sizes && !sizes->empty()) {
    if (sizes->size() != axes.size()) return Status::ok();
    if (ctx.attr_string("keep_aspect_ratio_policy", "stretch") != "stretch") {
      ctx.set_output(0, Dims(rank));
      return Status::ok();
    }
    for (size_t k = 0; k < axes.size(); ++k) out[axes[k]] = fixed_dim((*sizes)[k]);
  } else if (scales && !scales->empty()) {
    if (scales->size() != axes.size()) return Status::ok();
    for (size_t k = 0; k < axes.size(); ++k) {
      const Dim& d = (*x)[axes[k]];
      const double size = std::floor(static_cast<double>(d.value) * (*scales)[k] + 1e-9);
      // A crafted scale past int64 (or NaN) leaves the dim unknown; the kernel refuses it.
      const bool fits = size >= 0 && size < 0x1p62;
      out[axes[k]] = d.is_fixed() ? (fits ? fixed_dim(static_cast<int64_t>(size)) : unknown_dim())
                                  : ((*scales)[k] == 1.0 ? d : unknown_dim());
    }
  } else {
    out = Dims(rank);
  }
  ctx.set_output(0, out);
  return Status::ok();
}

Status resize(InferContext& ctx) {  // opset 11+: X, roi, scales, sizes
  std::optional<std::vector<double>> scales;
  std::optional<std::vector<int64_t>> sizes;
  if (ctx.has_input(3)) {
    sizes = ctx.input_ints(3);
    if (!sizes) {
      if (const Dims* x = ctx.input_shape(0)) ctx.set_output(0, Dims(x->size()));
      return Status::ok();
    }
  }
  if (!sizes || sizes->empty()) {
    if (ctx.has_input(2)) scales = ctx.input_doubles(2);
    if (!scales) {
      if (const Dims* x = ctx.input_shape(0)) ctx.set_output(0, Dims(x->size()));
      return Status::ok();
    }
  }
  return resize_impl(ctx, scales, sizes);
}

Status resize10(InferContext& ctx) {  // Resize-10 and Upsample-9: X, scales
  auto scales = ctx.input_doubles(1);
  if (!scales) {
    if (const Dims* x = ctx.input_shape(0)) ctx.set_output(0, Dims(x->size()));
    return Status::ok();
  }
  return resize_impl(ctx, scales, std::nullopt);
}

Status upsample7(InferContext& ctx) {
  const Attribute* a = ctx.node().attribute("scales");
  if (!a) return Status::ok();
  return resize_impl(ctx, std::vector<double>(a->floats.begin(), a->floats.end()), std::nullopt);
}

// RNN, GRU, LSTM: X is [seq, batch, input] ([batch, seq, input] with layout 1). Y is
// [seq, directions, batch, hidden] ([batch, seq, directions, hidden]); Y_h and LSTM's Y_c are
// [directions, batch, hidden] ([batch, directions, hidden]).
Status recurrent(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  if (!x || x->size() != 3) return Status::ok();
  const bool batch_major = ctx.attr_int("layout", 0) != 0;
  const Dim seq = (*x)[batch_major ? 1 : 0], batch = (*x)[batch_major ? 0 : 1];
  const std::string direction = ctx.attr_string("direction", "forward");
  const Dim dirs = fixed_dim(direction == "bidirectional" ? 2 : 1);
  Dim hidden;
  if (ctx.has_attr("hidden_size")) hidden = fixed_dim(ctx.attr_int("hidden_size", 0));
  ctx.set_output(0, batch_major ? Dims{batch, seq, dirs, hidden} : Dims{seq, dirs, batch, hidden});
  for (size_t j = 1; j < ctx.num_outputs(); ++j) ctx.set_output(j, batch_major ? Dims{batch, dirs, hidden} : Dims{dirs, batch, hidden});
  return Status::ok();
}

Dim divide_dim(const Dim& d, int64_t by) { return d.is_fixed() && by > 0 && d.value % by == 0 ? fixed_dim(d.value / by) : unknown_dim(); }

// Attention (opset 23): Q, K, V as [B, heads, S, head] or [B, S, heads * head] (then
// q_num_heads and kv_num_heads say how many). Y has Q's layout with V's head size; present_key
// and present_value are [B, kv_heads, past + S_kv, head]; qk_matmul_output is
// [B, q_heads, S_q, past + S_kv].
Status attention(InferContext& ctx) {
  const Dims* q = ctx.input_shape(0);
  const Dims* k = ctx.input_shape(1);
  const Dims* v = ctx.input_shape(2);
  if (!q || !k || !v || q->size() != k->size() || q->size() != v->size() || (q->size() != 3 && q->size() != 4)) return Status::ok();
  Dim batch = (*q)[0], q_heads, q_seq, kv_heads, kv_seq, k_head, v_head;
  if (q->size() == 4) {
    q_heads = (*q)[1], q_seq = (*q)[2], kv_heads = (*k)[1], kv_seq = (*k)[2], k_head = (*k)[3], v_head = (*v)[3];
    ctx.set_output(0, Dims{batch, q_heads, q_seq, v_head});
  } else {
    const int64_t qn = ctx.attr_int("q_num_heads", 0), kvn = ctx.attr_int("kv_num_heads", 0);
    if (qn <= 0 || kvn <= 0) return Status::ok();
    q_heads = fixed_dim(qn), q_seq = (*q)[1], kv_heads = fixed_dim(kvn), kv_seq = (*k)[1];
    k_head = divide_dim((*k)[2], kvn), v_head = divide_dim((*v)[2], kvn);
    ctx.set_output(0, Dims{batch, q_seq, scaled_dim(v_head, qn)});
  }
  Dim total = kv_seq;
  if (ctx.has_input(4)) {
    const Dims* past = ctx.input_shape(4);
    total = past && past->size() == 4 ? sum_dim((*past)[2], kv_seq) : unknown_dim();
  }
  if (ctx.num_outputs() > 1) ctx.set_output(1, Dims{batch, kv_heads, total, k_head});
  if (ctx.num_outputs() > 2) ctx.set_output(2, Dims{batch, kv_heads, total, v_head});
  if (ctx.num_outputs() > 3) ctx.set_output(3, Dims{batch, q_heads, q_seq, total});
  return Status::ok();
}

// com.tessera SkipLayerNormalization: Y and the sum S have the shape of A + B.
Status skip_layer_norm(InferContext& ctx) {
  const Dims* a = ctx.input_shape(0);
  const Dims* b = ctx.input_shape(1);
  if (!a || !b) return Status::ok();
  TS_ASSIGN_OR_RETURN(Dims sum, broadcast_dims(ctx, *a, *b));
  for (size_t j = 0; j < ctx.num_outputs(); ++j) ctx.set_output(j, sum);
  return Status::ok();
}

// com.tessera Attention: Q [B, Sq, ...], V [B, Sk, ...] give Y [B, Sq, H, Dv], Dv the product of
// V's trailing dims / H; with sequence_first, Q [Sq, B, ...] and V [Sk, B, ...] give [Sq, B*H, Dv].
// Without K and V, Q holds Q, K and V packed: V's head size is a third of Q's row over the heads.
Status tessera_attention(InferContext& ctx) {
  const Dims* q = ctx.input_shape(0);
  const bool packed = !ctx.has_input(1);
  const Dims* v = packed ? q : ctx.input_shape(2);
  if (!q || !v || q->size() < 2 || v->size() < 2) return Status::ok();
  const int64_t heads = ctx.attr_int("num_heads", 0);
  const Dim h = heads > 0 ? fixed_dim(heads) : unknown_dim();
  const Dim dv = divide_dim(product_dim(*v, 2, v->size()), packed ? 3 * heads : heads);
  if (ctx.attr_int("sequence_first", 0) != 0)
    ctx.set_output(0, Dims{(*q)[0], product_dim(Dims{(*q)[1], h}, 0, 2), dv});
  else
    ctx.set_output(0, Dims{(*q)[0], (*q)[1], h, dv});
  return Status::ok();
}

// The blocked channel layout (com.tessera, docs/fused_ops.md): [N, C, spatial...] is stored as
// [N, ceil(C / block), spatial..., block].
Dims blocked_dims(const Dims& nchw, int64_t block) {
  Dims out = nchw;
  out[1] = nchw[1].is_fixed() ? fixed_dim(nchw[1].value / block + (nchw[1].value % block != 0)) : unknown_dim();
  out.push_back(fixed_dim(block));
  return out;
}

Status reorder_to_blocked(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  const int64_t block = ctx.attr_int("block", 0);
  if (x && x->size() >= 2 && block > 0) ctx.set_output(0, blocked_dims(*x, block));
  return Status::ok();
}

Status reorder_from_blocked(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  if (!x || x->size() < 3) return Status::ok();
  Dims out(x->begin(), x->end() - 1);
  out[1] = fixed_dim(ctx.attr_int("channels", 0));
  ctx.set_output(0, out);
  return Status::ok();
}

// BlockedConv: the convolution of the NCHW image its input holds (C from the weights), blocked.
Status blocked_conv(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  const Dims* w = ctx.input_shape(1);
  const int64_t block = ctx.attr_int("block", 0);
  const bool nchw_input = ctx.attr_int("nchw_input", 0) != 0;
  if (!x || !w || w->size() != 4 || block <= 0 || x->size() != (nchw_input ? 4u : 5u)) return Status::ok();
  Dims image{(*x)[0], unknown_dim(), (*x)[2], (*x)[3]};
  image[1] = scaled_dim((*w)[1], ctx.attr_int("group", 1));
  TS_ASSIGN_OR_RETURN(Dims out, conv_output(ctx, image, w, ctx.node().inputs[0], false));
  ctx.set_output(0, blocked_dims(out, block));
  return Status::ok();
}

Status blocked_pool(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  if (!x || x->size() != 5) return Status::ok();
  const std::string pool = ctx.attr_string("pool", "");
  Dims out = *x;
  if (pool == "GlobalAveragePool" || pool == "GlobalMaxPool") {
    out[2] = out[3] = fixed_dim(1);
  } else {
    TS_ASSIGN_OR_RETURN(Dims pooled, pooled_shape(ctx, Dims(x->begin(), x->end() - 1), false));
    pooled.push_back((*x)[4]);
    out = std::move(pooled);
  }
  ctx.set_output(0, out);
  return Status::ok();
}

// The training gradient kernels (docs/fused_ops.md): dX is shaped like X (input 1; ActivationGrad's
// Y); the batch-norm parameters' gradients are [C]; ConvWeightGrad's dW is [M, C/group,
// kernel...], M being dY's channels.
Status like_x_grad(InferContext& ctx) {
  const Dims* x = ctx.input_shape(1);
  if (!x) return Status::ok();
  ctx.set_output(0, *x);
  for (size_t j = 1; j < ctx.num_outputs() && x->size() >= 2; ++j) ctx.set_output(j, Dims{(*x)[1]});
  return Status::ok();
}

Status conv_weight_grad(InferContext& ctx) {
  const Dims *dy = ctx.input_shape(0), *x = ctx.input_shape(1);
  const std::optional<std::vector<int64_t>> kernel = ctx.attr_ints("kernel_shape");
  if (!dy || !x || !kernel || dy->size() < 2 || x->size() != kernel->size() + 2) return Status::ok();
  const int64_t group = ctx.attr_int("group", 1);
  Dims out{(*dy)[1], (*x)[1].is_fixed() && group > 0 ? fixed_dim((*x)[1].value / group) : Dim{}};
  for (int64_t k : *kernel) out.push_back(fixed_dim(k));
  ctx.set_output(0, out);
  return Status::ok();
}

// LinearGrad (a Linear layer's backward, Y = X W^T + b): dX like X [M, K], dW [N, K] and db [N],
// N being dY's columns.
Status linear_grad(InferContext& ctx) {
  const Dims *dy = ctx.input_shape(0), *x = ctx.input_shape(1);
  if (x) ctx.set_output(0, *x);
  if (!dy || dy->size() != 2) return Status::ok();
  ctx.set_output(1, x && x->size() == 2 ? Dims{(*dy)[1], (*x)[1]} : std::optional<Dims>{});
  if (ctx.num_outputs() > 2) ctx.set_output(2, Dims{(*dy)[1]});
  return Status::ok();
}

}  // namespace

std::vector<InferRule> nn_infer_rules() {
  std::vector<InferRule> rules{
      {"", "Conv", 1, kAnyOpset, conv},
      {"", "ConvInteger", 10, kAnyOpset, conv},
      {"com.tessera", "FusedConv", 1, kAnyOpset, conv},  // Conv + optional sum + activation (docs/fused_ops.md)
      {"com.microsoft", "FusedConv", 1, kAnyOpset, conv},
      {"", "QLinearConv", 10, kAnyOpset, qlinear_conv},
      {"", "ConvTranspose", 1, kAnyOpset, conv_transpose},
      {"", "MaxPool", 1, kAnyOpset, pool},
      {"", "AveragePool", 1, kAnyOpset, pool},
      {"", "LpPool", 1, kAnyOpset, pool},
      {"", "MaxUnpool", 9, kAnyOpset, max_unpool},
      {"", "GlobalAveragePool", 1, kAnyOpset, global_pool},
      {"", "GlobalMaxPool", 1, kAnyOpset, global_pool},
      {"", "GlobalLpPool", 1, kAnyOpset, global_pool},
      {"", "BatchNormalization", 1, kAnyOpset, batch_norm},
      {"", "LayerNormalization", 1, 16, layer_norm},  // ONNX Runtime's contrib op before ONNX had it
      {"", "LayerNormalization", 17, kAnyOpset, layer_norm},
      {"", "SimplifiedLayerNormalization", 1, kAnyOpset, layer_norm},  // ONNX Runtime's contrib RMS norm
      {"com.tessera", "LayerNormalization", 1, kAnyOpset, layer_norm},
      {"com.tessera", "SkipLayerNormalization", 1, kAnyOpset, skip_layer_norm},
      {"com.tessera", "Attention", 1, kAnyOpset, tessera_attention},
      {"com.tessera", "ReorderToBlocked", 1, kAnyOpset, reorder_to_blocked},
      {"com.tessera", "ReorderFromBlocked", 1, kAnyOpset, reorder_from_blocked},
      {"com.tessera", "BlockedConv", 1, kAnyOpset, blocked_conv},
      {"com.tessera", "BlockedPool", 1, kAnyOpset, blocked_pool},
      {"com.tessera", "BatchNormalizationGrad", 1, kAnyOpset, like_x_grad},
      {"com.tessera", "MaxPoolGrad", 1, kAnyOpset, like_x_grad},
      {"com.tessera", "ActivationGrad", 1, kAnyOpset, like_x_grad},
      {"com.tessera", "ConvWeightGrad", 1, kAnyOpset, conv_weight_grad},
      {"com.tessera", "LinearGrad", 1, kAnyOpset, linear_grad},
      {"", "DepthToSpace", 1, kAnyOpset, depth_to_space},
      {"", "SpaceToDepth", 1, kAnyOpset, depth_to_space},
      {"", "Resize", 10, 10, resize10},
      {"", "Resize", 11, kAnyOpset, resize},
      {"", "Upsample", 7, 8, upsample7},
      {"", "Upsample", 9, 9, resize10},
      {"", "RNN", 7, kAnyOpset, recurrent},
      {"", "GRU", 7, kAnyOpset, recurrent},
      {"", "LSTM", 7, kAnyOpset, recurrent},
      {"", "Attention", 23, kAnyOpset, attention},
  };
  return rules;
}

}  // namespace tessera
