// Variadic elementwise ops (Sum, Mean, Min, Max: any number of inputs, broadcast together) and
// the ternary Where. The variadic ops fold the inputs pairwise into the output with the binary
// broadcast driver; Where walks a three-input broadcast plan.
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/math/broadcast.h"
#include "providers/cpu/math/elementwise.h"
#include "providers/cpu/microkernels/elementwise_simd.h"

namespace tessera {
namespace {

using namespace elementwise;

struct SumOp {
  template <class C>
  C operator()(C a, C b) const { return static_cast<C>(a + b); }
  template <class VF>
  TS_SIMD VF vec(const VF& a, const VF& b) const { return a + b; }
};

// numpy.minimum / numpy.maximum: a NaN in either input gives NaN.
struct MinOp {
  template <class C>
  C operator()(C a, C b) const {
    if (a < b) return a;
    if (b < a) return b;
    if constexpr (std::is_floating_point_v<C>)
      if (std::isnan(a)) return a;
    return b;
  }
  template <class VF>
  TS_SIMD VF vec(const VF& a, const VF& b) const { return simd::min(a, b); }
};

struct MaxOp {
  template <class C>
  C operator()(C a, C b) const {
    if (a > b) return a;
    if (b > a) return b;
    if constexpr (std::is_floating_point_v<C>)
      if (std::isnan(a)) return a;
    return b;
  }
  template <class VF>
  TS_SIMD VF vec(const VF& a, const VF& b) const { return simd::max(a, b); }
};

// Mean's last step.
template <class C>
struct DivideBy {
  C count;
  C operator()(C v) const { return v / count; }
  template <class VF>
  TS_SIMD VF vec(const VF& v) const { return v / count; }
};

template <class F, TypeSet Types, bool kMean>
class VariadicKernel final : public OpKernel {
 public:
  explicit VariadicKernel(const KernelInfo& info) : where_(info.node().describe()) {}

  Status compute(KernelContext& ctx) const override {
    const size_t n = ctx.input_count();
    std::vector<const Tensor*> in;
    std::vector<const Shape*> shapes;
    for (size_t i = 0; i < n; ++i) {
      TS_ASSIGN_OR_RETURN(const Tensor* t, ctx.required_input(i));
      if (!in.empty() && t->dtype() != in[0]->dtype())
        return ctx.error("inputs must have one type, got ", dtype_name(in[0]->dtype()), " and ",
                         dtype_name(t->dtype()));
      in.push_back(t);
      shapes.push_back(&t->shape());
    }
    if (in.empty()) return ctx.error("needs at least one input");
    TS_ASSIGN_OR_RETURN(const Shape os, broadcast_shapes(shapes, where_));

    return dispatch<Types>(
        in[0]->dtype(),
        [&]<class T>() -> Status {
          Tensor& y = ctx.allocate_output(0, in[0]->dtype(), os);
          T* out = y.data<T>();
          ThreadPool& pool = ctx.thread_pool();
          if (in.size() == 1) {
            TS_ASSIGN_OR_RETURN(auto plan, (make_broadcast_plan<2>(os, {shapes[0], shapes[0]}, where_)));
            run_binary(pool, plan, in[0]->data<T>(), in[0]->data<T>(), out, kCheapChunk,
                       [](const auto& a, const auto&) { return a; });
          } else {
            TS_ASSIGN_OR_RETURN(auto first, (make_broadcast_plan<2>(os, {shapes[0], shapes[1]}, where_)));
            run_binary(pool, first, in[0]->data<T>(), in[1]->data<T>(), out, kCheapChunk, F{});
            // Later inputs fold into the output in place: out = f(out, in_k).
            for (size_t k = 2; k < in.size(); ++k) {
              TS_ASSIGN_OR_RETURN(auto plan, (make_broadcast_plan<2>(os, {&os, shapes[k]}, where_)));
              run_binary(pool, plan, static_cast<const T*>(out), in[k]->data<T>(), out, kCheapChunk, F{});
            }
          }
          if constexpr (kMean) {
            const DivideBy<compute_t<T>> divide{static_cast<compute_t<T>>(in.size())};
            parallel_elements(pool, y.size(), kCheapChunk,
                              [&](int64_t b, int64_t e) { map_span(out + b, out + b, e - b, divide); });
          }
          return Status::ok();
        },
        where_);
  }

