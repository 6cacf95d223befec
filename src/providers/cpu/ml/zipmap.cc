// ZipMap (ai.onnx.ml): turns each row of class scores [N, C] (or one row [C]) into a map from
// the class labels to the scores. All maps share one keys tensor, and each map's values are a
// view of its row of the input, so no score is copied.
#include <memory>
#include <string>
#include <vector>

#include "providers/cpu/families.h"
#include "providers/cpu/ml/ml_common.h"

namespace tessera {
namespace {

class ZipMapKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    const std::vector<int64_t> ints = info.attr_ints("classlabels_int64s");
    const std::vector<std::string> strings = info.attr_strings("classlabels_strings");
    if (ints.empty() == strings.empty())
      return info.error("exactly one of classlabels_int64s and classlabels_strings must be given");
    auto keys = ints.empty() ? Tensor::from_vector<std::string>(DataType::string, {static_cast<int64_t>(strings.size())}, strings)
                             : Tensor::from_vector<int64_t>(DataType::int64, {static_cast<int64_t>(ints.size())}, ints);
    if (!keys.is_ok()) return keys.status().with_context(info.node().describe());
    return std::unique_ptr<OpKernel>(new ZipMapKernel(std::move(keys).value()));
  }
  explicit ZipMapKernel(Tensor keys) : keys_(std::move(keys)) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    if (x->dtype() != DataType::float32) return ctx.error("input X must be float, got ", dtype_name(x->dtype()));
    const int64_t classes = keys_.size();
    if ((x->rank() != 1 && x->rank() != 2) || x->dim(x->rank() - 1) != classes)
      return ctx.error("input X must be [N, ", classes, "] or [", classes, "] for ", classes, " class labels, got ",
                       shape_to_string(x->shape()));
    const int64_t rows = x->rank() == 2 ? x->dim(0) : 1;
    auto owner = std::make_shared<const Tensor>(*x);
    std::vector<Value> maps;
    maps.reserve(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r)
      maps.push_back(Value::map(keys_, Tensor::view(DataType::float32, {classes}, owner, x->data<float>() + r * classes)));
    ctx.set_output(0, Value::sequence(std::move(maps), DataType::undefined, Value::Kind::map));
    return Status::ok();
  }

 private:
  Tensor keys_;
};

}  // namespace

void register_ml_zipmap(KernelRegistry& r) { r.add({ml::kDomain, "ZipMap", 1, kLatestOnnxMlOpset, ZipMapKernel::create}); }

}  // namespace tessera
