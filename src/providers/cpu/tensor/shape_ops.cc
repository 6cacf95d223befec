// Ops that only change a tensor's shape (or report it): Reshape, Flatten, Squeeze, Unsqueeze,
// Identity, Shape, Size. The reshaping ones alias their input: the output shares its buffer.
#include <algorithm>
#include <optional>

#include "tessera/inline_vector.h"
#include "providers/cpu/families.h"
#include "providers/cpu/tensor/copy_util.h"

namespace tessera {
namespace {

using namespace tensor_ops;

// Reshape: shape from input 1 (opset 5+) or the `shape` attribute (opset 1); 0 copies the input
// dim unless allowzero, -1 is inferred.
class ReshapeKernel final : public OpKernel {
 public:
  explicit ReshapeKernel(const KernelInfo& info)
      : allowzero_(info.attr_int("allowzero") != 0), has_shape_attr_(info.has_attr("shape")), shape_attr_(info.attr_ints("shape")) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* data, ctx.required_input(0));
    Shape requested = shape_attr_;  // inline: no allocation per run
    if (ctx.input_count() > 1 || !has_shape_attr_) {
      TS_ASSIGN_OR_RETURN(const Tensor* shape, ctx.required_input(1));
      if (!read_int64s(*shape, requested)) return ctx.error("shape input must be int64, got ", dtype_name(shape->dtype()));
    }
    Shape out(requested.size());
    int64_t infer_at = -1, known = 1;
    for (size_t i = 0; i < requested.size(); ++i) {
      int64_t d = requested[i];
      if (d == 0 && !allowzero_) {
        if (i >= data->rank())
          return ctx.error("shape ", shape_to_string(requested), " copies dim ", i, " (0) but the input has rank ", data->rank());
        d = data->dim(i);
      } else if (d == -1) {
        if (infer_at >= 0) return ctx.error("shape ", shape_to_string(requested), " has more than one -1");
        infer_at = static_cast<int64_t>(i);
        continue;
      } else if (d < 0) {
        return ctx.error("shape ", shape_to_string(requested), " has invalid dim ", d);
      }
      out[i] = d;
      auto product = checked_multiply(known, d);  // a wrapped count would pass the check below
      if (!product.is_ok()) return ctx.error("shape ", shape_to_string(requested), " has more elements than a 64-bit count holds");
      known = *product;
    }
    if (infer_at >= 0) {
      if (known == 0 || data->size() % known != 0)
        return ctx.error("cannot reshape input of shape ", shape_to_string(data->shape()), " to ", shape_to_string(requested));
      out[infer_at] = data->size() / known;
    } else if (known != data->size()) {
      return ctx.error("cannot reshape input of shape ", shape_to_string(data->shape()), " (", data->size(),
                       " elements) to ", shape_to_string(out));
    }
    ctx.set_output(0, data->reshaped(std::move(out)));
    return Status::ok();
  }

 private:
  bool allowzero_;
  bool has_shape_attr_;  // Reshape-1
  std::vector<int64_t> shape_attr_;
};

class FlattenKernel final : public OpKernel {
 public:
  explicit FlattenKernel(const KernelInfo& info) : axis_(info.attr_int("axis", 1)) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    int64_t rank = static_cast<int64_t>(x->rank());
    int64_t axis = axis_ < 0 ? axis_ + rank : axis_;
    if (axis < 0 || axis > rank) return ctx.error("axis ", axis_, " is out of range for rank ", rank);
    int64_t outer = 1;
    for (int64_t k = 0; k < axis; ++k) outer *= x->dim(k);
    int64_t inner = 1;
    for (int64_t k = axis; k < rank; ++k) inner *= x->dim(k);
    ctx.set_output(0, x->reshaped({outer, inner}));
    return Status::ok();
  }

 private:
  int64_t axis_;
};

// Axes from input 1 when given (opset 13+), else the `axes` attribute (before 13).
Result<std::optional<Shape>> read_axes(const KernelContext& ctx, const std::optional<Shape>& attr) {
  if (ctx.input_count() > 1 && ctx.input(1)) {
    Shape axes;
    if (!read_int64s(*ctx.input(1), axes)) return ctx.error("axes input must be int64");
    return std::optional<Shape>(std::move(axes));
  }
  return attr;
}

