// LabelEncoder (ai.onnx.ml 1, 2, 4): maps each element through a key -> value table built once
// from the attributes. Opset 1 maps strings to their index in classes_strings (and back);
// opset 2 adds keys_*/values_* lists; opset 4 adds keys/values/default given as tensors.
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/dispatch.h"
#include "core/tensor_alloc.h"
#include "providers/cpu/families.h"
#include "providers/cpu/ml/ml_common.h"

namespace tessera {
namespace {

enum class KeyKind { string, integer, floating };

KeyKind kind_of(DataType t) {
  if (t == DataType::string) return KeyKind::string;
  if (t == DataType::float32 || t == DataType::float64) return KeyKind::floating;
  return KeyKind::integer;
}

// Float keys hash by value: every NaN is one key, and -0 equals 0.
uint64_t float_key(double v) {
  if (std::isnan(v)) return 0x7ff8000000000000ull;
  if (v == 0) v = 0;
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}

class LabelEncoderKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    auto k = std::unique_ptr<LabelEncoderKernel>(new LabelEncoderKernel());
    if (info.since_version() < 2) TS_RETURN_IF_ERROR(k->init_v1(info));
    else TS_RETURN_IF_ERROR(k->init_v2(info));
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    if (v1_ && x->dtype() == DataType::int64) return decode_v1(ctx, *x);
    if (kind_of(x->dtype()) != key_kind_ || x->dtype() == DataType::boolean)
      return ctx.error("input type ", dtype_name(x->dtype()), " does not match the type of the keys");
    Tensor& y = ctx.allocate_output(0, values_.dtype(), x->shape());
    const int64_t n = x->size();
    std::vector<int64_t> idx(static_cast<size_t>(n), -1);
    if (key_kind_ == KeyKind::string) {
      const std::string* in = x->data<std::string>();
      for (int64_t i = 0; i < n; ++i) {
        auto it = string_keys_.find(in[i]);
        if (it != string_keys_.end()) idx[i] = it->second;
      }
    } else {
      Status s = dispatch<kNumericTypes>(
          x->dtype(),
          [&]<class T>() -> Status {
            const T* in = x->data<T>();
            for (int64_t i = 0; i < n; ++i) {
              if constexpr (std::is_floating_point_v<T>) {
                auto it = float_keys_.find(float_key(static_cast<double>(in[i])));
                if (it != float_keys_.end()) idx[i] = it->second;
              } else if constexpr (std::is_integral_v<T>) {
                auto it = int_keys_.find(static_cast<int64_t>(in[i]));
                if (it != int_keys_.end()) idx[i] = it->second;
              }
            }
            return Status::ok();
          },
          ctx.node());
      TS_RETURN_IF_ERROR(s);
    }
    return dispatch<kStandardTypes>(
        values_.dtype(),
        [&]<class T>() -> Status {
          const T* vals = values_.data<T>();
          const T& def = default_.data<T>()[0];
          T* out = y.data<T>();
          for (int64_t i = 0; i < n; ++i) out[i] = idx[i] >= 0 ? vals[idx[i]] : def;
          return Status::ok();
        },
        ctx.node());
  }

 private:
  LabelEncoderKernel() = default;

  // Opset 1 with int64 input runs the table backwards: index -> class string.
  Status decode_v1(KernelContext& ctx, const Tensor& x) const {
    Tensor& y = ctx.allocate_output(0, DataType::string, x.shape());
    const int64_t* in = x.data<int64_t>();
    for (int64_t i = 0; i < x.size(); ++i)
      y.data<std::string>()[i] =
          in[i] >= 0 && in[i] < v1_strings_.size() ? v1_strings_.data<std::string>()[in[i]] : v1_default_string_;
    return Status::ok();
  }

  // classes_strings: string -> index (int64), or index -> string.
  Status init_v1(const KernelInfo& info) {
    const std::vector<std::string> classes = info.attr_strings("classes_strings");
    // The direction follows the input type, known only at run time: keep both tables.
    key_kind_ = KeyKind::string;
    for (size_t i = 0; i < classes.size(); ++i) string_keys_[classes[i]] = static_cast<int64_t>(i);
    std::vector<int64_t> idx(classes.size());
    for (size_t i = 0; i < classes.size(); ++i) idx[i] = static_cast<int64_t>(i);
    values_ = vector_or_throw<int64_t>(DataType::int64, idx);
    default_ = Tensor::scalar<int64_t>(DataType::int64, info.attr_int("default_int64"));
    v1_strings_ = vector_or_throw<std::string>(DataType::string, classes);
    v1_default_string_ = info.attr_string("default_string");
    v1_ = true;
    return Status::ok();
  }

