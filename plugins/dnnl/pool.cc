// 2-D MaxPool (dilations, ceil_mode as extra end padding), AveragePool (count_include_pad),
// GlobalAveragePool and GlobalMaxPool as oneDNN pooling in NCHW.
#include <algorithm>

#include "common.h"
#include "families.h"

namespace tessera_dnnl {

namespace {

using A = dnnl::algorithm;

struct PoolAttributes {
  bool max = false, global = false, include_pad = false, ceil = false;
  std::vector<int64_t> kernel, strides, dilations, pads;
  std::string auto_pad;
};

class PoolKernel final : public Kernel {
 public:
  explicit PoolKernel(PoolAttributes a) : a_(std::move(a)) {}
  void prepare(const std::vector<Dims>& inputs) const override { plan(inputs[0]); }
  void run(const TesseraEpTensor* in, size_t, const TesseraEpOutputs* out) const override {
    const auto p = plan(dims_of(in[0]));
    float* y = allocate_output(out, 0, p->out);
    if (element_count(p->out) == 0) return;
    p->primitive.execute(stream(), {{DNNL_ARG_SRC, user_memory(plain_desc(dims_of(in[0])), in[0].data)},
                                    {DNNL_ARG_DST, user_memory(plain_desc(p->out), y)},
                                    {DNNL_ARG_SCRATCHPAD, scratchpad(p->pd.scratchpad_desc())}});
  }

 private:
  struct Plan {
    Dims out;
    dnnl::pooling_v2_forward::primitive_desc pd;
    dnnl::pooling_v2_forward primitive;
  };
  std::shared_ptr<const Plan> plan(const Dims& x) const {
    return cache_.get({x}, [&] {
      if (x.size() != 4) throw Error("pooling: only 2-D");
      Dims kernel{x[2], x[3]}, strides{1, 1}, dilations{0, 0}, pad_begin{0, 0}, pad_end{0, 0}, out{x[0], x[1], 1, 1};
      if (!a_.global) {
        for (size_t k = 0; k < 2; ++k) {
          kernel[k] = a_.kernel[k];
          const int64_t stride = a_.strides.empty() ? 1 : a_.strides[k];
          const int64_t dilation = a_.dilations.empty() ? 1 : a_.dilations[k];
          const WindowAxis axis = window_axis(x[2 + k], kernel[k], stride, dilation, a_.auto_pad, a_.pads, k, a_.ceil);
          strides[k] = stride, dilations[k] = dilation - 1;
          pad_begin[k] = axis.pad_begin, pad_end[k] = axis.pad_end, out[2 + k] = axis.out;
        }
      }
      const A algorithm = a_.max ? A::pooling_max : a_.include_pad ? A::pooling_avg_include_padding : A::pooling_avg_exclude_padding;
      dnnl::primitive_attr attr;
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      const dnnl::pooling_v2_forward::desc d(dnnl::prop_kind::forward_inference, algorithm, plain_desc(x), plain_desc(out), strides,
                                             kernel, dilations, pad_begin, pad_end);
      Plan p{out, dnnl::pooling_v2_forward::primitive_desc(d, attr, engine()), {}};
      p.primitive = dnnl::pooling_v2_forward(p.pd);
      return p;
    });
  }
  PoolAttributes a_;
  PlanCache<Plan> cache_;
};

bool handles(const NodeView& node) {
  const std::string op = node.op();
  return node.domain().empty() && (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool" || op == "GlobalMaxPool");
}

std::string check(const NodeView& node) {
  if (std::string why = node.all_float(); !why.empty()) return why;
  if (node.input(0).rank != 4) return "shape: only 2-D pooling with a known rank";
  if (node.output_count() > 1 && node.has_output(1)) return "op: MaxPool's Indices output";
  const std::string op = node.op();
  if (op.rfind("Global", 0) == 0) return "";
  const std::string pad = node.s("auto_pad", "NOTSET");
  if (pad != "NOTSET" && pad != "VALID" && pad != "SAME_UPPER" && pad != "SAME_LOWER") return "attribute: auto_pad " + pad;
  if (node.ints("kernel_shape").size() != 2) return "attribute: kernel_shape";
  const auto pads = node.ints("pads");
  if (!pads.empty() && pads.size() != 4) return "attribute: pads";
  if (op == "AveragePool" && node.i("ceil_mode", 0) != 0) return "attribute: AveragePool's ceil_mode";
  if (op == "AveragePool" && !node.ints("dilations").empty()) return "attribute: AveragePool's dilations";
  return "";
}

std::unique_ptr<Kernel> make(const NodeView& node) {
  PoolAttributes a;
  a.max = node.op() == "MaxPool" || node.op() == "GlobalMaxPool";
  a.global = node.op().rfind("Global", 0) == 0;
  a.include_pad = node.i("count_include_pad", 0) != 0;
  a.ceil = node.i("ceil_mode", 0) != 0;
  a.kernel = node.ints("kernel_shape"), a.strides = node.ints("strides"), a.dilations = node.ints("dilations");
  a.pads = node.ints("pads"), a.auto_pad = node.s("auto_pad", "NOTSET");
  return std::make_unique<PoolKernel>(std::move(a));
}

}  // namespace

Family pool_family() { return {handles, check, make}; }

}  // namespace tessera_dnnl
