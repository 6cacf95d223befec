// Slice: starts/ends/axes as attributes (opset 1) or inputs with steps (opset 10+). Each sliced
// axis becomes an offset and a (possibly negative) stride; the copy is one strided_copy.
#include <algorithm>
#include <limits>
#include <optional>

#include "tessera/inline_vector.h"
#include "providers/cpu/families.h"
#include "providers/cpu/tensor/copy_util.h"

namespace tessera {
namespace {

using namespace tensor_ops;

class SliceKernel final : public OpKernel {
 public:
  explicit SliceKernel(const KernelInfo& info) {
    if (info.has_attr("starts")) starts_attr_ = info.attr_ints("starts");
    if (info.has_attr("ends")) ends_attr_ = info.attr_ints("ends");
    if (info.has_attr("axes")) axes_attr_ = info.attr_ints("axes");
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    Shape starts, ends, axes, steps;  // inline: no allocation per run
    if (ctx.input_count() > 1) {
      auto read = [&](size_t i, const char* what, Shape& out, bool required) -> Status {
        const Tensor* t = ctx.input(i);
        if (!t) return required ? ctx.required_input(i).status() : Status::ok();
        if (t->dtype() != DataType::int32 && t->dtype() != DataType::int64) return ctx.error(what, " must be int32 or int64");
        (void)read_int64s(*t, out);
        return Status::ok();
      };
      TS_RETURN_IF_ERROR(read(1, "starts", starts, true));
      TS_RETURN_IF_ERROR(read(2, "ends", ends, true));
      TS_RETURN_IF_ERROR(read(3, "axes", axes, false));
      TS_RETURN_IF_ERROR(read(4, "steps", steps, false));
    } else {
      if (!starts_attr_ || !ends_attr_) return ctx.error("attributes starts and ends are required");
      starts = *starts_attr_;
      ends = *ends_attr_;
      if (axes_attr_) axes = *axes_attr_;
    }
    if (ends.size() != starts.size()) return ctx.error("starts has ", starts.size(), " entries but ends has ", ends.size());
    const int64_t rank = static_cast<int64_t>(x->rank());
    if (axes.empty()) {
      axes.resize(starts.size());
      for (size_t i = 0; i < axes.size(); ++i) axes[i] = static_cast<int64_t>(i);
    }
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (axes.size() != starts.size() || steps.size() != starts.size())
      return ctx.error("starts, ends, axes and steps must have the same length");

    Shape out_shape = x->shape();
    const Shape strides = contiguous_strides(x->shape());
    Shape src_strides = strides;
    InlineVector<bool, 8> seen(x->rank(), false);  // no allocation per run
    int64_t offset = 0;
    for (size_t i = 0; i < starts.size(); ++i) {
      int64_t axis = axes[i];
      if (!normalize_axis(axis, rank)) return ctx.error("axis ", axes[i], " is out of range for rank ", rank);
      if (seen[axis]) return ctx.error("axis ", axes[i], " is repeated");
      seen[axis] = true;
      const int64_t dim = x->dim(axis);
      const int64_t step = std::max(steps[i], -std::numeric_limits<int64_t>::max());  // so -step cannot overflow
      if (step == 0) return ctx.error("step for axis ", axes[i], " is 0");
      // Negative values count from the end; then clamp per the spec (INT64_MAX means "to the end").
      auto wrap = [dim](int64_t v) { return v < 0 ? v + dim : v; };
      int64_t start = wrap(starts[i]), end = wrap(ends[i]);
      int64_t count;
      if (step > 0) {
        start = std::clamp<int64_t>(start, 0, dim);
        end = std::clamp<int64_t>(end, 0, dim);
        count = end > start ? (end - start + step - 1) / step : 0;
      } else {
        start = std::clamp<int64_t>(start, 0, dim - 1);
        end = std::clamp<int64_t>(end, -1, dim - 1);
        count = start > end ? (start - end + (-step) - 1) / (-step) : 0;
      }
      out_shape[axis] = count;
      if (count > 0) offset += start * strides[axis];
      src_strides[axis] = strides[axis] * step;
    }
    // strided_copy writes every element: no zero-fill first.
    Tensor& out = ctx.allocate_output_uninitialized(0, x->dtype(), out_shape);
    if (out.size() == 0) return Status::ok();
    strided_copy(x->dtype(), out_shape, out.raw_data(), contiguous_strides(out_shape), element_ptr(x->raw_data(), x->dtype(), offset),
                 src_strides, &ctx.thread_pool());
    return Status::ok();
  }

 private:
  std::optional<Shape> starts_attr_, ends_attr_, axes_attr_;
};

}  // namespace

void register_slice(KernelRegistry& r) { r.add({"", "Slice", 1, kLatestOnnxOpset, make_factory<SliceKernel>()}); }

}  // namespace tessera
