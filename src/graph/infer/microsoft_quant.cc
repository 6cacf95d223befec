// ONNX Runtime's quantized contrib ops (com.microsoft; schemas in
// graph/microsoft_quant_op_schemas.inc): MatMulNBits, DynamicQuantizeMatMul, MatMulIntegerToFloat,
// QGemm and the QLinear elementwise, pooling, concatenation and softmax ops.
#include "graph/infer/infer_rules.h"

namespace tessera {

namespace {

// A [..., K] -> Y [..., N]; the attribute K must match A's last dim when both are known.
Status matmul_nbits(InferContext& ctx) {
  const Dims* a = ctx.input_shape(0);
  if (!a || a->empty()) return Status::ok();
  const int64_t k = ctx.attr_int("K", -1), n = ctx.attr_int("N", -1);
  if (k > 0 && dims_differ(a->back(), fixed_dim(k)))
    return ctx.error("A ", dims_string(*a), " has a last dim other than the attribute K (", k, ")");
  Dims out = *a;
  out.back() = n > 0 ? fixed_dim(n) : unknown_dim();
  ctx.set_output(0, out);
  return Status::ok();
}

Status matmul_float(InferContext& ctx) {  // DynamicQuantizeMatMul, MatMulIntegerToFloat: A x B
  return matmul_shapes(ctx, 0, 1);
}

// QGemm: [M, N] from A (input 0) and B (input 3); float without y_scale, else y_zero_point's type
// (A's when it is omitted).
Status qgemm(InferContext& ctx) {
  DataType out_type = DataType::float32;
  if (ctx.has_input(7)) out_type = ctx.has_input(8) ? ctx.input_dtype(8) : ctx.input_dtype(0);
  const Dims* a = ctx.input_shape(0);
  const Dims* b = ctx.input_shape(3);
  if (!a || !b || a->size() != 2 || b->size() != 2) {
    ctx.set_output(0, std::nullopt, out_type);
    return Status::ok();
  }
  const bool ta = ctx.attr_int("transA", 0) != 0, tb = ctx.attr_int("transB", 0) != 0;
  if (dims_differ((*a)[ta ? 0 : 1], (*b)[tb ? 1 : 0]))
    return ctx.error("inner dimensions differ: A ", dims_string(*a), ta ? " (transposed)" : "", " x B ", dims_string(*b),
                     tb ? " (transposed)" : "");
  ctx.set_output(0, Dims{(*a)[ta ? 1 : 0], (*b)[tb ? 0 : 1]}, out_type);
  return Status::ok();
}

Status qlinear_binary(InferContext& ctx) {  // QLinearAdd, QLinearMul: A (0) and B (3) broadcast
  const Dims* a = ctx.input_shape(0);
  const Dims* b = ctx.input_shape(3);
  if (!a || !b) return Status::ok();
  TS_ASSIGN_OR_RETURN(Dims out, broadcast_dims(ctx, *a, *b));
  ctx.set_output(0, out);
  return Status::ok();
}

Status same_shape(InferContext& ctx) {  // QLinearSigmoid, QLinearLeakyRelu, QLinearSoftmax
  if (const Dims* s = ctx.input_shape(0)) ctx.set_output(0, *s);
  return Status::ok();
}

// [N, C, spatial...] -> [N, C, 1, ...]; channels_last: [N, spatial..., C] -> [N, 1, ..., C].
Status qlinear_global_average_pool(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  if (!x || x->size() < 3) return Status::ok();
  Dims out = *x;
  const bool last = ctx.attr_int("channels_last", 0) != 0;
  for (size_t k = last ? 1 : 2; k < out.size() - (last ? 1 : 0); ++k) out[k] = fixed_dim(1);
  ctx.set_output(0, out);
  return Status::ok();
}

// QLinearConcat(Y_scale, Y_zero_point, (X, X_scale, X_zero_point)...): the X are concatenated
// along `axis`.
Status qlinear_concat(InferContext& ctx) { return concat_shapes(ctx, 2, 3); }

}  // namespace

std::vector<InferRule> microsoft_quant_infer_rules() {
  return {
      {"com.microsoft", "MatMulNBits", 1, kAnyOpset, matmul_nbits},
      {"com.microsoft", "DynamicQuantizeMatMul", 1, kAnyOpset, matmul_float},
      {"com.microsoft", "MatMulIntegerToFloat", 1, kAnyOpset, matmul_float},
      {"com.microsoft", "QGemm", 1, kAnyOpset, qgemm},
      {"com.microsoft", "QLinearAdd", 1, kAnyOpset, qlinear_binary},
      {"com.microsoft", "QLinearMul", 1, kAnyOpset, qlinear_binary},
      {"com.microsoft", "QLinearSigmoid", 1, kAnyOpset, same_shape},
      {"com.microsoft", "QLinearLeakyRelu", 1, kAnyOpset, same_shape},
      {"com.microsoft", "QLinearSoftmax", 1, kAnyOpset, same_shape},
      {"com.microsoft", "QLinearGlobalAveragePool", 1, kAnyOpset, qlinear_global_average_pool},
      {"com.microsoft", "QLinearConcat", 1, kAnyOpset, qlinear_concat},
  };
}

}  // namespace tessera
