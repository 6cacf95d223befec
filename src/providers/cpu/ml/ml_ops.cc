// The small ai.onnx.ml ops: Binarizer, ArrayFeatureExtractor, Normalizer, Scaler, Imputer,
// OneHotEncoder, FeatureVectorizer, CategoryMapper, DictVectorizer. register_ml also registers
// the family's larger files (trees, linear/SVM models, LabelEncoder, ZipMap).
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/math/widen.h"
#include "providers/cpu/ml/ml_common.h"

namespace tessera {
namespace {

constexpr TypeSet kMlNumeric = type_bit(DataType::float32) | type_bit(DataType::float64) |
                               type_bit(DataType::int64) | type_bit(DataType::int32);

// Rows and row length of the 1-D or 2-D inputs most ml ops take ([C] is one row).
bool rows_and_stride(const Tensor& x, int64_t* rows, int64_t* stride) {
  if (x.rank() == 0) return false;
  *stride = x.rank() == 1 ? x.dim(0) : x.dim(1);
  *rows = *stride == 0 ? 0 : x.size() / *stride;
  return true;
}

// ---------------------------------------------------------------- Binarizer

class BinarizerKernel final : public OpKernel {
 public:
  explicit BinarizerKernel(const KernelInfo& info) : threshold_(info.attr_float("threshold")) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    Tensor& y = ctx.allocate_output(0, x->dtype(), x->shape());
    return dispatch<kMlNumeric>(
        x->dtype(),
        [&]<class T>() -> Status {
          const T* in = x->data<T>();
          T* out = y.data<T>();
          const double thr = threshold_;
          for (int64_t i = 0; i < x->size(); ++i) out[i] = static_cast<double>(in[i]) > thr ? T(1) : T(0);
          return Status::ok();
        },
        ctx.node());
  }

 private:
  float threshold_;
};

// ---------------------------------------------------------------- ArrayFeatureExtractor

class ArrayFeatureExtractorKernel final : public OpKernel {
 public:
  explicit ArrayFeatureExtractorKernel(const KernelInfo&) {}

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* ind = ctx.input(1);
    if (!x || !ind) return ctx.error("inputs X and Y are required");
    if (x->rank() == 0) return ctx.error("X must have at least one dimension");
    if (ind->dtype() != DataType::int64) return ctx.error("indices must be int64");
    const int64_t last = x->dim(x->rank() - 1), k = ind->size();
    const int64_t* idx = ind->data<int64_t>();
    for (int64_t j = 0; j < k; ++j)
      if (idx[j] < 0 || idx[j] >= last) return ctx.error("index ", idx[j], " is outside [0, ", last, ")");
    // A 1-D X gives one row: [1, k].
    Shape out_shape = x->rank() == 1 ? Shape{1, k} : Shape(x->shape().begin(), x->shape().end() - 1);
    if (x->rank() > 1) out_shape.push_back(k);
    Tensor& y = ctx.allocate_output(0, x->dtype(), out_shape);
    const int64_t rows = last == 0 ? 0 : x->size() / last;
    return dispatch<kMlNumeric | type_bit(DataType::string)>(
        x->dtype(),
        [&]<class T>() -> Status {
          const T* in = x->data<T>();
          T* out = y.data<T>();
          for (int64_t r = 0; r < rows; ++r)
            for (int64_t j = 0; j < k; ++j) out[r * k + j] = in[r * last + idx[j]];
          return Status::ok();
        },
        ctx.node());
  }
};

// ---------------------------------------------------------------- Normalizer

class NormalizerKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    const std::string norm = info.attr_string("norm", "MAX");
    int mode;
    if (norm == "MAX") mode = 0;
    else if (norm == "L1") mode = 1;
    else if (norm == "L2") mode = 2;
    else return info.error("norm must be MAX, L1 or L2, got '", norm, "'");
    return std::unique_ptr<OpKernel>(new NormalizerKernel(mode));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    if (x->rank() == 0) return ctx.error("X must have at least one dimension");
    Tensor& y = ctx.allocate_output(0, DataType::float32, x->shape());
    // Normalizes along dim 1 (dim 0 of a vector); later dims are independent lanes.
    const int64_t n = x->rank() == 1 ? x->dim(0) : x->dim(1);
    const int64_t inner = x->rank() > 2 ? x->size() / (x->dim(0) * x->dim(1)) : 1;
    if (n == 0 || x->size() == 0) return Status::ok();
    const int64_t outer = x->size() / (n * inner);
    std::vector<float> xf(static_cast<size_t>(x->size()));
    TS_RETURN_IF_ERROR(widen::widen_tensor(*x, xf.data(), ctx.node()));
    float* out = y.data<float>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t l = 0; l < inner; ++l) {
        const float* in = xf.data() + o * n * inner + l;
        float* dst = out + o * n * inner + l;
        float acc = mode_ == 0 ? std::numeric_limits<float>::lowest() : 0.0f;
        for (int64_t i = 0; i < n; ++i) {
          const float v = in[i * inner];
          if (mode_ == 0) acc = std::max(acc, v);
          else if (mode_ == 1) acc += std::abs(v);
          else acc += v * v;
        }
        for (int64_t i = 0; i < n; ++i) {
          const float v = in[i * inner];
          float r = v;
          if (acc != 0) {
            if (mode_ == 2) r = v < 0 ? -std::sqrt(v * v / acc) : std::sqrt(v * v / acc);
            else r = v / acc;
          }
          dst[i * inner] = r;
        }
      }
    return Status::ok();
  }

 private:
  explicit NormalizerKernel(int mode) : mode_(mode) {}
  int mode_;  // 0 MAX (divide by the row max, as ONNX Runtime), 1 L1, 2 L2
};

