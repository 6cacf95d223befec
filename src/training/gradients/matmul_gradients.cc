// Gradients of MatMul and Gemm, as products of the output gradient with the other operand
// transposed; batch dims MatMul broadcast are summed back to each operand's shape.
#include "training/gradients/families.h"

namespace tessera {
namespace {

// Transpose swapping the last two axes of a value of rank `rank`.
std::string swap_last_two(GradientContext& ctx, const std::string& x, size_t rank) {
  std::vector<int64_t> perm;
  for (size_t k = 0; k < rank; ++k) perm.push_back(static_cast<int64_t>(k));
  std::swap(perm[rank - 2], perm[rank - 1]);
  return ctx.add("Transpose", {x}, {ints_attr("perm", perm)});
}

// y = a @ b: da = g @ b^T, db = a^T @ g, each summed over the batch dims it was broadcast along.
Status matmul_grad(GradientContext& ctx) {
  TS_ASSIGN_OR_RETURN(Dims a_dims, ctx.dims(ctx.input(0)));
  TS_ASSIGN_OR_RETURN(Dims b_dims, ctx.dims(ctx.input(1)));
  if (a_dims.size() < 2 || b_dims.size() < 2) return ctx.unsupported("1-D operands (rank ", a_dims.size(), " and ", b_dims.size(), ")");
  TS_ASSIGN_OR_RETURN(Dims out_dims, ctx.dims(ctx.output(0)));
  // The gradient of an operand has the output's batch dims and the operand's matrix dims.
  auto full_dims = [&](const Dims& operand) {
    Dims d(out_dims.begin(), out_dims.end() - 2);
    d.insert(d.end(), operand.end() - 2, operand.end());
    return d;
  };
  const std::string& g = ctx.output_grad(0);
  if (ctx.wants(0)) {
    std::string full = ctx.add("MatMul", {g, swap_last_two(ctx, ctx.input(1), b_dims.size())});
    TS_ASSIGN_OR_RETURN(std::string da, ctx.reduce_to(full, full_dims(a_dims), ctx.input(0)));
    ctx.set_input_grad(0, da);
  }
  if (ctx.wants(1)) {
    std::string full = ctx.add("MatMul", {swap_last_two(ctx, ctx.input(0), a_dims.size()), g});
    TS_ASSIGN_OR_RETURN(std::string db, ctx.reduce_to(full, full_dims(b_dims), ctx.input(1)));
    ctx.set_input_grad(1, db);
  }
  return Status::ok();
}

// y = alpha * A' @ B' + beta * C, A' = transA ? A^T : A (B' likewise).
// dA' = alpha * g @ B'^T and dB' = alpha * A'^T @ g, each one Gemm whose trans flags absorb every
// transpose (a transposed operand's gradient is the transposed product: dA = alpha * B' @ g^T
// when transA), so no Transpose node is copied per run.
Status gemm_grad(GradientContext& ctx) {
  const bool trans_a = ctx.int_attr("transA", 0) != 0;
  const bool trans_b = ctx.int_attr("transB", 0) != 0;
  const float alpha = ctx.float_attr("alpha", 1.0f);
  const double beta = ctx.float_attr("beta", 1.0f);
  const std::string& g = ctx.output_grad(0);
  const std::string& a = ctx.input(0);
  const std::string& b = ctx.input(1);
  auto gemm = [&](const std::string& x, bool tx, const std::string& y, bool ty) {
    std::vector<Attribute> attributes = {int_attr("transA", tx ? 1 : 0), int_attr("transB", ty ? 1 : 0)};
    if (alpha != 1.0f) attributes.push_back(float_attr("alpha", alpha));
    return ctx.add("Gemm", {x, y}, std::move(attributes));
  };
  if (ctx.wants(0)) ctx.set_input_grad(0, trans_a ? gemm(b, trans_b, g, true) : gemm(g, false, b, !trans_b));
  if (ctx.wants(1)) ctx.set_input_grad(1, trans_b ? gemm(g, true, a, trans_a) : gemm(a, !trans_a, g, false));
  if (ctx.input_count() > 2 && ctx.wants(2)) {
    std::string gc = g;
    if (beta != 1.0) {
      TS_ASSIGN_OR_RETURN(DataType type, ctx.dtype(ctx.output(0)));
      TS_ASSIGN_OR_RETURN(std::string c, ctx.scalar(type, beta));
      gc = ctx.add("Mul", {g, c});
    }
    TS_ASSIGN_OR_RETURN(std::string dc, ctx.reduce_to(gc, ctx.output(0), ctx.input(2)));
    ctx.set_input_grad(2, dc);
  }
  return Status::ok();
}

constexpr GradientEntry kEntries[] = {
    {"", "MatMul", matmul_grad},
    {"", "Gemm", gemm_grad},
};

}  // namespace

bool register_matmul_gradients(GradientRegistry& registry) { return registry.add(kEntries); }

}  // namespace tessera
