// Unary elementwise ops: math functions, activations (with their attributes), logical and bitwise
// negation, NaN/Inf tests and Clip. Each op is a small functor over the compute type (float for
// 16-bit floats); one driver maps it over the input span, split across threads when large.
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/math/bias_activation.h"
#include "providers/cpu/math/elementwise.h"
#include "providers/cpu/math/gelu.h"
#include "providers/cpu/microkernels/elementwise_simd.h"

namespace tessera {
namespace {

using namespace elementwise;

constexpr TypeSet kFloats = kFloatTypes;
constexpr TypeSet kSignedNumeric = kFloatTypes | kSignedIntTypes;
constexpr TypeSet kBool = type_bit(DataType::boolean);

// Functors. kTypes: accepted input types; kChunk: parallel grain. operator() takes the compute
// type and returns it, or bool for predicates (the output is then a bool tensor).

struct Abs {
  static constexpr TypeSet kTypes = kNumericTypes;
  static constexpr int64_t kChunk = kCheapChunk;
  template <class C>
  C operator()(C x) const {
    if constexpr (std::is_floating_point_v<C>) return std::fabs(x);
    else if constexpr (std::is_unsigned_v<C>) return x;
    else return x < 0 ? wrapping(C(0), x, std::minus<>()) : x;  // |MIN| wraps to MIN
  }
  template <class VF>
  TS_SIMD VF vec(const VF& x) const { return simd::abs(x); }
};

struct Neg {
  static constexpr TypeSet kTypes = kSignedNumeric;
  static constexpr int64_t kChunk = kCheapChunk;
  template <class C>
  C operator()(C x) const {
    if constexpr (std::is_integral_v<C>) return wrapping(C(0), x, std::minus<>());  // -MIN wraps to MIN
    else return -x;
  }
  template <class VF>
  TS_SIMD VF vec(const VF& x) const { return -x; }
};

struct Sign {
  static constexpr TypeSet kTypes = kNumericTypes;
  static constexpr int64_t kChunk = kCheapChunk;
  template <class C>
  C operator()(C x) const {
    if constexpr (std::is_unsigned_v<C>) return x > 0 ? 1 : 0;
    else return x > 0 ? C(1) : x < 0 ? C(-1) : x;  // 0 and NaN pass through
  }
  template <class VF>
  TS_SIMD VF vec(const VF& x) const {
    return simd::select(x > 0.0f, simd::splat<VF>(1.0f), simd::select(x < 0.0f, simd::splat<VF>(-1.0f), x));
  }
};

struct Relu {
  static constexpr TypeSet kTypes = kSignedNumeric;
  static constexpr int64_t kChunk = kCheapChunk;
  template <class C>
  C operator()(C x) const { return x < C(0) ? C(0) : x; }  // NaN passes through
  template <class VF>
  TS_SIMD VF vec(const VF& x) const { return simd::select(x < 0.0f, simd::splat<VF>(0.0f), x); }
};

struct Reciprocal {
  static constexpr TypeSet kTypes = kFloats;
  static constexpr int64_t kChunk = kCheapChunk;
  template <class C>
  C operator()(C x) const { return C(1) / x; }
  template <class VF>
  TS_SIMD VF vec(const VF& x) const { return 1.0f / x; }
};

// Plain math functions on floats: one functor each, named after the op; `vexpr` is the vector
// form for float (and 16-bit floats), `expr` serves double.
#define TS_FLOAT_FN(Name, chunk, expr)                     \
  struct Name {                                            \
    static constexpr TypeSet kTypes = kFloats;             \
    static constexpr int64_t kChunk = chunk;               \
    template <class C>                                     \
    C operator()(C x) const { return expr; }               \
  };
#define TS_FLOAT_FN_VEC(Name, chunk, expr, vexpr)          \
  struct Name {                                            \
    static constexpr TypeSet kTypes = kFloats;             \
    static constexpr int64_t kChunk = chunk;               \
    template <class C>                                     \
    C operator()(C x) const { return expr; }               \
    template <class VF> TS_SIMD VF vec(const VF& x) const { return vexpr; } \
  };
TS_FLOAT_FN_VEC(Exp, kCostlyChunk, std::exp(x), simd::exp(x))
TS_FLOAT_FN_VEC(Log, kCostlyChunk, std::log(x), simd::log(x))
TS_FLOAT_FN_VEC(Sqrt, kCheapChunk, std::sqrt(x), simd::sqrt(x))
TS_FLOAT_FN_VEC(Floor, kCheapChunk, std::floor(x), simd::floor(x))
TS_FLOAT_FN_VEC(Ceil, kCheapChunk, std::ceil(x), simd::ceil(x))
// Halves to even (std::nearbyint in the default rounding mode).
TS_FLOAT_FN_VEC(Round, kCheapChunk, std::nearbyint(x), simd::round_even(x))
TS_FLOAT_FN_VEC(Tanh, kCostlyChunk, std::tanh(x), simd::tanh(x))
TS_FLOAT_FN_VEC(Erf, kCostlyChunk, std::erf(x), simd::erf(x))
TS_FLOAT_FN(Sin, kCostlyChunk, std::sin(x))
TS_FLOAT_FN(Cos, kCostlyChunk, std::cos(x))
TS_FLOAT_FN(Tan, kCostlyChunk, std::tan(x))
TS_FLOAT_FN(Asin, kCostlyChunk, std::asin(x))
TS_FLOAT_FN(Acos, kCostlyChunk, std::acos(x))
TS_FLOAT_FN(Atan, kCostlyChunk, std::atan(x))
TS_FLOAT_FN(Sinh, kCostlyChunk, std::sinh(x))
TS_FLOAT_FN(Cosh, kCostlyChunk, std::cosh(x))
TS_FLOAT_FN(Asinh, kCostlyChunk, std::asinh(x))
TS_FLOAT_FN(Acosh, kCostlyChunk, std::acosh(x))
TS_FLOAT_FN(Atanh, kCostlyChunk, std::atanh(x))
TS_FLOAT_FN_VEC(Softsign, kCheapChunk, x / (C(1) + std::fabs(x)), x / (1.0f + simd::abs(x)))
#undef TS_FLOAT_FN_VEC
#undef TS_FLOAT_FN

template <class C>
C sigmoid(C x) {
  // exp of a non-positive argument never overflows.
  if (x >= C(0)) return C(1) / (C(1) + std::exp(-x));
  const C e = std::exp(x);
  return e / (C(1) + e);
}

template <class C>
C softplus(C x) {
  // log(1 + e^x) without overflow for large x.
  return x > C(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

struct Sigmoid {
  static constexpr TypeSet kTypes = kFloats;
  static constexpr int64_t kChunk = kCostlyChunk;
  template <class C>
  C operator()(C x) const { return sigmoid(x); }
  template <class VF>
  TS_SIMD VF vec(const VF& x) const { return simd::sigmoid(x); }
};

struct Softplus {
  static constexpr TypeSet kTypes = kFloats;
  static constexpr int64_t kChunk = kCostlyChunk;
  template <class C>
  C operator()(C x) const { return softplus(x); }
  template <class VF>
  TS_SIMD VF vec(const VF& x) const { return simd::softplus(x); }
};

struct Mish {
  static constexpr TypeSet kTypes = kFloats;
  static constexpr int64_t kChunk = kCostlyChunk;
  template <class C>
  C operator()(C x) const { return x * std::tanh(softplus(x)); }
  template <class VF>
  TS_SIMD VF vec(const VF& x) const { return x * simd::tanh(simd::softplus(x)); }
};

struct Not {
  static constexpr TypeSet kTypes = kBool;
  static constexpr int64_t kChunk = kCheapChunk;
  bool operator()(bool x) const { return !x; }
};

struct BitwiseNot {
  static constexpr TypeSet kTypes = kIntTypes;
  static constexpr int64_t kChunk = kCheapChunk;
  template <class C>
  C operator()(C x) const { return static_cast<C>(~x); }
};

// ---- activations with attributes (parsed once, in the factory) ----

struct LeakyRelu {
  static constexpr TypeSet kTypes = kFloats;
  static constexpr int64_t kChunk = kCheapChunk;
  float alpha;
  explicit LeakyRelu(const KernelInfo& info) : alpha(info.attr_float("alpha", 0.01f)) {}
  template <class C>
  C operator()(C x) const { return x < C(0) ? C(alpha) * x : x; }
  template <class VF>
  TS_SIMD VF vec(const VF& x) const { return simd::select(x < 0.0f, alpha * x, x); }
};

struct Elu {
  static constexpr TypeSet kTypes = kFloats;
  static constexpr int64_t kChunk = kCostlyChunk;
  float alpha;
  explicit Elu(const KernelInfo& info) : alpha(info.attr_float("alpha", 1.0f)) {}
  template <class C>
  C operator()(C x) const { return x > C(0) ? x : C(alpha) * std::expm1(x); }
  template <class VF>
  TS_SIMD VF vec(const VF& x) const { return simd::select(x > 0.0f, x, alpha * simd::expm1(x)); }
};

struct Selu {
  static constexpr TypeSet kTypes = kFloats;
  static constexpr int64_t kChunk = kCostlyChunk;
  float alpha, gamma;
  explicit Selu(const KernelInfo& info)
      : alpha(info.attr_float("alpha", 1.67326319217681884765625f)),
        gamma(info.attr_float("gamma", 1.05070102214813232421875f)) {}
  template <class C>
  C operator()(C x) const { return C(gamma) * (x > C(0) ? x : C(alpha) * std::expm1(x)); }
  template <class VF>
  TS_SIMD VF vec(const VF& x) const { return gamma * simd::select(x > 0.0f, x, alpha * simd::expm1(x)); }
};

struct Celu {
  static constexpr TypeSet kTypes = kFloats;
  static constexpr int64_t kChunk = kCostlyChunk;
  float alpha;
  explicit Celu(const KernelInfo& info) : alpha(info.attr_float("alpha", 1.0f)) {}
  template <class C>
  C operator()(C x) const { return x > C(0) ? x : C(alpha) * std::expm1(x / C(alpha)); }
  template <class VF>
  TS_SIMD VF vec(const VF& x) const { return simd::select(x > 0.0f, x, alpha * simd::expm1(x / alpha)); }
};

struct HardSigmoid {
  static constexpr TypeSet kTypes = kFloats;
  static constexpr int64_t kChunk = kCheapChunk;
  float alpha, beta;
  explicit HardSigmoid(const KernelInfo& info)
      : alpha(info.attr_float("alpha", 0.2f)), beta(info.attr_float("beta", 0.5f)) {}
  template <class C>
  C operator()(C x) const { return std::max(std::min(C(alpha) * x + C(beta), C(1)), C(0)); }  // NaN passes
  template <class VF>
  TS_SIMD VF vec(const VF& x) const {
    return simd::max(simd::min(alpha * x + beta, simd::splat<VF>(1.0f)), simd::splat<VF>(0.0f));
  }
};

struct HardSwish {
  static constexpr TypeSet kTypes = kFloats;
  static constexpr int64_t kChunk = kCheapChunk;
  template <class C>
  C operator()(C x) const { return x * std::max(std::min(x / C(6) + C(0.5), C(1)), C(0)); }
  template <class VF>
  TS_SIMD VF vec(const VF& x) const {
    return x * simd::max(simd::min(x * (1.0f / 6.0f) + 0.5f, simd::splat<VF>(1.0f)), simd::splat<VF>(0.0f));
  }
};

struct ThresholdedRelu {
  static constexpr TypeSet kTypes = kFloats;
  static constexpr int64_t kChunk = kCheapChunk;
  float alpha;
  explicit ThresholdedRelu(const KernelInfo& info) : alpha(info.attr_float("alpha", 1.0f)) {}
  template <class C>
  C operator()(C x) const { return x > C(alpha) ? x : C(0); }
  template <class VF>
  TS_SIMD VF vec(const VF& x) const { return simd::select(x > alpha, x, simd::splat<VF>(0.0f)); }
};

struct Swish {
  static constexpr TypeSet kTypes = kFloats;
  static constexpr int64_t kChunk = kCostlyChunk;
  float alpha;
  explicit Swish(const KernelInfo& info) : alpha(info.attr_float("alpha")) {}  // the schema's default (QuickGelu: 1.702)
  template <class C>
  C operator()(C x) const { return x * sigmoid(C(alpha) * x); }
  template <class VF>
  TS_SIMD VF vec(const VF& x) const { return x / (1.0f + simd::exp_logistic(-alpha * x)); }
};

struct Gelu : GeluFunction {
  static constexpr TypeSet kTypes = kFloats;
  static constexpr int64_t kChunk = kCostlyChunk;
  static Result<Gelu> create(const KernelInfo& info) {
    const std::string mode = info.attr_string("approximate", "none");
    if (mode != "none" && mode != "tanh")
      return info.error("attribute 'approximate' must be 'none' or 'tanh', got '", mode, "'");
    Gelu g;
    g.tanh_form = mode == "tanh";
    return g;
  }
};

struct Shrink {
  static constexpr TypeSet kTypes = kNumericTypes & ~type_bit(DataType::bfloat16);
  static constexpr int64_t kChunk = kCheapChunk;
  float bias, lambd;
  explicit Shrink(const KernelInfo& info)
      : bias(info.attr_float("bias")), lambd(info.attr_float("lambd", 0.5f)) {}
  template <class C>
  C operator()(C x) const {
    // Integers are compared and shifted in double, like the float attributes they meet.
    using W = std::conditional_t<std::is_floating_point_v<C>, C, double>;
    const W v = static_cast<W>(x);
    if (v < -W(lambd)) return static_cast<C>(v + W(bias));
    if (v > W(lambd)) return static_cast<C>(v - W(bias));
    return C(0);
  }
};

// ---- drivers ----

template <class F, class T>
using unary_out_t =
    std::conditional_t<std::is_same_v<decltype(std::declval<const F&>()(std::declval<compute_t<T>>())), bool>, bool, T>;

template <class F>
class UnaryKernel final : public OpKernel {
 public:
  UnaryKernel(const KernelInfo& info, F f) : f_(std::move(f)), where_(info.node().describe()) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    return dispatch<F::kTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          using Out = unary_out_t<F, T>;
          Tensor& y = ctx.allocate_output_uninitialized(0, dtype_of<Out>(), x->shape());
          const T* in = x->data<T>();
          Out* out = y.data<Out>();
          parallel_elements(ctx.thread_pool(), x->size(), F::kChunk,
                            [&](int64_t b, int64_t e) { map_span(in + b, out + b, e - b, f_); });
          return Status::ok();
        },
        where_);
  }

