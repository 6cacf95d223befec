// Elementwise ops: unary (same shape as the input), binary and variadic with numpy broadcasting,
// Where, Cast/CastLike, and the ops whose output has the shape of their first input (Softmax,
// CumSum, Trilu, normalizations' main output, Scatter*). Shape values pass through the integer
// arithmetic that exporters put between Shape and Reshape.
#include <algorithm>

#include "graph/infer/infer_rules.h"

namespace tessera {

namespace {

// Output 0 (and any output the spec gives the same shape) has the shape of input 0.
Status same_as_input0(InferContext& ctx) {
  if (const Dims* s = ctx.input_shape(0)) ctx.set_output(0, *s);
  return Status::ok();
}

// Every output has the shape of input 0 (Dropout's mask, MaxPool-like pairs).
Status all_outputs_as_input0(InferContext& ctx) {
  if (const Dims* s = ctx.input_shape(0))
    for (size_t j = 0; j < ctx.num_outputs(); ++j)
      if (ctx.output(j).kind == TypeInfo::Kind::tensor || ctx.output(j).kind == TypeInfo::Kind::unknown) ctx.set_output(j, *s);
  return Status::ok();
}

Status identity(InferContext& ctx) {
  if (const TypeInfo* t = ctx.input_type(0)) ctx.set_output_type(0, *t);
  if (const ShapeValue* v = ctx.input_value(0)) ctx.set_output_value(0, *v);
  return Status::ok();
}

// Integer arithmetic on known shape values, elementwise with scalar broadcasting.
void arithmetic_value(InferContext& ctx) {
  const ShapeValue* a = ctx.input_value(0);
  const ShapeValue* b = ctx.input_value(1);
  if (!a || !b) return;
  const size_t n = std::max(a->elems.size(), b->elems.size());
  if ((a->elems.size() != n && a->elems.size() != 1) || (b->elems.size() != n && b->elems.size() != 1)) return;
  const std::string& op = ctx.node().op_type;
  ShapeValue out;
  out.scalar = a->scalar && b->scalar;
  for (size_t k = 0; k < n; ++k) {
    const ValueElem& x = a->elems[a->elems.size() == 1 ? 0 : k];
    const ValueElem& y = b->elems[b->elems.size() == 1 ? 0 : k];
    ValueElem r;
    if (x.known && y.known) {
      // Overflowing shape arithmetic (a crafted model) leaves the element unknown, never wraps.
      if (op == "Add") r.known = !__builtin_add_overflow(x.value, y.value, &r.value);
      else if (op == "Sub") r.known = !__builtin_sub_overflow(x.value, y.value, &r.value);
      else if (op == "Mul") r.known = !__builtin_mul_overflow(x.value, y.value, &r.value);
      else if (op == "Div" && y.value != 0 && !(x.value == INT64_MIN && y.value == -1)) {
        r.known = true;
        r.value = x.value / y.value;
      }
    } else if ((op == "Mul" || op == "Div") && y.known && y.value == 1) {
      r = x;
    } else if (op == "Mul" && x.known && x.value == 1) {
      r = y;
    } else if ((op == "Add" || op == "Sub") && y.known && y.value == 0) {
      r = x;
    }
    out.elems.push_back(r);
  }
  ctx.set_output_value(0, std::move(out));
}

Status broadcast_all(InferContext& ctx) {
  std::optional<Dims> out;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) continue;
    const Dims* s = ctx.input_shape(i);
    if (!s) {
      out.reset();
      // Still check the known ones against each other.
      for (size_t a = 0; a < ctx.num_inputs(); ++a)
        for (size_t b = a + 1; b < ctx.num_inputs(); ++b)
          if (ctx.input_shape(a) && ctx.input_shape(b)) TS_RETURN_IF_ERROR(broadcast_dims(ctx, *ctx.input_shape(a), *ctx.input_shape(b)).status());
      return Status::ok();
    }
    if (!out) {
      out = *s;
    } else {
      TS_ASSIGN_OR_RETURN(Dims d, broadcast_dims(ctx, *out, *s));
      out = std::move(d);
    }
  }
  if (out)
    for (size_t j = 0; j < ctx.num_outputs(); ++j) ctx.set_output(j, *out);
  return Status::ok();
}

Status binary(InferContext& ctx) {
  TS_RETURN_IF_ERROR(broadcast_all(ctx));
  arithmetic_value(ctx);
  return Status::ok();
}

