// Random generators: RandomNormal, RandomUniform, RandomNormalLike, RandomUniformLike (opset 1+),
// Bernoulli (15+) and Multinomial (7+).
//
// Each kernel owns a 64-bit Mersenne Twister, seeded from the `seed` attribute or, without one,
// from std::random_device. Like ONNX Runtime, the generator's state carries over from one run to
// the next (a seeded model gives a reproducible sequence of runs, not identical runs). The state
// is the one mutable part of these kernels; a mutex makes concurrent runs safe.
#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <random>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/math/widen.h"

namespace tessera {
namespace {

class Generator {
 public:
  explicit Generator(const KernelInfo& info) {
    if (info.has_attr("seed"))
      engine_.seed(static_cast<uint64_t>(static_cast<int64_t>(info.attr_float("seed", 0.0f))));
    else
      engine_.seed((static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}());
  }

  // Sets v[i] = draw(engine, i) for each element, under the lock.
  template <class Draw>
  void fill(std::vector<double>& v, Draw&& draw) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < v.size(); ++i) v[i] = draw(engine_, i);
  }

 private:
  mutable std::mutex mutex_;
  mutable std::mt19937_64 engine_;
};

constexpr TypeSet kBernoulliOut = kNumericTypes | type_bit(DataType::boolean);

// Allocates output 0 and stores v into it, converted to dtype.
Status store(KernelContext& ctx, DataType dtype, const Shape& shape, const std::vector<double>& v) {
  return dispatch<kBernoulliOut>(dtype, [&]<class T>() -> Status {
    T* out = ctx.allocate_output(0, dtype, shape).template data<T>();
    for (size_t i = 0; i < v.size(); ++i) {
      if constexpr (std::is_same_v<T, bool>)
        out[i] = v[i] != 0.0;
      else
        out[i] = from_computed<T>(v[i]);
    }
    return Status::ok();
  }, ctx.node());
}

Status load_doubles(const KernelContext& ctx, const Tensor& t, std::vector<double>& v) {
  if ((kFloatTypes & type_bit(t.dtype())) == 0) return ctx.error("input must be a float tensor, got ", dtype_name(t.dtype()));
  v.resize(static_cast<size_t>(t.size()));
  return widen::widen_tensor(t, v.data(), ctx.node());
}

// RandomNormal(Like) and RandomUniform(Like): the *Like forms take shape (and by default the
// type) from their input, the others from attributes.
class RandomKernel final : public OpKernel {
 public:
  enum class Dist { normal, uniform };

  RandomKernel(const KernelInfo& info, Dist dist, bool like) : gen_(info), dist_(dist), like_(like) {
    if (info.has_attr("dtype")) dtype_ = static_cast<DataType>(info.attr_int("dtype", 1));
    else if (!like) dtype_ = DataType::float32;
    if (dist == Dist::normal) {
      a_ = info.attr_float("mean");
      b_ = info.attr_float("scale", 1.0f);
    } else {
      a_ = info.attr_float("low");
      b_ = info.attr_float("high", 1.0f);
    }
    shape_ = info.attr_ints("shape");
  }

  template <Dist D, bool Like>
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    if (!Like && !info.has_attr("shape")) return info.error("required attribute 'shape' is missing");
    for (int64_t d : info.attr_ints("shape"))
      if (d < 0) return info.error("shape has a negative dim ", d);
    if (info.has_attr("dtype") &&
        (kFloatTypes & type_bit(static_cast<DataType>(info.attr_int("dtype", 1)))) == 0)
      return info.error("dtype must be float, double, float16 or bfloat16");
    return std::unique_ptr<OpKernel>(new RandomKernel(info, D, Like));
  }

  Status compute(KernelContext& ctx) const override {
    Shape shape = shape_;
    DataType dtype = dtype_;
    if (like_) {
      TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
      shape = x->shape();
      if (dtype == DataType::undefined) dtype = x->dtype();
    }
    if ((kFloatTypes & type_bit(dtype)) == 0) return ctx.error("output type ", dtype_name(dtype), " is not a float type");
    std::vector<double> v(static_cast<size_t>(shape_size(shape)));
    if (dist_ == Dist::normal) {
      std::normal_distribution<double> d(a_, b_);
      gen_.fill(v, [&](std::mt19937_64& e, size_t) { return d(e); });
    } else {
      std::uniform_real_distribution<double> d(a_, b_);
      gen_.fill(v, [&](std::mt19937_64& e, size_t) { return d(e); });
    }
    return store(ctx, dtype, shape, v);
  }

 private:
  Generator gen_;
  Dist dist_;
  bool like_;
  DataType dtype_ = DataType::undefined;
  double a_ = 0, b_ = 1;
  Shape shape_;
};