 private:
  F f_;
  std::string where_;  // the node, for messages
};

template <class F>
KernelFactory unary_factory() {
  return [](const KernelInfo& info) -> Result<std::unique_ptr<OpKernel>> {
    if constexpr (requires { F::create(info); }) {
      TS_ASSIGN_OR_RETURN(F f, F::create(info));
      return std::unique_ptr<OpKernel>(new UnaryKernel<F>(info, std::move(f)));
    } else if constexpr (std::is_constructible_v<F, const KernelInfo&>) {
      return std::unique_ptr<OpKernel>(new UnaryKernel<F>(info, F(info)));
    } else {
      return std::unique_ptr<OpKernel>(new UnaryKernel<F>(info, F{}));
    }
  };
}

// IsNaN and IsInf also take the float8 types, which dispatch() does not know: those are decoded
// through a 256-entry table.
enum class FloatClass { nan, inf };

class FloatClassKernel final : public OpKernel {
 public:
  FloatClassKernel(const KernelInfo& info, FloatClass cls)
      : cls_(cls),
        detect_negative_(info.attr_int("detect_negative", 1) != 0),
        detect_positive_(info.attr_int("detect_positive", 1) != 0),
        where_(info.node().describe()) {}

  bool test(double v) const {
    if (cls_ == FloatClass::nan) return std::isnan(v);
    return std::isinf(v) && (v > 0 ? detect_positive_ : detect_negative_);
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    Tensor& y = ctx.allocate_output(0, DataType::boolean, x->shape());
    bool* out = y.data<bool>();
    const int64_t n = x->size();
    if ((kFloat8Types & type_bit(x->dtype())) != 0) {
      return dispatch<kFloat8Types>(x->dtype(), [&]<class T>() -> Status {
        bool table[256];
        for (int c = 0; c < 256; ++c) table[c] = test(to_float(T{static_cast<uint8_t>(c)}));
        const T* in = x->data<T>();
        for (int64_t i = 0; i < n; ++i) out[i] = table[in[i].bits];
        return Status::ok();
      }, ctx.node());
    }
    return dispatch<kFloats>(
        x->dtype(),
        [&]<class T>() -> Status {
          const T* in = x->data<T>();
          const bool pos = detect_positive_, neg = detect_negative_;
          auto f = [&](auto v) {
            if (cls_ == FloatClass::nan) return std::isnan(v);
            return std::isinf(v) && (v > 0 ? pos : neg);
          };
          parallel_elements(ctx.thread_pool(), n, kCheapChunk,
                            [&](int64_t b, int64_t e) { map_span(in + b, out + b, e - b, f); });
          return Status::ok();
        },
        where_);
  }

