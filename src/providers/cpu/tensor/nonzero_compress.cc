// Index selection: NonZero (the indices of the non-zero elements) and Compress (the slices
// a boolean condition keeps).
#include <optional>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/tensor/copy_util.h"

namespace tessera {
namespace {

using namespace tensor_ops;


template <class T>
bool is_nonzero(const T& v) {
  if constexpr (std::is_same_v<T, std::string>) return !v.empty();
  else return to_computed(v) != compute_t<T>(0);
}

class NonZeroKernel final : public OpKernel {
 public:
  explicit NonZeroKernel(const KernelInfo&) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    std::vector<int64_t> hits;
    TS_RETURN_IF_ERROR(dispatch<kStandardTypes | kCodedFloatTypes | kSubByteIntTypes>(x->dtype(), [&]<class T>() {
      const T* p = x->data<T>();
      for (int64_t i = 0; i < x->size(); ++i)
        if (is_nonzero(p[i])) hits.push_back(i);
      return Status::ok();
    }, ctx.node()));
    // A scalar counts as a 1-D tensor of one element, as numpy does.
    Shape shape = x->rank() == 0 ? Shape{1} : x->shape();
    const int64_t rank = static_cast<int64_t>(shape.size()), n = static_cast<int64_t>(hits.size());
    int64_t* out = ctx.allocate_output(0, DataType::int64, {rank, n}).data<int64_t>();
    for (int64_t j = 0; j < n; ++j) {
      int64_t rem = hits[j];
      for (int64_t k = rank - 1; k >= 0; --k) {
        out[k * n + j] = rem % shape[k];
        rem /= shape[k];
      }
    }
    return Status::ok();
  }
};

class CompressKernel final : public OpKernel {
 public:
  explicit CompressKernel(const KernelInfo& info) {
    if (info.has_attr("axis")) axis_ = info.attr_int("axis", 0);
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* cond_t, ctx.required_input(1));
    std::vector<int64_t> cond;
    if (!read_int64s(*cond_t, cond)) return ctx.error("condition must be bool");
    const DataType dtype = x->dtype();
    // Without an axis the input is flattened.
    Shape shape = axis_ ? x->shape() : Shape{x->size()};
    int64_t axis = axis_.value_or(0);
    if (!normalize_axis(axis, static_cast<int64_t>(shape.size()))) return ctx.error("axis ", *axis_, " is out of range for rank ", x->rank());
    const int64_t dim = shape[axis];
    std::vector<int64_t> selected;
    for (int64_t i = 0; i < static_cast<int64_t>(cond.size()); ++i) {
      if (!cond[i]) continue;
      if (i >= dim) return ctx.error("condition selects index ", i, " but the axis has size ", dim);
      selected.push_back(i);
    }
    const int64_t outer = product(shape, 0, axis), inner = product(shape, axis + 1, shape.size());
    Shape out_shape = shape;
    out_shape[axis] = static_cast<int64_t>(selected.size());
    Tensor& out = ctx.allocate_output(0, dtype, out_shape);
    const int64_t n = static_cast<int64_t>(selected.size());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < n; ++j)
        copy_elements(dtype, element_ptr(out.raw_data(), dtype, (o * n + j) * inner),
                      element_ptr(x->raw_data(), dtype, (o * dim + selected[j]) * inner), inner);
    return Status::ok();
  }

 private:
  std::optional<int64_t> axis_;
};

}  // namespace

void register_nonzero_compress(KernelRegistry& r) {
  const KernelDef defs[] = {
      {"", "NonZero", 9, kLatestOnnxOpset, make_factory<NonZeroKernel>()},
      {"", "Compress", 9, kLatestOnnxOpset, make_factory<CompressKernel>()},
  };
  for (const KernelDef& def : defs) r.add(def);
}

}  // namespace tessera
