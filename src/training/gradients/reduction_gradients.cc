// Gradients of ReduceSum and ReduceMean: the output gradient expanded back over the reduced axes
// (divided by the count of reduced elements for the mean).
#include <algorithm>

#include "training/gradients/families.h"

namespace tessera {
namespace {

// The reduced axes, from the `axes` input (ReduceSum from opset 13, ReduceMean from 18) or the
// attribute; empty means every axis. Sets `noop` when empty axes leave the input unchanged.
Result<std::vector<int64_t>> reduced_axes(GradientContext& ctx, bool axes_as_input, bool& noop) {
  std::vector<int64_t> axes;
  if (axes_as_input) {
    if (ctx.input_count() > 1 && !ctx.input(1).empty()) {
      TS_ASSIGN_OR_RETURN(axes, ctx.constant_ints(1));
    }
  } else if (const Attribute* a = ctx.node().attribute("axes")) {
    axes = a->ints;
  }
  noop = axes.empty() && axes_as_input && ctx.int_attr("noop_with_empty_axes", 0) != 0;
  return axes;
}

// The output gradient broadcast to the input's shape.
Result<std::string> expand_back(GradientContext& ctx, const std::vector<int64_t>& axes) {
  std::string g = ctx.output_grad(0);
  if (ctx.int_attr("keepdims", 1) == 0 && !axes.empty()) g = ctx.unsqueeze(g, axes);
  // keepdims 0 over every axis gives a scalar, which broadcasts as it is.
  return ctx.add("Expand", {g, ctx.add("Shape", {ctx.input(0)})});
}

// Axes normalized to [0, rank), which Unsqueeze needs in increasing order.
Result<std::vector<int64_t>> normalized(GradientContext& ctx, std::vector<int64_t> axes) {
  TS_ASSIGN_OR_RETURN(Dims dims, ctx.dims(ctx.input(0)));
  const int64_t rank = static_cast<int64_t>(dims.size());
  for (int64_t& a : axes) {
    if (a < 0) a += rank;
    if (a < 0 || a >= rank) return ctx.unsupported("axis out of range for rank ", rank);
  }
  std::sort(axes.begin(), axes.end());
  return axes;
}

// `axes_input_since`: the opset from which the op takes its axes as an input; a mean also
// divides by the number of elements reduced.
Status reduce_grad(GradientContext& ctx, int64_t axes_input_since, bool mean) {
  if (!ctx.wants(0)) return Status::ok();
  bool noop = false;
  TS_ASSIGN_OR_RETURN(std::vector<int64_t> axes, reduced_axes(ctx, ctx.opset() >= axes_input_since, noop));
  if (noop) {
    ctx.set_input_grad(0, ctx.output_grad(0));
    return Status::ok();
  }
  TS_ASSIGN_OR_RETURN(axes, normalized(ctx, axes));
  TS_ASSIGN_OR_RETURN(std::string dx, expand_back(ctx, axes));
  if (mean) {
    TS_ASSIGN_OR_RETURN(std::string count, ctx.size_ratio(ctx.input(0), ctx.output(0)));
    dx = ctx.add("Div", {dx, count});
  }
  ctx.set_input_grad(0, dx);
  return Status::ok();
}

Status reduce_sum_grad(GradientContext& ctx) { return reduce_grad(ctx, 13, false); }
Status reduce_mean_grad(GradientContext& ctx) { return reduce_grad(ctx, 18, true); }

constexpr GradientEntry kEntries[] = {
    {"", "ReduceSum", reduce_sum_grad},
    {"", "ReduceMean", reduce_mean_grad},
};

}  // namespace

bool register_reduction_gradients(GradientRegistry& registry) { return registry.add(kEntries); }

}  // namespace tessera