 private:
  FloatClass cls_;
  bool detect_negative_, detect_positive_;
  std::string where_;
};

// min(max(x, lo), hi), NaN passing through; lo > hi gives hi everywhere, as numpy.clip does.
template <class C>
struct ClipOp {
  C lo, hi;
  C operator()(C v) const {
    const C t = v < lo ? lo : v;
    return hi < t ? hi : t;
  }
  template <class VF>
  TS_SIMD VF vec(const VF& v) const {
    const VF t = simd::select(v < lo, simd::splat<VF>(lo), v);
    return simd::select(t > hi, simd::splat<VF>(hi), t);
  }
};

// Clip: bounds are attributes before opset 11 (floats), optional scalar inputs from 11 on.
class ClipKernel final : public OpKernel {
 public:
  explicit ClipKernel(const KernelInfo& info)
      : attr_bounds_(info.since_version() < 11),
        attr_min_(info.attr_float("min", std::numeric_limits<float>::lowest())),
        attr_max_(info.attr_float("max", std::numeric_limits<float>::max())),
        where_(info.node().describe()) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    const Tensor* tmin = attr_bounds_ ? nullptr : ctx.input(1);
    const Tensor* tmax = attr_bounds_ ? nullptr : ctx.input(2);
    for (const Tensor* t : {tmin, tmax}) {
      if (!t) continue;
      if (t->dtype() != x->dtype())
        return ctx.error("bounds must have the input's type ", dtype_name(x->dtype()), ", got ", dtype_name(t->dtype()));
      if (t->size() != 1) return ctx.error("bounds must be scalars, got shape ", shape_to_string(t->shape()));
    }
    return dispatch<kNumericTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          using C = compute_t<T>;
          C lo = std::numeric_limits<C>::lowest(), hi = std::numeric_limits<C>::max();
          if (attr_bounds_) {
            lo = static_cast<C>(attr_min_);
            hi = static_cast<C>(attr_max_);
          }
          if (tmin) lo = to_computed(tmin->data<T>()[0]);
          if (tmax) hi = to_computed(tmax->data<T>()[0]);
          Tensor& y = ctx.allocate_output_uninitialized(0, x->dtype(), x->shape());  // map_span writes all of it
          const T* in = x->data<T>();
          T* out = y.data<T>();
          const ClipOp<C> f{lo, hi};
          parallel_elements(ctx.thread_pool(), x->size(), kCheapChunk,
                            [&](int64_t b, int64_t e) { map_span(in + b, out + b, e - b, f); });
          return Status::ok();
        },
        where_);
  }

 private:
  bool attr_bounds_;
  float attr_min_, attr_max_;
  std::string where_;
};

