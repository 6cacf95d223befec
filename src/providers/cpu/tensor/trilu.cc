// Trilu: keep the upper or lower triangle (shifted by k) of each matrix of a batch, zero the rest.
#include <algorithm>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/tensor/copy_util.h"

namespace tessera {
namespace {

using namespace tensor_ops;


class TriluKernel final : public OpKernel {
 public:
  explicit TriluKernel(const KernelInfo& info) : upper_(info.attr_int("upper", 1) != 0) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    if (x->rank() < 2) return ctx.error("input must have rank >= 2, got shape ", shape_to_string(x->shape()));
    int64_t k = 0;
    if (ctx.input_count() > 1 && ctx.input(1)) {
      std::vector<int64_t> kv;
      if (!read_int64s(*ctx.input(1), kv) || kv.size() != 1) return ctx.error("k must be an int64 scalar");
      k = kv[0];
    }
    const int64_t rows = x->dim(x->rank() - 2), cols = x->dim(x->rank() - 1);
    const int64_t mats = rows * cols > 0 ? x->size() / (rows * cols) : 0;
    const DataType dtype = x->dtype();
    Tensor& out = ctx.allocate_output(0, dtype, x->shape());  // zeros
    for (int64_t m = 0; m < mats; ++m) {
      for (int64_t i = 0; i < rows; ++i) {
        // upper keeps j >= i + k; lower keeps j <= i + k.
        int64_t lo = upper_ ? std::clamp<int64_t>(i + k, 0, cols) : 0;
        int64_t hi = upper_ ? cols : std::clamp<int64_t>(i + k + 1, 0, cols);
        int64_t base = (m * rows + i) * cols;
        copy_elements(dtype, element_ptr(out.raw_data(), dtype, base + lo), element_ptr(x->raw_data(), dtype, base + lo), hi - lo);
      }
    }
    return Status::ok();
  }

 private:
  bool upper_;
};

}  // namespace

void register_trilu(KernelRegistry& r) {
  const KernelDef defs[] = {
      {"", "Trilu", 14, kLatestOnnxOpset, make_factory<TriluKernel>()},
  };
  for (const KernelDef& def : defs) r.add(def);
}

}  // namespace tessera
