// Gradients of the activations and of Softmax / LogSoftmax, written from their outputs where the
// derivative is a function of the output (Relu, Sigmoid, Tanh, Softmax), so the input need not be kept.
#include <algorithm>
#include <cmath>

#include "training/gradients/families.h"

namespace tessera {
namespace {

// float and double gradients of Relu, Sigmoid and Tanh are one com.tessera ActivationGrad node
// (docs/fused_ops.md) in place of the two or three elementwise nodes below, which other element
// types keep.
Result<bool> fused_activation_grad(GradientContext& ctx, DataType type) {
  if (type != DataType::float32 && type != DataType::float64) return false;
  ctx.set_input_grad(0, ctx.writer().add_kernel("ActivationGrad", {ctx.output_grad(0), ctx.output(0)}, 1,
                                                {string_attr("activation", ctx.node().op_type)})[0]);
  return true;
}

// dx = g where y > 0.
Status relu_grad(GradientContext& ctx) {
  if (!ctx.wants(0)) return Status::ok();
  TS_ASSIGN_OR_RETURN(DataType type, ctx.dtype(ctx.output(0)));
  TS_ASSIGN_OR_RETURN(bool fused, fused_activation_grad(ctx, type));
  if (fused) return Status::ok();
  TS_ASSIGN_OR_RETURN(std::string zero, ctx.scalar(type, 0.0));
  ctx.set_input_grad(0, ctx.add("Where", {ctx.add("Greater", {ctx.output(0), zero}), ctx.output_grad(0), zero}));
  return Status::ok();
}

// dx = g * y * (1 - y).
Status sigmoid_grad(GradientContext& ctx) {
  if (!ctx.wants(0)) return Status::ok();
  TS_ASSIGN_OR_RETURN(DataType type, ctx.dtype(ctx.output(0)));
  TS_ASSIGN_OR_RETURN(bool fused, fused_activation_grad(ctx, type));
  if (fused) return Status::ok();
  TS_ASSIGN_OR_RETURN(std::string one, ctx.scalar(type, 1.0));
  const std::string& y = ctx.output(0);
  std::string dy = ctx.add("Mul", {y, ctx.add("Sub", {one, y})});
  ctx.set_input_grad(0, ctx.add("Mul", {ctx.output_grad(0), dy}));
  return Status::ok();
}

// dx = g * (1 - y^2).
Status tanh_grad(GradientContext& ctx) {
  if (!ctx.wants(0)) return Status::ok();
  TS_ASSIGN_OR_RETURN(DataType type, ctx.dtype(ctx.output(0)));
  TS_ASSIGN_OR_RETURN(bool fused, fused_activation_grad(ctx, type));
  if (fused) return Status::ok();
  TS_ASSIGN_OR_RETURN(std::string one, ctx.scalar(type, 1.0));
  const std::string& y = ctx.output(0);
  std::string dy = ctx.add("Sub", {one, ctx.add("Mul", {y, y})});
  ctx.set_input_grad(0, ctx.add("Mul", {ctx.output_grad(0), dy}));
  return Status::ok();
}

// dx = g * 2/sqrt(pi) * exp(-x^2).
Status erf_grad(GradientContext& ctx) {
  if (!ctx.wants(0)) return Status::ok();
  TS_ASSIGN_OR_RETURN(DataType type, ctx.dtype(ctx.input(0)));
  TS_ASSIGN_OR_RETURN(std::string scale, ctx.scalar(type, 2.0 / std::sqrt(M_PI)));
  const std::string& x = ctx.input(0);
  std::string e = ctx.add("Exp", {ctx.add("Neg", {ctx.add("Mul", {x, x})})});
  ctx.set_input_grad(0, ctx.add("Mul", {ctx.add("Mul", {ctx.output_grad(0), scale}), e}));
  return Status::ok();
}

// The axes Softmax/LogSoftmax normalize over: one axis from opset 13 (default -1); before it the
// input is coerced to 2-D at `axis` (default 1), so every axis from it on.
Result<std::vector<int64_t>> softmax_axes(GradientContext& ctx) {
  TS_ASSIGN_OR_RETURN(Dims dims, ctx.dims(ctx.input(0)));
  const int64_t rank = static_cast<int64_t>(dims.size());
  int64_t axis = ctx.int_attr("axis", ctx.opset() >= 13 ? -1 : 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= std::max<int64_t>(rank, 1)) return ctx.unsupported("axis out of range for rank ", rank);
  std::vector<int64_t> axes{axis};
  if (ctx.opset() < 13)
    for (int64_t a = axis + 1; a < rank; ++a) axes.push_back(a);
  return axes;
}

// dx = y * (g - sum(g * y)).
Status softmax_grad(GradientContext& ctx) {
  if (!ctx.wants(0)) return Status::ok();
  TS_ASSIGN_OR_RETURN(std::vector<int64_t> axes, softmax_axes(ctx));
  const std::string& y = ctx.output(0);
  const std::string& g = ctx.output_grad(0);
  std::string dot = ctx.reduce_sum(ctx.add("Mul", {g, y}), axes, true);
  ctx.set_input_grad(0, ctx.add("Mul", {y, ctx.add("Sub", {g, dot})}));
  return Status::ok();
}

// dx = g - exp(y) * sum(g).
Status log_softmax_grad(GradientContext& ctx) {
  if (!ctx.wants(0)) return Status::ok();
  TS_ASSIGN_OR_RETURN(std::vector<int64_t> axes, softmax_axes(ctx));
  const std::string& g = ctx.output_grad(0);
  std::string total = ctx.reduce_sum(g, axes, true);
  ctx.set_input_grad(0, ctx.add("Sub", {g, ctx.add("Mul", {ctx.add("Exp", {ctx.output(0)}), total})}));
  return Status::ok();
}

// Dropout in inference mode passes the gradient through; in training mode (a constant true
// training_mode, opset 12 on) the gradient takes the forward pass's mask and scale:
// dx = g * mask / (1 - ratio). The mask output is what the backward pass keeps.
Status dropout_grad(GradientContext& ctx) {
  if (!ctx.wants(0)) return Status::ok();
  bool training = false;
  if (ctx.opset() >= 12 && ctx.input_count() > 2 && !ctx.input(2).empty()) {
    const Tensor* mode = ctx.constant_input(2);
    if (!mode || mode->dtype() != DataType::boolean || mode->size() != 1)
      return ctx.unsupported("training_mode must be a constant bool scalar");
    training = mode->data<uint8_t>()[0] != 0;
  }
  if (!training) {
    ctx.set_input_grad(0, ctx.output_grad(0));
    return Status::ok();
  }
  if (ctx.node().outputs.size() < 2 || ctx.output(1).empty()) return ctx.unsupported("training mode without the mask output");
  TS_ASSIGN_OR_RETURN(DataType type, ctx.dtype(ctx.input(0)));
  TS_ASSIGN_OR_RETURN(std::string one, ctx.scalar(type, 1.0));
  std::string keep;  // 1 - ratio; ratio defaults to 0.5
  if (ctx.input_count() > 1 && !ctx.input(1).empty()) {
    keep = ctx.add("Sub", {one, ctx.add("Cast", {ctx.input(1)}, {int_attr("to", static_cast<int64_t>(type))})});
  } else {
    TS_ASSIGN_OR_RETURN(keep, ctx.scalar(type, 0.5));
  }
  std::string mask = ctx.add("Cast", {ctx.output(1)}, {int_attr("to", static_cast<int64_t>(type))});
  ctx.set_input_grad(0, ctx.add("Div", {ctx.add("Mul", {ctx.output_grad(0), mask}), keep}));
  return Status::ok();
}

constexpr GradientEntry kEntries[] = {
    {"", "Dropout", dropout_grad},
    {"", "Relu", relu_grad},       {"", "Sigmoid", sigmoid_grad},       {"", "Tanh", tanh_grad},
    {"", "Erf", erf_grad},         {"", "Softmax", softmax_grad},       {"", "LogSoftmax", log_softmax_grad},
};

}  // namespace

bool register_activation_gradients(GradientRegistry& registry) { return registry.add(kEntries); }

}  // namespace tessera
