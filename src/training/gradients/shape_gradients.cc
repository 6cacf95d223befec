// Gradients of the ops that move data without computing: the gradient moves back the same way.
#include "training/gradients/families.h"

namespace tessera {
namespace {

Status identity_grad(GradientContext& ctx) {
  if (ctx.wants(0)) ctx.set_input_grad(0, ctx.output_grad(0));
  return Status::ok();
}

// The gradient is cast back to the input's type; an integer input gets none.
Status cast_grad(GradientContext& ctx) {
  if (!ctx.wants(0)) return Status::ok();
  TS_ASSIGN_OR_RETURN(DataType type, ctx.dtype(ctx.input(0)));
  if (type != DataType::float32 && type != DataType::float64 && type != DataType::float16) return Status::ok();
  ctx.set_input_grad(0, ctx.add("Cast", {ctx.output_grad(0)}, {int_attr("to", static_cast<int64_t>(type))}));
  return Status::ok();
}

// Reshape, Flatten, Squeeze, Unsqueeze: the gradient takes the input's shape back.
Status reshape_grad(GradientContext& ctx) {
  if (ctx.wants(0)) ctx.set_input_grad(0, ctx.reshape_like(ctx.output_grad(0), ctx.input(0)));
  return Status::ok();
}

// The inverse permutation (the default perm reverses the axes and is its own inverse).
Status transpose_grad(GradientContext& ctx) {
  if (!ctx.wants(0)) return Status::ok();
  const Attribute* perm = ctx.node().attribute("perm");
  if (!perm) {
    ctx.set_input_grad(0, ctx.add("Transpose", {ctx.output_grad(0)}));
    return Status::ok();
  }
  std::vector<int64_t> inverse(perm->ints.size());
  for (size_t k = 0; k < perm->ints.size(); ++k) {
    const int64_t p = perm->ints[k];
    if (p < 0 || p >= static_cast<int64_t>(inverse.size())) return ctx.unsupported("perm entry ", p, " out of range");
    inverse[static_cast<size_t>(p)] = static_cast<int64_t>(k);
  }
  ctx.set_input_grad(0, ctx.add("Transpose", {ctx.output_grad(0)}, {ints_attr("perm", inverse)}));
  return Status::ok();
}

// Split spelled for the opset: sizes as an attribute before 13, as an input from 13.
std::vector<std::string> split(GradientContext& ctx, const std::string& x, int64_t axis, const std::vector<int64_t>& sizes) {
  std::vector<Attribute> attrs{int_attr("axis", axis)};
  if (ctx.opset() < 13) {
    attrs.push_back(ints_attr("split", sizes));
    return ctx.writer().add("Split", {x}, sizes.size(), attrs);
  }
  return ctx.writer().add("Split", {x, ctx.int64s(sizes)}, sizes.size(), attrs);
}

// The output gradient split back into the inputs' sizes along the axis (known before a run).
Status concat_grad(GradientContext& ctx) {
  TS_ASSIGN_OR_RETURN(Dims out_dims, ctx.dims(ctx.output(0)));
  int64_t axis = ctx.int_attr("axis", 0);
  if (axis < 0) axis += static_cast<int64_t>(out_dims.size());
  std::vector<int64_t> sizes;
  for (size_t i = 0; i < ctx.input_count(); ++i) {
    TS_ASSIGN_OR_RETURN(Dims d, ctx.dims(ctx.input(i)));
    if (axis < 0 || axis >= static_cast<int64_t>(d.size())) return ctx.unsupported("axis out of range");
    const Dim& size = d[static_cast<size_t>(axis)];
    if (!size.is_fixed()) return ctx.unsupported("the size of input ", i, " along axis ", axis, " is not known before a run");
    sizes.push_back(size.value);
  }
  std::vector<std::string> parts = split(ctx, ctx.output_grad(0), axis, sizes);
  for (size_t i = 0; i < parts.size(); ++i)
    if (ctx.wants(i)) ctx.set_input_grad(i, parts[i]);
  return Status::ok();
}

// The outputs' gradients concatenated; an output no gradient reaches contributes zeros.
Status split_grad(GradientContext& ctx) {
  if (!ctx.wants(0)) return Status::ok();
  std::vector<std::string> parts;
  for (size_t k = 0; k < ctx.node().outputs.size(); ++k) {
    if (!ctx.output_grad(k).empty()) {
      parts.push_back(ctx.output_grad(k));
      continue;
    }
    TS_ASSIGN_OR_RETURN(std::string zeros, ctx.filled_like(ctx.output(k), 0.0));
    parts.push_back(zeros);
  }
  ctx.set_input_grad(0, ctx.add("Concat", parts, {int_attr("axis", ctx.int_attr("axis", 0))}));
  return Status::ok();
}

constexpr GradientEntry kEntries[] = {
    {"", "Identity", identity_grad}, {"", "Cast", cast_grad},         {"", "Reshape", reshape_grad},
    {"", "Flatten", reshape_grad},   {"", "Squeeze", reshape_grad},   {"", "Unsqueeze", reshape_grad},
    {"", "Transpose", transpose_grad}, {"", "Concat", concat_grad},   {"", "Split", split_grad},
};

}  // namespace

bool register_shape_gradients(GradientRegistry& registry) { return registry.add(kEntries); }

}  // namespace tessera
