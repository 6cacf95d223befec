// Concat along one axis as a oneDNN concat primitive; empty inputs are left out of it.
#include <unordered_map>

#include "common.h"
#include "families.h"

namespace tessera_dnnl {

namespace {

class ConcatKernel final : public Kernel {
 public:
  explicit ConcatKernel(int64_t axis) : axis_(axis) {}
  void prepare(const std::vector<Dims>& inputs) const override { plan(inputs); }
  void run(const TesseraEpTensor* in, size_t count, const TesseraEpOutputs* out) const override {
    const auto p = plan(input_dims(in, count));
    float* y = allocate_output(out, 0, p->out);
    if (p->used.empty()) return;
    std::unordered_map<int, memory> args{{DNNL_ARG_DST, user_memory(plain_desc(p->out), y)}};
    for (size_t k = 0; k < p->used.size(); ++k)
      args.emplace(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(k), user_memory(p->srcs[k], in[p->used[k]].data));
    p->primitive.execute(stream(), args);
  }

 private:
  struct Plan {
    Dims out;
    std::vector<size_t> used;  // the inputs with elements
    std::vector<memory::desc> srcs;
    dnnl::concat primitive;
  };
  std::shared_ptr<const Plan> plan(const std::vector<Dims>& dims) const {
    return cache_.get(dims, [&] {
      const int64_t rank = static_cast<int64_t>(dims[0].size());
      const int64_t axis = axis_ < 0 ? axis_ + rank : axis_;
      if (rank == 0 || axis < 0 || axis >= rank) throw Error("Concat axis out of range");
      Plan p;
      p.out = dims[0];
      p.out[axis] = 0;
      for (size_t k = 0; k < dims.size(); ++k) {
        if (static_cast<int64_t>(dims[k].size()) != rank) throw Error("Concat inputs of different ranks");
        for (int64_t d = 0; d < rank; ++d)
          if (d != axis && dims[k][d] != dims[0][d]) throw Error("Concat inputs differ off the axis");
        p.out[axis] += dims[k][axis];
        if (element_count(dims[k]) == 0) continue;
        p.used.push_back(k);
        p.srcs.push_back(plain_desc(dims[k]));
      }
      if (!p.used.empty())
        p.primitive = dnnl::concat(dnnl::concat::primitive_desc(plain_desc(p.out), static_cast<int>(axis), p.srcs, engine()));
      return p;
    });
  }
  int64_t axis_;
  PlanCache<Plan> cache_;
};

bool handles(const NodeView& node) { return node.domain().empty() && node.op() == "Concat"; }

std::string check(const NodeView& node) {
  if (node.opset() < 4) return "opset: Concat before opset 4 has a default axis";
  for (size_t k = 0; k < node.input_count(); ++k)
    if (node.input(k).rank < 1) return "shape: input of unknown rank or a scalar";
  return node.all_float();
}

std::unique_ptr<Kernel> make(const NodeView& node) { return std::make_unique<ConcatKernel>(node.i("axis", 0)); }

}  // namespace

Family concat_family() { return {handles, check, make}; }

}  // namespace tessera_dnnl
