// Sequence ops: SequenceEmpty, SequenceConstruct, SequenceInsert, SequenceAt, SequenceErase,
// SequenceLength, SplitToSequence, ConcatFromSequence, SequenceMap. Sequence items are Values
// whose tensors share their buffers (tensors are never written after they are produced), so
// building a new sequence copies handles, not data.
#include <algorithm>
#include <cstdint>
#include <memory>

#include "providers/cpu/controlflow/subgraph_util.h"

#include "core/tensor_alloc.h"
#include "providers/cpu/families.h"
#include "providers/cpu/tensor/copy_util.h"

namespace tessera {
namespace {

using tensor_ops::copy_elements;
using tensor_ops::element_ptr;

Result<const Value*> sequence_input(const KernelContext& ctx, size_t i) {
  const Value* v = ctx.input_value(i);
  if (!v || !v->is_sequence()) return ctx.error("input ", i, " must be a sequence");
  return v;
}

// A position input: an int32/int64 scalar, checked against [-n, n - 1] (or [-n, n] when
// `allow_end`), returned in [0, n].
Result<int64_t> read_position(const KernelContext& ctx, const Tensor& t, int64_t n, bool allow_end) {
  if (t.size() != 1 || (t.dtype() != DataType::int64 && t.dtype() != DataType::int32))
    return ctx.error("position must be an int32 or int64 scalar, got ", dtype_name(t.dtype()), shape_to_string(t.shape()));
  int64_t pos = t.dtype() == DataType::int64 ? t.data<int64_t>()[0] : t.data<int32_t>()[0];
  int64_t hi = allow_end ? n : n - 1;
  if (pos < -n || pos > hi) return ctx.error("position ", pos, " is out of range [", -n, ", ", hi, "] for a sequence of ", n);
  return pos < 0 ? pos + n : pos;
}

// Whether `a` and `b` have the same ONNX type (an empty sequence matches any sequence whose
// elements fit what it declares).
bool same_type(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::tensor: return a.tensor().dtype() == b.tensor().dtype();
    case Value::Kind::map:
      return a.map_keys().dtype() == b.map_keys().dtype() && a.map_values().dtype() == b.map_values().dtype();
    case Value::Kind::sequence:
      if (!a.items().empty() && !b.items().empty()) return same_type(a.items()[0], b.items()[0]);
      return a.sequence_elem_kind() == b.sequence_elem_kind() &&
             (a.sequence_elem_type() == DataType::undefined || b.sequence_elem_type() == DataType::undefined ||
              a.sequence_elem_type() == b.sequence_elem_type());
    default: return true;
  }
}

// Fails when `item` cannot be an item of `seq`.
Status check_item_type(const KernelContext& ctx, const Value& seq, const Value& item) {
  if (!same_type(seq, Value::sequence({item}))) return ctx.error(value_type_string(item), " does not fit a ", value_type_string(seq));
  return Status::ok();
}

class SequenceEmptyKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    int64_t dtype = info.attr_int("dtype", static_cast<int64_t>(DataType::float32));
    if (dtype > INT32_MAX || !is_known_dtype(static_cast<int32_t>(dtype)) || dtype == 0)
      return info.error("attribute 'dtype' = ", dtype, " is not a known element type");
    return std::unique_ptr<OpKernel>(new SequenceEmptyKernel(static_cast<DataType>(dtype)));
  }
  explicit SequenceEmptyKernel(DataType dtype) : dtype_(dtype) {}
  Status compute(KernelContext& ctx) const override {
    ctx.set_output(0, Value::sequence({}, dtype_));
    return Status::ok();
  }

 private:
  DataType dtype_;
};

class SequenceConstructKernel final : public OpKernel {
 public:
  explicit SequenceConstructKernel(const KernelInfo&) {}
  Status compute(KernelContext& ctx) const override {
    std::vector<Value> items;
    items.reserve(ctx.input_count());
    for (size_t i = 0; i < ctx.input_count(); ++i) {
      TS_ASSIGN_OR_RETURN(const Tensor* t, ctx.required_input(i));
      if (!items.empty() && t->dtype() != items[0].tensor().dtype())
        return ctx.error("input ", i, " is ", dtype_name(t->dtype()), " but input 0 is ", dtype_name(items[0].tensor().dtype()));
      items.emplace_back(*t);
    }
    if (items.empty()) return ctx.error("needs at least one input tensor");
    ctx.set_output(0, Value::sequence(std::move(items)));
    return Status::ok();
  }
};

