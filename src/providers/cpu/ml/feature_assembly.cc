// ai.onnx.ml feature assembly: ArrayFeatureExtractor (pick columns) and FeatureVectorizer
// (concatenate inputs into one feature row).
#include <algorithm>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/math/widen.h"
#include "providers/cpu/ml/ml_common.h"

namespace tessera {
namespace {

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

}  // namespace

void register_ml_feature_assembly(KernelRegistry& r) {
  r.add({ml::kDomain, "ArrayFeatureExtractor", 1, kLatestOnnxMlOpset, make_factory<ArrayFeatureExtractorKernel>()});
  r.add({ml::kDomain, "FeatureVectorizer", 1, kLatestOnnxMlOpset, make_factory<FeatureVectorizerKernel>()});
}

}  // namespace tessera
