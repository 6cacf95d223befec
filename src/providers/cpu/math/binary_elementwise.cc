// Binary elementwise ops with multidirectional (numpy) broadcasting: arithmetic, Pow (base and
// exponent of different types), Mod, bit shifts and bitwise ops, comparisons (bool output),
// logical ops, PRelu and SwiGLU. Each op is a functor over compute types; broadcast.h walks the
// innermost contiguous runs and picks span∘span, scalar∘span or span∘scalar per run.
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/math/broadcast.h"
#include "providers/cpu/math/elementwise.h"
#include "providers/cpu/microkernels/elementwise_simd.h"

namespace tessera {
namespace {

using namespace elementwise;

constexpr TypeSet kBool = type_bit(DataType::boolean);

// ---- functors: kTypes (input types), kChunk (parallel grain), operator() on compute types ----

#define TS_ARITH(Name, types, expr)                 \
  struct Name {                                     \
    static constexpr TypeSet kTypes = types;        \
    static constexpr int64_t kChunk = kCheapChunk;  \
    template <class C>                              \
    C operator()(C a, C b) const { return expr; }   \
  };
// The same with a vector form for float (and 16-bit floats).
#define TS_ARITH_VEC(Name, types, expr, vexpr)                                   \
  struct Name {                                                                  \
    static constexpr TypeSet kTypes = types;                                     \
    static constexpr int64_t kChunk = kCheapChunk;                               \
    template <class C>                                                           \
    C operator()(C a, C b) const { return expr; }                                \
    template <class VF> TS_SIMD VF vec(const VF& a, const VF& b) const { return vexpr; }         \
  };
TS_ARITH_VEC(Add, kNumericTypes, wrapping(a, b, std::plus<>()), a + b)
TS_ARITH_VEC(Sub, kNumericTypes, wrapping(a, b, std::minus<>()), a - b)
TS_ARITH_VEC(Mul, kNumericTypes, wrapping(a, b, std::multiplies<>()), a * b)
#undef TS_ARITH_VEC
TS_ARITH(BitwiseAnd, kIntTypes, static_cast<C>(a & b))
TS_ARITH(BitwiseOr, kIntTypes, static_cast<C>(a | b))
TS_ARITH(BitwiseXor, kIntTypes, static_cast<C>(a ^ b))
TS_ARITH(And, kBool, static_cast<C>(a && b))
TS_ARITH(Or, kBool, static_cast<C>(a || b))
TS_ARITH(Xor, kBool, static_cast<C>(a != b))
#undef TS_ARITH

#define TS_COMPARE(Name, types, expr)                                     \
  struct Name {                                                           \
    static constexpr TypeSet kTypes = types;                              \
    static constexpr int64_t kChunk = kCheapChunk;                        \
    template <class C>                                                    \
    bool operator()(const C& a, const C& b) const { return expr; }        \
    template <class VF> TS_SIMD auto vec(const VF& a, const VF& b) const { return expr; }   \
  };
TS_COMPARE(Equal, kStandardTypes, a == b)
TS_COMPARE(Less, kNumericTypes, a < b)
TS_COMPARE(LessOrEqual, kNumericTypes, a <= b)
TS_COMPARE(Greater, kNumericTypes, a > b)
TS_COMPARE(GreaterOrEqual, kNumericTypes, a >= b)
#undef TS_COMPARE

struct Div {
  static constexpr TypeSet kTypes = kNumericTypes;
  static constexpr int64_t kChunk = kCheapChunk;
  template <class C>
  C operator()(C a, C b) const {
    if constexpr (std::is_integral_v<C>) {
      // Integer division truncates; x / 0 gives 0 (as numpy) instead of trapping, and
      // MIN / -1 wraps instead of trapping.
      if (b == 0) return 0;
      if constexpr (std::is_signed_v<C>)
        if (b == -1) return static_cast<C>(0 - static_cast<std::make_unsigned_t<C>>(a));
      return static_cast<C>(a / b);
    } else {
      return a / b;
    }
  }
  template <class VF>
  TS_SIMD VF vec(const VF& a, const VF& b) const { return a / b; }
};

struct Mod {
  static constexpr TypeSet kTypes = kNumericTypes;
  static constexpr int64_t kChunk = kCheapChunk;
  bool fmod = false;
  explicit Mod(const KernelInfo& info) : fmod(info.attr_int("fmod") != 0) {}
  template <class C>
  C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>) {
      const C r = std::fmod(a, b);
      // The reference computes fmod for floats either way; with fmod=0 it maps NaN to 0.
      return !fmod && std::isnan(r) ? C(0) : r;
    } else {
      if (b == 0) return 0;  // numpy gives 0
      if constexpr (std::is_signed_v<C>) {
        if (b == -1) return 0;  // avoids the MIN % -1 trap
        const C r = static_cast<C>(a % b);
        // Integer mod takes the divisor's sign unless fmod asks for the dividend's.
        if (!fmod && r != 0 && ((r < 0) != (b < 0))) return static_cast<C>(r + b);
        return r;
      } else {
        return static_cast<C>(a % b);
      }
    }
  }
};

