// Gather, GatherElements, GatherND, ScatterElements (and the deprecated Scatter), ScatterND,
// TensorScatter.
// Indices may be negative (counted from the end); an index out of range is an error naming the
// node, checked before anything is written.
#include <algorithm>
#include <cmath>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/tensor/copy_util.h"

namespace tessera {
namespace {

using namespace tensor_ops;

Status check_index_type(const KernelContext& ctx, const Tensor& indices) {
  if (indices.dtype() != DataType::int32 && indices.dtype() != DataType::int64)
    return ctx.error("indices must be int32 or int64, got ", dtype_name(indices.dtype()));
  return Status::ok();
}

// All indices as int64 in [0, dim), or an error naming the bad one. In the run's scratch memory:
// however many there are (BERT's embedding lookups gather 128), a steady run allocates nothing.
Result<Tensor> normalized_indices(KernelContext& ctx, const Tensor& indices, int64_t dim) {
  TS_RETURN_IF_ERROR(check_index_type(ctx, indices));
  Tensor out = ctx.scratch(DataType::int64, indices.size());
  int64_t* p = out.data<int64_t>();
  for (int64_t i = 0; i < indices.size(); ++i) {
    int64_t v = index_at(indices, i);
    if (v < -dim || v >= dim) return ctx.error("index ", v, " is out of range for an axis of size ", dim);
    p[i] = v < 0 ? v + dim : v;
  }
  return out;
}

class GatherKernel final : public OpKernel {
 public:
  explicit GatherKernel(const KernelInfo& info) : axis_(info.attr_int("axis", 0)) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* data, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* indices, ctx.required_input(1));
    int64_t axis = axis_;
    if (!normalize_axis(axis, static_cast<int64_t>(data->rank()))) return ctx.error("axis ", axis_, " is out of range for rank ", data->rank());
    const int64_t dim = data->dim(axis);
    TS_ASSIGN_OR_RETURN(const Tensor normalized, normalized_indices(ctx, *indices, dim));
    const int64_t* idx = normalized.data<int64_t>();
    Shape out_shape(data->shape().begin(), data->shape().begin() + axis);
    out_shape.insert(out_shape.end(), indices->shape().begin(), indices->shape().end());
    out_shape.insert(out_shape.end(), data->shape().begin() + axis + 1, data->shape().end());
    Tensor& out = ctx.allocate_output(0, data->dtype(), out_shape);
    if (out.size() == 0) return Status::ok();
    const int64_t outer = product(data->shape(), 0, axis);
    const int64_t inner = product(data->shape(), axis + 1, data->rank());
    const int64_t n = normalized.size();
    return dispatch_by_size(data->dtype(), [&]<class T>() {
      const T* src = data->data<T>();
      T* dst = out.data<T>();
      // Output row r = (o, i) copies data row (o, idx[i]); o and i advance without divisions.
      auto rows = [&](int64_t begin, int64_t end) {
        int64_t o = begin / n, i = begin % n;
        const T* base = src + o * dim * inner;
        for (int64_t r = begin; r < end; ++r) {
          const T* s = base + idx[i] * inner;
          T* d = dst + r * inner;
          if (inner == 1) *d = *s;
          else if constexpr (std::is_same_v<T, std::string>) std::copy(s, s + inner, d);
          else std::memcpy(d, s, static_cast<size_t>(inner) * sizeof(T));
          if (++i == n) {
            i = 0;
            base += dim * inner;
          }
        }
      };
      const int64_t row_bytes = inner * static_cast<int64_t>(sizeof(T));
      if (outer * n * row_bytes >= (1 << 18)) ctx.thread_pool().parallel_for(outer * n, std::max<int64_t>(1, (1 << 16) / row_bytes), rows);
      else rows(0, outer * n);
      return Status::ok();
    }, ctx.node());
  }

 private:
  int64_t axis_;
};

