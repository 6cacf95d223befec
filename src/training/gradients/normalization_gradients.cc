// Gradients of the normalizations, from recomputed statistics (the mean and inverse standard
// deviation are cheap next to keeping them): LayerNormalization's and inference-mode
// BatchNormalization's as ONNX ops, training-mode BatchNormalization's as one com.tessera
// BatchNormalizationGrad (docs/fused_ops.md), which would otherwise be ~20 nodes.
#include "training/gradients/families.h"

namespace tessera {
namespace {

// x normalized over `axes` by its own statistics (kept dims): xhat and 1 / sqrt(var + eps).
struct Normalized {
  std::string xhat, inv_std;
};

Result<Normalized> normalize(GradientContext& ctx, const std::string& x, const std::vector<int64_t>& axes, float epsilon) {
  TS_ASSIGN_OR_RETURN(DataType type, ctx.dtype(x));
  TS_ASSIGN_OR_RETURN(std::string eps, ctx.scalar(type, epsilon));
  std::string centered = ctx.add("Sub", {x, ctx.reduce_mean(x, axes)});
  std::string variance = ctx.reduce_mean(ctx.add("Mul", {centered, centered}), axes);
  std::string inv_std = ctx.add("Reciprocal", {ctx.add("Sqrt", {ctx.add("Add", {variance, eps})})});
  return Normalized{ctx.add("Mul", {centered, inv_std}), inv_std};
}

// dx when the statistics came from x itself, with dxhat = dL/dxhat:
// inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)).
std::string batch_statistics_input_grad(GradientContext& ctx, const Normalized& n, const std::string& dxhat,
                                        const std::vector<int64_t>& axes) {
  std::string mean_dxhat = ctx.reduce_mean(dxhat, axes);
  std::string mean_dot = ctx.reduce_mean(ctx.add("Mul", {dxhat, n.xhat}), axes);
  std::string inner = ctx.add("Sub", {ctx.add("Sub", {dxhat, mean_dxhat}), ctx.add("Mul", {n.xhat, mean_dot})});
  return ctx.add("Mul", {n.inv_std, inner});
}

Status no_gradient_into_statistics(GradientContext& ctx) {
  for (size_t k = 1; k < ctx.node().outputs.size(); ++k)
    if (!ctx.output_grad(k).empty()) return ctx.unsupported("a gradient flowing into output ", k, " (statistics)");
  return Status::ok();
}

// LayerNormalization over the axes from `axis` on; scale and bias broadcast over the others, so
// their gradients are g * xhat and g summed back to their shapes.
Status layer_norm_grad(GradientContext& ctx) {
  TS_RETURN_IF_ERROR(no_gradient_into_statistics(ctx));
  TS_ASSIGN_OR_RETURN(Dims dims, ctx.dims(ctx.input(0)));
  const int64_t rank = static_cast<int64_t>(dims.size());
  int64_t axis = ctx.int_attr("axis", -1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return ctx.unsupported("axis out of range for rank ", rank);
  std::vector<int64_t> axes;
  for (int64_t a = axis; a < rank; ++a) axes.push_back(a);
  TS_ASSIGN_OR_RETURN(Normalized n, normalize(ctx, ctx.input(0), axes, ctx.float_attr("epsilon", 1e-5f)));
  const std::string& g = ctx.output_grad(0);
  if (ctx.wants(0)) ctx.set_input_grad(0, batch_statistics_input_grad(ctx, n, ctx.add("Mul", {g, ctx.input(1)}), axes));
  if (ctx.wants(1)) {
    TS_ASSIGN_OR_RETURN(std::string dscale, ctx.reduce_to(ctx.add("Mul", {g, n.xhat}), ctx.output(0), ctx.input(1)));
    ctx.set_input_grad(1, dscale);
  }
  if (ctx.input_count() > 2 && ctx.wants(2)) {
    TS_ASSIGN_OR_RETURN(std::string dbias, ctx.reduce_to(g, ctx.output(0), ctx.input(2)));
    ctx.set_input_grad(2, dbias);
  }
  return Status::ok();
}

// BatchNormalization over N and the spatial axes, per channel C. In training mode (the
// training_mode attribute from opset 14, the running-statistics outputs before) the statistics
// are the batch's: dx, dscale and dbias come from one BatchNormalizationGrad (float and double).
// Otherwise the input mean and var are constants of the step: dx = g * scale / sqrt(var + eps).
Status batch_norm_grad(GradientContext& ctx) {
  TS_RETURN_IF_ERROR(no_gradient_into_statistics(ctx));
  TS_ASSIGN_OR_RETURN(Dims dims, ctx.dims(ctx.input(0)));
  if (dims.size() < 2) return ctx.unsupported("rank ", dims.size(), " input (needs N and C)");
  std::vector<int64_t> axes{0}, channel_axes;  // reduced axes; where [C] is unsqueezed to [C,1,...]
  for (size_t k = 2; k < dims.size(); ++k) {
    axes.push_back(static_cast<int64_t>(k));
    channel_axes.push_back(static_cast<int64_t>(k - 1));
  }
  auto per_channel = [&](const std::string& v) { return channel_axes.empty() ? v : ctx.unsqueeze(v, channel_axes); };
  const bool training = ctx.opset() >= 14 ? ctx.int_attr("training_mode", 0) != 0
                                          : ctx.node().outputs.size() > 1 && !ctx.output(1).empty();
  const float epsilon = ctx.float_attr("epsilon", 1e-5f);
  const std::string& g = ctx.output_grad(0);
  TS_ASSIGN_OR_RETURN(DataType type, ctx.dtype(ctx.input(0)));
  if (training) {
    if (type != DataType::float32 && type != DataType::float64)
      return ctx.unsupported("training mode in ", dtype_name(type), " (float and double are differentiated)");
    const std::vector<std::string> grads = ctx.writer().add_kernel(
        "BatchNormalizationGrad", {g, ctx.input(0), ctx.input(1)}, 3, {float_attr("epsilon", epsilon)});
    for (size_t i = 0; i < 3; ++i)
      if (ctx.wants(i)) ctx.set_input_grad(i, grads[i]);
    return Status::ok();
  }
  TS_ASSIGN_OR_RETURN(std::string eps, ctx.scalar(type, epsilon));
  const std::string inv_std = per_channel(ctx.add("Reciprocal", {ctx.add("Sqrt", {ctx.add("Add", {ctx.input(4), eps})})}));
  if (ctx.wants(0)) ctx.set_input_grad(0, ctx.add("Mul", {g, ctx.add("Mul", {per_channel(ctx.input(1)), inv_std})}));
  if (ctx.wants(1)) {
    const std::string xhat = ctx.add("Mul", {ctx.add("Sub", {ctx.input(0), per_channel(ctx.input(3))}), inv_std});
    ctx.set_input_grad(1, ctx.reduce_sum(ctx.add("Mul", {g, xhat}), axes, false));
  }
  if (ctx.wants(2)) ctx.set_input_grad(2, ctx.reduce_sum(g, axes, false));
  return Status::ok();
}

constexpr GradientEntry kEntries[] = {
    {"", "LayerNormalization", layer_norm_grad},
    {"", "BatchNormalization", batch_norm_grad},
};

}  // namespace

bool register_normalization_gradients(GradientRegistry& registry) { return registry.add(kEntries); }

}  // namespace tessera