template <class K, class... Args>
KernelFactory simple_factory(Args... args) {
  return [=](const KernelInfo& info) -> Result<std::unique_ptr<OpKernel>> {
    return std::unique_ptr<OpKernel>(new K(info, args...));
  };
}

}  // namespace

void register_unary_elementwise(KernelRegistry& r) {
  // Versions only changed type lists (or dropped the legacy consumed_inputs attribute), so one
  // kernel covers every opset from the op's first version.
  struct Entry {
    const char* op;
    int64_t since;
    KernelFactory factory;
  };
  const Entry table[] = {
      {"Abs", 1, unary_factory<Abs>()},
      {"Neg", 1, unary_factory<Neg>()},
      {"Exp", 1, unary_factory<Exp>()},
      {"Log", 1, unary_factory<Log>()},
      {"Sqrt", 1, unary_factory<Sqrt>()},
      {"Reciprocal", 1, unary_factory<Reciprocal>()},
      {"Floor", 1, unary_factory<Floor>()},
      {"Ceil", 1, unary_factory<Ceil>()},
      {"Round", 11, unary_factory<Round>()},
      {"Sign", 9, unary_factory<Sign>()},
      {"Relu", 1, unary_factory<Relu>()},
      {"Sigmoid", 1, unary_factory<Sigmoid>()},
      {"Tanh", 1, unary_factory<Tanh>()},
      {"Erf", 9, unary_factory<Erf>()},
      {"Sin", 7, unary_factory<Sin>()},
      {"Cos", 7, unary_factory<Cos>()},
      {"Tan", 7, unary_factory<Tan>()},
      {"Asin", 7, unary_factory<Asin>()},
      {"Acos", 7, unary_factory<Acos>()},
      {"Atan", 7, unary_factory<Atan>()},
      {"Sinh", 9, unary_factory<Sinh>()},
      {"Cosh", 9, unary_factory<Cosh>()},
      {"Asinh", 9, unary_factory<Asinh>()},
      {"Acosh", 9, unary_factory<Acosh>()},
      {"Atanh", 9, unary_factory<Atanh>()},
      {"Softplus", 1, unary_factory<Softplus>()},
      {"Softsign", 1, unary_factory<Softsign>()},
      {"Not", 1, unary_factory<Not>()},
      {"BitwiseNot", 18, unary_factory<BitwiseNot>()},
      {"LeakyRelu", 1, unary_factory<LeakyRelu>()},
      {"Elu", 1, unary_factory<Elu>()},
      {"Selu", 1, unary_factory<Selu>()},
      {"Celu", 12, unary_factory<Celu>()},
      {"HardSigmoid", 1, unary_factory<HardSigmoid>()},
      {"HardSwish", 14, unary_factory<HardSwish>()},
      {"ThresholdedRelu", 10, unary_factory<ThresholdedRelu>()},
      {"Mish", 18, unary_factory<Mish>()},
      {"Gelu", 20, unary_factory<Gelu>()},
      {"Shrink", 9, unary_factory<Shrink>()},
      {"Swish", 24, unary_factory<Swish>()},
      {"IsNaN", 9, simple_factory<FloatClassKernel>(FloatClass::nan)},
      {"IsInf", 10, simple_factory<FloatClassKernel>(FloatClass::inf)},
      {"Clip", 1, simple_factory<ClipKernel>()},
  };
  for (const Entry& e : table) r.add({"", e.op, e.since, kLatestOnnxOpset, e.factory});
  // What gelu_fusion writes for models before opset 20: the same op and attribute.
  r.add({"com.tessera", "Gelu", 1, 1, unary_factory<Gelu>()});
  // ONNX Runtime's contrib forms: Gelu (erf) and QuickGelu, x * sigmoid(alpha * x), which is Swish.
  r.add({"com.microsoft", "Gelu", 1, 1, unary_factory<Gelu>()});
  r.add({"com.microsoft", "QuickGelu", 1, 1, unary_factory<Swish>()});
  register_bias_activation(r);  // BiasGelu, FastGelu, BiasAdd (math/bias_activation.cc)
}

}  // namespace tessera