// Walks every position of `shape` (row-major) and calls fn(linear_position, offset) where offset
// = sum(i_k * strides[k]).
template <class F>
void for_each_offset(const Shape& shape, const std::vector<int64_t>& strides, F&& fn) {
  const int64_t total = shape_size(shape);
  if (total == 0) return;
  Shape idx(shape.size(), 0);
  int64_t off = 0;
  for (int64_t p = 0; p < total; ++p) {
    fn(p, off);
    for (size_t k = shape.size(); k-- > 0;) {
      off += strides[k];
      if (++idx[k] < shape[k]) break;
      off -= strides[k] * shape[k];
      idx[k] = 0;
    }
  }
}

// Shared checks of GatherElements/ScatterElements: same rank, indices no larger than data off axis.
Status check_elements_shapes(const KernelContext& ctx, const Tensor& data, const Tensor& indices, int64_t axis) {
  if (indices.rank() != data.rank())
    return ctx.error("indices shape ", shape_to_string(indices.shape()), " must have the rank of data shape ", shape_to_string(data.shape()));
  for (size_t k = 0; k < data.rank(); ++k)
    if (static_cast<int64_t>(k) != axis && indices.dim(k) > data.dim(k))
      return ctx.error("indices shape ", shape_to_string(indices.shape()), " exceeds data shape ", shape_to_string(data.shape()), " at dim ", k);
  return Status::ok();
}

// Strides of data for walking the index tensor's positions, with the axis stride zeroed (the
// axis coordinate comes from the index value instead).
std::vector<int64_t> strides_without_axis(const Tensor& data, int64_t axis) {
  std::vector<int64_t> s = contiguous_strides(data.shape());
  if (!s.empty()) s[axis] = 0;
  return s;
}

class GatherElementsKernel final : public OpKernel {
 public:
  explicit GatherElementsKernel(const KernelInfo& info) : axis_(info.attr_int("axis", 0)) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* data, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* indices, ctx.required_input(1));
    int64_t axis = axis_;
    if (!normalize_axis(axis, static_cast<int64_t>(data->rank()))) return ctx.error("axis ", axis_, " is out of range for rank ", data->rank());
    TS_RETURN_IF_ERROR(check_elements_shapes(ctx, *data, *indices, axis));
    TS_ASSIGN_OR_RETURN(const Tensor normalized, normalized_indices(ctx, *indices, data->dim(axis)));
    const int64_t* idx = normalized.data<int64_t>();
    Tensor& out = ctx.allocate_output(0, data->dtype(), indices->shape());
    const int64_t axis_stride = contiguous_strides(data->shape())[axis];
    const std::vector<int64_t> strides = strides_without_axis(*data, axis);
    return dispatch_by_size(data->dtype(), [&]<class T>() {
      const T* src = data->data<T>();
      T* dst = out.data<T>();
      for_each_offset(indices->shape(), strides, [&](int64_t p, int64_t off) { dst[p] = src[off + idx[p] * axis_stride]; });
      return Status::ok();
    }, ctx.node());
  }

 private:
  int64_t axis_;
};