struct BitShift {
  static constexpr TypeSet kTypes = kUnsignedIntTypes;
  static constexpr int64_t kChunk = kCheapChunk;
  bool left = true;
  static Result<BitShift> create(const KernelInfo& info) {
    const std::string dir = info.attr_string("direction", "");
    if (dir != "LEFT" && dir != "RIGHT")
      return info.error("attribute 'direction' must be 'LEFT' or 'RIGHT', got '", dir, "'");
    BitShift s;
    s.left = dir == "LEFT";
    return s;
  }
  template <class C>
  C operator()(C a, C b) const {
    // Shifting by the bit width or more gives 0 (C++ leaves it undefined).
    if (b >= sizeof(C) * 8) return 0;
    return static_cast<C>(left ? a << b : a >> b);
  }
};

struct PRelu {
  static constexpr TypeSet kTypes = kFloatTypes | type_bit(DataType::int32) | type_bit(DataType::int64) |
                                    type_bit(DataType::uint32) | type_bit(DataType::uint64);
  static constexpr int64_t kChunk = kCheapChunk;
  template <class C>
  C operator()(C x, C slope) const { return x > C(0) ? x : wrapping(x, slope, std::multiplies<>()); }
  template <class VF>
  TS_SIMD VF vec(const VF& x, const VF& slope) const { return simd::select(x > 0.0f, x, x * slope); }
};

template <class F, class T>
using binary_result_t = decltype(std::declval<const F&>()(std::declval<compute_t<T>>(), std::declval<compute_t<T>>()));
template <class F, class T>
using binary_out_t = std::conditional_t<std::is_same_v<binary_result_t<F, T>, bool>, bool, T>;

// Before opset 7, Add/Sub/Mul/Div/Pow/And/Or/Xor/Equal/Less/Greater broadcast only B onto A, and
// only with broadcast=1; `axis` says where B's dims start in A (default: aligned to the right).
Shape legacy_b_shape(const Shape& a, const Shape& b, bool has_axis, int64_t axis) {
  if (!has_axis || b.size() > a.size()) return b;
  if (axis < 0) axis += static_cast<int64_t>(a.size());
  if (axis < 0 || axis + static_cast<int64_t>(b.size()) > static_cast<int64_t>(a.size())) return b;
  Shape out(a.size(), 1);
  for (size_t i = 0; i < b.size(); ++i) out[static_cast<size_t>(axis) + i] = b[i];
  return out;
}

// Shapes of A and B as the op's version broadcasts them, and the output shape.
struct BinaryShapes {
  Shape a, b, out;
};

class BroadcastRule {
 public:
  explicit BroadcastRule(const KernelInfo& info)
      : legacy_(info.since_version() < 7 && info.attr_int("broadcast") != 0),
        has_axis_(info.has_attr("axis")),
        axis_(info.attr_int("axis", 0)) {}

  Result<BinaryShapes> shapes(const Tensor& a, const Tensor& b, const std::string& where) const {
    BinaryShapes s{a.shape(), legacy_ ? legacy_b_shape(a.shape(), b.shape(), has_axis_, axis_) : b.shape(), {}};
    TS_ASSIGN_OR_RETURN(s.out, broadcast_shapes({&s.a, &s.b}, where));
    return s;
  }

 private:
  bool legacy_, has_axis_;
  int64_t axis_;
};