class SqueezeKernel final : public OpKernel {
 public:
  explicit SqueezeKernel(const KernelInfo& info) {
    if (info.has_attr("axes")) axes_attr_ = info.attr_ints("axes");
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(auto axes, read_axes(ctx, axes_attr_));
    int64_t rank = static_cast<int64_t>(x->rank());
    InlineVector<bool, 8> drop(x->rank(), false);  // no allocation per run
    if (!axes) {
      for (size_t k = 0; k < x->rank(); ++k) drop[k] = x->dim(k) == 1;
    } else {
      for (int64_t a : *axes) {
        int64_t axis = a;
        if (!normalize_axis(axis, rank)) return ctx.error("axis ", a, " is out of range for rank ", rank);
        if (x->dim(axis) != 1)
          return ctx.error("cannot squeeze axis ", a, " of size ", x->dim(axis), " (input shape ", shape_to_string(x->shape()), ")");
        drop[axis] = true;
      }
    }
    Shape out;
    for (size_t k = 0; k < x->rank(); ++k)
      if (!drop[k]) out.push_back(x->dim(k));
    ctx.set_output(0, x->reshaped(std::move(out)));
    return Status::ok();
  }

 private:
  std::optional<Shape> axes_attr_;
};

class UnsqueezeKernel final : public OpKernel {
 public:
  explicit UnsqueezeKernel(const KernelInfo& info) {
    if (info.has_attr("axes")) axes_attr_ = info.attr_ints("axes");
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(auto axes, read_axes(ctx, axes_attr_));
    if (!axes) return ctx.error("axes are required (attribute before opset 13, input from 13)");
    int64_t out_rank = static_cast<int64_t>(x->rank() + axes->size());
    InlineVector<bool, 8> inserted(static_cast<size_t>(out_rank), false);  // no allocation per run
    for (int64_t a : *axes) {
      int64_t axis = a;
      if (!normalize_axis(axis, out_rank)) return ctx.error("axis ", a, " is out of range for output rank ", out_rank);
      if (inserted[axis]) return ctx.error("axis ", a, " is repeated");
      inserted[axis] = true;
    }
    Shape out(out_rank, 1);
    size_t next = 0;
    for (int64_t k = 0; k < out_rank; ++k)
      if (!inserted[k]) out[k] = x->dim(next++);
    ctx.set_output(0, x->reshaped(std::move(out)));
    return Status::ok();
  }

 private:
  std::optional<Shape> axes_attr_;
};

// Identity forwards any value: tensor, sequence, map or optional.
class IdentityKernel final : public OpKernel {
 public:
  explicit IdentityKernel(const KernelInfo&) {}
  Status compute(KernelContext& ctx) const override {
    const Value* v = ctx.input_value(0);
    if (!v) return ctx.error("input 0 is missing");
    ctx.set_output(0, *v);
    return Status::ok();
  }
};

class ShapeKernel final : public OpKernel {
 public:
  explicit ShapeKernel(const KernelInfo& info) : start_(info.attr_int("start")) {
    if (info.has_attr("end")) end_ = info.attr_int("end", 0);
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    int64_t rank = static_cast<int64_t>(x->rank());
    auto clamp = [rank](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
    int64_t start = clamp(start_), end = clamp(end_.value_or(rank));
    int64_t n = std::max<int64_t>(0, end - start);
    Tensor& out = ctx.allocate_output(0, DataType::int64, {n});
    for (int64_t i = 0; i < n; ++i) out.data<int64_t>()[i] = x->dim(start + i);
    return Status::ok();
  }

 private:
  int64_t start_;
  std::optional<int64_t> end_;
};

class SizeKernel final : public OpKernel {
 public:
  explicit SizeKernel(const KernelInfo&) {}
  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    ctx.allocate_output(0, DataType::int64, {}).data<int64_t>()[0] = x->size();
    return Status::ok();
  }
};

}  // namespace

void register_shape_ops(KernelRegistry& r) {
  const KernelDef defs[] = {
      {"", "Reshape", 1, kLatestOnnxOpset, make_factory<ReshapeKernel>()},
      {"", "Flatten", 1, kLatestOnnxOpset, make_factory<FlattenKernel>()},
      {"", "Squeeze", 1, kLatestOnnxOpset, make_factory<SqueezeKernel>()},
      {"", "Unsqueeze", 1, kLatestOnnxOpset, make_factory<UnsqueezeKernel>()},
      {"", "Identity", 1, kLatestOnnxOpset, make_factory<IdentityKernel>()},
      {"", "Shape", 1, kLatestOnnxOpset, make_factory<ShapeKernel>()},
      {"", "Size", 1, kLatestOnnxOpset, make_factory<SizeKernel>()},
  };
  for (const KernelDef& def : defs) r.add(def);
}

}  // namespace tessera