class GatherNDKernel final : public OpKernel {
 public:
  explicit GatherNDKernel(const KernelInfo& info) : batch_dims_(info.attr_int("batch_dims")) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* data, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* indices, ctx.required_input(1));
    TS_RETURN_IF_ERROR(check_index_type(ctx, *indices));
    const int64_t r = static_cast<int64_t>(data->rank()), q = static_cast<int64_t>(indices->rank()), b = batch_dims_;
    if (q < 1) return ctx.error("indices must have rank >= 1");
    if (b < 0 || b >= std::min(r, q)) return ctx.error("batch_dims ", b, " must be less than the ranks of data and indices");
    for (int64_t k = 0; k < b; ++k)
      if (data->dim(k) != indices->dim(k))
        return ctx.error("batch dim ", k, " differs: data ", shape_to_string(data->shape()), ", indices ", shape_to_string(indices->shape()));
    const int64_t depth = indices->dim(q - 1);
    if (depth < 1 || depth > r - b) return ctx.error("indices last dim ", depth, " must be in [1, ", r - b, "]");
    Shape out_shape(indices->shape().begin(), indices->shape().end() - 1);
    out_shape.insert(out_shape.end(), data->shape().begin() + b + depth, data->shape().end());
    const std::vector<int64_t> strides = contiguous_strides(data->shape());
    const int64_t slice = product(data->shape(), b + depth, r);
    const int64_t batches = product(data->shape(), 0, b);
    const int64_t batch_stride = product(data->shape(), b, r);
    const int64_t tuples = indices->size() / depth;
    const int64_t per_batch = batches > 0 ? tuples / batches : 0;
    // Element offsets of every gathered slice, validated before writing.
    std::vector<int64_t> offsets(static_cast<size_t>(tuples));
    for (int64_t t = 0; t < tuples; ++t) {
      int64_t off = (t / std::max<int64_t>(1, per_batch)) * batch_stride;
      for (int64_t j = 0; j < depth; ++j) {
        const int64_t dim = data->dim(b + j);
        int64_t v = index_at(*indices, t * depth + j);
        if (v < -dim || v >= dim) return ctx.error("index ", v, " is out of range for data axis ", b + j, " of size ", dim);
        off += (v < 0 ? v + dim : v) * strides[b + j];
      }
      offsets[t] = off;
    }
    Tensor& out = ctx.allocate_output(0, data->dtype(), out_shape);
    return dispatch_by_size(data->dtype(), [&]<class T>() {
      const T* src = data->data<T>();
      T* dst = out.data<T>();
      for (int64_t t = 0; t < tuples; ++t) {
        if (slice == 1) dst[t] = src[offsets[t]];
        else std::copy(src + offsets[t], src + offsets[t] + slice, dst + t * slice);
      }
      return Status::ok();
    }, ctx.node());
  }

 private:
  int64_t batch_dims_;
};

enum class Reduction { none, add, mul, max, min };

Result<Reduction> parse_reduction(const KernelInfo& info) {
  std::string s = info.attr_string("reduction", "none");
  if (s == "none") return Reduction::none;
  if (s == "add") return Reduction::add;
  if (s == "mul") return Reduction::mul;
  if (s == "max") return Reduction::max;
  if (s == "min") return Reduction::min;
  return info.error("unknown reduction '", s, "'");
}

// dst = dst (op) src, computed in float for float16/bfloat16; max/min propagate NaN like numpy.
template <class T>
inline void reduce_into(Reduction red, T& dst, const T& src) {
  if constexpr (std::is_same_v<T, bool>) {
    if (red == Reduction::add || red == Reduction::max) dst = dst || src;
    else dst = dst && src;  // mul, min
  } else {
    auto a = to_computed(dst);
    auto b = to_computed(src);
    using C = decltype(a);
    C r{};
    switch (red) {
      case Reduction::add: r = static_cast<C>(a + b); break;
      case Reduction::mul: r = static_cast<C>(a * b); break;
      case Reduction::max:
        if constexpr (std::is_floating_point_v<C>) r = std::isnan(a) || std::isnan(b) ? a + b : std::max(a, b);
        else r = std::max(a, b);
        break;
      case Reduction::min:
        if constexpr (std::is_floating_point_v<C>) r = std::isnan(a) || std::isnan(b) ? a + b : std::min(a, b);
        else r = std::min(a, b);
        break;
      case Reduction::none: r = b; break;
    }
    dst = from_computed<T>(r);
  }
}

constexpr TypeSet kReduceTypes = kNumericTypes | type_bit(DataType::boolean);

// Copies data to output 0 and applies updates at element offsets: out[dst_offsets[u] + e] (op)=
// updates[u * block + e] for each update u and e < block.
Status scatter_apply(KernelContext& ctx, const Tensor& data, const Tensor& updates, const std::vector<int64_t>& dst_offsets,
                     int64_t block, Reduction red) {
  Tensor& out = ctx.allocate_output(0, data.dtype(), data.shape());
  copy_elements(data.dtype(), out.raw_data(), data.raw_data(), data.size());
  const int64_t n = static_cast<int64_t>(dst_offsets.size());
  if (red == Reduction::none) {
    for (int64_t u = 0; u < n; ++u)
      copy_elements(data.dtype(), element_ptr(out.raw_data(), data.dtype(), dst_offsets[u]),
                    element_ptr(updates.raw_data(), data.dtype(), u * block), block);
    return Status::ok();
  }
  return dispatch<kReduceTypes>(data.dtype(), [&]<class T>() {
    T* dst = out.data<T>();
    const T* src = updates.data<T>();
    for (int64_t u = 0; u < n; ++u)
      for (int64_t e = 0; e < block; ++e) reduce_into(red, dst[dst_offsets[u] + e], src[u * block + e]);
    return Status::ok();
  }, ctx.node());
}

