// 2-D Conv (groups, pads or auto_pad, strides, dilations, bias) and com.tessera/com.microsoft
// FusedConv (residual Z as a sum post-op, then the activation as eltwise post-ops). oneDNN picks
// the layouts (format_tag::any): the input is reordered into its layout and the output back to
// NCHW around each call; constant weights are reordered once per plan.
#include <algorithm>
#include <unordered_map>

#include "common.h"
#include "families.h"

namespace tessera_dnnl {

namespace {

using Tag = memory::format_tag;

struct ConvAttributes {
  std::vector<int64_t> strides, dilations, pads;
  std::string auto_pad;
  int64_t group = 1;
  std::string activation;
  std::vector<float> activation_params;
};

class ConvKernel final : public Kernel {
 public:
  ConvKernel(ConvAttributes a, std::vector<float> weights, std::vector<float> bias)
      : a_(std::move(a)), weights_(std::move(weights)), bias_(std::move(bias)) {}

  void prepare(const std::vector<Dims>& inputs) const override { plan(inputs); }

  void run(const TesseraEpTensor* in, size_t count, const TesseraEpOutputs* out) const override {
    const auto p = plan(input_dims(in, count));
    float* y = allocate_output(out, 0, p->out);
    if (element_count(p->out) == 0) return;
    dnnl::stream& s = stream();
    memory src = user_memory(p->user_src, in[0].data);
    if (p->pd.src_desc() != p->user_src) {
      memory blocked(p->pd.src_desc(), engine());
      dnnl::reorder(src, blocked).execute(s, src, blocked);
      src = blocked;
    }
    memory weights = p->weights;
    if (!weights) {  // weights fed at run time: reordered on each call
      memory user = user_memory(p->user_weights, in[1].data);
      weights = p->pd.weights_desc() == p->user_weights ? user : memory(p->pd.weights_desc(), engine());
      if (weights != user) dnnl::reorder(user, weights).execute(s, user, weights);
    }
    memory user_dst = user_memory(plain_desc(p->out), y);
    memory dst = p->pd.dst_desc() == user_dst.get_desc() ? user_dst : memory(p->pd.dst_desc(), engine());
    if (count > 3 && in[3].data) {  // Z: the sum post-op adds what dst holds
      memory z = user_memory(plain_desc(p->out), in[3].data);
      dnnl::reorder(z, dst).execute(s, z, dst);
    }
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst},
                                         {DNNL_ARG_SCRATCHPAD, scratchpad(p->pd.scratchpad_desc())}};
    if (p->has_bias) {
      const void* bias = bias_.empty() ? in[2].data : bias_.data();
      args.emplace(DNNL_ARG_BIAS, user_memory(p->pd.bias_desc(), bias));
    }
    p->primitive.execute(s, args);
    if (dst != user_dst) dnnl::reorder(dst, user_dst).execute(s, dst, user_dst);
    s.wait();
  }

 private:
  struct Plan {
    Dims out;
    bool has_bias = false;
    memory::desc user_src, user_weights;
    dnnl::convolution_forward::primitive_desc pd;
    dnnl::convolution_forward primitive;
    memory weights;  // reordered once when the weights are constant; empty otherwise
  };