// Inserts any value (ONNX only inserts tensors; sequences of maps or sequences are built the same way).
class SequenceInsertKernel final : public OpKernel {
 public:
  explicit SequenceInsertKernel(const KernelInfo&) {}
  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Value* seq, sequence_input(ctx, 0));
    const Value* item = ctx.input_value(1);
    if (!item || item->is_empty_optional()) return ctx.error("input 1 (tensor) is missing");
    TS_RETURN_IF_ERROR(check_item_type(ctx, *seq, *item));
    int64_t n = static_cast<int64_t>(seq->items().size());
    int64_t pos = n;
    if (const Tensor* p = ctx.input(2)) {
      TS_ASSIGN_OR_RETURN(pos, read_position(ctx, *p, n, true));
    }
    std::vector<Value> items = seq->items();
    items.insert(items.begin() + pos, *item);
    ctx.set_output(0, Value::sequence(std::move(items), seq->sequence_elem_type()));
    return Status::ok();
  }
};

class SequenceAtKernel final : public OpKernel {
 public:
  explicit SequenceAtKernel(const KernelInfo&) {}
  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Value* seq, sequence_input(ctx, 0));
    TS_ASSIGN_OR_RETURN(const Tensor* p, ctx.required_input(1));
    TS_ASSIGN_OR_RETURN(int64_t pos, read_position(ctx, *p, static_cast<int64_t>(seq->items().size()), false));
    ctx.set_output(0, seq->items()[pos]);
    return Status::ok();
  }
};

class SequenceEraseKernel final : public OpKernel {
 public:
  explicit SequenceEraseKernel(const KernelInfo&) {}
  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Value* seq, sequence_input(ctx, 0));
    int64_t n = static_cast<int64_t>(seq->items().size());
    if (n == 0) return ctx.error("cannot erase from an empty sequence");
    int64_t pos = n - 1;
    if (const Tensor* p = ctx.input(1)) {
      TS_ASSIGN_OR_RETURN(pos, read_position(ctx, *p, n, false));
    }
    std::vector<Value> items = seq->items();
    items.erase(items.begin() + pos);
    ctx.set_output(0, Value::sequence(std::move(items), seq->sequence_elem_type(), seq->sequence_elem_kind()));
    return Status::ok();
  }
};

class SequenceLengthKernel final : public OpKernel {
 public:
  explicit SequenceLengthKernel(const KernelInfo&) {}
  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Value* seq, sequence_input(ctx, 0));
    ctx.allocate_output(0, DataType::int64, {}).data<int64_t>()[0] = static_cast<int64_t>(seq->items().size());
    return Status::ok();
  }
};

// Copies the slab [offset, offset + len) of dim `axis` of x, seen as [outer, dim, inner]. When
// outer is 1 the slab is contiguous and is returned as a view that shares x's buffer.
Tensor slab(const std::shared_ptr<const Tensor>& x, int64_t outer, int64_t dim, int64_t inner, int64_t offset, int64_t len,
            Shape shape, ThreadPool& pool) {
  const void* src = element_ptr(x->raw_data(), x->dtype(), offset * inner);
  if (outer == 1) return Tensor::view(x->dtype(), std::move(shape), x, src);
  Tensor out = allocate_or_throw(x->dtype(), std::move(shape));
  tensor_ops::strided_copy(x->dtype(), {outer, len * inner}, out.raw_data(), {len * inner, 1}, src, {dim * inner, 1}, &pool);
  return out;
}

class SplitToSequenceKernel final : public OpKernel {
 public:
  explicit SplitToSequenceKernel(const KernelInfo& info)
      : axis_(info.attr_int("axis", 0)), keepdims_(info.attr_int("keepdims", 1) != 0) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    int64_t rank = static_cast<int64_t>(x->rank());
    int64_t axis = axis_;
    if (!tensor_ops::normalize_axis(axis, rank)) return ctx.error("axis ", axis_, " is out of range for rank ", rank);
    const int64_t dim = x->dim(static_cast<size_t>(axis));