class ScatterElementsKernel final : public OpKernel {
 public:
  ScatterElementsKernel(const KernelInfo& info, Reduction red) : axis_(info.attr_int("axis", 0)), reduction_(red) {}

  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    TS_ASSIGN_OR_RETURN(Reduction red, parse_reduction(info));
    return std::unique_ptr<OpKernel>(new ScatterElementsKernel(info, red));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* data, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* indices, ctx.required_input(1));
    TS_ASSIGN_OR_RETURN(const Tensor* updates, ctx.required_input(2));
    int64_t axis = axis_;
    if (!normalize_axis(axis, static_cast<int64_t>(data->rank()))) return ctx.error("axis ", axis_, " is out of range for rank ", data->rank());
    if (updates->shape() != indices->shape())
      return ctx.error("updates shape ", shape_to_string(updates->shape()), " must equal indices shape ", shape_to_string(indices->shape()));
    if (updates->dtype() != data->dtype()) return ctx.error("updates type ", dtype_name(updates->dtype()), " differs from data type ", dtype_name(data->dtype()));
    TS_RETURN_IF_ERROR(check_elements_shapes(ctx, *data, *indices, axis));
    TS_ASSIGN_OR_RETURN(const Tensor normalized, normalized_indices(ctx, *indices, data->dim(axis)));
    const int64_t* idx = normalized.data<int64_t>();
    const int64_t axis_stride = contiguous_strides(data->shape())[axis];
    std::vector<int64_t> offsets(static_cast<size_t>(normalized.size()));
    for_each_offset(indices->shape(), strides_without_axis(*data, axis),
                    [&](int64_t p, int64_t off) { offsets[p] = off + idx[p] * axis_stride; });
    return scatter_apply(ctx, *data, *updates, offsets, 1, reduction_);
  }

 private:
  int64_t axis_;
  Reduction reduction_;
};

class ScatterNDKernel final : public OpKernel {
 public:
  explicit ScatterNDKernel(Reduction red) : reduction_(red) {}

  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    TS_ASSIGN_OR_RETURN(Reduction red, parse_reduction(info));
    return std::unique_ptr<OpKernel>(new ScatterNDKernel(red));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* data, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* indices, ctx.required_input(1));
    TS_ASSIGN_OR_RETURN(const Tensor* updates, ctx.required_input(2));
    TS_RETURN_IF_ERROR(check_index_type(ctx, *indices));
    if (updates->dtype() != data->dtype()) return ctx.error("updates type ", dtype_name(updates->dtype()), " differs from data type ", dtype_name(data->dtype()));
    const int64_t r = static_cast<int64_t>(data->rank()), q = static_cast<int64_t>(indices->rank());
    if (q < 1) return ctx.error("indices must have rank >= 1");
    const int64_t depth = indices->dim(q - 1);
    if (depth > r) return ctx.error("indices last dim ", depth, " exceeds data rank ", r);
    Shape expected(indices->shape().begin(), indices->shape().end() - 1);
    expected.insert(expected.end(), data->shape().begin() + depth, data->shape().end());
    if (updates->shape() != expected)
      return ctx.error("updates shape ", shape_to_string(updates->shape()), " must be ", shape_to_string(expected));
    const std::vector<int64_t> strides = contiguous_strides(data->shape());
    const int64_t block = product(data->shape(), depth, r);
    const int64_t tuples = depth > 0 ? indices->size() / depth : shape_size(Shape(indices->shape().begin(), indices->shape().end() - 1));
    std::vector<int64_t> offsets(static_cast<size_t>(tuples), 0);
    for (int64_t t = 0; t < tuples; ++t) {
      for (int64_t j = 0; j < depth; ++j) {
        const int64_t dim = data->dim(j);
        int64_t v = index_at(*indices, t * depth + j);
        if (v < -dim || v >= dim) return ctx.error("index ", v, " is out of range for data axis ", j, " of size ", dim);
        offsets[t] += (v < 0 ? v + dim : v) * strides[j];
      }
    }
    return scatter_apply(ctx, *data, *updates, offsets, block, reduction_);
  }

 private:
  Reduction reduction_;
};