template <class F>
class BinaryKernel final : public OpKernel {
 public:
  BinaryKernel(const KernelInfo& info, F f) : f_(std::move(f)), rule_(info), where_(info.node().describe()) {}

  Status compute(KernelContext& ctx) const override {
    const Tensor* a = ctx.input(0);
    const Tensor* b = ctx.input(1);
    if (!a || !b) return ctx.error("expects two inputs");
    if (a->dtype() != b->dtype())
      return ctx.error("inputs must have the same type, got ", dtype_name(a->dtype()), " and ", dtype_name(b->dtype()));
    TS_ASSIGN_OR_RETURN(BinaryShapes s, rule_.shapes(*a, *b, where_));
    TS_ASSIGN_OR_RETURN(auto plan, (make_broadcast_plan<2>(s.out, {&s.a, &s.b}, where_)));
    return dispatch<F::kTypes>(
        a->dtype(),
        [&]<class T>() -> Status {
          using Out = binary_out_t<F, T>;
          Tensor& y = ctx.allocate_output_uninitialized(0, dtype_of<Out>(), s.out);
          run_binary(ctx.thread_pool(), plan, a->data<T>(), b->data<T>(), y.data<Out>(), F::kChunk, f_);
          return Status::ok();
        },
        where_);
  }

 private:
  F f_;
  BroadcastRule rule_;
  std::string where_;  // the node, for messages
};

template <class F>
KernelFactory binary_factory() {
  return [](const KernelInfo& info) -> Result<std::unique_ptr<OpKernel>> {
    if constexpr (requires { F::create(info); }) {
      TS_ASSIGN_OR_RETURN(F f, F::create(info));
      return std::unique_ptr<OpKernel>(new BinaryKernel<F>(info, std::move(f)));
    } else if constexpr (std::is_constructible_v<F, const KernelInfo&>) {
      return std::unique_ptr<OpKernel>(new BinaryKernel<F>(info, F(info)));
    } else {
      return std::unique_ptr<OpKernel>(new BinaryKernel<F>(info, F{}));
    }
  };
}

// ---- Pow: the exponent may have another type; the output has the base's type ----

template <class I, class E>
I integer_pow(I base, E exp) {
  if constexpr (std::is_signed_v<E>) {
    if (exp < 0) {
      // 1 / base^|exp| truncated toward zero.
      if (base == 1) return 1;
      if constexpr (std::is_signed_v<I>)
        if (base == -1) return (exp & 1) ? -1 : 1;
      return 0;
    }
  }
  // Unsigned 64-bit arithmetic wraps on overflow, like numpy; the low bits are the I result.
  uint64_t result = 1, b = static_cast<uint64_t>(base);
  for (uint64_t e = static_cast<uint64_t>(exp); e; e >>= 1) {
    if (e & 1) result *= b;
    b *= b;
  }
  return static_cast<I>(result);
}

// A double to an integer type, NaN and out-of-range values giving the type's minimum (what
// x86's conversion instructions give) instead of undefined behavior.
template <class I>
I double_to_int(double v) {
  constexpr double lo = static_cast<double>(std::numeric_limits<I>::min());
  if (!(v >= lo && v < -2.0 * lo)) return std::numeric_limits<I>::min();
  return static_cast<I>(v);
}

struct PowOp {
  template <class CA, class CB>
  CA operator()(CA a, CB b) const {
    if constexpr (std::is_integral_v<CA> && std::is_integral_v<CB>) {
      return integer_pow(a, b);
    } else if constexpr (std::is_same_v<CA, CB>) {
      return std::pow(a, b);
    } else if constexpr (std::is_integral_v<CA>) {
      return double_to_int<CA>(std::pow(static_cast<double>(a), static_cast<double>(b)));
    } else {
      return static_cast<CA>(std::pow(static_cast<double>(a), static_cast<double>(b)));
    }
  }
};

// Pow with a common scalar exponent, as cheaper operations.
struct Square {
  template <class CA, class CB>
  CA operator()(CA a, CB) const { return a * a; }
  template <class VF>
  TS_SIMD VF vec(const VF& a, const VF&) const { return a * a; }
};
struct Cube {
  template <class CA, class CB>
  CA operator()(CA a, CB) const { return a * a * a; }
  template <class VF>
  TS_SIMD VF vec(const VF& a, const VF&) const { return a * a * a; }
};
struct SquareRoot {
  template <class CA, class CB>
  CA operator()(CA a, CB) const { return a == -std::numeric_limits<CA>::infinity() ? -a : std::sqrt(a); }
};

