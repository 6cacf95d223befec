#include "graph/conv_geometry.h"

#include <algorithm>
#include <span>
#include <string>

namespace tessera {

namespace {

std::string list_to_string(std::span<const int64_t> v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

Status check_size(const std::vector<int64_t>& v, size_t n, const char* name) {
  if (!v.empty() && v.size() != n) return invalid_argument(name, " has ", v.size(), " values, expected ", n);
  return Status::ok();
}

// Fills rank, kernel, stride and dilation, and checks every list against the rank.
Status common_geometry(const ConvAttributes& a, const Shape& input, const Shape& kernel, WindowGeometry& g) {
  const size_t nd = input.size();
  TS_RETURN_IF_ERROR(check_size(a.kernel_shape, nd, "kernel_shape"));
  TS_RETURN_IF_ERROR(check_size(a.strides, nd, "strides"));
  TS_RETURN_IF_ERROR(check_size(a.dilations, nd, "dilations"));
  TS_RETURN_IF_ERROR(check_size(a.pads, 2 * nd, "pads"));
  if (!kernel.empty() && kernel.size() != nd)
    return invalid_argument("the kernel has rank ", kernel.size(), ", expected ", nd);
  if (kernel.empty() && a.kernel_shape.empty()) return invalid_argument("kernel_shape is required");
  if (!kernel.empty() && !a.kernel_shape.empty() && !std::equal(kernel.begin(), kernel.end(), a.kernel_shape.begin()))
    return invalid_argument("kernel_shape ", list_to_string(a.kernel_shape), " does not match the weights' kernel ",
                            list_to_string(kernel));
  g.input = input;
  g.kernel = kernel.empty() ? Shape(a.kernel_shape) : kernel;
  if (a.strides.empty()) g.stride.assign(nd, 1);
  else g.stride = a.strides;
  if (a.dilations.empty()) g.dilation.assign(nd, 1);
  else g.dilation = a.dilations;
  g.pad_begin.assign(nd, 0);
  g.pad_end.assign(nd, 0);
  g.output.assign(nd, 0);
  return Status::ok();
}

// floor(v / 2) for negative v too.
int64_t floor_half(int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }

}  // namespace

Result<ConvAttributes> parse_conv_attributes(const Node& node) {
  auto error = [&](const auto&... args) { return invalid_model(node.describe(), ": ", args...); };
  ConvAttributes a;
  auto ints = [&](const char* name) {
    const Attribute* attr = node.attribute(name);
    return attr ? attr->ints : std::vector<int64_t>{};
  };
  if (const Attribute* pad = node.attribute("auto_pad")) {
    if (pad->s == "NOTSET" || pad->s.empty()) a.auto_pad = AutoPad::notset;
    else if (pad->s == "SAME_UPPER") a.auto_pad = AutoPad::same_upper;
    else if (pad->s == "SAME_LOWER") a.auto_pad = AutoPad::same_lower;
    else if (pad->s == "VALID") a.auto_pad = AutoPad::valid;
    else return error("unknown auto_pad '", pad->s, "'");
  }
  if (const Attribute* group = node.attribute("group")) a.group = group->i;
  if (a.group < 1) return error("group must be >= 1, got ", a.group);
  if (const Attribute* ceil = node.attribute("ceil_mode")) a.ceil_mode = ceil->i != 0;
  a.kernel_shape = ints("kernel_shape");
  a.strides = ints("strides");
  a.dilations = ints("dilations");
  a.pads = ints("pads");
  a.output_padding = ints("output_padding");
  a.output_shape = ints("output_shape");
  for (int64_t v : a.kernel_shape)
    if (v < 1) return error("kernel_shape values must be >= 1");
  for (int64_t v : a.strides)
    if (v < 1) return error("strides must be >= 1");
  for (int64_t v : a.dilations)
    if (v < 1) return error("dilations must be >= 1");
  return a;
}

Result<WindowGeometry> window_geometry(const ConvAttributes& a, const Shape& input, const Shape& kernel) {
  WindowGeometry g;
  TS_RETURN_IF_ERROR(common_geometry(a, input, kernel, g));
  const size_t nd = input.size();
  for (size_t d = 0; d < nd; ++d) {
    const int64_t in = input[d], s = g.stride[d], k_eff = (g.kernel[d] - 1) * g.dilation[d] + 1;
    int64_t pb = 0, pe = 0, out = 0;
    if (a.auto_pad == AutoPad::same_upper || a.auto_pad == AutoPad::same_lower) {
      out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + k_eff - in);
      pb = a.auto_pad == AutoPad::same_upper ? total / 2 : total - total / 2;
      pe = total - pb;
    } else {
      if (a.auto_pad == AutoPad::notset && !a.pads.empty()) {
        pb = a.pads[d];
        pe = a.pads[d + nd];
      }
      const int64_t span = in + pb + pe - k_eff;
      if (span < 0) {
        if (in > 0)
          return invalid_argument("kernel (effective size ", k_eff, ") is larger than the padded input ",
                                  list_to_string(input));
        out = 0;
      } else {
        out = (a.ceil_mode ? (span + s - 1) / s : span / s) + 1;
        // The last window must start inside the input or its leading padding.
        if (a.ceil_mode && (out - 1) * s >= in + pb) --out;
      }
    }
    g.pad_begin[d] = pb;
    g.pad_end[d] = pe;
    g.output[d] = out;
  }
  return g;
}

Result<WindowGeometry> transpose_geometry(const ConvAttributes& a, const Shape& input, const Shape& kernel) {
  WindowGeometry g;
  TS_RETURN_IF_ERROR(common_geometry(a, input, kernel, g));
  const size_t nd = input.size();
  TS_RETURN_IF_ERROR(check_size(a.output_padding, nd, "output_padding"));
  if (!a.output_shape.empty() && a.output_shape.size() != nd && a.output_shape.size() != nd + 2)
    return invalid_argument("output_shape has ", a.output_shape.size(), " values, expected ", nd);
  const size_t shape_lead = a.output_shape.size() == nd + 2 ? 2 : 0;
  const bool same = a.auto_pad == AutoPad::same_upper || a.auto_pad == AutoPad::same_lower;
  for (size_t d = 0; d < nd; ++d) {
    const int64_t in = input[d], s = g.stride[d], k_eff = (g.kernel[d] - 1) * g.dilation[d] + 1;
    const int64_t op = a.output_padding.empty() ? 0 : a.output_padding[d];
    const int64_t full = s * (in - 1) + op + k_eff;  // output size with no padding
    int64_t out, pb, pe;
    if (!a.output_shape.empty() || same) {
      out = !a.output_shape.empty() ? a.output_shape[shape_lead + d] : in * s;
      const int64_t total = full - out;
      pb = a.auto_pad == AutoPad::same_upper ? floor_half(total) : total - floor_half(total);
      pe = total - pb;
    } else {
      const bool explicit_pads = a.auto_pad == AutoPad::notset && !a.pads.empty();
      pb = explicit_pads ? a.pads[d] : 0;
      pe = explicit_pads ? a.pads[d + nd] : 0;
      out = full - pb - pe;
    }
    if (out < 0) return invalid_argument("computed a negative output size for spatial axis ", d);
    g.pad_begin[d] = pb;
    g.pad_end[d] = pe;
    g.output[d] = out;
  }
  return g;
}

}  // namespace tessera
