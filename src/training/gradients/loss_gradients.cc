// Gradients of SoftmaxCrossEntropyLoss and NegativeLogLikelihoodLoss with respect to their scores
// / log-probabilities (input 0), for every reduction, class weights and ignore_index. Each sample
// (n, d1, ...) of label l contributes loss w[l] * -input[n, l, d1, ...], so the gradient is a
// per-sample scale, written in the labels' shape, times one-hot(l) along axis 1.
#include "training/gradients/families.h"

namespace tessera {
namespace {

// The per-sample factor dL/d(loss of sample): g times the sample's weight (0 for ignored labels),
// divided by the total weight for reduction 'mean'. Also returns the labels with ignored ones set
// to 0, safe to index with.
Status sample_scale(GradientContext& ctx, DataType type, std::string& scale, std::string& safe_labels) {
  const std::string& labels = ctx.input(1);
  const Attribute* reduction_attr = ctx.node().attribute("reduction");
  const std::string reduction = reduction_attr ? reduction_attr->s : "mean";
  std::string weight;  // per sample, in the labels' shape; "" when every sample weighs 1
  safe_labels = labels;
  if (const Attribute* ignore = ctx.node().attribute("ignore_index")) {
    std::string ignored = ctx.add("Equal", {labels, ctx.writer().constant(Tensor::scalar(DataType::int64, ignore->i))});
    std::string zero_label = ctx.writer().constant(Tensor::scalar(DataType::int64, int64_t{0}));
    safe_labels = ctx.add("Where", {ignored, zero_label, labels});
    weight = ctx.add("Cast", {ctx.add("Not", {ignored})}, {int_attr("to", static_cast<int64_t>(type))});
  }
  if (ctx.input_count() > 2 && !ctx.input(2).empty()) {
    std::string class_weight = ctx.add("Gather", {ctx.input(2), safe_labels});
    weight = weight.empty() ? class_weight : ctx.add("Mul", {weight, class_weight});
  }
  std::string g = ctx.output_grad(0);
  if (reduction != "none") g = ctx.add("Expand", {g, ctx.add("Shape", {labels})});  // a scalar loss
  scale = weight.empty() ? g : ctx.add("Mul", {g, weight});
  if (reduction == "mean") {
    std::string total = weight.empty() ? ctx.add("Cast", {ctx.add("Size", {labels})}, {int_attr("to", static_cast<int64_t>(type))})
                                       : ctx.reduce_sum(weight, {}, false);
    scale = ctx.add("Div", {scale, total});
  } else if (reduction != "sum" && reduction != "none") {
    return ctx.unsupported("reduction '", reduction, "'");
  }
  return Status::ok();
}

// one_hot(labels) along axis 1 times scale unsqueezed at axis 1: the gradient of sum(scale * x[label]).
Result<std::string> picked_gradient(GradientContext& ctx, DataType type, const std::string& scale, const std::string& labels) {
  std::string classes = ctx.add("Gather", {ctx.add("Shape", {ctx.input(0)}), ctx.writer().constant(Tensor::scalar(DataType::int64, int64_t{1}))});
  Tensor off_on;
  if (type == DataType::float32) off_on = Tensor::from_vector(type, {2}, std::vector<float>{0.0f, 1.0f}).value();
  else if (type == DataType::float64) off_on = Tensor::from_vector(type, {2}, std::vector<double>{0.0, 1.0}).value();
  else return ctx.unsupported("element type ", dtype_name(type), " (float and double are differentiated)");
  std::string one_hot = ctx.add("OneHot", {labels, classes, ctx.writer().constant(off_on)}, {int_attr("axis", 1)});
  return ctx.add("Mul", {one_hot, ctx.unsqueeze(scale, {1})});
}

// d/dscores = (softmax(scores) - one_hot(label)) * scale.
Status softmax_cross_entropy_grad(GradientContext& ctx) {
  if (!ctx.output_grad(1).empty()) return ctx.unsupported("a gradient flowing into log_prob");
  if (!ctx.wants(0)) return Status::ok();
  TS_ASSIGN_OR_RETURN(DataType type, ctx.dtype(ctx.input(0)));
  TS_ASSIGN_OR_RETURN(Dims dims, ctx.dims(ctx.input(0)));
  std::string prob;
  if (ctx.opset() >= 13 || dims.size() == 2) prob = ctx.add("Softmax", {ctx.input(0)}, {int_attr("axis", 1)});
  else if (ctx.node().outputs.size() > 1 && !ctx.output(1).empty()) prob = ctx.add("Exp", {ctx.output(1)});
  else return ctx.unsupported("rank ", dims.size(), " scores before opset 13 without the log_prob output");
  std::string scale, labels;
  TS_RETURN_IF_ERROR(sample_scale(ctx, type, scale, labels));
  TS_ASSIGN_OR_RETURN(std::string picked, picked_gradient(ctx, type, scale, labels));
  ctx.set_input_grad(0, ctx.add("Sub", {ctx.add("Mul", {prob, ctx.unsqueeze(scale, {1})}), picked}));
  return Status::ok();
}

// d/dinput = -one_hot(label) * scale.
Status nll_loss_grad(GradientContext& ctx) {
  if (!ctx.wants(0)) return Status::ok();
  TS_ASSIGN_OR_RETURN(DataType type, ctx.dtype(ctx.input(0)));
  std::string scale, labels;
  TS_RETURN_IF_ERROR(sample_scale(ctx, type, scale, labels));
  TS_ASSIGN_OR_RETURN(std::string picked, picked_gradient(ctx, type, scale, labels));
  ctx.set_input_grad(0, ctx.add("Neg", {picked}));
  return Status::ok();
}

constexpr GradientEntry kEntries[] = {
    {"", "SoftmaxCrossEntropyLoss", softmax_cross_entropy_grad},
    {"", "NegativeLogLikelihoodLoss", nll_loss_grad},
};

}  // namespace

bool register_loss_gradients(GradientRegistry& registry) { return registry.add(kEntries); }

}  // namespace tessera
