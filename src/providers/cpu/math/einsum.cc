// Einsum: explicit and implicit output, ellipsis broadcasting, repeated labels (diagonals).
//
// Each operand is first reduced to one axis per distinct label (a repeated label becomes a strided
// diagonal view) and labels that no other operand and not the output use are summed away. The
// operands are then contracted left to right: each pair is permuted to [batch, own, contracted]
// and [batch, contracted, own] and multiplied with the GEMM of microkernels/gemm.h. A last permutation
// produces the output order. float16/bfloat16 compute in float.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "framework/kernel_registry.h"
#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "core/float_types.h"
#include "providers/cpu/microkernels/gemm.h"

namespace tessera {
namespace {

constexpr int kEllipsisLabel = 256;  // ellipsis axis k (right-aligned) is label 256 + k

// The equation split into terms; "..." is kept as the character '.' (one per ellipsis).
struct ParsedEquation {
  std::vector<std::string> inputs;
  std::string output;
  bool explicit_output = false;
};

Result<ParsedEquation> parse_equation(const KernelInfo& info, const std::string& equation) {
  ParsedEquation p;
  std::string eq;
  for (char c : equation)
    if (c != ' ') eq.push_back(c);
  std::string lhs = eq;
  const size_t arrow = eq.find("->");
  if (arrow != std::string::npos) {
    lhs = eq.substr(0, arrow);
    p.output = eq.substr(arrow + 2);
    p.explicit_output = true;
  }
  auto compact = [&](std::string term) -> Result<std::string> {
    std::string out;
    for (size_t i = 0; i < term.size(); ++i) {
      const char c = term[i];
      if (c == '.') {
        if (term.compare(i, 3, "...") != 0 || out.find('.') != std::string::npos)
          return info.error("malformed ellipsis in einsum equation '", equation, "'");
        out.push_back('.');
        i += 2;
      } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        out.push_back(c);
      } else {
        return info.error("invalid character '", c, "' in einsum equation '", equation, "'");
      }
    }
    return out;
  };
  size_t start = 0;
  for (;;) {
    const size_t comma = lhs.find(',', start);
    TS_ASSIGN_OR_RETURN(std::string term, compact(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    p.inputs.push_back(term);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (p.explicit_output) {
    TS_ASSIGN_OR_RETURN(p.output, compact(p.output));
  }
  return p;
}

// An intermediate operand: contiguous data with one label per axis.
template <class T>
struct Operand {
  std::vector<T> data;
  Shape shape;
  std::vector<int> labels;
};

// dst (contiguous, `shape`) = src read through `strides` (0 broadcasts, sums of strides take
// diagonals, any order permutes).
template <class T>
void strided_copy(const T* src, const Shape& shape, const std::vector<int64_t>& strides, T* dst) {
  const int64_t total = shape_size(shape);
  if (total == 0) return;
  if (shape.empty()) {
    dst[0] = src[0];
    return;
  }
  const size_t r = shape.size();
  const int64_t inner = shape[r - 1], inner_stride = strides[r - 1];
  std::vector<int64_t> idx(r, 0);
  int64_t offset = 0;
  for (int64_t done = 0; done < total; done += inner) {
    const T* s = src + offset;
    if (inner_stride == 1)
      std::copy(s, s + inner, dst);
    else
      for (int64_t i = 0; i < inner; ++i) dst[i] = s[i * inner_stride];
    dst += inner;
    for (size_t d = r - 1; d-- > 0;) {
      offset += strides[d];
      if (++idx[d] < shape[d]) break;
      offset -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

// Copies `op` with its axes reordered to `order` (each label of op exactly once), broadcasting
// axes of size 1 up to `sizes` where those differ.
template <class T>
std::vector<T> arrange(const Operand<T>& op, const std::vector<int>& order, const std::map<int, int64_t>& sizes,
                       Shape* shape_out) {
  std::vector<int64_t> row_stride(op.shape.size(), 1);
  for (size_t d = op.shape.size(); d-- > 1;) row_stride[d - 1] = row_stride[d] * op.shape[d];
  Shape shape;
  std::vector<int64_t> strides;
  for (int label : order) {
    const size_t d = static_cast<size_t>(std::find(op.labels.begin(), op.labels.end(), label) - op.labels.begin());
    const int64_t size = sizes.at(label);
    shape.push_back(size);
    strides.push_back(op.shape[d] == size ? row_stride[d] : 0);
  }
  std::vector<T> out(static_cast<size_t>(shape_size(shape)));
  strided_copy(op.data.data(), shape, strides, out.data());
  *shape_out = shape;
  return out;
}

// Sums away the axes of `op` whose labels are not in `keep`.
template <class T>
void sum_out(Operand<T>& op, const std::set<int>& keep) {
  std::vector<int> kept, dropped;
  std::map<int, int64_t> sizes;  // op's own sizes: a pure reduction broadcasts nothing
  for (size_t d = 0; d < op.labels.size(); ++d) {
    const int l = op.labels[d];
    (keep.count(l) ? kept : dropped).push_back(l);
    sizes[l] = op.shape[d];
  }
  if (dropped.empty()) return;
  std::vector<int> order = kept;
  order.insert(order.end(), dropped.begin(), dropped.end());
  Shape shape;
  std::vector<T> arranged = arrange(op, order, sizes, &shape);
  Shape kept_shape(shape.begin(), shape.begin() + static_cast<std::ptrdiff_t>(kept.size()));
  const int64_t outer = shape_size(kept_shape), inner = outer == 0 ? 0 : static_cast<int64_t>(arranged.size()) / outer;
  std::vector<T> out(static_cast<size_t>(outer), T(0));
  for (int64_t o = 0; o < outer; ++o) {
    T s = T(0);
    const T* p = arranged.data() + o * inner;
    for (int64_t i = 0; i < inner; ++i) s += p[i];
    out[static_cast<size_t>(o)] = s;
  }
  op.data = std::move(out);
  op.shape = kept_shape;
  op.labels = kept;
}

template <class T>
void batched_gemm(int64_t batches, int64_t M, int64_t N, int64_t K, const T* a, const T* b, T* c, ThreadPool& pool) {
  auto one = [&](int64_t i, ThreadPool* inner) {
    const T* ai = a + i * M * K;
    const T* bi = b + i * K * N;
    T* ci = c + i * M * N;
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>)
      kernels::gemm(M, N, K, T(1), {ai, K, false}, {bi, N, false}, T(0), ci, N, {}, inner);
    else
      kernels::gemm_generic(false, false, M, N, K, T(1), ai, K, bi, N, T(0), ci, N);
  };
  if (batches > 1 && pool.size() > 1 && batches >= pool.size()) {
    pool.parallel_for(batches, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) one(i, nullptr);
    });
  } else {
    for (int64_t i = 0; i < batches; ++i) one(i, &pool);
  }
}

// Contracts a and b over their shared labels that `needed` does not hold.
template <class T>
Operand<T> contract(const Operand<T>& a, const Operand<T>& b, const std::set<int>& needed,
                    const std::map<int, int64_t>& sizes, ThreadPool& pool) {
  std::vector<int> batch, a_only, b_only, summed;
  for (int l : a.labels) {
    const bool in_b = std::find(b.labels.begin(), b.labels.end(), l) != b.labels.end();
    if (!in_b) a_only.push_back(l);
    else (needed.count(l) ? batch : summed).push_back(l);
  }
  for (int l : b.labels)
    if (std::find(a.labels.begin(), a.labels.end(), l) == a.labels.end()) b_only.push_back(l);
  auto product = [&](const std::vector<int>& ls) {
    int64_t n = 1;
    for (int l : ls) n *= sizes.at(l);
    return n;
  };
  std::vector<int> a_order = batch, b_order = batch;
  a_order.insert(a_order.end(), a_only.begin(), a_only.end());
  a_order.insert(a_order.end(), summed.begin(), summed.end());
  b_order.insert(b_order.end(), summed.begin(), summed.end());
  b_order.insert(b_order.end(), b_only.begin(), b_only.end());
  Shape sa, sb;
  const std::vector<T> ad = arrange(a, a_order, sizes, &sa);
  const std::vector<T> bd = arrange(b, b_order, sizes, &sb);
  // Labels that only one side has keep that side's size (it may be 1 where `sizes` says more).
  const int64_t nb = product(batch), ks = product(summed);
  int64_t m = 1, n = 1;
  for (size_t i = batch.size(); i < batch.size() + a_only.size(); ++i) m *= sa[i];
  for (size_t i = batch.size() + summed.size(); i < sb.size(); ++i) n *= sb[i];
  Operand<T> r;
  r.labels = batch;
  r.labels.insert(r.labels.end(), a_only.begin(), a_only.end());
  r.labels.insert(r.labels.end(), b_only.begin(), b_only.end());
  r.shape.assign(sa.begin(), sa.begin() + static_cast<std::ptrdiff_t>(batch.size() + a_only.size()));
  r.shape.insert(r.shape.end(), sb.begin() + static_cast<std::ptrdiff_t>(batch.size() + summed.size()), sb.end());
  r.data.assign(static_cast<size_t>(nb * m * n), T(0));
  if (!r.data.empty()) batched_gemm<T>(nb, m, n, ks, ad.data(), bd.data(), r.data.data(), pool);
  return r;
}

class EinsumKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<EinsumKernel>(new EinsumKernel());
    if (!info.has_attr("equation")) return info.error("required attribute 'equation' is missing");
    TS_ASSIGN_OR_RETURN(k->eq_, parse_equation(info, info.attr_string("equation", "")));
    if (k->eq_.inputs.size() != info.input_count())
      return info.error("equation has ", k->eq_.inputs.size(), " input terms but the node has ", info.input_count(), " inputs");
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    const size_t n = eq_.inputs.size();
    std::vector<const Tensor*> xs;
    for (size_t i = 0; i < n; ++i) {
      TS_ASSIGN_OR_RETURN(const Tensor* t, ctx.required_input(i));
      if (t->dtype() != ctx.input(0)->dtype()) return ctx.error("all inputs must share one element type");
      xs.push_back(t);
    }
    // Labels of every input axis, with ellipsis axes numbered from the right.
    std::vector<std::vector<int>> labels(n);
    int64_t ellipsis_rank = 0;
    for (size_t i = 0; i < n; ++i) {
      const std::string& term = eq_.inputs[i];
      const bool has_ellipsis = term.find('.') != std::string::npos;
      const int64_t letters = static_cast<int64_t>(term.size()) - (has_ellipsis ? 1 : 0);
      const int64_t rank = static_cast<int64_t>(xs[i]->rank());
      if (rank < letters || (!has_ellipsis && rank != letters))
        return ctx.error("input ", i, " of shape ", shape_to_string(xs[i]->shape()), " does not match term '", term, "'");
      ellipsis_rank = std::max(ellipsis_rank, has_ellipsis ? rank - letters : 0);
    }
    auto ellipsis_labels = [&](int64_t count) {
      std::vector<int> ls;
      for (int64_t k = ellipsis_rank - count; k < ellipsis_rank; ++k) ls.push_back(kEllipsisLabel + static_cast<int>(k));
      return ls;
    };
    std::map<int, int64_t> sizes;
    for (size_t i = 0; i < n; ++i) {
      const std::string& term = eq_.inputs[i];
      const int64_t rank = static_cast<int64_t>(xs[i]->rank());
      for (char c : term) {
        if (c == '.') {
          const std::vector<int> e = ellipsis_labels(rank - static_cast<int64_t>(term.size()) + 1);
          labels[i].insert(labels[i].end(), e.begin(), e.end());
        } else {
          labels[i].push_back(c);
        }
      }
      for (size_t d = 0; d < labels[i].size(); ++d) {
        const int l = labels[i][d];
        const int64_t s = xs[i]->dim(d);
        auto it = sizes.find(l);
        if (it == sizes.end() || it->second == 1) sizes[l] = s;
        else if (s != 1 && s != it->second)
          return ctx.error("label sizes disagree: ", it->second, " and ", s, " in input ", i);
      }
    }
    std::vector<int> out_labels;
    if (eq_.explicit_output) {
      for (char c : eq_.output) {
        if (c == '.') {
          const std::vector<int> e = ellipsis_labels(ellipsis_rank);
          out_labels.insert(out_labels.end(), e.begin(), e.end());
        } else {
          if (!sizes.count(c)) return ctx.error("output label '", c, "' appears in no input");
          if (std::count(out_labels.begin(), out_labels.end(), c)) return ctx.error("output label '", c, "' repeats");
          out_labels.push_back(c);
        }
      }
    } else {
      out_labels = ellipsis_labels(ellipsis_rank);
      std::map<int, int> uses;
      for (const auto& ls : labels)
        for (int l : ls) ++uses[l];
      for (const auto& [l, count] : uses)
        if (l < kEllipsisLabel && count == 1) out_labels.push_back(l);
    }
    Shape out_shape;
    for (int l : out_labels) out_shape.push_back(sizes.at(l));
    Tensor& y = ctx.allocate_output(0, xs[0]->dtype(), out_shape);

    return dispatch<kFloatTypes | kIntTypes>(
        xs[0]->dtype(),
        [&]<class T>() -> Status {
          using C = compute_t<T>;
          std::vector<Operand<C>> ops(n);
          for (size_t i = 0; i < n; ++i) {
            const Tensor& x = *xs[i];
            std::vector<C> wide(static_cast<size_t>(x.size()));
            if constexpr (is_half_float_v<T>)
              widen_span(x.data<T>(), wide.data(), x.size());
            else
              std::copy(x.data<T>(), x.data<T>() + x.size(), wide.begin());
            // One axis per distinct label; a repeated label reads the diagonal.
            std::vector<int64_t> row_stride(x.rank(), 1);
            for (size_t d = x.rank(); d-- > 1;) row_stride[d - 1] = row_stride[d] * x.dim(d);
            Operand<C>& op = ops[i];
            std::vector<int64_t> strides;
            for (size_t d = 0; d < labels[i].size(); ++d) {
              const int l = labels[i][d];
              auto it = std::find(op.labels.begin(), op.labels.end(), l);
              if (it == op.labels.end()) {
                op.labels.push_back(l);
                op.shape.push_back(x.dim(d));
                strides.push_back(row_stride[d]);
              } else {
                const size_t u = static_cast<size_t>(it - op.labels.begin());
                if (op.shape[u] != x.dim(d)) return ctx.error("repeated label has sizes ", op.shape[u], " and ", x.dim(d));
                strides[u] += row_stride[d];
              }
            }
            op.data.resize(static_cast<size_t>(shape_size(op.shape)));
            strided_copy(wide.data(), op.shape, strides, op.data.data());
          }
          // Labels still needed after operand i: the output's and those of operands after i.
          auto needed_after = [&](size_t i) {
            std::set<int> s(out_labels.begin(), out_labels.end());
            for (size_t j = i + 1; j < n; ++j) s.insert(labels[j].begin(), labels[j].end());
            return s;
          };
          for (size_t i = 0; i < n; ++i) {
            std::set<int> keep = needed_after(i);
            for (size_t j = 0; j < i; ++j) keep.insert(labels[j].begin(), labels[j].end());
            sum_out(ops[i], keep);
          }
          Operand<C> acc = std::move(ops[0]);
          for (size_t i = 1; i < n; ++i) {
            const std::set<int> needed = needed_after(i);
            sum_out(acc, [&] {
              std::set<int> k = needed;
              k.insert(ops[i].labels.begin(), ops[i].labels.end());
              return k;
            }());
            acc = contract(acc, ops[i], needed, sizes, ctx.thread_pool());
          }
          sum_out(acc, std::set<int>(out_labels.begin(), out_labels.end()));
          // Axes the output keeps at size 1 while `sizes` broadcast them stay 1 in `acc`.
          Shape final_shape;
          std::vector<C> result = arrange(acc, out_labels, sizes, &final_shape);
          if (final_shape != out_shape) return ctx.error("internal einsum shape mismatch");
          if constexpr (is_half_float_v<T>)
            narrow_span(result.data(), y.data<T>(), y.size());
          else
            std::copy(result.begin(), result.end(), y.data<T>());
          return Status::ok();
        },
        ctx.node());
  }

 private:
  EinsumKernel() = default;
  ParsedEquation eq_;
};

}  // namespace

void register_einsum(KernelRegistry& r) {
  r.add({"", "Einsum", 12, kLatestOnnxOpset, [](const KernelInfo& info) { return EinsumKernel::create(info); }});
}

}  // namespace tessera
