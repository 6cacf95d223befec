// Index-driven rearrangements: NonZero, Trilu, Compress, DepthToSpace, SpaceToDepth,
// ReverseSequence, Unique.
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

template <class T>
bool is_nonzero(const T& v) {
  if constexpr (std::is_same_v<T, std::string>) return !v.empty();
  else return to_computed(v) != compute_t<T>(0);
}

class NonZeroKernel final : public OpKernel {
 public:
  explicit NonZeroKernel(const KernelInfo&) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    std::vector<int64_t> hits;
    TS_RETURN_IF_ERROR(dispatch<kStandardTypes | kCodedFloatTypes | kSubByteIntTypes>(x->dtype(), [&]<class T>() {
      const T* p = x->data<T>();
      for (int64_t i = 0; i < x->size(); ++i)
        if (is_nonzero(p[i])) hits.push_back(i);
      return Status::ok();
    }, ctx.node()));
    // A scalar counts as a 1-D tensor of one element, as numpy does.
    Shape shape = x->rank() == 0 ? Shape{1} : x->shape();
    const int64_t rank = static_cast<int64_t>(shape.size()), n = static_cast<int64_t>(hits.size());
    int64_t* out = ctx.allocate_output(0, DataType::int64, {rank, n}).data<int64_t>();
    for (int64_t j = 0; j < n; ++j) {
      int64_t rem = hits[j];
      for (int64_t k = rank - 1; k >= 0; --k) {
        out[k * n + j] = rem % shape[k];
        rem /= shape[k];
      }
    }
    return Status::ok();
  }
};

class TriluKernel final : public OpKernel {
 public:
  explicit TriluKernel(const KernelInfo& info) : upper_(info.attr_int("upper", 1) != 0) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    if (x->rank() < 2) return ctx.error("input must have rank >= 2, got shape ", shape_to_string(x->shape()));
    int64_t k = 0;
    if (ctx.input_count() > 1 && ctx.input(1)) {
      std::vector<int64_t> kv;
      if (!read_int64s(*ctx.input(1), kv) || kv.size() != 1) return ctx.error("k must be an int64 scalar");
      k = kv[0];
    }
    const int64_t rows = x->dim(x->rank() - 2), cols = x->dim(x->rank() - 1);
    const int64_t mats = rows * cols > 0 ? x->size() / (rows * cols) : 0;
    const DataType dtype = x->dtype();
    Tensor& out = ctx.allocate_output(0, dtype, x->shape());  // zeros
    for (int64_t m = 0; m < mats; ++m) {
      for (int64_t i = 0; i < rows; ++i) {
        // upper keeps j >= i + k; lower keeps j <= i + k.
        int64_t lo = upper_ ? std::clamp<int64_t>(i + k, 0, cols) : 0;
        int64_t hi = upper_ ? cols : std::clamp<int64_t>(i + k + 1, 0, cols);
        int64_t base = (m * rows + i) * cols;
        copy_elements(dtype, element_ptr(out.raw_data(), dtype, base + lo), element_ptr(x->raw_data(), dtype, base + lo), hi - lo);
      }
    }
    return Status::ok();
  }

 private:
  bool upper_;
};

class CompressKernel final : public OpKernel {
 public:
  explicit CompressKernel(const KernelInfo& info) {
    if (info.has_attr("axis")) axis_ = info.attr_int("axis", 0);
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* cond_t, ctx.required_input(1));
    std::vector<int64_t> cond;
    if (!read_int64s(*cond_t, cond)) return ctx.error("condition must be bool");
    const DataType dtype = x->dtype();
    // Without an axis the input is flattened.
    Shape shape = axis_ ? x->shape() : Shape{x->size()};
    int64_t axis = axis_.value_or(0);
    if (!normalize_axis(axis, static_cast<int64_t>(shape.size()))) return ctx.error("axis ", *axis_, " is out of range for rank ", x->rank());
    const int64_t dim = shape[axis];
    std::vector<int64_t> selected;
    for (int64_t i = 0; i < static_cast<int64_t>(cond.size()); ++i) {
      if (!cond[i]) continue;
      if (i >= dim) return ctx.error("condition selects index ", i, " but the axis has size ", dim);
      selected.push_back(i);
    }
    const int64_t outer = product(shape, 0, axis), inner = product(shape, axis + 1, shape.size());
    Shape out_shape = shape;
    out_shape[axis] = static_cast<int64_t>(selected.size());
    Tensor& out = ctx.allocate_output(0, dtype, out_shape);
    const int64_t n = static_cast<int64_t>(selected.size());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < n; ++j)
        copy_elements(dtype, element_ptr(out.raw_data(), dtype, (o * n + j) * inner),
                      element_ptr(x->raw_data(), dtype, (o * dim + selected[j]) * inner), inner);
    return Status::ok();
  }

 private:
  std::optional<int64_t> axis_;
};

// DepthToSpace and SpaceToDepth: a reshape to 6-D, a transpose, a reshape back.
class BlockRearrangeKernel final : public OpKernel {
 public:
  enum class Kind { depth_to_space_dcr, depth_to_space_crd, space_to_depth };

  BlockRearrangeKernel(int64_t blocksize, Kind kind) : b_(blocksize), kind_(kind) {}