// ---------------------------------------------------------------- Scaler

class ScalerKernel final : public OpKernel {
 public:
  explicit ScalerKernel(const KernelInfo& info) : offset_(info.attr_floats("offset")), scale_(info.attr_floats("scale")) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    int64_t rows, stride;
    if (!rows_and_stride(*x, &rows, &stride)) return ctx.error("X must have at least one dimension");
    auto fits = [&](size_t n) { return n == 1 || static_cast<int64_t>(n) == stride; };
    if (offset_.empty() || scale_.empty() || !fits(offset_.size()) || !fits(scale_.size()))
      return ctx.error("offset and scale must have 1 or ", stride, " values, got ", offset_.size(), " and ", scale_.size());
    Tensor& y = ctx.allocate_output(0, DataType::float32, x->shape());
    std::vector<float> xf(static_cast<size_t>(x->size()));
    TS_RETURN_IF_ERROR(widen::widen_tensor(*x, xf.data(), ctx.node()));
    float* out = y.data<float>();
    for (int64_t i = 0; i < x->size(); ++i) {
      const int64_t c = stride > 0 ? i % stride : 0;
      const float off = offset_.size() == 1 ? offset_[0] : offset_[static_cast<size_t>(c)];
      const float sc = scale_.size() == 1 ? scale_[0] : scale_[static_cast<size_t>(c)];
      out[i] = (xf[i] - off) * sc;
    }
    return Status::ok();
  }

 private:
  std::vector<float> offset_, scale_;
};

// ---------------------------------------------------------------- Imputer

class ImputerKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<ImputerKernel>(new ImputerKernel());
    k->floats_ = info.attr_floats("imputed_value_floats");
    k->ints_ = info.attr_ints("imputed_value_int64s");
    if (k->floats_.empty() == k->ints_.empty())
      return info.error("exactly one of imputed_value_floats and imputed_value_int64s must be given");
    k->replaced_float_ = info.attr_float("replaced_value_float");
    k->replaced_int_ = info.attr_int("replaced_value_int64");
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    int64_t rows, stride;
    if (!rows_and_stride(*x, &rows, &stride)) return ctx.error("X must have at least one dimension");
    Tensor& y = ctx.allocate_output(0, x->dtype(), x->shape());
    auto run = [&]<class T, class V>(const std::vector<V>& values, T replaced) -> Status {
      if (values.size() != 1 && static_cast<int64_t>(values.size()) != stride)
        return ctx.error("imputed values must have 1 or ", stride, " entries, got ", values.size());
      const T* in = x->data<T>();
      T* out = y.data<T>();
      const bool nan_replaced = std::isnan(static_cast<double>(replaced));
      for (int64_t i = 0; i < x->size(); ++i) {
        const bool hit = (nan_replaced && std::isnan(static_cast<double>(in[i]))) || in[i] == replaced;
        out[i] = hit ? static_cast<T>(values[values.size() == 1 ? 0 : static_cast<size_t>(i % stride)]) : in[i];
      }
      return Status::ok();
    };
    constexpr TypeSet kImputerTypes = type_bit(DataType::float32) | type_bit(DataType::float64) |
                                      type_bit(DataType::int64) | type_bit(DataType::int32);
    if ((kImputerTypes & type_bit(x->dtype())) == 0)
      return ctx.error("element type ", dtype_name(x->dtype()), " is not supported");
    return dispatch<kImputerTypes>(x->dtype(), [&]<class T>() -> Status {
      if constexpr (std::is_floating_point_v<T>) return run.template operator()<T>(floats_, static_cast<T>(replaced_float_));
      else return run.template operator()<T>(ints_, static_cast<T>(replaced_int_));
    }, ctx.node());
  }

 private:
  ImputerKernel() = default;
  std::vector<float> floats_;
  std::vector<int64_t> ints_;
  float replaced_float_ = 0;
  int64_t replaced_int_ = 0;
};

