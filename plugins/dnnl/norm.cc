// BatchNormalization in inference (the given mean and variance) and LayerNormalization over the
// last axis (ONNX from opset 17, and com.tessera's for older models), as oneDNN normalizations.
#include <unordered_map>

#include "common.h"
#include "families.h"

namespace tessera_dnnl {

namespace {

using Flags = dnnl::normalization_flags;

class BatchNormKernel final : public Kernel {
 public:
  explicit BatchNormKernel(float epsilon) : epsilon_(epsilon) {}
  void prepare(const std::vector<Dims>& inputs) const override { plan(inputs[0]); }
  void run(const TesseraEpTensor* in, size_t, const TesseraEpOutputs* out) const override {
    const Dims x = dims_of(in[0]);
    float* y = allocate_output(out, 0, x);
    if (element_count(x) == 0) return;
    const auto p = plan(x);
    const memory::desc channel = plain_desc({x[1]});
    p->primitive.execute(stream(), {{DNNL_ARG_SRC, user_memory(plain_desc(x), in[0].data)},
                                    {DNNL_ARG_SCALE, user_memory(channel, in[1].data)},
                                    {DNNL_ARG_SHIFT, user_memory(channel, in[2].data)},
                                    {DNNL_ARG_MEAN, user_memory(p->pd.mean_desc(), in[3].data)},
                                    {DNNL_ARG_VARIANCE, user_memory(p->pd.variance_desc(), in[4].data)},
                                    {DNNL_ARG_DST, user_memory(plain_desc(x), y)},
                                    {DNNL_ARG_SCRATCHPAD, scratchpad(p->pd.scratchpad_desc())}});
  }

 private:
  struct Plan {
    dnnl::batch_normalization_forward::primitive_desc pd;
    dnnl::batch_normalization_forward primitive;
  };
  std::shared_ptr<const Plan> plan(const Dims& x) const {
    return cache_.get({x}, [&] {
      if (x.size() < 2 || x.size() > 5) throw Error("BatchNormalization of rank other than 2 to 5");
      dnnl::primitive_attr attr;
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      const dnnl::batch_normalization_forward::desc d(dnnl::prop_kind::forward_inference, plain_desc(x), epsilon_,
                                                      Flags::use_global_stats | Flags::use_scale | Flags::use_shift);
      Plan p{dnnl::batch_normalization_forward::primitive_desc(d, attr, engine()), {}};
      p.primitive = dnnl::batch_normalization_forward(p.pd);
      return p;
    });
  }
  float epsilon_;
  PlanCache<Plan> cache_;
};

class LayerNormKernel final : public Kernel {
 public:
  LayerNormKernel(float epsilon, bool shift) : epsilon_(epsilon), shift_(shift) {}
  void prepare(const std::vector<Dims>& inputs) const override { plan(inputs[0]); }
  void run(const TesseraEpTensor* in, size_t, const TesseraEpOutputs* out) const override {
    const Dims x = dims_of(in[0]);
    float* y = allocate_output(out, 0, x);
    if (element_count(x) == 0) return;
    const auto p = plan(x);
    const memory::desc channel = plain_desc({x.back()});
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, user_memory(plain_desc(x), in[0].data)},
                                         {DNNL_ARG_SCALE, user_memory(channel, in[1].data)},
                                         {DNNL_ARG_DST, user_memory(plain_desc(x), y)},
                                         {DNNL_ARG_SCRATCHPAD, scratchpad(p->pd.scratchpad_desc())}};
    if (shift_) args.emplace(DNNL_ARG_SHIFT, user_memory(channel, in[2].data));
    p->primitive.execute(stream(), args);
  }

 private:
  struct Plan {
    dnnl::layer_normalization_forward::primitive_desc pd;
    dnnl::layer_normalization_forward primitive;
  };
  std::shared_ptr<const Plan> plan(const Dims& x) const {
    return cache_.get({x}, [&] {
      if (x.size() < 2 || x.size() > 5) throw Error("LayerNormalization of rank other than 2 to 5");
      dnnl::primitive_attr attr;
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      const auto flags = shift_ ? Flags::use_scale | Flags::use_shift : Flags::use_scale;
      const dnnl::layer_normalization_forward::desc d(dnnl::prop_kind::forward_inference, plain_desc(x), epsilon_, flags);
      Plan p{dnnl::layer_normalization_forward::primitive_desc(d, attr, engine()), {}};
      p.primitive = dnnl::layer_normalization_forward(p.pd);
      return p;
    });
  }
  float epsilon_;
  bool shift_;
  PlanCache<Plan> cache_;
};

bool is_layer_norm(const NodeView& node) {
  return node.op() == "LayerNormalization" && (node.domain().empty() || node.domain() == "com.tessera");
}

bool handles(const NodeView& node) {
  return is_layer_norm(node) || (node.domain().empty() && node.op() == "BatchNormalization");
}

// `k` holds as many elements as the normalized axis has (any shape; -1 dims unknown).
bool channel_sized(const NodeView& node, size_t k, int64_t channels) {
  const auto& v = node.input(k);
  if (v.rank < 0 || channels < 0 || !fixed(v)) return false;
  return element_count(dims_of(v)) == channels;
}

std::string check(const NodeView& node) {
  if (std::string why = node.all_float(); !why.empty()) return why;
  for (size_t k = 1; k < node.output_count(); ++k)
    if (node.has_output(k)) return "op: " + node.op() + " with its optional outputs";
  const auto& x = node.input(0);
  if (x.rank < 2 || x.rank > 5) return "shape: rank other than 2 to 5, or unknown";
  if (is_layer_norm(node)) {
    const int64_t axis = node.i("axis", -1);
    if (axis != -1 && axis != x.rank - 1) return "attribute: LayerNormalization over more than the last axis";
    for (size_t k = 1; k < 3; ++k)
      if (node.has_input(k) && !channel_sized(node, k, x.dims[x.rank - 1])) return "shape: scale or bias not of the last axis' size";
    return "";
  }
  if (node.opset() < 9) return "opset: BatchNormalization before opset 9 (spatial attribute)";
  if (node.i("training_mode", 0) != 0) return "attribute: training_mode";
  for (size_t k = 1; k < 5; ++k)
    if (!channel_sized(node, k, x.dims[1])) return "shape: scale, bias, mean or variance not of the channel count";
  return "";
}

std::unique_ptr<Kernel> make(const NodeView& node) {
  const float epsilon = node.f("epsilon", 1e-5f);
  if (is_layer_norm(node)) return std::make_unique<LayerNormKernel>(epsilon, node.has_input(2));
  return std::make_unique<BatchNormKernel>(epsilon);
}

}  // namespace

Family norm_family() { return {handles, check, make}; }

}  // namespace tessera_dnnl
