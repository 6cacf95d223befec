// MatMul (ranks >= 2, batch dims broadcast), Gemm (transA/transB as strides, alpha as a linear
// post-op, C added as a broadcast binary post-op) and com.tessera FusedMatMul (bias added, then
// Relu or GELU) as one oneDNN matmul each.
#include <algorithm>
#include <unordered_map>

#include "common.h"
#include "families.h"

namespace tessera_dnnl {

namespace {

using A = dnnl::algorithm;

enum class Kind { matmul, gemm, fused };

struct MatMulAttributes {
  Kind kind = Kind::matmul;
  bool trans_a = false, trans_b = false;
  float alpha = 1, beta = 1;
  std::string activation;
};

Dims padded(const Dims& d, size_t rank) {
  Dims out(rank - d.size(), 1);
  out.insert(out.end(), d.begin(), d.end());
  return out;
}

// A 2-D operand stored [cols, rows] read as [rows, cols].
memory::desc transposed(const Dims& stored) {
  return memory::desc({stored[1], stored[0]}, memory::data_type::f32, Dims{1, stored[1]});
}

class MatMulKernel final : public Kernel {
 public:
  explicit MatMulKernel(MatMulAttributes a) : a_(std::move(a)) {}
  void prepare(const std::vector<Dims>& inputs) const override { plan(inputs); }
  void run(const TesseraEpTensor* in, size_t count, const TesseraEpOutputs* out) const override {
    const auto p = plan(input_dims(in, count));
    float* y = allocate_output(out, 0, p->out);
    if (element_count(p->out) == 0) return;
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, user_memory(p->src, in[0].data)},
                                         {DNNL_ARG_WEIGHTS, user_memory(p->weights, in[1].data)},
                                         {DNNL_ARG_DST, user_memory(p->dst, y)},
                                         {DNNL_ARG_SCRATCHPAD, scratchpad(p->pd.scratchpad_desc())}};
    if (p->addend_index >= 0)
      args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(p->addend_index) | DNNL_ARG_SRC_1, user_memory(p->addend, in[2].data));
    p->primitive.execute(stream(), args);
  }

 private:
  struct Plan {
    Dims out;
    memory::desc src, weights, dst, addend;
    int addend_index = -1;  // the post-op adding C or the bias; -1 when none
    dnnl::matmul::primitive_desc pd;
    dnnl::matmul primitive;
  };

  std::shared_ptr<const Plan> plan(const std::vector<Dims>& dims) const {
    return cache_.get(dims, [&] {
      Plan p;
      const Dims &a = dims[0], &b = dims[1];
      if (a.size() < 2 || b.size() < 2) throw Error("MatMul of a 1-D operand");
      dnnl::post_ops ops;
      Dims dst;
      if (a_.kind == Kind::gemm) {
        if (a.size() != 2 || b.size() != 2) throw Error("Gemm of operands that are not 2-D");
        p.src = a_.trans_a ? transposed(a) : plain_desc(a);
        p.weights = a_.trans_b ? transposed(b) : plain_desc(b);
        const int64_t m = a_.trans_a ? a[1] : a[0], k = a_.trans_a ? a[0] : a[1];
        const int64_t kb = a_.trans_b ? b[1] : b[0], n = a_.trans_b ? b[0] : b[1];
        if (k != kb) throw Error("Gemm inner dims differ");
        dst = {m, n};
        if (a_.alpha != 1.0f) ops.append_eltwise(1.0f, A::eltwise_linear, a_.alpha, 0.0f);
      } else {
        const size_t rank = std::max(a.size(), b.size());
        const Dims pa = padded(a, rank), pb = padded(b, rank);
        if (pa[rank - 1] != pb[rank - 2]) throw Error("MatMul inner dims differ");
        dst = pa;
        dst[rank - 1] = pb[rank - 1];
        for (size_t k = 0; k + 2 < rank; ++k) {
          if (pa[k] != pb[k] && pa[k] != 1 && pb[k] != 1) throw Error("MatMul batch dims do not broadcast");
          dst[k] = pa[k] == 1 ? pb[k] : pa[k];
        }
        p.src = plain_desc(pa), p.weights = plain_desc(pb);
      }
      p.out = dst;
      p.dst = plain_desc(dst);
      if (present(dims, 2) && !(a_.kind == Kind::gemm && a_.beta == 0.0f)) {
        if (dims[2].size() > dst.size()) throw Error("the addend has a higher rank than the product");
        const Dims c = padded(dims[2], dst.size());
        for (size_t k = 0; k < dst.size(); ++k)
          if (c[k] != 1 && c[k] != dst[k]) throw Error("the addend does not broadcast to the product");
        p.addend = plain_desc(c);
        p.addend_index = ops.len();
        ops.append_binary(A::binary_add, p.addend);
      }
      if (a_.activation == "Relu") ops.append_eltwise(1.0f, A::eltwise_relu, 0.0f, 0.0f);
      else if (a_.activation == "Gelu") ops.append_eltwise(1.0f, A::eltwise_gelu_erf, 0.0f, 0.0f);
      dnnl::primitive_attr attr;
      attr.set_post_ops(ops);
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      p.pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(p.src, p.weights, p.dst), attr, engine());
      p.primitive = dnnl::matmul(p.pd);
      return p;
    });
  }

  MatMulAttributes a_;
  PlanCache<Plan> cache_;
};

bool handles(const NodeView& node) {
  if (node.domain().empty()) return node.op() == "MatMul" || node.op() == "Gemm";
  return node.domain() == "com.tessera" && node.op() == "FusedMatMul";
}

std::string check(const NodeView& node) {
  if (std::string why = node.all_float(); !why.empty()) return why;
  if (node.input(0).rank < 2 || node.input(1).rank < 2) return "shape: operands of rank under 2 or unknown";
  if (node.op() == "Gemm") {
    if (node.opset() < 7) return "opset: Gemm before opset 7 broadcasts by attribute";
    if (node.has_input(2) && node.f("beta", 1.0f) != 1.0f && node.f("beta", 1.0f) != 0.0f)
      return "attribute: beta other than 0 or 1 with C";
  }
  const std::string activation = node.s("activation", "");
  if (activation != "" && activation != "Relu" && activation != "Gelu") return "attribute: activation " + activation;
  return "";
}

std::unique_ptr<Kernel> make(const NodeView& node) {
  MatMulAttributes a;
  a.kind = node.op() == "Gemm" ? Kind::gemm : node.op() == "FusedMatMul" ? Kind::fused : Kind::matmul;
  a.trans_a = node.i("transA", 0) != 0, a.trans_b = node.i("transB", 0) != 0;
  a.alpha = node.f("alpha", 1.0f), a.beta = node.f("beta", 1.0f);
  a.activation = node.s("activation", "");
  return std::make_unique<MatMulKernel>(std::move(a));
}

}  // namespace

Family matmul_family() { return {handles, check, make}; }

}  // namespace tessera_dnnl
