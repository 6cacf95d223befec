// Gradients of Conv and the pools: the input's gradient is the transposed convolution of the
// output gradient with the same window (output_padding restores the input size the stride
// rounded away); the weights' gradient is one com.tessera ConvWeightGrad (GEMMs over the forward
// convolution's im2col columns), MaxPool's one com.tessera MaxPoolGrad (docs/fused_ops.md).
// Spatial dims must be known before a run.
#include "graph/conv_geometry.h"
#include "training/gradients/families.h"

namespace tessera {
namespace {

// The fixed spatial dims (from axis 2) of `value`.
Result<std::vector<int64_t>> spatial_dims(GradientContext& ctx, const std::string& value) {
  TS_ASSIGN_OR_RETURN(Dims dims, ctx.dims(value));
  if (dims.size() < 3) return ctx.unsupported("'", value, "' has rank ", dims.size(), " (needs N, C and spatial axes)");
  std::vector<int64_t> out;
  for (size_t k = 2; k < dims.size(); ++k) {
    if (!dims[k].is_fixed()) return ctx.unsupported("the spatial dims of '", value, "' are not known before a run");
    out.push_back(dims[k].value);
  }
  return out;
}

std::vector<int64_t> concat(std::vector<int64_t> a, const std::vector<int64_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// ConvTranspose of `g` with `weights` over window `w`, sized back to the window's input.
std::string transposed(GradientContext& ctx, const std::string& g, const std::string& weights, const WindowGeometry& w, int64_t group) {
  std::vector<int64_t> output_padding;
  for (size_t k = 0; k < w.rank(); ++k) {
    const int64_t effective = (w.kernel[k] - 1) * w.dilation[k] + 1;
    output_padding.push_back(w.input[k] - (w.stride[k] * (w.output[k] - 1) + effective - w.pad_begin[k] - w.pad_end[k]));
  }
  return ctx.add("ConvTranspose", {g, weights},
                 {ints_attr("strides", w.stride), ints_attr("dilations", w.dilation),
                  ints_attr("pads", concat(w.pad_begin, w.pad_end)), ints_attr("output_padding", output_padding),
                  int_attr("group", group)});
}

// The node's attributes, as the gradient kernel of its op takes them.
std::vector<Attribute> attributes_of(const Node& node) {
  std::vector<Attribute> out;
  for (const auto& [name, a] : node.attributes) out.push_back(a);
  return out;
}

Status conv_grad(GradientContext& ctx) {
  TS_ASSIGN_OR_RETURN(ConvAttributes attrs, parse_conv_attributes(ctx.node()));
  TS_ASSIGN_OR_RETURN(std::vector<int64_t> input, spatial_dims(ctx, ctx.input(0)));
  TS_ASSIGN_OR_RETURN(std::vector<int64_t> kernel, spatial_dims(ctx, ctx.input(1)));
  Result<WindowGeometry> geometry = window_geometry(attrs, input, kernel);
  if (!geometry.is_ok()) return geometry.status().with_context("gradient of " + ctx.node().describe());
  const WindowGeometry& w = *geometry;
  const std::string& g = ctx.output_grad(0);
  const size_t rank = w.rank() + 2;
  if (ctx.wants(0)) ctx.set_input_grad(0, transposed(ctx, g, ctx.input(1), w, attrs.group));
  if (ctx.wants(1)) {
    TS_ASSIGN_OR_RETURN(DataType type, ctx.dtype(ctx.input(0)));
    if (type != DataType::float32 && type != DataType::float64)
      return ctx.unsupported("the weights' gradient in ", dtype_name(type), " (float and double are differentiated)");
    std::vector<Attribute> kernel_attrs = attributes_of(ctx.node());
    std::erase_if(kernel_attrs, [](const Attribute& a) { return a.name == "kernel_shape"; });
    kernel_attrs.push_back(ints_attr("kernel_shape", kernel));
    ctx.set_input_grad(1, ctx.writer().add_kernel("ConvWeightGrad", {g, ctx.input(0)}, 1, std::move(kernel_attrs))[0]);
  }
  if (ctx.input_count() > 2 && ctx.wants(2)) {
    std::vector<int64_t> axes{0};
    for (size_t k = 2; k < rank; ++k) axes.push_back(static_cast<int64_t>(k));
    ctx.set_input_grad(2, ctx.reduce_sum(g, axes, false));
  }
  return Status::ok();
}

// Each input element gets g / window size from every window holding it: a depthwise transposed
// convolution with a constant kernel. Padding must not change the divisor (no pads, or
// count_include_pad) and windows must not be cut by ceil_mode.
Status average_pool_grad(GradientContext& ctx) {
  if (!ctx.wants(0)) return Status::ok();
  TS_ASSIGN_OR_RETURN(ConvAttributes attrs, parse_conv_attributes(ctx.node()));
  if (attrs.ceil_mode) return ctx.unsupported("ceil_mode");
  TS_ASSIGN_OR_RETURN(std::vector<int64_t> input, spatial_dims(ctx, ctx.input(0)));
  TS_ASSIGN_OR_RETURN(Dims dims, ctx.dims(ctx.input(0)));
  if (!dims[1].is_fixed()) return ctx.unsupported("the channel count is not known before a run");
  Result<WindowGeometry> geometry = window_geometry(attrs, input);
  if (!geometry.is_ok()) return geometry.status().with_context("gradient of " + ctx.node().describe());
  const WindowGeometry& w = *geometry;
  bool padded = false;
  for (size_t k = 0; k < w.rank(); ++k) padded = padded || w.pad_begin[k] != 0 || w.pad_end[k] != 0;
  if (padded && ctx.int_attr("count_include_pad", 0) == 0) return ctx.unsupported("pads without count_include_pad");
  TS_ASSIGN_OR_RETURN(DataType type, ctx.dtype(ctx.input(0)));
  std::vector<int64_t> shape{dims[1].value, 1};
  int64_t window = 1;
  for (int64_t k : w.kernel) {
    shape.push_back(k);
    window *= k;
  }
  Tensor weights = Tensor::create(type, shape).value();
  for (int64_t i = 0; i < weights.size(); ++i) {
    if (type == DataType::float32) weights.data<float>()[i] = 1.0f / static_cast<float>(window);
    else if (type == DataType::float64) weights.data<double>()[i] = 1.0 / static_cast<double>(window);
    else return ctx.unsupported("element type ", dtype_name(type), " (float and double are differentiated)");
  }
  ctx.set_input_grad(0, transposed(ctx, ctx.output_grad(0), ctx.writer().constant(std::move(weights)), w, dims[1].value));
  return Status::ok();
}

// Every input element contributed 1/count of its channel's mean: dx = expand(g) / (H * W * ...).
Status global_average_pool_grad(GradientContext& ctx) {
  if (!ctx.wants(0)) return Status::ok();
  const std::string& x = ctx.input(0);
  std::string expanded = ctx.add("Expand", {ctx.output_grad(0), ctx.add("Shape", {x})});
  TS_ASSIGN_OR_RETURN(std::string count, ctx.size_ratio(x, ctx.output(0)));
  ctx.set_input_grad(0, ctx.add("Div", {expanded, count}));
  return Status::ok();
}

// Each output gradient goes to the input element its window's maximum came from (the one
// MaxPool's Indices names), summed where an element is the maximum of several windows: one
// com.tessera MaxPoolGrad, which finds the maxima again from the input.
Status max_pool_grad(GradientContext& ctx) {
  if (!ctx.output_grad(1).empty()) return ctx.unsupported("a gradient flowing into Indices");
  if (!ctx.wants(0)) return Status::ok();
  if (ctx.int_attr("storage_order", 0) != 0) return ctx.unsupported("storage_order 1");
  ctx.set_input_grad(0, ctx.writer().add_kernel("MaxPoolGrad", {ctx.output_grad(0), ctx.input(0)}, 1, attributes_of(ctx.node()))[0]);
  return Status::ok();
}

constexpr GradientEntry kEntries[] = {
    {"", "MaxPool", max_pool_grad},
    {"", "Conv", conv_grad},
    {"", "AveragePool", average_pool_grad},
    {"", "GlobalAveragePool", global_average_pool_grad},
};

}  // namespace

bool register_conv_gradients(GradientRegistry& registry) { return registry.add(kEntries); }

}  // namespace tessera
