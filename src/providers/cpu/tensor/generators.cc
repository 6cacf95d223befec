// Ops that make tensors from attributes or small inputs: Constant, ConstantOfShape, Range,
// EyeLike, OneHot.
#include <cmath>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/tensor/copy_util.h"

namespace tessera {
namespace {

using namespace tensor_ops;

// The value is built once at session creation and handed out (shared, read-only) on every run.
class ConstantKernel final : public OpKernel {
 public:
  explicit ConstantKernel(Tensor value) : value_(std::move(value)) {}
  Status compute(KernelContext& ctx) const override {
    ctx.set_output(0, value_);
    return Status::ok();
  }

  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto make = [](Result<Tensor> t) -> Result<std::unique_ptr<OpKernel>> {
      if (!t.is_ok()) return t.status();
      return std::unique_ptr<OpKernel>(new ConstantKernel(std::move(t).value()));
    };
    if (info.has_attr("sparse_value"))
      return not_implemented(info.node().describe(), ": Constant with a sparse_value attribute is not supported");
    if (const Tensor* t = info.attr_tensor("value")) return make(Result<Tensor>(*t));
    if (info.has_attr("value_float")) return make(Tensor::scalar(DataType::float32, info.attr_float("value_float", 0)));
    if (info.has_attr("value_floats")) {
      std::vector<float> v = info.attr_floats("value_floats");
      return make(Tensor::from_vector(DataType::float32, {static_cast<int64_t>(v.size())}, v));
    }
    if (info.has_attr("value_int")) return make(Tensor::scalar(DataType::int64, info.attr_int("value_int", 0)));
    if (info.has_attr("value_ints")) {
      std::vector<int64_t> v = info.attr_ints("value_ints");
      return make(Tensor::from_vector(DataType::int64, {static_cast<int64_t>(v.size())}, v));
    }
    if (info.has_attr("value_string")) return make(Tensor::scalar(DataType::string, info.attr_string("value_string", "")));
    if (info.has_attr("value_strings")) {
      std::vector<std::string> v = info.attr_strings("value_strings");
      return make(Tensor::from_vector(DataType::string, {static_cast<int64_t>(v.size())}, v));
    }
    return info.error("Constant needs one of the attributes value, value_float(s), value_int(s), value_string(s)");
  }

 private:
  Tensor value_;
};

class ConstantOfShapeKernel final : public OpKernel {
 public:
  explicit ConstantOfShapeKernel(const KernelInfo& info) {
    const Tensor* v = info.attr_tensor("value");
    value_ = v ? *v : Tensor::scalar(DataType::float32, 0.0f);
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* shape_in, ctx.required_input(0));
    if (value_.size() != 1) return ctx.error("attribute value must hold one element, it has ", value_.size());
    Shape shape;
    if (!read_int64s(*shape_in, shape)) return ctx.error("shape input must be int64");
    for (int64_t d : shape)
      if (d < 0) return ctx.error("shape ", shape_to_string(shape), " has a negative dim");
    Tensor& out = ctx.allocate_output(0, value_.dtype(), shape);
    fill_elements(out.dtype(), out.raw_data(), value_.raw_data(), out.size());
    return Status::ok();
  }

 private:
  Tensor value_;
};

constexpr TypeSet kRangeTypes = kFloatTypes | type_bit(DataType::int16) | type_bit(DataType::int32) | type_bit(DataType::int64);

class RangeKernel final : public OpKernel {
 public:
  // stash_type (opset 27, default float) picks float or double arithmetic for float16/bfloat16;
  // before 27 the reference computes in double.
  explicit RangeKernel(const KernelInfo& info)
      : stash_double_(info.attr_int("stash_type", info.since_version() >= 27 ? 1 : 11) == 11) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* start_t, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* limit_t, ctx.required_input(1));
    TS_ASSIGN_OR_RETURN(const Tensor* delta_t, ctx.required_input(2));
    if (start_t->size() != 1 || limit_t->size() != 1 || delta_t->size() != 1)
      return ctx.error("start, limit and delta must be scalars");
    if (limit_t->dtype() != start_t->dtype() || delta_t->dtype() != start_t->dtype())
      return ctx.error("start, limit and delta must have the same type");
    return dispatch<kRangeTypes>(start_t->dtype(), [&]<class T>() -> Status {
      auto start = to_computed(start_t->data<T>()[0]);
      auto limit = to_computed(limit_t->data<T>()[0]);
      auto delta = to_computed(delta_t->data<T>()[0]);
      using C = decltype(start);
      if (delta == C(0)) return ctx.error("delta must not be zero");
      if constexpr (std::is_integral_v<C>) {
        int64_t diff = static_cast<int64_t>(limit) - static_cast<int64_t>(start);
        int64_t q = diff / delta;
        if (diff % delta != 0 && ((diff < 0) == (delta < 0))) ++q;
        int64_t n = std::max<int64_t>(q, 0);
        T* out = ctx.allocate_output(0, start_t->dtype(), {n}).template data<T>();
        for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(start + i * delta);
      } else {
        double dn = std::ceil((static_cast<double>(limit) - static_cast<double>(start)) / static_cast<double>(delta));
        int64_t n = std::max<int64_t>(0, static_cast<int64_t>(dn));
        T* out = ctx.allocate_output(0, start_t->dtype(), {n}).template data<T>();
        // Like numpy's arange: the step is re-derived from the first two values in the
        // compute type, then value i = start + i * step.
        auto fill = [&]<class A>() {
          A s = static_cast<A>(start), d = static_cast<A>(s + static_cast<A>(delta)) - s;
          for (int64_t i = 0; i < n; ++i) out[i] = from_computed<T>(s + static_cast<A>(i) * d);
        };
        if (std::is_same_v<C, float> && !stash_double_ && !std::is_same_v<T, float>) fill.template operator()<float>();
        else fill.template operator()<double>();
      }
      return Status::ok();
    }, ctx.node());
  }

 private:
  bool stash_double_;
};

