// Add, Sub, Mul, Div, Max, Min with numpy broadcasting, as one oneDNN binary primitive. oneDNN
// broadcasts only its second source, so the operand of the output's full shape goes first:
// swapped for the commutative ops, Sub(a, b) computed as -(b - a) (a linear post-op), and Div
// claimed only where its first operand is known to have the output's shape.
#include <algorithm>

#include "common.h"
#include "families.h"

namespace tessera_dnnl {

namespace {

using A = dnnl::algorithm;

bool algorithm_of(const std::string& op, A& a) {
  if (op == "Add") a = A::binary_add;
  else if (op == "Sub") a = A::binary_sub;
  else if (op == "Mul") a = A::binary_mul;
  else if (op == "Div") a = A::binary_div;
  else if (op == "Max") a = A::binary_max;
  else if (op == "Min") a = A::binary_min;
  else return false;
  return true;
}

// Both operands right-aligned to the output's rank (at least 1); empty when they do not broadcast.
bool broadcast(Dims a, Dims b, Dims& pa, Dims& pb, Dims& out) {
  const size_t rank = std::max<size_t>({a.size(), b.size(), 1});
  pa = Dims(rank - a.size(), 1), pb = Dims(rank - b.size(), 1);
  pa.insert(pa.end(), a.begin(), a.end());
  pb.insert(pb.end(), b.begin(), b.end());
  out.assign(rank, 1);
  for (size_t k = 0; k < rank; ++k) {
    if (pa[k] != pb[k] && pa[k] != 1 && pb[k] != 1) return false;
    out[k] = pa[k] == 1 ? pb[k] : pa[k];
  }
  return true;
}

class BinaryKernel final : public Kernel {
 public:
  explicit BinaryKernel(A algorithm) : algorithm_(algorithm) {}
  void prepare(const std::vector<Dims>& inputs) const override { plan(inputs); }
  void run(const TesseraEpTensor* in, size_t count, const TesseraEpOutputs* out) const override {
    const auto dims = input_dims(in, count);
    const auto p = plan(dims);
    float* y = allocate_output(out, 0, p->out);
    if (element_count(p->out) == 0) return;
    const void* first = p->swapped ? in[1].data : in[0].data;
    const void* second = p->swapped ? in[0].data : in[1].data;
    p->primitive.execute(stream(), {{DNNL_ARG_SRC_0, user_memory(p->src0, first)},
                                    {DNNL_ARG_SRC_1, user_memory(p->src1, second)},
                                    {DNNL_ARG_DST, user_memory(p->dst, y)}});
  }

 private:
  struct Plan {
    Dims out;  // the ONNX output shape (rank 0 stays rank 0)
    bool swapped = false;
    memory::desc src0, src1, dst;
    dnnl::binary primitive;
  };
  std::shared_ptr<const Plan> plan(const std::vector<Dims>& dims) const {
    return cache_.get(dims, [&] {
      Dims pa, pb, out;
      if (!broadcast(dims[0], dims[1], pa, pb, out)) throw Error("shapes do not broadcast");
      Plan p;
      p.out = out;
      if (dims[0].empty() && dims[1].empty()) p.out = {};
      dnnl::post_ops ops;
      A algorithm = algorithm_;
      if (pa != out) {  // the first operand broadcasts: it must become oneDNN's second source
        if (algorithm == A::binary_div) throw Error("Div whose first operand broadcasts");
        if (algorithm == A::binary_sub) ops.append_eltwise(1.0f, A::eltwise_linear, -1.0f, 0.0f);
        std::swap(pa, pb);
        p.swapped = true;
      }
      if (pa != out) throw Error("neither operand has the output's shape");
      p.src0 = plain_desc(pa), p.src1 = plain_desc(pb), p.dst = plain_desc(out);
      dnnl::primitive_attr attr;
      attr.set_post_ops(ops);
      const dnnl::binary::desc d(algorithm, p.src0, p.src1, p.dst);
      p.primitive = dnnl::binary(dnnl::binary::primitive_desc(d, attr, engine()));
      return p;
    });
  }
  A algorithm_;
  PlanCache<Plan> cache_;
};

bool handles(const NodeView& node) {
  A a;
  return node.domain().empty() && algorithm_of(node.op(), a);
}

std::string check(const NodeView& node) {
  if (node.input_count() != 2) return "op: " + node.op() + " with other than 2 inputs";
  if (node.opset() < 7) return "opset: broadcasting before opset 7 is by attribute";
  if (std::string why = node.all_float(); !why.empty()) return why;
  const auto& a = node.input(0);
  const auto& b = node.input(1);
  if (a.rank < 0 || b.rank < 0) return "shape: unknown rank";
  if (node.op() == "Div") {  // a must have the output's shape: b all ones, or both fixed and a the larger
    const Dims db = dims_of(b), da = dims_of(a);
    const bool b_ones = std::all_of(db.begin(), db.end(), [](int64_t d) { return d == 1; }) && b.rank <= a.rank;
    Dims pa, pb, out;
    const bool a_full = fixed(a) && fixed(b) && broadcast(da, db, pa, pb, out) && pa == out;
    if (!b_ones && !a_full) return "shape: Div whose first operand may broadcast";
  }
  return "";
}

std::unique_ptr<Kernel> make(const NodeView& node) {
  A a = A::binary_add;
  algorithm_of(node.op(), a);
  return std::make_unique<BinaryKernel>(a);
}

}  // namespace

Family binary_family() { return {handles, check, make}; }

}  // namespace tessera_dnnl
