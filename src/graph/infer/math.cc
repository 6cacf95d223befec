// MatMul-like ops (MatMul, Gemm, MatMulInteger, QLinearMatMul), reductions (Reduce*, ArgMax,
// ArgMin) and Einsum.
#include <algorithm>
#include <map>
#include <set>

#include "graph/infer/infer_rules.h"

namespace tessera {

Status matmul_shapes(InferContext& ctx, size_t a_index, size_t b_index) {
  const Dims* a = ctx.input_shape(a_index);
  const Dims* b = ctx.input_shape(b_index);
  if (!a || !b || a->empty() || b->empty()) return Status::ok();
  Dims a2 = *a, b2 = *b;
  if (a2.size() == 1) a2.insert(a2.begin(), fixed_dim(1));
  if (b2.size() == 1) b2.push_back(fixed_dim(1));
  if (dims_differ(a2[a2.size() - 1], b2[b2.size() - 2]))
    return ctx.error("inner dimensions differ: ", dims_string(*a), " x ", dims_string(*b));
  TS_ASSIGN_OR_RETURN(Dims out, broadcast_dims(ctx, Dims(a2.begin(), a2.end() - 2), Dims(b2.begin(), b2.end() - 2)));
  if (a->size() > 1) out.push_back(a2[a2.size() - 2]);
  if (b->size() > 1) out.push_back(b2.back());
  ctx.set_output(0, out);
  return Status::ok();
}

namespace {

Status matmul(InferContext& ctx) { return matmul_shapes(ctx, 0, 1); }
Status qlinear_matmul(InferContext& ctx) { return matmul_shapes(ctx, 0, 3); }

Status gemm(InferContext& ctx) {
  const Dims* a = ctx.input_shape(0);
  const Dims* b = ctx.input_shape(1);
  if (!a || !b || a->size() != 2 || b->size() != 2) return Status::ok();
  const bool ta = ctx.attr_int("transA", 0) != 0, tb = ctx.attr_int("transB", 0) != 0;
  const Dim& m = (*a)[ta ? 1 : 0];
  const Dim& ka = (*a)[ta ? 0 : 1];
  const Dim& kb = (*b)[tb ? 1 : 0];
  const Dim& n = (*b)[tb ? 0 : 1];
  if (dims_differ(ka, kb))
    return ctx.error("inner dimensions differ: A ", dims_string(*a), ta ? " (transposed)" : "", " x B ", dims_string(*b),
                     tb ? " (transposed)" : "");
  ctx.set_output(0, Dims{m, n});
  return Status::ok();
}

// The reduced axes, or nullopt when they are not known before a run; `all` when every axis goes.
struct ReduceAxes {
  std::vector<int64_t> axes;
  bool all = false;
};

Result<std::optional<ReduceAxes>> reduce_axes(InferContext& ctx, int64_t rank, bool axes_from_input) {
  ReduceAxes r;
  std::vector<int64_t> raw;
  if (axes_from_input && ctx.has_input(1)) {
    auto ints = ctx.input_ints(1);
    if (!ints) return std::optional<ReduceAxes>();
    raw = *ints;
  } else if (!axes_from_input) {
    if (auto a = ctx.attr_ints("axes")) raw = *a;
  }
  if (raw.empty()) {
    if (axes_from_input && ctx.attr_int("noop_with_empty_axes", 0) != 0) return std::optional<ReduceAxes>(r);
    r.all = true;
    return std::optional<ReduceAxes>(r);
  }
  for (int64_t a : raw) {
    TS_ASSIGN_OR_RETURN(int64_t axis, ctx.axis(a, rank, "axes entry"));
    r.axes.push_back(axis);
  }
  return std::optional<ReduceAxes>(r);
}

Status reduce_impl(InferContext& ctx, bool axes_from_input) {
  const Dims* x = ctx.input_shape(0);
  if (!x) return Status::ok();
  const bool keep = ctx.attr_int("keepdims", 1) != 0;
  TS_ASSIGN_OR_RETURN(std::optional<ReduceAxes> axes, reduce_axes(ctx, static_cast<int64_t>(x->size()), axes_from_input));
  if (!axes) {
    if (keep) ctx.set_output(0, Dims(x->size()));
    return Status::ok();
  }
  std::set<int64_t> reduced(axes->axes.begin(), axes->axes.end());
  Dims out;
  for (size_t k = 0; k < x->size(); ++k) {
    if (axes->all || reduced.count(static_cast<int64_t>(k))) {
      if (keep) out.push_back(fixed_dim(1));
    } else {
      out.push_back((*x)[k]);
    }
  }
  ctx.set_output(0, out);
  return Status::ok();
}

Status reduce_attr_axes(InferContext& ctx) { return reduce_impl(ctx, false); }
Status reduce_input_axes(InferContext& ctx) { return reduce_impl(ctx, true); }

Status arg_reduce(InferContext& ctx) {
  const Dims* x = ctx.input_shape(0);
  if (!x) {
    ctx.set_output(0, std::nullopt, DataType::int64);
    return Status::ok();
  }
  TS_ASSIGN_OR_RETURN(int64_t axis, ctx.axis(ctx.attr_int("axis", 0), static_cast<int64_t>(x->size())));
  Dims out = *x;
  if (ctx.attr_int("keepdims", 1) != 0) out[axis] = fixed_dim(1);
  else out.erase(out.begin() + axis);
  ctx.set_output(0, out, DataType::int64);
  return Status::ok();
}

// Einsum without ellipsis: each letter's dim, unified across the operands.
Status einsum(InferContext& ctx) {
  std::string eq;
  for (char c : ctx.attr_string("equation", "")) if (c != ' ') eq += c;
  if (eq.find("...") != std::string::npos) return Status::ok();
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms;
  size_t start = 0;
  for (size_t k = 0; k <= lhs.size(); ++k)
    if (k == lhs.size() || lhs[k] == ',') {
      terms.push_back(lhs.substr(start, k - start));
      start = k + 1;
    }
  if (terms.size() != ctx.num_inputs()) return Status::ok();
  std::map<char, Dim> letters;
  std::map<char, int> counts;
  for (size_t i = 0; i < terms.size(); ++i) {
    const Dims* s = ctx.input_shape(i);
    for (char c : terms[i]) ++counts[c];
    if (!s) continue;
    if (s->size() != terms[i].size()) return ctx.error("operand ", i, " has rank ", s->size(), " but the equation names ", terms[i].size(), " axes");
    for (size_t k = 0; k < s->size(); ++k) {
      auto [it, inserted] = letters.emplace(terms[i][k], (*s)[k]);
      if (!inserted) {
        // A letter whose dim is 1 in one operand broadcasts against the other.
        if (it->second.is_fixed() && it->second.value == 1) it->second = (*s)[k];
        else if (!((*s)[k].is_fixed() && (*s)[k].value == 1)) it->second = unify_dim(it->second, (*s)[k]);
      }
    }
  }
  std::string out_letters;
  if (arrow != std::string::npos) {
    out_letters = eq.substr(arrow + 2);
  } else {
    for (const auto& [c, n] : counts) if (n == 1) out_letters += c;
  }
  bool all_known = true;
  for (size_t i = 0; i < terms.size(); ++i) all_known = all_known && ctx.input_shape(i);
  Dims out;
  for (char c : out_letters) {
    auto it = letters.find(c);
    out.push_back(all_known && it != letters.end() ? it->second : unknown_dim());
  }
  ctx.set_output(0, out);
  return Status::ok();
}

}  // namespace

std::vector<InferRule> math_infer_rules() {
  std::vector<InferRule> rules{
      {"", "MatMul", 1, kAnyOpset, matmul},
      {"com.tessera", "FusedMatMul", 1, kAnyOpset, matmul},  // act(MatMul + bias), docs/fused_ops.md
      {"", "MatMulInteger", 10, kAnyOpset, matmul},
      {"", "QLinearMatMul", 10, kAnyOpset, qlinear_matmul},
      {"", "Gemm", 1, kAnyOpset, gemm},
      {"com.microsoft", "FusedGemm", 1, kAnyOpset, gemm},  // Gemm + activation
      {"", "ArgMax", 1, kAnyOpset, arg_reduce},
      {"", "ArgMin", 1, kAnyOpset, arg_reduce},
      {"", "Einsum", 12, kAnyOpset, einsum},
      {"", "ReduceSum", 1, 12, reduce_attr_axes},
      {"", "ReduceSum", 13, kAnyOpset, reduce_input_axes},
  };
  for (const char* op : {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
                         "ReduceLogSumExp", "ReduceSumSquare"}) {
    rules.push_back({"", op, 1, 17, reduce_attr_axes});
    rules.push_back({"", op, 18, kAnyOpset, reduce_input_axes});
  }
  return rules;
}

}  // namespace tessera