constexpr TypeSet kEyeTypes = kNumericTypes | type_bit(DataType::boolean);

class EyeLikeKernel final : public OpKernel {
 public:
  explicit EyeLikeKernel(const KernelInfo& info) : k_(info.attr_int("k")) {
    if (info.has_attr("dtype")) dtype_ = static_cast<DataType>(info.attr_int("dtype", 1));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    if (x->rank() != 2) return ctx.error("input must be 2-D, got shape ", shape_to_string(x->shape()));
    DataType dtype = dtype_ != DataType::undefined ? dtype_ : x->dtype();
    const int64_t rows = x->dim(0), cols = x->dim(1);
    return dispatch<kEyeTypes>(dtype, [&]<class T>() -> Status {
      T* out = ctx.allocate_output(0, dtype, {rows, cols}).template data<T>();
      const T one = from_computed<T>(1);
      for (int64_t i = std::max<int64_t>(0, -k_); i < rows && i + k_ < cols; ++i) out[i * cols + i + k_] = one;
      return Status::ok();
    }, ctx.node());
  }

 private:
  int64_t k_;
  DataType dtype_ = DataType::undefined;
};

// Numeric tensor values as int64 (floats truncate toward zero, as a Cast would).
bool numeric_as_int64s(const Tensor& t, std::vector<int64_t>& out) {
  out.resize(static_cast<size_t>(t.size()));
  Status s = dispatch<kNumericTypes>(t.dtype(), [&]<class T>() {
    const T* p = t.data<T>();
    for (int64_t i = 0; i < t.size(); ++i) out[i] = static_cast<int64_t>(to_computed(p[i]));
    return Status::ok();
  }, "");
  return s.is_ok();
}

class OneHotKernel final : public OpKernel {
 public:
  explicit OneHotKernel(const KernelInfo& info) : axis_(info.attr_int("axis", -1)) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* indices, ctx.required_input(0));
    TS_ASSIGN_OR_RETURN(const Tensor* depth_t, ctx.required_input(1));
    TS_ASSIGN_OR_RETURN(const Tensor* values, ctx.required_input(2));
    int64_t depth = 0;
    if (depth_t->size() != 1 || !read_scalar_int64(*depth_t, depth)) return ctx.error("depth must be a numeric scalar");
    if (depth <= 0) return ctx.error("depth must be positive, got ", depth);
    if (values->size() != 2) return ctx.error("values must hold [off_value, on_value], it has ", values->size(), " elements");
    std::vector<int64_t> idx;
    if (!numeric_as_int64s(*indices, idx)) return ctx.error("indices must be numeric, got ", dtype_name(indices->dtype()));

    int64_t rank = static_cast<int64_t>(indices->rank());
    int64_t axis = axis_;
    if (!normalize_axis(axis, rank + 1)) return ctx.error("axis ", axis_, " is out of range for output rank ", rank + 1);
    Shape out_shape = indices->shape();
    out_shape.insert(out_shape.begin() + axis, depth);
    int64_t inner = 1;
    for (int64_t k = axis; k < rank; ++k) inner *= indices->dim(k);
    const DataType dtype = values->dtype();
    Tensor& out = ctx.allocate_output(0, dtype, out_shape);
    fill_elements(dtype, out.raw_data(), values->raw_data(), out.size());
    for (int64_t i = 0; i < static_cast<int64_t>(idx.size()); ++i) {
      int64_t v = idx[i];
      if (v < 0) v += depth;
      if (v < 0 || v >= depth) continue;  // out of range: all off_value
      int64_t outer_i = i / inner, inner_i = i % inner;
      copy_element(dtype, out.raw_data(), (outer_i * depth + v) * inner + inner_i, values->raw_data(), 1);
    }
    return Status::ok();
  }

 private:
  int64_t axis_;
};

}  // namespace

void register_generators(KernelRegistry& r) {
  const KernelDef defs[] = {
      {"", "Constant", 1, kLatestOnnxOpset, ConstantKernel::create},
      {"", "ConstantOfShape", 9, kLatestOnnxOpset, make_factory<ConstantOfShapeKernel>()},
      {"", "Range", 11, kLatestOnnxOpset, make_factory<RangeKernel>()},
      {"", "EyeLike", 9, kLatestOnnxOpset, make_factory<EyeLikeKernel>()},
      {"", "OneHot", 9, kLatestOnnxOpset, make_factory<OneHotKernel>()},
  };
  for (const KernelDef& def : defs) r.add(def);
}

}  // namespace tessera