// Equal on shape values, as exporters build `shape == -1` masks: a dim is never negative.
Status equal(InferContext& ctx) {
  TS_RETURN_IF_ERROR(broadcast_all(ctx));
  const ShapeValue* a = ctx.input_value(0);
  const ShapeValue* b = ctx.input_value(1);
  if (!a || !b) return Status::ok();
  const size_t n = std::max(a->elems.size(), b->elems.size());
  if ((a->elems.size() != n && a->elems.size() != 1) || (b->elems.size() != n && b->elems.size() != 1)) return Status::ok();
  ShapeValue out;
  out.scalar = a->scalar && b->scalar;
  for (size_t k = 0; k < n; ++k) {
    const ValueElem& x = a->elems[a->elems.size() == 1 ? 0 : k];
    const ValueElem& y = b->elems[b->elems.size() == 1 ? 0 : k];
    ValueElem r;
    if (x.known && y.known) r = known_elem(x.value == y.value);
    else if ((!x.known && !x.param.empty() && y.known && y.value < 0) || (!y.known && !y.param.empty() && x.known && x.value < 0))
      r = known_elem(0);
    else if (!x.known && !y.known && !x.param.empty() && x.param == y.param) r = known_elem(1);
    out.elems.push_back(r);
  }
  ctx.set_output_value(0, std::move(out));
  return Status::ok();
}

Status where(InferContext& ctx) {
  TS_RETURN_IF_ERROR(broadcast_all(ctx));
  // Where(cond, a, b) on values known before a run: exporters use it to replace -1 in shapes.
  const ShapeValue* c = ctx.input_value(0);
  const ShapeValue* a = ctx.input_value(1);
  const ShapeValue* b = ctx.input_value(2);
  std::optional<ShapeValue> from_constant;
  if (const Tensor* t = ctx.input_constant(0);
      !c && t && t->dtype() == DataType::boolean && t->rank() <= 1 && t->size() <= 64 && t->location().is_host()) {
    from_constant = ShapeValue{{}, t->rank() == 0};
    for (int64_t k = 0; k < t->size(); ++k) from_constant->elems.push_back(known_elem(t->data<bool>()[k] ? 1 : 0));
    c = &*from_constant;
  }
  if (!c || !a || !b) return Status::ok();
  const size_t n = std::max({c->elems.size(), a->elems.size(), b->elems.size()});
  for (const ShapeValue* v : {c, a, b})
    if (v->elems.size() != n && v->elems.size() != 1) return Status::ok();
  ShapeValue out;
  out.scalar = c->scalar && a->scalar && b->scalar;
  for (size_t k = 0; k < n; ++k) {
    const ValueElem& cond = c->elems[c->elems.size() == 1 ? 0 : k];
    if (!cond.known) out.elems.emplace_back();
    else out.elems.push_back(cond.value ? a->elems[a->elems.size() == 1 ? 0 : k] : b->elems[b->elems.size() == 1 ? 0 : k]);
  }
  ctx.set_output_value(0, std::move(out));
  return Status::ok();
}

// Before opset 7, binary ops broadcast B onto A (attribute broadcast/axis): the result has A's shape.
Status legacy_binary(InferContext& ctx) { return same_as_input0(ctx); }

Status cast(InferContext& ctx) {
  const auto to = static_cast<DataType>(ctx.attr_int("to", 0));
  ctx.set_output(0, ctx.input_shape(0) ? std::optional<Dims>(*ctx.input_shape(0)) : std::nullopt, to);
  if (const ShapeValue* v = ctx.input_value(0); v && (to == DataType::int64 || to == DataType::int32))
    ctx.set_output_value(0, *v);
  return Status::ok();
}

Status cast_like(InferContext& ctx) {
  ctx.set_output(0, ctx.input_shape(0) ? std::optional<Dims>(*ctx.input_shape(0)) : std::nullopt, ctx.input_dtype(1));
  return Status::ok();
}

Status is_test(InferContext& ctx) {  // IsNaN, IsInf: bool of the input's shape
  ctx.set_output(0, ctx.input_shape(0) ? std::optional<Dims>(*ctx.input_shape(0)) : std::nullopt, DataType::boolean);
  return Status::ok();
}

// NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss: a scalar when reduced, else the target's
// shape; SoftmaxCrossEntropyLoss's log_prob has the scores' shape.
Status loss(InferContext& ctx) {
  if (ctx.attr_string("reduction", "mean") != "none") ctx.set_output(0, Dims{});
  else if (const Dims* target = ctx.input_shape(1)) ctx.set_output(0, *target);
  if (ctx.num_outputs() > 1)
    if (const Dims* scores = ctx.input_shape(0)) ctx.set_output(1, *scores);
  return Status::ok();
}

}  // namespace

std::vector<InferRule> elementwise_infer_rules() {
  std::vector<InferRule> rules;
  for (const char* op : {"Abs", "Neg", "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Reciprocal", "Floor", "Ceil",
                         "Round", "Sign", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh",
                         "Atanh", "Erf", "Gelu", "Elu", "Selu", "LeakyRelu", "HardSigmoid", "HardSwish", "Softplus",
                         "Softsign", "Mish", "ThresholdedRelu", "Celu", "Shrink", "Not", "BitwiseNot", "Clip", "Softmax",
                         "LogSoftmax", "Hardmax", "CumSum", "Trilu", "LRN", "MeanVarianceNormalization",
                         "InstanceNormalization", "GroupNormalization", "LpNormalization", "Scatter", "ScatterElements",
                         "ScatterND", "Swish", "ReverseSequence", "Bernoulli", "RandomNormalLike", "RandomUniformLike",
                         "CumProd", "RMSNormalization"})
    rules.push_back({"", op, 1, kAnyOpset, same_as_input0});
  for (const char* op : {"Binarizer", "Scaler", "Normalizer", "Imputer"}) rules.push_back({"ai.onnx.ml", op, 1, kAnyOpset, same_as_input0});
  // Fused ops of the optimizer (docs/fused_ops.md) with the semantics of the ONNX op of that name.
  for (const char* op : {"Gelu", "RMSNormalization"}) rules.push_back({"com.tessera", op, 1, kAnyOpset, same_as_input0});
  // Squeeze-and-excitation scales its blocked input in place: the same shape.
  rules.push_back({"com.tessera", "BlockedSqueezeExcite", 1, kAnyOpset, same_as_input0});
  for (const char* op : {"Gelu", "FastGelu", "BiasGelu", "QuickGelu", "BiasAdd", "RotaryEmbedding"})
    rules.push_back({"com.microsoft", op, 1, kAnyOpset, same_as_input0});  // infer/microsoft.cc has the others
  rules.push_back({"", "Identity", 1, kAnyOpset, identity});
  rules.push_back({"", "NegativeLogLikelihoodLoss", 12, kAnyOpset, loss});
  rules.push_back({"", "SoftmaxCrossEntropyLoss", 12, kAnyOpset, loss});
  rules.push_back({"", "Dropout", 1, kAnyOpset, all_outputs_as_input0});
  for (const char* op : {"Add", "Sub", "Mul", "Div"}) {
    rules.push_back({"", op, 1, 6, legacy_binary});
    rules.push_back({"", op, 7, kAnyOpset, binary});
  }
  rules.push_back({"", "Equal", 1, 6, legacy_binary});
  rules.push_back({"", "Equal", 7, kAnyOpset, equal});
  for (const char* op : {"And", "Or", "Xor", "Less", "Greater"}) {
    rules.push_back({"", op, 1, 6, legacy_binary});
    rules.push_back({"", op, 7, kAnyOpset, broadcast_all});
  }
  rules.push_back({"", "Pow", 1, 6, legacy_binary});
  rules.push_back({"", "Pow", 7, kAnyOpset, broadcast_all});
  rules.push_back({"", "PRelu", 1, 6, same_as_input0});
  rules.push_back({"", "PRelu", 7, kAnyOpset, broadcast_all});
  for (const char* op : {"Mod", "LessOrEqual", "GreaterOrEqual", "BitShift", "BitwiseAnd", "BitwiseOr", "BitwiseXor"})
    rules.push_back({"", op, 1, kAnyOpset, broadcast_all});
  for (const char* op : {"Max", "Min", "Sum", "Mean"}) {
    rules.push_back({"", op, 8, kAnyOpset, broadcast_all});
  }
  rules.push_back({"", "Where", 9, kAnyOpset, where});
  rules.push_back({"", "Cast", 1, kAnyOpset, cast});
  rules.push_back({"", "CastLike", 15, kAnyOpset, cast_like});
  for (const char* op : {"IsNaN", "IsInf"}) rules.push_back({"", op, 1, kAnyOpset, is_test});
  return rules;
}

}  // namespace tessera
