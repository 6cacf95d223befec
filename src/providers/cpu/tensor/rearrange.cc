// Index-driven rearrangements that keep every element: DepthToSpace, SpaceToDepth (blocks
// between the channel and spatial axes) and ReverseSequence (reverse a prefix of each sequence).
#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/tensor/copy_util.h"

namespace tessera {
namespace {

using namespace tensor_ops;


// DepthToSpace and SpaceToDepth: a reshape to 6-D, a transpose, a reshape back.
class BlockRearrangeKernel final : public OpKernel {
 public:
  enum class Kind { depth_to_space_dcr, depth_to_space_crd, space_to_depth };

  BlockRearrangeKernel(int64_t blocksize, Kind kind) : b_(blocksize), kind_(kind) {}

  static Result<std::unique_ptr<OpKernel>> create_depth_to_space(const KernelInfo& info) {
    TS_ASSIGN_OR_RETURN(int64_t b, info.required_int("blocksize"));
    std::string mode = info.attr_string("mode", "DCR");
    if (mode != "DCR" && mode != "CRD") return info.error("unknown mode '", mode, "'");
    return std::unique_ptr<OpKernel>(new BlockRearrangeKernel(b, mode == "DCR" ? Kind::depth_to_space_dcr : Kind::depth_to_space_crd));
  }
  static Result<std::unique_ptr<OpKernel>> create_space_to_depth(const KernelInfo& info) {
    TS_ASSIGN_OR_RETURN(int64_t b, info.required_int("blocksize"));
    return std::unique_ptr<OpKernel>(new BlockRearrangeKernel(b, Kind::space_to_depth));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    if (x->rank() != 4) return ctx.error("input must be 4-D [N,C,H,W], got shape ", shape_to_string(x->shape()));
    if (b_ <= 0) return ctx.error("blocksize must be positive, got ", b_);
    const int64_t n = x->dim(0), c = x->dim(1), h = x->dim(2), w = x->dim(3), b = b_;
    // With an empty input any blocksize passes the divisibility checks, so the grown dims and
    // b^2 are multiplied checked (a crafted blocksize would overflow them).
    auto times = [&](int64_t d, int64_t by) -> Result<int64_t> {
      auto product = checked_multiply(d, by);
      if (!product.is_ok()) return ctx.error("blocksize ", b, " makes a dim of ", shape_to_string(x->shape()), " overflow");
      return product;
    };
    TS_ASSIGN_OR_RETURN(const int64_t area, times(b, b));
    Shape view, out_shape;
    std::vector<int64_t> perm;
    if (kind_ == Kind::space_to_depth) {
      if (h % b || w % b) return ctx.error("H and W (", h, ", ", w, ") must be multiples of blocksize ", b);
      view = {n, c, h / b, b, w / b, b};
      perm = {0, 3, 5, 1, 2, 4};
      TS_ASSIGN_OR_RETURN(const int64_t out_c, times(c, area));
      out_shape = {n, out_c, h / b, w / b};
    } else {
      if (c % area) return ctx.error("C (", c, ") must be a multiple of blocksize^2 (", area, ")");
      if (kind_ == Kind::depth_to_space_dcr) {
        view = {n, b, b, c / area, h, w};
        perm = {0, 3, 4, 1, 5, 2};
      } else {
        view = {n, c / area, b, b, h, w};
        perm = {0, 1, 4, 2, 5, 3};
      }
      TS_ASSIGN_OR_RETURN(const int64_t out_h, times(h, b));
      TS_ASSIGN_OR_RETURN(const int64_t out_w, times(w, b));
      out_shape = {n, c / area, out_h, out_w};
    }
    Shape permuted(6);
    for (size_t k = 0; k < 6; ++k) permuted[k] = view[perm[k]];
    Tensor& out = ctx.allocate_output(0, x->dtype(), out_shape);
    Tensor out_view = out.reshaped(permuted);  // same buffer
    permute(x->reshaped(view), perm, out_view, &ctx.thread_pool());
    return Status::ok();
  }

 private:
  int64_t b_;
  Kind kind_;
};

class ReverseSequenceKernel final : public OpKernel {
 public:
  explicit ReverseSequenceKernel(const KernelInfo& info)
      : batch_axis_(info.attr_int("batch_axis", 1)), time_axis_(info.attr_int("time_axis")) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* lens_t, ctx.required_input(1));
    if (x->rank() < 2) return ctx.error("input must have rank >= 2");
    if (!((batch_axis_ == 0 && time_axis_ == 1) || (batch_axis_ == 1 && time_axis_ == 0)))
      return ctx.error("batch_axis and time_axis must be 0 and 1 (in either order)");
    std::vector<int64_t> lens;
    if (!read_int64s(*lens_t, lens)) return ctx.error("sequence_lens must be int64");
    const int64_t batch = x->dim(batch_axis_), time = x->dim(time_axis_);
    if (static_cast<int64_t>(lens.size()) != batch) return ctx.error("sequence_lens has ", lens.size(), " entries, batch size is ", batch);
    for (int64_t len : lens)
      if (len < 0 || len > time) return ctx.error("sequence length ", len, " is outside [0, ", time, "]");
    const int64_t inner = product(x->shape(), 2, x->rank());
    const int64_t batch_stride = batch_axis_ == 0 ? time * inner : inner;
    const int64_t time_stride = time_axis_ == 0 ? batch * inner : inner;
    const DataType dtype = x->dtype();
    Tensor& out = ctx.allocate_output(0, dtype, x->shape());
    for (int64_t bi = 0; bi < batch; ++bi) {
      for (int64_t t = 0; t < time; ++t) {
        const int64_t src_t = t < lens[bi] ? lens[bi] - 1 - t : t;
        copy_elements(dtype, element_ptr(out.raw_data(), dtype, bi * batch_stride + t * time_stride),
                      element_ptr(x->raw_data(), dtype, bi * batch_stride + src_t * time_stride), inner);
      }
    }
    return Status::ok();
  }

 private:
  int64_t batch_axis_, time_axis_;
};

}  // namespace

void register_rearrange(KernelRegistry& r) {
  const KernelDef defs[] = {
      {"", "DepthToSpace", 1, kLatestOnnxOpset, BlockRearrangeKernel::create_depth_to_space},
      {"", "SpaceToDepth", 1, kLatestOnnxOpset, BlockRearrangeKernel::create_space_to_depth},
      {"", "ReverseSequence", 10, kLatestOnnxOpset, make_factory<ReverseSequenceKernel>()},
  };
  for (const KernelDef& def : defs) r.add(def);
}

}  // namespace tessera
