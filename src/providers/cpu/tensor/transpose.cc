// Transpose. The copy itself is tensor_ops::permute (copy_util.cc): dims are merged, inner runs
// memcpy'd, transposed dim pairs copied in cache tiles, big tensors split over the thread pool.
#include "providers/cpu/families.h"
#include "providers/cpu/tensor/copy_util.h"

namespace tessera {
namespace {

using namespace tensor_ops;

class TransposeKernel final : public OpKernel {
 public:
  explicit TransposeKernel(const KernelInfo& info) {
    if (info.has_attr("perm")) perm_ = info.attr_ints("perm");
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    const size_t rank = x->rank();
    Shape perm(perm_.begin(), perm_.end());  // Shape: inline, so a run allocates nothing here
    if (perm.empty() && rank > 0) {
      perm.resize(rank);
      for (size_t k = 0; k < rank; ++k) perm[k] = static_cast<int64_t>(rank - 1 - k);
    }
    if (perm.size() != rank) return ctx.error("perm has ", perm.size(), " entries but the input has rank ", rank);
    Shape seen(rank, 0);
    Shape out_shape(rank);
    for (size_t k = 0; k < rank; ++k) {
      int64_t p = perm[k];
      if (p < 0) p += static_cast<int64_t>(rank);  // not in the spec, but harmless
      if (p < 0 || p >= static_cast<int64_t>(rank) || seen[p]) return ctx.error("perm ", shape_to_string(perm_), " is not a permutation");
      seen[p] = 1;
      perm[k] = p;
      out_shape[k] = x->dim(p);
    }
    // When the dims larger than 1 keep their order, the bytes do not move: alias.
    int64_t last = -1;
    bool same_order = true;
    for (size_t k = 0; k < rank && same_order; ++k) {
      if (x->dim(perm[k]) == 1) continue;
      same_order = perm[k] > last;
      last = perm[k];
    }
    if (same_order) {
      ctx.set_output(0, x->reshaped(std::move(out_shape)));
      return Status::ok();
    }
    Tensor& out = ctx.allocate_output_uninitialized(0, x->dtype(), out_shape);
    permute(*x, perm, out, &ctx.thread_pool());
    return Status::ok();
  }

 private:
  std::vector<int64_t> perm_;
};

}  // namespace

void register_transpose(KernelRegistry& r) { r.add({"", "Transpose", 1, kLatestOnnxOpset, make_factory<TransposeKernel>()}); }

}  // namespace tessera
