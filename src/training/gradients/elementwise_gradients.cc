// Gradients of the elementwise math ops. Binary ops broadcast, so each input's gradient is summed
// back to the input's shape (GradientContext::reduce_to).
#include "training/gradients/families.h"

namespace tessera {
namespace {

// Sets input i's gradient from `grad`, computed in the shape of output 0.
Status set_reduced(GradientContext& ctx, size_t i, const std::string& grad) {
  TS_ASSIGN_OR_RETURN(std::string reduced, ctx.reduce_to(grad, ctx.output(0), ctx.input(i)));
  ctx.set_input_grad(i, reduced);
  return Status::ok();
}

Status add_grad(GradientContext& ctx) {
  const std::string& g = ctx.output_grad(0);
  for (size_t i : {0u, 1u})
    if (ctx.wants(i)) TS_RETURN_IF_ERROR(set_reduced(ctx, i, g));
  return Status::ok();
}

Status sub_grad(GradientContext& ctx) {
  const std::string& g = ctx.output_grad(0);
  if (ctx.wants(0)) TS_RETURN_IF_ERROR(set_reduced(ctx, 0, g));
  if (ctx.wants(1)) TS_RETURN_IF_ERROR(set_reduced(ctx, 1, ctx.add("Neg", {g})));
  return Status::ok();
}

Status mul_grad(GradientContext& ctx) {
  const std::string& g = ctx.output_grad(0);
  if (ctx.wants(0)) TS_RETURN_IF_ERROR(set_reduced(ctx, 0, ctx.add("Mul", {g, ctx.input(1)})));
  if (ctx.wants(1)) TS_RETURN_IF_ERROR(set_reduced(ctx, 1, ctx.add("Mul", {g, ctx.input(0)})));
  return Status::ok();
}

// y = a / b: da = g / b, db = -g * y / b.
Status div_grad(GradientContext& ctx) {
  const std::string& g = ctx.output_grad(0);
  if (ctx.wants(0)) TS_RETURN_IF_ERROR(set_reduced(ctx, 0, ctx.add("Div", {g, ctx.input(1)})));
  if (ctx.wants(1)) {
    std::string gy_over_b = ctx.add("Div", {ctx.add("Mul", {g, ctx.output(0)}), ctx.input(1)});
    TS_RETURN_IF_ERROR(set_reduced(ctx, 1, ctx.add("Neg", {gy_over_b})));
  }
  return Status::ok();
}

Status neg_grad(GradientContext& ctx) {
  if (ctx.wants(0)) ctx.set_input_grad(0, ctx.add("Neg", {ctx.output_grad(0)}));
  return Status::ok();
}

// y = a^b: da = g * b * a^(b-1), db = g * y * ln(a).
Status pow_grad(GradientContext& ctx) {
  const std::string& g = ctx.output_grad(0);
  TS_ASSIGN_OR_RETURN(DataType a_type, ctx.dtype(ctx.input(0)));
  TS_ASSIGN_OR_RETURN(DataType b_type, ctx.dtype(ctx.input(1)));
  if (ctx.wants(0)) {
    TS_ASSIGN_OR_RETURN(std::string one, ctx.scalar(a_type, 1.0));
    std::string b = b_type == a_type ? ctx.input(1) : ctx.add("Cast", {ctx.input(1)}, {int_attr("to", static_cast<int64_t>(a_type))});
    std::string a_pow = ctx.add("Pow", {ctx.input(0), ctx.add("Sub", {b, one})});
    TS_RETURN_IF_ERROR(set_reduced(ctx, 0, ctx.add("Mul", {ctx.add("Mul", {g, b}), a_pow})));
  }
  if (ctx.wants(1)) {
    if (b_type != a_type) return ctx.unsupported("the exponent's gradient needs the base's element type");
    TS_RETURN_IF_ERROR(set_reduced(ctx, 1, ctx.add("Mul", {ctx.add("Mul", {g, ctx.output(0)}), ctx.add("Log", {ctx.input(0)})})));
  }
  return Status::ok();
}

// y = sqrt(a): da = g / (2 y).
Status sqrt_grad(GradientContext& ctx) {
  if (!ctx.wants(0)) return Status::ok();
  TS_ASSIGN_OR_RETURN(DataType type, ctx.dtype(ctx.input(0)));
  TS_ASSIGN_OR_RETURN(std::string half, ctx.scalar(type, 0.5));
  ctx.set_input_grad(0, ctx.add("Div", {ctx.add("Mul", {ctx.output_grad(0), half}), ctx.output(0)}));
  return Status::ok();
}

Status exp_grad(GradientContext& ctx) {
  if (ctx.wants(0)) ctx.set_input_grad(0, ctx.add("Mul", {ctx.output_grad(0), ctx.output(0)}));
  return Status::ok();
}

Status log_grad(GradientContext& ctx) {
  if (ctx.wants(0)) ctx.set_input_grad(0, ctx.add("Div", {ctx.output_grad(0), ctx.input(0)}));
  return Status::ok();
}

// y = where(c, a, b): the gradient goes to a where c holds, to b elsewhere.
Status where_grad(GradientContext& ctx) {
  const std::string& g = ctx.output_grad(0);
  TS_ASSIGN_OR_RETURN(DataType type, ctx.dtype(ctx.output(0)));
  TS_ASSIGN_OR_RETURN(std::string zero, ctx.scalar(type, 0.0));
  if (ctx.wants(1)) TS_RETURN_IF_ERROR(set_reduced(ctx, 1, ctx.add("Where", {ctx.input(0), g, zero})));
  if (ctx.wants(2)) TS_RETURN_IF_ERROR(set_reduced(ctx, 2, ctx.add("Where", {ctx.input(0), zero, g})));
  return Status::ok();
}

constexpr GradientEntry kEntries[] = {
    {"", "Add", add_grad},   {"", "Sub", sub_grad},   {"", "Mul", mul_grad}, {"", "Div", div_grad},
    {"", "Neg", neg_grad},   {"", "Pow", pow_grad},   {"", "Sqrt", sqrt_grad}, {"", "Exp", exp_grad},
    {"", "Log", log_grad},   {"", "Where", where_grad},
};

}  // namespace

bool register_elementwise_gradients(GradientRegistry& registry) { return registry.add(kEntries); }

}  // namespace tessera