    std::vector<int64_t> lengths;
    bool drop_axis = false;
    const Tensor* split = ctx.input(1);
    if (!split) {
      lengths.assign(static_cast<size_t>(dim), 1);
      drop_axis = !keepdims_;
    } else {
      std::vector<int64_t> values;
      if (!tensor_ops::read_int64s(*split, values) || split->rank() > 1)
        return ctx.error("split must be an integer scalar or 1-D tensor");
      if (split->rank() == 0) {
        int64_t chunk = values[0];
        if (chunk <= 0) return ctx.error("split must be positive, got ", chunk);
        for (int64_t done = 0; done < dim; done += chunk) lengths.push_back(std::min(chunk, dim - done));
      } else {
        int64_t sum = 0;
        for (int64_t v : values) {
          if (v < 0) return ctx.error("split lengths must be >= 0, got ", v);
          sum += v;
        }
        if (sum != dim)
          return ctx.error("split lengths sum to ", sum, " but dim ", axis, " of the input ", shape_to_string(x->shape()),
                           " is ", dim);
        lengths = std::move(values);
      }
    }

    int64_t outer = 1, inner = 1;
    for (int64_t k = 0; k < axis; ++k) outer *= x->dim(static_cast<size_t>(k));
    for (int64_t k = axis + 1; k < rank; ++k) inner *= x->dim(static_cast<size_t>(k));
    auto owner = std::make_shared<const Tensor>(*x);
    std::vector<Value> items;
    items.reserve(lengths.size());
    int64_t offset = 0;
    for (int64_t len : lengths) {
      Shape shape = x->shape();
      if (drop_axis) shape.erase(shape.begin() + axis);
      else shape[static_cast<size_t>(axis)] = len;
      items.push_back(slab(owner, outer, dim, inner, offset, len, std::move(shape), ctx.thread_pool()));
      offset += len;
    }
    ctx.set_output(0, Value::sequence(std::move(items), x->dtype()));
    return Status::ok();
  }

 private:
  int64_t axis_;
  bool keepdims_;
};

class ConcatFromSequenceKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    TS_ASSIGN_OR_RETURN(int64_t axis, info.required_int("axis"));
    return std::unique_ptr<OpKernel>(new ConcatFromSequenceKernel(axis, info.attr_int("new_axis", 0) != 0));
  }
  ConcatFromSequenceKernel(int64_t axis, bool new_axis) : axis_(axis), new_axis_(new_axis) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Value* seq, sequence_input(ctx, 0));
    if (seq->sequence_elem_kind() != Value::Kind::tensor)
      return ctx.error("input 0 is a ", value_type_string(*seq), ", not a sequence of tensors");
    if (seq->items().empty()) return ctx.error("cannot concatenate an empty sequence");
    std::vector<Tensor> items;
    items.reserve(seq->items().size());
    for (const Value& v : seq->items()) {
      if (!v.is_tensor()) return ctx.error("sequence item ", items.size(), " is ", value_type_string(v), ", not a tensor");
      items.push_back(v.tensor());
    }
    const Tensor& first = items[0];
    int64_t rank = static_cast<int64_t>(first.rank()) + (new_axis_ ? 1 : 0);
    int64_t axis = axis_;
    if (!tensor_ops::normalize_axis(axis, rank))
      return ctx.error("axis ", axis_, " is out of range for ", new_axis_ ? "stacking" : "concatenating", " tensors of shape ",
                       shape_to_string(first.shape()));
    // Shapes as seen by the concatenation: with a dim of 1 inserted at `axis` when stacking.
    auto effective = [&](const Tensor& t) { return new_axis_ ? controlflow::insert_dim(t.shape(), axis, 1) : t.shape(); };
    Shape out_shape = effective(first);
    out_shape[static_cast<size_t>(axis)] = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      // The rank first: `axis` was checked against item 0's, and stacking inserts a dim at it.
      bool ok = items[i].dtype() == first.dtype() && items[i].rank() == first.rank();
      const Shape s = ok ? effective(items[i]) : Shape();
      for (int64_t k = 0; ok && k < rank; ++k) ok = k == axis || s[k] == out_shape[k];
      if (!ok)
        return ctx.error("sequence item ", i, " is ", dtype_name(items[i].dtype()), shape_to_string(items[i].shape()),
                         ", which does not concatenate with item 0, ", dtype_name(first.dtype()), shape_to_string(first.shape()),
                         ", along axis ", axis_);
      out_shape[static_cast<size_t>(axis)] += s[static_cast<size_t>(axis)];
    }
    int64_t outer = 1, inner = 1;
    for (int64_t k = 0; k < axis; ++k) outer *= out_shape[static_cast<size_t>(k)];
    for (int64_t k = axis + 1; k < rank; ++k) inner *= out_shape[static_cast<size_t>(k)];
    const int64_t row = out_shape[static_cast<size_t>(axis)] * inner;
    Tensor& out = ctx.allocate_output(0, first.dtype(), out_shape);
    int64_t offset = 0;
    for (const Tensor& t : items) {
      int64_t block = t.size() / std::max<int64_t>(outer, 1);
      void* dst = element_ptr(out.raw_data(), out.dtype(), offset);
      if (outer == 1) copy_elements(t.dtype(), dst, t.raw_data(), block);
      else if (block > 0)
        tensor_ops::strided_copy(t.dtype(), {outer, block}, dst, {row, 1}, t.raw_data(), {block, 1}, &ctx.thread_pool());
      offset += block;
    }
    return Status::ok();
  }

 private:
  int64_t axis_;
  bool new_axis_;
};