 private:
  std::string where_;  // the node, for messages
};

// out[i] = c[i] ? x[i] : y[i] for 4-byte elements, N lanes at a time; a zero stride repeats the
// first element.
template <int N>
TS_SIMD void select_4byte(const bool* c, int64_t sc, const void* xv, int64_t sx, const void* yv, int64_t sy, void* outv,
                          int64_t n) {
  using VU = typename simd::Lanes<N>::u;
  using VI = typename simd::Lanes<N>::i;
  const auto* x = static_cast<const uint32_t*>(xv);
  const auto* y = static_cast<const uint32_t*>(yv);
  auto* out = static_cast<uint32_t*>(outv);
  const VU x0 = VU{} + x[0], y0 = VU{} + y[0];
  const VI c0 = VI{} - (c[0] ? 1 : 0);
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    VI m = c0;
    if (sc) {
      typename simd::Lanes<N>::u8 c8;
      std::memcpy(&c8, c + i, sizeof c8);
      m = VI{} - __builtin_convertvector(c8, VI);
    }
    VU a = x0, b = y0;
    if (sx) std::memcpy(&a, x + i, sizeof a);
    if (sy) std::memcpy(&b, y + i, sizeof b);
    const VU r = simd::select_bits(m, a, b);
    std::memcpy(out + i, &r, sizeof r);
  }
  for (; i < n; ++i) out[i] = c[i * sc] ? x[i * sx] : y[i * sy];
}

class WhereKernel final : public OpKernel {
 public:
  explicit WhereKernel(const KernelInfo& info) : where_(info.node().describe()) {}

  Status compute(KernelContext& ctx) const override {
    const Tensor* c = ctx.input(0);
    const Tensor* x = ctx.input(1);
    const Tensor* y = ctx.input(2);
    if (!c || !x || !y) return ctx.error("expects inputs condition, X and Y");
    if (c->dtype() != DataType::boolean) return ctx.error("condition must be bool, got ", dtype_name(c->dtype()));
    if (x->dtype() != y->dtype())
      return ctx.error("X and Y must have the same type, got ", dtype_name(x->dtype()), " and ",
                       dtype_name(y->dtype()));
    TS_ASSIGN_OR_RETURN(const Shape out_shape, broadcast_shapes({&c->shape(), &x->shape(), &y->shape()}, where_));
    TS_ASSIGN_OR_RETURN(auto plan, (make_broadcast_plan<3>(out_shape, {&c->shape(), &x->shape(), &y->shape()}, where_)));
    return dispatch<kStandardTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          Tensor& out_t = ctx.allocate_output(0, x->dtype(), out_shape);
          const bool* pc = c->data<bool>();
          const T* px = x->data<T>();
          const T* py = y->data<T>();
          T* out = out_t.data<T>();
          const int64_t sc = plan.inner_stride(0), sx = plan.inner_stride(1), sy = plan.inner_stride(2);
          auto run = [&](const std::array<int64_t, 3>& off, int64_t o, int64_t len) {
            const bool* cc = pc + off[0];
            const T* xx = px + off[1];
            const T* yy = py + off[2];
            T* oo = out + o;
            if constexpr (sizeof(T) == 4 && std::is_trivially_copyable_v<T>) {
              simd::with_best_isa([&]<int N>() TS_SIMD_BODY { select_4byte<N>(cc, sc, xx, sx, yy, sy, oo, len); });
            } else if constexpr (std::is_trivially_copyable_v<T>) {
              // Through a bit mask rather than a branch: conditions are often unpredictable.
              using U = std::conditional_t<sizeof(T) == 1, uint8_t, std::conditional_t<sizeof(T) == 2, uint16_t,
                        std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>>>;
              for (int64_t i = 0; i < len; ++i) {
                U xv, yv;
                std::memcpy(&xv, xx + i * sx, sizeof(U));
                std::memcpy(&yv, yy + i * sy, sizeof(U));
                const U m = static_cast<U>(0) - static_cast<U>(cc[i * sc]);
                const U r = static_cast<U>((xv & m) | (yv & static_cast<U>(~m)));
                std::memcpy(static_cast<void*>(oo + i), &r, sizeof(U));
              }
            } else {
              for (int64_t i = 0; i < len; ++i) oo[i] = cc[i * sc] ? xx[i * sx] : yy[i * sy];
            }
          };
          parallel_runs(ctx.thread_pool(), plan, kCheapChunk, run);
          return Status::ok();
        },
        where_);
  }

 private:
  std::string where_;  // the node, for messages
};

template <class K>
KernelFactory kernel_factory() {
  return [](const KernelInfo& info) -> Result<std::unique_ptr<OpKernel>> {
    return std::unique_ptr<OpKernel>(new K(info));
  };
}

}  // namespace

void register_variadic_elementwise(KernelRegistry& r) {
  // Before opset 8 the inputs had to share one shape; broadcasting them anyway accepts those
  // models unchanged, so one kernel covers every version.
  r.add({"", "Sum", 1, kLatestOnnxOpset, kernel_factory<VariadicKernel<SumOp, kFloatTypes, false>>()});
  r.add({"", "Mean", 1, kLatestOnnxOpset, kernel_factory<VariadicKernel<SumOp, kFloatTypes, true>>()});
  r.add({"", "Min", 1, kLatestOnnxOpset, kernel_factory<VariadicKernel<MinOp, kNumericTypes, false>>()});
  r.add({"", "Max", 1, kLatestOnnxOpset, kernel_factory<VariadicKernel<MaxOp, kNumericTypes, false>>()});
  r.add({"", "Where", 9, kLatestOnnxOpset, kernel_factory<WhereKernel>()});
}

}  // namespace tessera