class PowKernel final : public OpKernel {
 public:
  explicit PowKernel(const KernelInfo& info) : rule_(info), where_(info.node().describe()) {}

  Status compute(KernelContext& ctx) const override {
    const Tensor* a = ctx.input(0);
    const Tensor* b = ctx.input(1);
    if (!a || !b) return ctx.error("expects two inputs");
    TS_ASSIGN_OR_RETURN(BinaryShapes s, rule_.shapes(*a, *b, where_));
    TS_ASSIGN_OR_RETURN(auto plan, (make_broadcast_plan<2>(s.out, {&s.a, &s.b}, where_)));
    constexpr TypeSet kBaseTypes = kFloatTypes | type_bit(DataType::int32) | type_bit(DataType::int64);
    return dispatch<kBaseTypes>(
        a->dtype(),
        [&]<class TA>() -> Status {
          return dispatch<kNumericTypes>(
              b->dtype(),
              [&]<class TB>() -> Status {
                // Every element is written by the broadcast driver: no zero fill.
                Tensor& y = ctx.allocate_output_uninitialized(0, a->dtype(), s.out);
                const TA* pa = a->data<TA>();
                const TB* pb = b->data<TB>();
                TA* out = y.data<TA>();
                // x^2 is common (variance, norms) and much cheaper as a multiply.
                if constexpr (!std::is_integral_v<compute_t<TA>>) {
                  const double e = b->size() == 1 ? static_cast<double>(to_computed(pb[0])) : 0.0;
                  if (b->size() == 1 && e == 2.0) {
                    run_binary(ctx.thread_pool(), plan, pa, pb, out, kCheapChunk, Square{});
                    return Status::ok();
                  }
                  if (b->size() == 1 && e == 3.0) {
                    run_binary(ctx.thread_pool(), plan, pa, pb, out, kCheapChunk, Cube{});
                    return Status::ok();
                  }
                  if (b->size() == 1 && e == 0.5) {
                    run_binary(ctx.thread_pool(), plan, pa, pb, out, kCheapChunk, SquareRoot{});
                    return Status::ok();
                  }
                }
                run_binary(ctx.thread_pool(), plan, pa, pb, out, kCostlyChunk, PowOp{});
                return Status::ok();
              },
              where_);
        },
        where_);
  }

 private:
  BroadcastRule rule_;
  std::string where_;
};

// ---- PRelu: slope broadcasts onto X (unidirectionally); the output has X's shape ----

class PReluKernel final : public OpKernel {
 public:
  explicit PReluKernel(const KernelInfo& info) : where_(info.node().describe()) {}

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* slope = ctx.input(1);
    if (!x || !slope) return ctx.error("expects inputs X and slope");
    if (x->dtype() != slope->dtype())
      return ctx.error("X and slope must have the same type, got ", dtype_name(x->dtype()), " and ",
                       dtype_name(slope->dtype()));
    Shape slope_shape = slope->shape();
    auto plan = make_broadcast_plan<2>(x->shape(), {&x->shape(), &slope_shape}, where_);
    if (!plan.is_ok() && slope_shape.size() == 1) {
      // Older models give a 1-D slope for one channel-like axis of X: place it on the only axis
      // of X with that size (what the reference does when numpy broadcasting fails).
      int matches = 0;
      Shape placed(x->rank(), 1);
      for (size_t i = 0; i < x->rank(); ++i)
        if (x->dim(i) == slope_shape[0]) {
          placed[i] = slope_shape[0];
          ++matches;
        }
      if (matches == 1) {
        slope_shape = placed;
        plan = make_broadcast_plan<2>(x->shape(), {&x->shape(), &slope_shape}, where_);
      }
    }
    if (!plan.is_ok())
      return ctx.error("slope of shape ", shape_to_string(slope->shape()), " cannot be broadcast to X of shape ",
                       shape_to_string(x->shape()));
    return dispatch<PRelu::kTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          Tensor& y = ctx.allocate_output_uninitialized(0, x->dtype(), x->shape());
          run_binary(ctx.thread_pool(), plan.value(), x->data<T>(), slope->data<T>(), y.data<T>(), PRelu::kChunk,
                     PRelu{});
          return Status::ok();
        },
        where_);
  }

 private:
  std::string where_;
};

