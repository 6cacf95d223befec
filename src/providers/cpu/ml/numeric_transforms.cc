// ai.onnx.ml numeric transforms, value by value or row by row: Binarizer, Normalizer (MAX, L1,
// L2), Scaler, Imputer.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/math/widen.h"
#include "providers/cpu/ml/ml_common.h"

namespace tessera {
namespace {

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

}  // namespace

void register_ml_numeric_transforms(KernelRegistry& r) {
  r.add({ml::kDomain, "Binarizer", 1, kLatestOnnxMlOpset, make_factory<BinarizerKernel>()});
  r.add({ml::kDomain, "Normalizer", 1, kLatestOnnxMlOpset, NormalizerKernel::create});
  r.add({ml::kDomain, "Scaler", 1, kLatestOnnxMlOpset, make_factory<ScalerKernel>()});
  r.add({ml::kDomain, "Imputer", 1, kLatestOnnxMlOpset, ImputerKernel::create});
}

}  // namespace tessera
