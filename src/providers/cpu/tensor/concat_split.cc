// Concat and Split. Each is a set of 2-D block copies: [outer, chunk] rows, where chunk = (size along axis) * (inner elements).
#include <numeric>
#include <span>

#include "tessera/inline_vector.h"
#include "providers/cpu/families.h"
#include "providers/cpu/tensor/copy_util.h"

namespace tessera {
namespace {

using namespace tensor_ops;

// Copies parts along `axis` into `out`, which must already have the concatenated shape.
void concat_into(std::span<const Tensor* const> parts, size_t axis, Tensor& out, ThreadPool* pool) {
  const int64_t outer = product(out.shape(), 0, axis);
  const int64_t inner = product(out.shape(), axis + 1, out.rank());
  const int64_t out_chunk = out.dim(axis) * inner;
  int64_t offset = 0;
  for (const Tensor* part : parts) {
    const int64_t chunk = part->dim(axis) * inner;
    strided_copy(out.dtype(), {outer, chunk}, element_ptr(out.raw_data(), out.dtype(), offset), {out_chunk, 1},
                 part->raw_data(), {chunk, 1}, pool);
    offset += chunk;
  }
}

// Checks that parts can be joined along `axis` (already normalized) and returns the joined shape.
Result<Shape> concat_shape(const KernelContext& ctx, std::span<const Tensor* const> parts, size_t axis) {
  const Tensor& first = *parts[0];
  Shape shape = first.shape();
  shape[axis] = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Tensor& t = *parts[i];
    if (t.dtype() != first.dtype()) return ctx.error("input ", i, " has type ", dtype_name(t.dtype()), ", input 0 has ", dtype_name(first.dtype()));
    if (t.rank() != first.rank())
      return ctx.error("input ", i, " has shape ", shape_to_string(t.shape()), ", input 0 has ", shape_to_string(first.shape()));
    for (size_t k = 0; k < t.rank(); ++k)
      if (k != axis && t.dim(k) != first.dim(k))
        return ctx.error("input ", i, " has shape ", shape_to_string(t.shape()), ", which does not match input 0 ",
                         shape_to_string(first.shape()), " outside axis ", axis);
    shape[axis] += t.dim(axis);
  }
  return shape;
}

class ConcatKernel final : public OpKernel {
 public:
  // Concat-1 defaults axis to 1; from opset 4 it is required.
  explicit ConcatKernel(const KernelInfo& info) : axis_(info.attr_int("axis", 1)), has_axis_(info.has_attr("axis") || info.since_version() < 4) {}

  Status compute(KernelContext& ctx) const override {
    if (!has_axis_) return ctx.error("required attribute 'axis' is missing");
    InlineVector<const Tensor*, 8> parts;  // no allocation per run up to 8 inputs
    for (size_t i = 0; i < ctx.input_count(); ++i) {
      TS_ASSIGN_OR_RETURN(const Tensor* t, ctx.required_input(i));
      parts.push_back(t);
    }
    if (parts.empty()) return ctx.error("needs at least one input");
    int64_t axis = axis_;
    if (!normalize_axis(axis, static_cast<int64_t>(parts[0]->rank())))
      return ctx.error("axis ", axis_, " is out of range for rank ", parts[0]->rank());
    TS_ASSIGN_OR_RETURN(Shape shape, concat_shape(ctx, parts, static_cast<size_t>(axis)));
    if (parts.size() == 1) {
      ctx.set_output(0, *parts[0]);
      return Status::ok();
    }
    Tensor& out = ctx.allocate_output_uninitialized(0, parts[0]->dtype(), shape);
    concat_into(parts, static_cast<size_t>(axis), out, &ctx.thread_pool());
    return Status::ok();
  }

 private:
  int64_t axis_;
  bool has_axis_;
};

// Copies slices [offset, offset + length) along axis of `in` into out (shaped accordingly).
void copy_axis_range(const Tensor& in, size_t axis, int64_t offset, Tensor& out, ThreadPool* pool) {
  const int64_t outer = product(in.shape(), 0, axis);
  const int64_t inner = product(in.shape(), axis + 1, in.rank());
  const int64_t in_chunk = in.dim(axis) * inner, chunk = out.size() / std::max<int64_t>(1, outer);
  if (out.size() == 0) return;
  strided_copy(in.dtype(), {outer, chunk}, out.raw_data(), {chunk, 1}, element_ptr(in.raw_data(), in.dtype(), offset * inner),
               {in_chunk, 1}, pool);
}

class SplitKernel final : public OpKernel {
 public:
  explicit SplitKernel(const KernelInfo& info)
      : axis_(info.attr_int("axis", 0)), split_attr_(info.attr_ints("split")), num_outputs_(info.attr_int("num_outputs", 0)) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    int64_t axis = axis_;
    if (!normalize_axis(axis, static_cast<int64_t>(x->rank()))) return ctx.error("axis ", axis_, " is out of range for rank ", x->rank());
    const int64_t dim = x->dim(axis);
    const int64_t n_out = static_cast<int64_t>(ctx.output_count());
    std::vector<int64_t> split = split_attr_;
    if (ctx.input_count() > 1 && ctx.input(1)) {
      if (!read_int64s(*ctx.input(1), split)) return ctx.error("split input must be int64");
    }
    if (split.empty()) {
      // Equal parts; when uneven every part gets ceil(dim/n) and the last the rest (the spec
      // allows this from opset 18; the reference does it for every version).
      int64_t n = num_outputs_ > 0 ? num_outputs_ : n_out;
      if (n <= 0) return ctx.error("no outputs to split into");
      int64_t part = (dim + n - 1) / n;
      split.assign(n, part);
      split.back() = dim - part * (n - 1);
      if (split.back() < 0) return ctx.error("axis of size ", dim, " cannot be split into ", n, " parts of ", part);
    }
    if (static_cast<int64_t>(split.size()) != n_out)
      return ctx.error("split has ", split.size(), " parts but the node has ", n_out, " outputs");
    int64_t total = 0;
    for (int64_t s : split) {
      if (s < 0) return ctx.error("split ", shape_to_string(split), " has a negative part");
      total += s;
    }
    if (total != dim) return ctx.error("split ", shape_to_string(split), " sums to ", total, " but axis ", axis, " has size ", dim);
    int64_t offset = 0;
    for (int64_t i = 0; i < n_out; ++i) {
      Shape shape = x->shape();
      shape[axis] = split[i];
      if (ctx.output_requested(i)) {
        Tensor& out = ctx.allocate_output(i, x->dtype(), shape);
        copy_axis_range(*x, static_cast<size_t>(axis), offset, out, &ctx.thread_pool());
      }
      offset += split[i];
    }
    return Status::ok();
  }

 private:
  int64_t axis_;
  std::vector<int64_t> split_attr_;
  int64_t num_outputs_;
};

}  // namespace

void register_concat_split(KernelRegistry& r) {
  const KernelDef defs[] = {
      {"", "Concat", 1, kLatestOnnxOpset, make_factory<ConcatKernel>()},
      {"", "Split", 1, kLatestOnnxOpset, make_factory<SplitKernel>()},
  };
  for (const KernelDef& def : defs) r.add(def);
}

}  // namespace tessera