// ---- SwiGLU: Swish(A) * B over two inputs of one shape (no broadcasting) ----

class SwiGluKernel final : public OpKernel {
 public:
  explicit SwiGluKernel(const KernelInfo& info)
      : alpha_(info.attr_float("alpha", 1.0f)), where_(info.node().describe()) {}

  Status compute(KernelContext& ctx) const override {
    const Tensor* a = ctx.input(0);
    const Tensor* b = ctx.input(1);
    if (!a || !b) return ctx.error("expects inputs A and B");
    if (a->dtype() != b->dtype())
      return ctx.error("A and B must have the same type, got ", dtype_name(a->dtype()), " and ",
                       dtype_name(b->dtype()));
    if (a->shape() != b->shape())
      return ctx.error("A and B must have the same shape (no broadcasting), got ", shape_to_string(a->shape()), " and ",
                       shape_to_string(b->shape()));
    TS_ASSIGN_OR_RETURN(auto plan,
                        (make_broadcast_plan<2>(a->shape(), {&a->shape(), &b->shape()}, where_)));
    const float alpha = alpha_;
    return dispatch<kFloatTypes>(
        a->dtype(),
        [&]<class T>() -> Status {
          Tensor& y = ctx.allocate_output(0, a->dtype(), a->shape());
          auto swiglu = [alpha](auto x, auto v) {
            using C = decltype(x);
            const C z = C(alpha) * x;
            const C e = std::exp(-std::fabs(z));  // never overflows
            const C sig = z >= C(0) ? C(1) / (C(1) + e) : e / (C(1) + e);
            return x * sig * v;
          };
          run_binary(ctx.thread_pool(), plan, a->data<T>(), b->data<T>(), y.data<T>(), kCostlyChunk, swiglu);
          return Status::ok();
        },
        where_);
  }

 private:
  float alpha_;
  std::string where_;
};

template <class K>
KernelFactory kernel_factory() {
  return [](const KernelInfo& info) -> Result<std::unique_ptr<OpKernel>> {
    return std::unique_ptr<OpKernel>(new K(info));
  };
}

}  // namespace

void register_binary_elementwise(KernelRegistry& r) {
  // One kernel spans every version: older versions differ only in type lists and in the legacy
  // broadcast/axis attributes, which BroadcastRule reads for opset < 7.
  struct Entry {
    const char* op;
    int64_t since;
    KernelFactory factory;
  };
  const Entry table[] = {
      {"Add", 1, binary_factory<Add>()},
      {"Sub", 1, binary_factory<Sub>()},
      {"Mul", 1, binary_factory<Mul>()},
      {"Div", 1, binary_factory<Div>()},
      {"Pow", 1, kernel_factory<PowKernel>()},
      {"Mod", 10, binary_factory<Mod>()},
      {"BitShift", 11, binary_factory<BitShift>()},
      {"BitwiseAnd", 18, binary_factory<BitwiseAnd>()},
      {"BitwiseOr", 18, binary_factory<BitwiseOr>()},
      {"BitwiseXor", 18, binary_factory<BitwiseXor>()},
      {"Equal", 1, binary_factory<Equal>()},
      {"Less", 1, binary_factory<Less>()},
      {"LessOrEqual", 12, binary_factory<LessOrEqual>()},
      {"Greater", 1, binary_factory<Greater>()},
      {"GreaterOrEqual", 12, binary_factory<GreaterOrEqual>()},
      {"And", 1, binary_factory<And>()},
      {"Or", 1, binary_factory<Or>()},
      {"Xor", 1, binary_factory<Xor>()},
      {"PRelu", 1, kernel_factory<PReluKernel>()},
      {"SwiGLU", 28, kernel_factory<SwiGluKernel>()},
  };
  for (const Entry& e : table) r.add({"", e.op, e.since, kLatestOnnxOpset, e.factory});
}

}  // namespace tessera
