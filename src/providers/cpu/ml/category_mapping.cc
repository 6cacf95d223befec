// ai.onnx.ml categorical encodings: OneHotEncoder, CategoryMapper (string <-> int64) and
// DictVectorizer (map -> dense row over a vocabulary).
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/ml/ml_common.h"

namespace tessera {
namespace {

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

void register_ml_category_mapping(KernelRegistry& r) {
  r.add({ml::kDomain, "OneHotEncoder", 1, kLatestOnnxMlOpset, OneHotEncoderKernel::create});
  r.add({ml::kDomain, "CategoryMapper", 1, kLatestOnnxMlOpset, CategoryMapperKernel::create});
  r.add({ml::kDomain, "DictVectorizer", 1, kLatestOnnxMlOpset, DictVectorizerKernel::create});
}

}  // namespace tessera