// TensorScatter (opset 24): writes `update` into a copy of the cache along the sequence axis,
// starting at each batch's write index (modulo the axis size in circular mode).
class TensorScatterKernel final : public OpKernel {
 public:
  TensorScatterKernel(int64_t axis, bool circular) : axis_(axis), circular_(circular) {}

  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    const std::string mode = info.attr_string("mode", "linear");
    if (mode != "linear" && mode != "circular") return info.error("unknown mode '", mode, "'");
    return std::unique_ptr<OpKernel>(new TensorScatterKernel(info.attr_int("axis", -2), mode == "circular"));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* cache, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* update, ctx.required_input(1));
    const Tensor* write = ctx.input(2);
    const int64_t rank = static_cast<int64_t>(cache->rank());
    int64_t axis = axis_;
    if (!normalize_axis(axis, rank) || axis == 0) return ctx.error("axis ", axis_, " must name a non-batch dim of rank ", rank);
    if (update->dtype() != cache->dtype()) return ctx.error("update type differs from past_cache type");
    bool ok = update->rank() == cache->rank();
    for (int64_t k = 0; ok && k < rank; ++k) ok = k == axis ? update->dim(k) <= cache->dim(k) : update->dim(k) == cache->dim(k);
    if (!ok)
      return ctx.error("update shape ", shape_to_string(update->shape()), " does not fit past_cache shape ", shape_to_string(cache->shape()));
    const int64_t batch = cache->dim(0), max_len = cache->dim(axis), seq = update->dim(axis);
    std::vector<int64_t> starts(static_cast<size_t>(batch), 0);
    if (write && (!read_int64s(*write, starts) || static_cast<int64_t>(starts.size()) != batch))
      return ctx.error("write_indices must be int64 of shape [", batch, "]");
    for (int64_t b = 0; b < batch; ++b) {
      if (circular_) continue;
      if (starts[b] < 0 || starts[b] + seq > max_len)
        return ctx.error("write index ", starts[b], " + sequence length ", seq, " exceeds max_sequence_length ", max_len);
    }
    const DataType dtype = cache->dtype();
    Tensor& out = ctx.allocate_output(0, dtype, cache->shape());
    copy_elements(dtype, out.raw_data(), cache->raw_data(), cache->size());
    const int64_t outer = product(cache->shape(), 0, axis), inner = product(cache->shape(), axis + 1, rank);
    const int64_t per_batch = batch > 0 ? outer / batch : 0;
    for (int64_t o = 0; o < outer; ++o) {
      const int64_t start = starts[o / per_batch];
      for (int64_t s = 0; s < seq; ++s) {
        int64_t pos = start + s;
        if (circular_) pos = ((pos % max_len) + max_len) % max_len;
        copy_elements(dtype, element_ptr(out.raw_data(), dtype, (o * max_len + pos) * inner),
                      element_ptr(update->raw_data(), dtype, (o * seq + s) * inner), inner);
      }
    }
    return Status::ok();
  }

 private:
  int64_t axis_;
  bool circular_;
};

}  // namespace

void register_gather_scatter(KernelRegistry& r) {
  const KernelDef defs[] = {
      {"", "Gather", 1, kLatestOnnxOpset, make_factory<GatherKernel>()},
      {"", "GatherElements", 11, kLatestOnnxOpset, make_factory<GatherElementsKernel>()},
      {"", "GatherND", 11, kLatestOnnxOpset, make_factory<GatherNDKernel>()},
      {"", "ScatterElements", 11, kLatestOnnxOpset, ScatterElementsKernel::create},
      {"", "Scatter", 9, kLatestOnnxOpset, ScatterElementsKernel::create},
      {"", "ScatterND", 11, kLatestOnnxOpset, ScatterNDKernel::create},
      {"", "TensorScatter", 24, kLatestOnnxOpset, TensorScatterKernel::create},
  };
  for (const KernelDef& def : defs) r.add(def);
}

}  // namespace tessera