// ---------------------------------------------------------------- OneHotEncoder

class OneHotEncoderKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<OneHotEncoderKernel>(new OneHotEncoderKernel());
    const std::vector<int64_t> ints = info.attr_ints("cats_int64s");
    const std::vector<std::string> strings = info.attr_strings("cats_strings");
    if (ints.empty() == strings.empty()) return info.error("exactly one of cats_int64s and cats_strings must be given");
    for (size_t i = 0; i < ints.size(); ++i) k->ints_[ints[i]] = static_cast<int64_t>(i);
    for (size_t i = 0; i < strings.size(); ++i) k->strings_[strings[i]] = static_cast<int64_t>(i);
    k->n_ = static_cast<int64_t>(ints.size() + strings.size());
    k->zeros_ = info.attr_int("zeros", 1) != 0;
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    Shape shape = x->shape();
    shape.push_back(n_);
    Tensor& y = ctx.allocate_output(0, DataType::float32, shape);
    float* out = y.data<float>();
    auto set = [&](int64_t i, int64_t cat) -> Status {
      if (cat >= 0) out[i * n_ + cat] = 1.0f;
      else if (!zeros_) return ctx.error("unknown category and zeros = 0");
      return Status::ok();
    };
    if (x->dtype() == DataType::string) {
      for (int64_t i = 0; i < x->size(); ++i) {
        auto it = strings_.find(x->data<std::string>()[i]);
        TS_RETURN_IF_ERROR(set(i, it == strings_.end() ? -1 : it->second));
      }
      return Status::ok();
    }
    // Numeric inputs are cast to int64 and looked up in cats_int64s.
    return dispatch<kMlNumeric>(
        x->dtype(),
        [&]<class T>() -> Status {
          for (int64_t i = 0; i < x->size(); ++i) {
            auto it = ints_.find(static_cast<int64_t>(x->data<T>()[i]));
            TS_RETURN_IF_ERROR(set(i, it == ints_.end() ? -1 : it->second));
          }
          return Status::ok();
        },
        ctx.node());
  }

 private:
  OneHotEncoderKernel() = default;
  std::unordered_map<int64_t, int64_t> ints_;
  std::unordered_map<std::string, int64_t> strings_;
  int64_t n_ = 0;
  bool zeros_ = true;
};

// ---------------------------------------------------------------- FeatureVectorizer

class FeatureVectorizerKernel final : public OpKernel {
 public:
  explicit FeatureVectorizerKernel(const KernelInfo& info) : dims_(info.attr_ints("inputdimensions")) {}

  Status compute(KernelContext& ctx) const override {
    if (ctx.input_count() != dims_.size())
      return ctx.error("inputdimensions has ", dims_.size(), " values for ", ctx.input_count(), " inputs");
    int64_t total = 0;
    for (int64_t d : dims_) total += d;
    TS_ASSIGN_OR_RETURN(const Tensor* first, ctx.required_input(0));
    // Every input is [N, C_i] (a vector is one row); all share N.
    const int64_t N = first->rank() <= 1 ? 1 : first->dim(0);
    Tensor& y = ctx.allocate_output(0, DataType::float32, {N, total});
    float* out = y.data<float>();
    int64_t col = 0;
    for (size_t k = 0; k < dims_.size(); ++k) {
      TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(k));
      const int64_t n = x->rank() <= 1 ? 1 : x->dim(0);
      if (n != N) return ctx.error("input ", k, " has ", n, " rows, input 0 has ", N);
      const int64_t c = n == 0 ? 0 : x->size() / n;
      std::vector<float> xf(static_cast<size_t>(x->size()));
      TS_RETURN_IF_ERROR(widen::widen_tensor(*x, xf.data(), ctx.node()));
      const int64_t take = std::min(c, dims_[k]);
      for (int64_t r = 0; r < N; ++r)
        for (int64_t j = 0; j < take; ++j) out[r * total + col + j] = xf[r * c + j];
      col += dims_[k];
    }
    return Status::ok();
  }

 private:
  std::vector<int64_t> dims_;
};

// ---------------------------------------------------------------- CategoryMapper

class CategoryMapperKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<CategoryMapperKernel>(new CategoryMapperKernel());
    const std::vector<int64_t> ints = info.attr_ints("cats_int64s");
    const std::vector<std::string> strings = info.attr_strings("cats_strings");
    if (ints.size() != strings.size()) return info.error("cats_int64s and cats_strings must have the same length");
    for (size_t i = 0; i < ints.size(); ++i) {
      k->to_int_[strings[i]] = ints[i];
      k->to_string_[ints[i]] = strings[i];
    }
    k->default_int_ = info.attr_int("default_int64", -1);
    k->default_string_ = info.attr_string("default_string", "_Unused");
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    if (x->dtype() == DataType::string) {
      Tensor& y = ctx.allocate_output(0, DataType::int64, x->shape());
      for (int64_t i = 0; i < x->size(); ++i) {
        auto it = to_int_.find(x->data<std::string>()[i]);
        y.data<int64_t>()[i] = it == to_int_.end() ? default_int_ : it->second;
      }
      return Status::ok();
    }
    if (x->dtype() != DataType::int64) return ctx.error("X must be string or int64");
    Tensor& y = ctx.allocate_output(0, DataType::string, x->shape());
    for (int64_t i = 0; i < x->size(); ++i) {
      auto it = to_string_.find(x->data<int64_t>()[i]);
      y.data<std::string>()[i] = it == to_string_.end() ? default_string_ : it->second;
    }
    return Status::ok();
  }

 private:
  CategoryMapperKernel() = default;
  std::unordered_map<std::string, int64_t> to_int_;
  std::unordered_map<int64_t, std::string> to_string_;
  int64_t default_int_ = -1;
  std::string default_string_;
};

// ---------------------------------------------------------------- DictVectorizer

class DictVectorizerKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<DictVectorizerKernel>(new DictVectorizerKernel());
    const std::vector<int64_t> ints = info.attr_ints("int64_vocabulary");
    const std::vector<std::string> strings = info.attr_strings("string_vocabulary");
    if (ints.empty() == strings.empty()) return info.error("exactly one of int64_vocabulary and string_vocabulary must be given");
    for (size_t i = 0; i < ints.size(); ++i) k->ints_[ints[i]] = static_cast<int64_t>(i);
    for (size_t i = 0; i < strings.size(); ++i) k->strings_[strings[i]] = static_cast<int64_t>(i);
    k->n_ = static_cast<int64_t>(ints.size() + strings.size());
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    const Value* v = ctx.input_value(0);
    if (!v || !v->is_map()) return ctx.error("input X must be a map");
    const Tensor& keys = v->map_keys();
    const Tensor& vals = v->map_values();
    if (keys.size() != vals.size()) return ctx.error("map keys and values differ in length");
    // One dense row; keys outside the vocabulary are dropped.
    Tensor& y = ctx.allocate_output(0, vals.dtype(), {1, n_});
    std::vector<int64_t> col(static_cast<size_t>(keys.size()), -1);
    for (int64_t i = 0; i < keys.size(); ++i) {
      if (keys.dtype() == DataType::string) {
        auto it = strings_.find(keys.data<std::string>()[i]);
        if (it != strings_.end()) col[i] = it->second;
      } else if (keys.dtype() == DataType::int64) {
        auto it = ints_.find(keys.data<int64_t>()[i]);
        if (it != ints_.end()) col[i] = it->second;
      } else {
        return ctx.error("map keys must be string or int64");
      }
    }
    return dispatch<kStandardTypes>(
        vals.dtype(),
        [&]<class T>() -> Status {
          for (int64_t i = 0; i < keys.size(); ++i)
            if (col[i] >= 0) y.data<T>()[col[i]] = vals.data<T>()[i];
          return Status::ok();
        },
        ctx.node());
  }

 private:
  DictVectorizerKernel() = default;
  std::unordered_map<int64_t, int64_t> ints_;
  std::unordered_map<std::string, int64_t> strings_;
  int64_t n_ = 0;
};

}  // namespace

void register_ml(KernelRegistry& r) {
  r.add({ml::kDomain, "Binarizer", 1, kLatestOnnxMlOpset, make_factory<BinarizerKernel>()});
  r.add({ml::kDomain, "ArrayFeatureExtractor", 1, kLatestOnnxMlOpset, make_factory<ArrayFeatureExtractorKernel>()});
  r.add({ml::kDomain, "Normalizer", 1, kLatestOnnxMlOpset, NormalizerKernel::create});
  r.add({ml::kDomain, "Scaler", 1, kLatestOnnxMlOpset, make_factory<ScalerKernel>()});
  r.add({ml::kDomain, "Imputer", 1, kLatestOnnxMlOpset, ImputerKernel::create});
  r.add({ml::kDomain, "OneHotEncoder", 1, kLatestOnnxMlOpset, OneHotEncoderKernel::create});
  r.add({ml::kDomain, "FeatureVectorizer", 1, kLatestOnnxMlOpset, make_factory<FeatureVectorizerKernel>()});
  r.add({ml::kDomain, "CategoryMapper", 1, kLatestOnnxMlOpset, CategoryMapperKernel::create});
  r.add({ml::kDomain, "DictVectorizer", 1, kLatestOnnxMlOpset, DictVectorizerKernel::create});
  register_ml_label_encoder(r);
  register_ml_tree_ensemble(r);
  register_ml_linear_svm(r);
  register_ml_zipmap(r);
}

}  // namespace tessera
