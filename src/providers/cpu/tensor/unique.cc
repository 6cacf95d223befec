// Unique: the distinct elements (or slices along an axis), sorted or in order of first
// occurrence, with indices, inverse indices and counts.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/tensor/copy_util.h"

namespace tessera {
namespace {

using namespace tensor_ops;


// Three-way compare for sorting; NaNs sort last and equal each other (numpy's unique does so).
template <class T>
int compare_values(const T& a, const T& b) {
  if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, bool> || std::is_integral_v<T>) {
    return a < b ? -1 : (b < a ? 1 : 0);
  } else {
    auto x = to_computed(a), y = to_computed(b);
    const bool nx = std::isnan(x), ny = std::isnan(y);
    if (nx || ny) return nx == ny ? 0 : (nx ? 1 : -1);
    return x < y ? -1 : (y < x ? 1 : 0);
  }
}

class UniqueKernel final : public OpKernel {
 public:
  explicit UniqueKernel(const KernelInfo& info) : sorted_(info.attr_int("sorted", 1) != 0) {
    if (info.has_attr("axis")) axis_ = info.attr_int("axis", 0);
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    // Items are slices along axis ([outer, n, inner] view; an item is its outer*inner elements in
    // order), or single elements of the flattened input.
    Shape shape = axis_ ? x->shape() : Shape{x->size()};
    int64_t axis = axis_.value_or(0);
    if (!normalize_axis(axis, static_cast<int64_t>(shape.size()))) return ctx.error("axis ", *axis_, " is out of range for rank ", x->rank());
    const int64_t outer = product(shape, 0, axis), n = shape[axis], inner = product(shape, axis + 1, shape.size());
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::vector<int64_t> group_of(static_cast<size_t>(n));  // inverse indices
    std::vector<int64_t> firsts, counts;                    // per unique item, in sorted order
    TS_RETURN_IF_ERROR(dispatch<kStandardTypes>(x->dtype(), [&]<class T>() {
      const T* p = x->data<T>();
      auto cmp = [&](int64_t a, int64_t b) {
        for (int64_t o = 0; o < outer; ++o)
          for (int64_t i = 0; i < inner; ++i)
            if (int c = compare_values(p[(o * n + a) * inner + i], p[(o * n + b) * inner + i])) return c;
        return 0;
      };
      // Stable, so the first of each run of equal items is its first occurrence.
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return cmp(a, b) < 0; });
      for (int64_t j = 0; j < n; ++j) {
        if (j == 0 || cmp(order[j - 1], order[j]) != 0) {
          firsts.push_back(order[j]);
          counts.push_back(0);
        }
        group_of[order[j]] = static_cast<int64_t>(firsts.size()) - 1;
        ++counts.back();
      }
      return Status::ok();
    }, ctx.node()));

    const int64_t u = static_cast<int64_t>(firsts.size());
    std::vector<int64_t> rank_of(static_cast<size_t>(u));  // sorted group -> output position
    std::iota(rank_of.begin(), rank_of.end(), 0);
    if (!sorted_) {
      // Output in order of first occurrence.
      std::vector<int64_t> by_first(static_cast<size_t>(u));
      std::iota(by_first.begin(), by_first.end(), 0);
      std::sort(by_first.begin(), by_first.end(), [&](int64_t a, int64_t b) { return firsts[a] < firsts[b]; });
      std::vector<int64_t> f2(u), c2(u);
      for (int64_t g = 0; g < u; ++g) {
        rank_of[by_first[g]] = g;
        f2[g] = firsts[by_first[g]];
        c2[g] = counts[by_first[g]];
      }
      firsts.swap(f2);
      counts.swap(c2);
    }

    const DataType dtype = x->dtype();
    Shape y_shape = shape;
    y_shape[axis] = u;
    Tensor& y = ctx.allocate_output(0, dtype, y_shape);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t g = 0; g < u; ++g)
        copy_elements(dtype, element_ptr(y.raw_data(), dtype, (o * u + g) * inner),
                      element_ptr(x->raw_data(), dtype, (o * n + firsts[g]) * inner), inner);
    auto write = [&](size_t i, const std::vector<int64_t>& v) {
      if (i >= ctx.output_count() || !ctx.output_requested(i)) return;
      Tensor& t = ctx.allocate_output(i, DataType::int64, {static_cast<int64_t>(v.size())});
      std::copy(v.begin(), v.end(), t.data<int64_t>());
    };
    write(1, firsts);
    for (int64_t& g : group_of) g = rank_of[g];
    write(2, group_of);
    write(3, counts);
    return Status::ok();
  }

 private:
  bool sorted_;
  std::optional<int64_t> axis_;
};

}  // namespace

void register_unique(KernelRegistry& r) {
  const KernelDef defs[] = {
      {"", "Unique", 11, kLatestOnnxOpset, make_factory<UniqueKernel>()},
  };
  for (const KernelDef& def : defs) r.add(def);
}

}  // namespace tessera
