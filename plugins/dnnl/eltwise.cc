// Elementwise activations (one oneDNN eltwise over the flattened tensor) and Softmax/LogSoftmax.
#include <cmath>
#include <limits>

#include "common.h"
#include "families.h"

namespace tessera_dnnl {

namespace {

using A = dnnl::algorithm;

struct Eltwise {
  A algorithm;
  float alpha = 0, beta = 0;
};

// The oneDNN algorithm of an ONNX activation with its attributes, or the decline reason.
std::string eltwise_of(const NodeView& node, Eltwise& e) {
  const std::string op = node.op();
  const bool tessera = node.domain() == "com.tessera";
  if (!node.domain().empty() && !tessera) return "op: domain " + node.domain();
  if (tessera && op != "Gelu") return "op: " + op + " of com.tessera";
  if (op == "Relu") e = {A::eltwise_relu};
  else if (op == "LeakyRelu") e = {A::eltwise_relu, node.f("alpha", 0.01f)};
  else if (op == "Elu") e = {A::eltwise_elu, node.f("alpha", 1.0f)};
  else if (op == "Sigmoid") e = {A::eltwise_logistic};
  else if (op == "Tanh") e = {A::eltwise_tanh};
  else if (op == "HardSwish") e = {A::eltwise_hardswish};
  else if (op == "Abs") e = {A::eltwise_abs};
  else if (op == "Sqrt") e = {A::eltwise_sqrt};
  else if (op == "Exp") e = {A::eltwise_exp};  // not Log: oneDNN's is off by 1e-6 near 1 (log(1) != 0)
  else if (op == "Neg") e = {A::eltwise_linear, -1.0f, 0.0f};
  else if (op == "Mish") e = {A::eltwise_mish};
  else if (op == "Gelu") {
    const std::string approximate = node.s("approximate", "none");
    if (approximate != "none" && approximate != "tanh") return "attribute: approximate '" + approximate + "'";
    e = {approximate == "none" ? A::eltwise_gelu_erf : A::eltwise_gelu_tanh};
  } else if (op == "Clip") {
    float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
    if (node.opset() < 11) {
      lo = node.f("min", lo), hi = node.f("max", hi);
    } else {  // min and max are inputs: only constants can become the primitive's bounds
      for (size_t k = 1; k < 3; ++k) {
        if (!node.has_input(k)) continue;
        const auto values = node.constant_floats(k);
        if (values.size() != 1) return "shape: Clip's min and max must be constant scalars";
        (k == 1 ? lo : hi) = values[0];
      }
    }
    if (lo > hi) return "attribute: Clip with min > max";
    e = {A::eltwise_clip_v2, lo, hi};
  } else {
    return "op: " + op + " is not an activation oneDNN runs";
  }
  return "";
}

class EltwiseKernel final : public Kernel {
 public:
  explicit EltwiseKernel(Eltwise e) : e_(e) {}
  void prepare(const std::vector<Dims>& inputs) const override { plan(inputs[0]); }
  void run(const TesseraEpTensor* in, size_t, const TesseraEpOutputs* out) const override {
    const Dims dims = dims_of(in[0]);
    float* y = allocate_output(out, 0, dims);
    if (element_count(dims) == 0) return;
    plan(dims)->execute(stream(), {{DNNL_ARG_SRC, user_memory(flat(dims), in[0].data)}, {DNNL_ARG_DST, user_memory(flat(dims), y)}});
  }

 private:
  static memory::desc flat(const Dims& dims) { return plain_desc({std::max<int64_t>(element_count(dims), 1)}); }
  std::shared_ptr<const dnnl::eltwise_forward> plan(const Dims& dims) const {
    return cache_.get({{element_count(dims)}}, [&] {
      const dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, e_.algorithm, flat(dims), e_.alpha, e_.beta);
      return dnnl::eltwise_forward(dnnl::eltwise_forward::primitive_desc(d, engine()));
    });
  }
  Eltwise e_;
  PlanCache<dnnl::eltwise_forward> cache_;
};

bool handles_eltwise(const NodeView& node) {
  Eltwise e;
  return eltwise_of(node, e).rfind("op:", 0) != 0;
}
std::string check_eltwise(const NodeView& node) {
  Eltwise e;
  std::string why = eltwise_of(node, e);
  if (why.empty()) why = node.all_float();
  if (why.empty() && node.output_count() != 1) why = "op: unexpected outputs";
  return why;
}
std::unique_ptr<Kernel> make_eltwise(const NodeView& node) {
  Eltwise e;
  eltwise_of(node, e);
  return std::make_unique<EltwiseKernel>(e);
}

// Softmax and LogSoftmax: from opset 13 over one axis; before it over the dims from `axis` on,
// flattened (so the tensor is seen as 2-D).
class SoftmaxKernel final : public Kernel {
 public:
  SoftmaxKernel(bool log, bool flatten, int64_t axis) : log_(log), flatten_(flatten), axis_(axis) {}
  void prepare(const std::vector<Dims>& inputs) const override { plan(inputs[0]); }
  void run(const TesseraEpTensor* in, size_t, const TesseraEpOutputs* out) const override {
    const Dims dims = dims_of(in[0]);
    float* y = allocate_output(out, 0, dims);
    if (element_count(dims) == 0) return;
    const auto p = plan(dims);
    p->primitive.execute(stream(), {{DNNL_ARG_SRC, user_memory(p->desc, in[0].data)}, {DNNL_ARG_DST, user_memory(p->desc, y)}});
  }

 private:
  struct Plan {
    memory::desc desc;
    dnnl::softmax_v2_forward primitive;
  };
  std::shared_ptr<const Plan> plan(const Dims& dims) const {
    return cache_.get({dims}, [&] {
      const int64_t rank = static_cast<int64_t>(dims.size());
      const int64_t axis = axis_ < 0 ? axis_ + rank : axis_;
      if (axis < 0 || axis >= rank) throw Error("softmax axis out of range");
      Dims shape = dims;
      int axis_used = static_cast<int>(axis);
      if (flatten_) {
        int64_t outer = 1, inner = 1;
        for (int64_t k = 0; k < rank; ++k) (k < axis ? outer : inner) *= dims[k];
        shape = {outer, inner};
        axis_used = 1;
      }
      const memory::desc desc = plain_desc(shape);
      const dnnl::softmax_v2_forward::desc d(dnnl::prop_kind::forward_inference, log_ ? A::softmax_log : A::softmax_accurate,
                                             desc, desc, axis_used);
      return Plan{desc, dnnl::softmax_v2_forward(dnnl::softmax_v2_forward::primitive_desc(d, engine()))};
    });
  }
  bool log_, flatten_;
  int64_t axis_;
  PlanCache<Plan> cache_;
};

bool handles_softmax(const NodeView& node) {
  return node.domain().empty() && (node.op() == "Softmax" || node.op() == "LogSoftmax");
}
std::string check_softmax(const NodeView& node) {
  if (node.input(0).rank == 0) return "shape: a scalar";
  if (node.input(0).rank < 0) return "shape: unknown rank";
  return node.all_float();
}
std::unique_ptr<Kernel> make_softmax(const NodeView& node) {
  const bool flatten = node.opset() < 13;
  return std::make_unique<SoftmaxKernel>(node.op() == "LogSoftmax", flatten, node.i("axis", flatten ? 1 : -1));
}

}  // namespace

Family eltwise_family() { return {handles_eltwise, check_eltwise, make_eltwise}; }
Family softmax_family() { return {handles_softmax, check_softmax, make_softmax}; }

}  // namespace tessera_dnnl