// SequenceMap: runs `body` once per item of input 0; sequence inputs contribute their i-th item,
// tensor inputs are passed whole. Output k collects body output k of every run.
class SequenceMapKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    const SubgraphRunner* body = info.subgraph("body");
    TS_RETURN_IF_ERROR(controlflow::check_body_arity(info, body, "body", info.input_count(), info.output_count()));
    return std::unique_ptr<OpKernel>(new SequenceMapKernel(body));
  }
  explicit SequenceMapKernel(const SubgraphRunner* body) : body_(body) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Value* seq, sequence_input(ctx, 0));
    const size_t n = seq->items().size();
    std::vector<const Value*> extra(ctx.input_count());
    for (size_t j = 1; j < ctx.input_count(); ++j) {
      extra[j] = ctx.input_value(j);
      if (!extra[j]) return ctx.error("input ", j, " is missing");
      if (extra[j]->is_sequence() && extra[j]->items().size() != n)
        return ctx.error("input ", j, " is a sequence of ", extra[j]->items().size(), " but input 0 has ", n);
    }
    const Graph& graph = body_->graph();
    std::vector<std::vector<Value>> results(ctx.output_count());
    std::vector<Value> inputs(ctx.input_count());
    for (size_t j = 1; j < ctx.input_count(); ++j)
      if (!extra[j]->is_sequence()) inputs[j] = *extra[j];
    for (size_t i = 0; i < n; ++i) {
      inputs[0] = seq->items()[i];
      for (size_t j = 1; j < ctx.input_count(); ++j)
        if (extra[j]->is_sequence()) inputs[j] = extra[j]->items()[i];
      TS_ASSIGN_OR_RETURN(std::vector<Value> out, body_->run(ctx, inputs));
      for (size_t k = 0; k < results.size(); ++k) {
        if (out[k].is_absent() || out[k].is_empty_optional())
          return ctx.error("body output '", graph.outputs[k].name, "' has no value");
        if (!results[k].empty() && !same_type(results[k][0], out[k]))
          return ctx.error("body output '", graph.outputs[k].name, "' changes type across items");
        results[k].push_back(std::move(out[k]));
      }
    }
    for (size_t k = 0; k < results.size(); ++k) {
      const TypeInfo& declared = graph.outputs[k].type;
      Value::Kind kind = declared.kind == TypeInfo::Kind::sequence ? Value::Kind::sequence
                         : declared.kind == TypeInfo::Kind::map    ? Value::Kind::map
                                                                   : Value::Kind::tensor;
      ctx.set_output(k, Value::sequence(std::move(results[k]), declared.elem_type, kind));
    }
    return Status::ok();
  }

 private:
  const SubgraphRunner* body_;
};

}  // namespace

void register_sequence(KernelRegistry& r) {
  static const KernelDef defs[] = {
      {"", "SequenceEmpty", 11, kLatestOnnxOpset, SequenceEmptyKernel::create},
      {"", "SequenceConstruct", 11, kLatestOnnxOpset, make_factory<SequenceConstructKernel>()},
      {"", "SequenceInsert", 11, kLatestOnnxOpset, make_factory<SequenceInsertKernel>()},
      {"", "SequenceAt", 11, kLatestOnnxOpset, make_factory<SequenceAtKernel>()},
      {"", "SequenceErase", 11, kLatestOnnxOpset, make_factory<SequenceEraseKernel>()},
      {"", "SequenceLength", 11, kLatestOnnxOpset, make_factory<SequenceLengthKernel>()},
      {"", "SplitToSequence", 11, kLatestOnnxOpset, make_factory<SplitToSequenceKernel>()},
      {"", "ConcatFromSequence", 11, kLatestOnnxOpset, ConcatFromSequenceKernel::create},
      {"", "SequenceMap", 17, kLatestOnnxOpset, SequenceMapKernel::create},
  };
  for (const auto& def : defs) r.add(def);
}

}  // namespace tessera