  static Result<std::unique_ptr<OpKernel>> create_depth_to_space(const KernelInfo& info) {
    TS_ASSIGN_OR_RETURN(int64_t b, info.required_int("blocksize"));
    std::string mode = info.attr_string("mode", "DCR");
    if (mode != "DCR" && mode != "CRD") return info.error("unknown mode '", mode, "'");
    return std::unique_ptr<OpKernel>(new BlockRearrangeKernel(b, mode == "DCR" ? Kind::depth_to_space_dcr : Kind::depth_to_space_crd));
  }
  static Result<std::unique_ptr<OpKernel>> create_space_to_depth(const KernelInfo& info) {
    TS_ASSIGN_OR_RETURN(int64_t b, info.required_int("blocksize"));
    return std::unique_ptr<OpKernel>(new BlockRearrangeKernel(b, Kind::space_to_depth));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    if (x->rank() != 4) return ctx.error("input must be 4-D [N,C,H,W], got shape ", shape_to_string(x->shape()));
    if (b_ <= 0) return ctx.error("blocksize must be positive, got ", b_);
    const int64_t n = x->dim(0), c = x->dim(1), h = x->dim(2), w = x->dim(3), b = b_;
    Shape view, out_shape;
    std::vector<int64_t> perm;
    if (kind_ == Kind::space_to_depth) {
      if (h % b || w % b) return ctx.error("H and W (", h, ", ", w, ") must be multiples of blocksize ", b);
      view = {n, c, h / b, b, w / b, b};
      perm = {0, 3, 5, 1, 2, 4};
      out_shape = {n, c * b * b, h / b, w / b};
    } else {
      if (c % (b * b)) return ctx.error("C (", c, ") must be a multiple of blocksize^2 (", b * b, ")");
      if (kind_ == Kind::depth_to_space_dcr) {
        view = {n, b, b, c / (b * b), h, w};
        perm = {0, 3, 4, 1, 5, 2};
      } else {
        view = {n, c / (b * b), b, b, h, w};
        perm = {0, 1, 4, 2, 5, 3};
      }
      out_shape = {n, c / (b * b), h * b, w * b};
    }
    Shape permuted(6);
    for (size_t k = 0; k < 6; ++k) permuted[k] = view[perm[k]];
    Tensor& out = ctx.allocate_output(0, x->dtype(), out_shape);
    Tensor out_view = out.reshaped(permuted);  // same buffer
    permute(x->reshaped(view), perm, out_view, &ctx.thread_pool());
    return Status::ok();
  }

 private:
  int64_t b_;
  Kind kind_;
};

class ReverseSequenceKernel final : public OpKernel {
 public:
  explicit ReverseSequenceKernel(const KernelInfo& info)
      : batch_axis_(info.attr_int("batch_axis", 1)), time_axis_(info.attr_int("time_axis")) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* lens_t, ctx.required_input(1));
    if (x->rank() < 2) return ctx.error("input must have rank >= 2");
    if (!((batch_axis_ == 0 && time_axis_ == 1) || (batch_axis_ == 1 && time_axis_ == 0)))
      return ctx.error("batch_axis and time_axis must be 0 and 1 (in either order)");
    std::vector<int64_t> lens;
    if (!read_int64s(*lens_t, lens)) return ctx.error("sequence_lens must be int64");
    const int64_t batch = x->dim(batch_axis_), time = x->dim(time_axis_);
    if (static_cast<int64_t>(lens.size()) != batch) return ctx.error("sequence_lens has ", lens.size(), " entries, batch size is ", batch);
    for (int64_t len : lens)
      if (len < 0 || len > time) return ctx.error("sequence length ", len, " is outside [0, ", time, "]");
    const int64_t inner = product(x->shape(), 2, x->rank());
    const int64_t batch_stride = batch_axis_ == 0 ? time * inner : inner;
    const int64_t time_stride = time_axis_ == 0 ? batch * inner : inner;
    const DataType dtype = x->dtype();
    Tensor& out = ctx.allocate_output(0, dtype, x->shape());
    for (int64_t bi = 0; bi < batch; ++bi) {
      for (int64_t t = 0; t < time; ++t) {
        const int64_t src_t = t < lens[bi] ? lens[bi] - 1 - t : t;
        copy_elements(dtype, element_ptr(out.raw_data(), dtype, bi * batch_stride + t * time_stride),
                      element_ptr(x->raw_data(), dtype, bi * batch_stride + src_t * time_stride), inner);
      }
    }
    return Status::ok();
  }

 private:
  int64_t batch_axis_, time_axis_;
};

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

void register_index_ops(KernelRegistry& r) {
  const KernelDef defs[] = {
      {"", "NonZero", 9, kLatestOnnxOpset, make_factory<NonZeroKernel>()},
      {"", "Trilu", 14, kLatestOnnxOpset, make_factory<TriluKernel>()},
      {"", "Compress", 9, kLatestOnnxOpset, make_factory<CompressKernel>()},
      {"", "DepthToSpace", 1, kLatestOnnxOpset, BlockRearrangeKernel::create_depth_to_space},
      {"", "SpaceToDepth", 1, kLatestOnnxOpset, BlockRearrangeKernel::create_space_to_depth},
      {"", "ReverseSequence", 10, kLatestOnnxOpset, make_factory<ReverseSequenceKernel>()},
      {"", "Unique", 11, kLatestOnnxOpset, make_factory<UniqueKernel>()},
  };
  for (const KernelDef& def : defs) r.add(def);
}

}  // namespace tessera