  Status init_v2(const KernelInfo& info) {
    Tensor keys;
    if (const Tensor* t = info.attr_tensor("keys_tensor")) keys = *t;
    else if (info.has_attr("keys_strings")) keys = strings_tensor(info.attr_strings("keys_strings"));
    else if (info.has_attr("keys_int64s")) keys = int64_tensor(info.attr_ints("keys_int64s"));
    else if (info.has_attr("keys_floats")) keys = float_tensor(info.attr_floats("keys_floats"));
    else return info.error("one of keys_strings, keys_int64s, keys_floats or keys_tensor is required");
    if (const Tensor* t = info.attr_tensor("values_tensor")) values_ = *t;
    else if (info.has_attr("values_strings")) values_ = strings_tensor(info.attr_strings("values_strings"));
    else if (info.has_attr("values_int64s")) values_ = int64_tensor(info.attr_ints("values_int64s"));
    else if (info.has_attr("values_floats")) values_ = float_tensor(info.attr_floats("values_floats"));
    else return info.error("one of values_strings, values_int64s, values_floats or values_tensor is required");
    if (keys.size() != values_.size())
      return info.error("keys and values have different lengths (", keys.size(), " and ", values_.size(), ")");
    values_ = values_.reshaped({values_.size()});

    // Default: default_tensor for tensor values, else default_<type> of the values' type.
    const DataType vt = values_.dtype();
    const Tensor* dt = info.attr_tensor("default_tensor");
    if (info.attr_tensor("values_tensor") && dt) {
      if (dt->dtype() != vt || dt->size() < 1) return info.error("default_tensor must hold one value of the values' type");
      default_ = *dt;
    } else if (vt == DataType::string) {
      default_ = strings_tensor({info.attr_string("default_string")});
    } else if (vt == DataType::float32 || vt == DataType::float64) {
      const double d = info.attr_float("default_float", -0.0f);
      default_ = vt == DataType::float32 ? Tensor::scalar<float>(vt, static_cast<float>(d)) : Tensor::scalar<double>(vt, d);
    } else {
      const int64_t d = info.attr_int("default_int64");
      default_ = allocate_or_throw(vt, {});
      Status s = dispatch<kIntTypes>(
          vt,
          [&]<class T>() -> Status {
            default_.data<T>()[0] = static_cast<T>(d);
            return Status::ok();
          },
          info.node());
      TS_RETURN_IF_ERROR(s);
    }

    key_kind_ = kind_of(keys.dtype());
    // Later duplicates overwrite earlier ones: the last key wins.
    if (key_kind_ == KeyKind::string) {
      for (int64_t i = 0; i < keys.size(); ++i) string_keys_[keys.data<std::string>()[i]] = i;
      return Status::ok();
    }
    return dispatch<kNumericTypes>(
        keys.dtype(),
        [&]<class T>() -> Status {
          for (int64_t i = 0; i < keys.size(); ++i) {
            const T v = keys.data<T>()[i];
            if constexpr (std::is_floating_point_v<T>) float_keys_[float_key(static_cast<double>(v))] = i;
            else if constexpr (std::is_integral_v<T>) int_keys_[static_cast<int64_t>(v)] = i;
          }
          return Status::ok();
        },
        info.node());
  }

  static Tensor strings_tensor(const std::vector<std::string>& v) {
    return vector_or_throw<std::string>(DataType::string, v);
  }
  static Tensor int64_tensor(const std::vector<int64_t>& v) {
    return vector_or_throw<int64_t>(DataType::int64, v);
  }
  static Tensor float_tensor(const std::vector<float>& v) {
    return vector_or_throw<float>(DataType::float32, v);
  }

  KeyKind key_kind_ = KeyKind::string;
  std::unordered_map<std::string, int64_t> string_keys_;
  std::unordered_map<int64_t, int64_t> int_keys_;
  std::unordered_map<uint64_t, int64_t> float_keys_;
  Tensor values_, default_;
  bool v1_ = false;
  Tensor v1_strings_;
  std::string v1_default_string_;
};

}  // namespace

void register_ml_label_encoder(KernelRegistry& r) {
  r.add({ml::kDomain, "LabelEncoder", 1, kLatestOnnxMlOpset, LabelEncoderKernel::create});
}

}  // namespace tessera