  std::shared_ptr<const Plan> plan(const std::vector<Dims>& dims) const {
    return cache_.get(dims, [&] {
      const Dims& x = dims[0];
      const Dims& w = dims[1];
      if (x.size() != 4 || w.size() != 4) throw Error("Conv: only 2-D convolutions");
      const int64_t g = a_.group;
      if (g < 1 || x[1] != w[1] * g || w[0] % g != 0) throw Error("Conv: channels do not match the weights and groups");
      Dims strides{1, 1}, dilations{0, 0}, pad_begin{0, 0}, pad_end{0, 0}, out{x[0], w[0], 0, 0};
      for (size_t k = 0; k < 2; ++k) {
        const int64_t stride = a_.strides.empty() ? 1 : a_.strides[k];
        const int64_t dilation = a_.dilations.empty() ? 1 : a_.dilations[k];
        const WindowAxis axis = window_axis(x[2 + k], w[2 + k], stride, dilation, a_.auto_pad, a_.pads, k, false);
        strides[k] = stride, dilations[k] = dilation - 1;
        pad_begin[k] = axis.pad_begin, pad_end[k] = axis.pad_end, out[2 + k] = axis.out;
      }
      Plan p;
      p.out = out;
      p.has_bias = present(dims, 2);
      p.user_src = plain_desc(x);
      const Dims wdims = g == 1 ? w : Dims{g, w[0] / g, w[1], w[2], w[3]};
      p.user_weights = memory::desc(wdims, memory::data_type::f32, g == 1 ? Tag::oihw : Tag::goihw);
      const auto any = [](const Dims& d) { return memory::desc(d, memory::data_type::f32, Tag::any); };
      dnnl::post_ops ops;
      if (present(dims, 3)) {
        if (dims[3] != out) throw Error("FusedConv: Z does not have the output's shape");
        ops.append_sum(1.0f);
      }
      if (std::string why = append_activation(a_.activation, a_.activation_params, ops); !why.empty()) throw Error(why);
      dnnl::primitive_attr attr;
      attr.set_post_ops(ops);
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      const auto d = p.has_bias
                         ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                                           any(x), any(wdims), memory::desc({w[0]}, memory::data_type::f32, Tag::x), any(out), strides, dilations, pad_begin, pad_end)
                         : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                                           any(x), any(wdims), any(out), strides, dilations, pad_begin, pad_end);
      p.pd = dnnl::convolution_forward::primitive_desc(d, attr, engine());
      p.primitive = dnnl::convolution_forward(p.pd);
      if (!weights_.empty()) {
        memory user = user_memory(p.user_weights, weights_.data());
        p.weights = memory(p.pd.weights_desc(), engine());
        dnnl::stream s(engine());
        dnnl::reorder(user, p.weights).execute(s, user, p.weights);
        s.wait();
      }
      return p;
    });
  }

  ConvAttributes a_;
  std::vector<float> weights_, bias_;  // copies of constant inputs; empty when fed at run time
  PlanCache<Plan> cache_;
};

bool handles(const NodeView& node) {
  if (node.op() == "Conv") return node.domain().empty();
  return node.op() == "FusedConv" && (node.domain() == "com.tessera" || node.domain() == "com.microsoft");
}

std::string check(const NodeView& node) {
  if (std::string why = node.all_float(); !why.empty()) return why;
  if (node.input(0).rank != 4 || node.input(1).rank != 4) return "shape: only 2-D convolutions with known ranks";
  const std::string pad = node.s("auto_pad", "NOTSET");
  if (pad != "NOTSET" && pad != "VALID" && pad != "SAME_UPPER" && pad != "SAME_LOWER") return "attribute: auto_pad " + pad;
  for (const char* name : {"strides", "dilations"}) {
    const auto v = node.ints(name);
    if (!v.empty() && (v.size() != 2 || v[0] < 1 || v[1] < 1)) return std::string("attribute: ") + name;
  }
  const auto pads = node.ints("pads");
  if (!pads.empty() && (pads.size() != 4 || *std::min_element(pads.begin(), pads.end()) < 0)) return "attribute: pads";
  dnnl::post_ops ops;
  return append_activation(node.s("activation", ""), node.floats("activation_params"), ops);
}

std::unique_ptr<Kernel> make(const NodeView& node) {
  ConvAttributes a{node.ints("strides"), node.ints("dilations"), node.ints("pads"), node.s("auto_pad", "NOTSET"),
                   node.i("group", 1),   node.s("activation", ""), node.floats("activation_params")};
  return std::make_unique<ConvKernel>(std::move(a), node.constant_floats(1), node.constant_floats(2));
}

}  // namespace

Family conv_family() { return {handles, check, make}; }

}  // namespace tessera_dnnl
