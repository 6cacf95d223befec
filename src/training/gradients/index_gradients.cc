// Gradients of the indexing ops: the output gradient goes back to the positions it was read from.
#include <algorithm>

#include "training/gradients/families.h"

namespace tessera {
namespace {

// Gather along axis 0 (embeddings): rows read several times add up, through ScatterND's 'add'
// reduction (opset 16) into zeros of the data's shape. Negative indices count from the end.
Status gather_grad(GradientContext& ctx) {
  if (!ctx.wants(0)) return Status::ok();
  if (ctx.int_attr("axis", 0) != 0) return ctx.unsupported("axis other than 0");
  if (ctx.opset() < 16) return ctx.unsupported("opset ", ctx.opset(), " (needs ScatterND's reduction, opset 16)");
  const std::string& data = ctx.input(0);
  std::string indices = ctx.input(1);
  TS_ASSIGN_OR_RETURN(DataType index_type, ctx.dtype(indices));
  if (index_type != DataType::int64) indices = ctx.add("Cast", {indices}, {int_attr("to", static_cast<int64_t>(DataType::int64))});
  std::string rows = ctx.add("Gather", {ctx.add("Shape", {data}), ctx.writer().constant(Tensor::scalar(DataType::int64, int64_t{0}))});
  std::string zero = ctx.writer().constant(Tensor::scalar(DataType::int64, int64_t{0}));
  std::string wrapped = ctx.add("Where", {ctx.add("Less", {indices, zero}), ctx.add("Add", {indices, rows}), indices});
  TS_ASSIGN_OR_RETURN(std::string zeros, ctx.filled_like(data, 0.0));
  ctx.set_input_grad(0, ctx.add("ScatterND", {zeros, ctx.unsqueeze(wrapped, {-1}), ctx.output_grad(0)},
                                {string_attr("reduction", "add")}));
  return Status::ok();
}

// Slice with unit steps: the gradient padded with zeros back to the input's shape. Starts, ends
// and axes must be constants and the sliced dims known before a run.
Status slice_grad(GradientContext& ctx) {
  if (!ctx.wants(0)) return Status::ok();
  if (ctx.opset() < 11) return ctx.unsupported("opset ", ctx.opset(), " (Pad takes its pads as an input from opset 11)");
  TS_ASSIGN_OR_RETURN(Dims dims, ctx.dims(ctx.input(0)));
  const int64_t rank = static_cast<int64_t>(dims.size());
  TS_ASSIGN_OR_RETURN(std::vector<int64_t> starts, ctx.constant_ints(1));
  TS_ASSIGN_OR_RETURN(std::vector<int64_t> ends, ctx.constant_ints(2));
  std::vector<int64_t> axes;
  if (ctx.input_count() > 3 && !ctx.input(3).empty()) {
    TS_ASSIGN_OR_RETURN(axes, ctx.constant_ints(3));
  } else {
    for (size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<int64_t>(k));
  }
  if (ctx.input_count() > 4 && !ctx.input(4).empty()) {
    TS_ASSIGN_OR_RETURN(std::vector<int64_t> steps, ctx.constant_ints(4));
    for (int64_t s : steps)
      if (s != 1) return ctx.unsupported("steps other than 1");
  }
  if (starts.size() != ends.size() || starts.size() != axes.size()) return ctx.unsupported("starts, ends and axes differ in length");
  std::vector<int64_t> pads(static_cast<size_t>(2 * rank), 0);
  for (size_t k = 0; k < axes.size(); ++k) {
    const int64_t axis = axes[k] < 0 ? axes[k] + rank : axes[k];
    if (axis < 0 || axis >= rank) return ctx.unsupported("axis ", axes[k], " out of range for rank ", rank);
    const Dim& d = dims[static_cast<size_t>(axis)];
    if (!d.is_fixed()) return ctx.unsupported("the size of axis ", axis, " is not known before a run");
    auto clamp = [&](int64_t v) {
      if (v < 0) v += d.value;
      return std::min(std::max<int64_t>(v, 0), d.value);
    };
    const int64_t begin = clamp(starts[k]), end = std::max(clamp(ends[k]), begin);
    pads[static_cast<size_t>(axis)] = begin;
    pads[static_cast<size_t>(axis + rank)] = d.value - end;
  }
  ctx.set_input_grad(0, ctx.add("Pad", {ctx.output_grad(0), ctx.int64s(pads)}));
  return Status::ok();
}

constexpr GradientEntry kEntries[] = {
    {"", "Gather", gather_grad},
    {"", "Slice", slice_grad},
};

}  // namespace

bool register_index_gradients(GradientRegistry& registry) { return registry.add(kEntries); }

}  // namespace tessera