// y = 1 with probability p (element of the input), else 0.
class BernoulliKernel final : public OpKernel {
 public:
  explicit BernoulliKernel(const KernelInfo& info) : gen_(info) {
    if (info.has_attr("dtype")) dtype_ = static_cast<DataType>(info.attr_int("dtype", 1));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    std::vector<double> p;
    TS_RETURN_IF_ERROR(load_doubles(ctx, *x, p));
    std::vector<double> v(p.size());
    std::uniform_real_distribution<double> u(0.0, 1.0);
    gen_.fill(v, [&](std::mt19937_64& e, size_t i) { return u(e) < p[i] ? 1.0 : 0.0; });
    return store(ctx, dtype_ != DataType::undefined ? dtype_ : x->dtype(), x->shape(), v);
  }

 private:
  Generator gen_;
  DataType dtype_ = DataType::undefined;
};

// Draws sample_size class indices per batch row from softmax(input row).
class MultinomialKernel final : public OpKernel {
 public:
  explicit MultinomialKernel(const KernelInfo& info)
      : gen_(info),
        dtype_(static_cast<DataType>(info.attr_int("dtype", 6))),
        sample_size_(info.attr_int("sample_size", 1)) {}

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x || x->rank() != 2) return ctx.error("input must have shape [batch_size, class_size]");
    if (dtype_ != DataType::int32 && dtype_ != DataType::int64) return ctx.error("dtype must be int32 or int64");
    if (sample_size_ < 0) return ctx.error("sample_size must not be negative");
    std::vector<double> logits;
    TS_RETURN_IF_ERROR(load_doubles(ctx, *x, logits));
    const int64_t batch = x->dim(0), classes = x->dim(1);
    if (classes == 0 && sample_size_ > 0) return ctx.error("class_size must be positive");
    // Per row: cumulative unnormalised probabilities exp(l - max).
    std::vector<double> cdf(logits.size());
    for (int64_t b = 0; b < batch; ++b) {
      const double* l = logits.data() + b * classes;
      const double mx = classes > 0 ? *std::max_element(l, l + classes) : 0.0;
      double acc = 0;
      for (int64_t c = 0; c < classes; ++c) cdf[b * classes + c] = acc += std::exp(l[c] - mx);
    }
    std::vector<double> v(static_cast<size_t>(batch * sample_size_));
    std::uniform_real_distribution<double> u(0.0, 1.0);
    gen_.fill(v, [&](std::mt19937_64& e, size_t i) {
      const double* row = cdf.data() + (static_cast<int64_t>(i) / sample_size_) * classes;
      const double target = u(e) * row[classes - 1];
      const int64_t k = std::upper_bound(row, row + classes, target) - row;
      return static_cast<double>(std::min(k, classes - 1));
    });
    return store(ctx, dtype_, {batch, sample_size_}, v);
  }

 private:
  Generator gen_;
  DataType dtype_;
  int64_t sample_size_;
};

}  // namespace

void register_random(KernelRegistry& r) {
  using R = RandomKernel;
  const KernelDef defs[] = {
      {"", "RandomNormal", 1, kLatestOnnxOpset, R::create<R::Dist::normal, false>},
      {"", "RandomUniform", 1, kLatestOnnxOpset, R::create<R::Dist::uniform, false>},
      {"", "RandomNormalLike", 1, kLatestOnnxOpset, R::create<R::Dist::normal, true>},
      {"", "RandomUniformLike", 1, kLatestOnnxOpset, R::create<R::Dist::uniform, true>},
      {"", "Bernoulli", 15, kLatestOnnxOpset, make_factory<BernoulliKernel>()},
      {"", "Multinomial", 7, kLatestOnnxOpset, make_factory<MultinomialKernel>()},
  };
  for (const KernelDef& def : defs) r.add(def);
}

}  // namespace tessera
