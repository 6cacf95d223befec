// Softmax, LogSoftmax and Hardmax. Before opset 13 the input is coerced to 2-D at `axis`
// (default 1) and the op runs over the flattened trailing dims; from 13 it runs over the single
// `axis` (default -1). Max-shifted, so large inputs do not overflow.
#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/reduction/reduce_common.h"
#include "providers/cpu/microkernels/vector_math.h"

namespace tessera {
namespace {

using namespace reduce_impl;

enum class SoftmaxKind { softmax, log_softmax, hardmax };

// One contiguous row of n values.
template <class T, SoftmaxKind kKind>
void softmax_row(const T* x, T* y, int64_t n, float_acc_t<T>* buf) {
  using F = float_acc_t<T>;
  if constexpr (std::is_same_v<T, float> && kKind != SoftmaxKind::hardmax) {
    const vec::Kernels& k = vec::kernels();
    const float m = k.max(x, n);  // NaN when any value is NaN, which then fills the row
    if constexpr (kKind == SoftmaxKind::softmax) {
      k.scale(y, n, 1.0f / k.exp_shift_store(x, y, n, m));
    } else {
      k.add_scalar(x, y, n, -(m + std::log(k.exp_sum(x, n, m))));
    }
    return;
  }
  F m = to_computed<F>(x[0]);
  int64_t arg = 0;
  for (int64_t j = 1; j < n; ++j) {
    F v = to_computed<F>(x[j]);
    if (v > m || (v != v && m == m)) {
      m = v;
      arg = j;
    }
  }
  if constexpr (kKind == SoftmaxKind::hardmax) {
    for (int64_t j = 0; j < n; ++j) y[j] = saturating_from_computed<T>(F(j == arg ? 1 : 0));
    return;
  }
  F sum = 0;
  for (int64_t j = 0; j < n; ++j) {
    F e = std::exp(to_computed<F>(x[j]) - m);
    buf[j] = e;
    sum += e;
  }
  if constexpr (kKind == SoftmaxKind::softmax) {
    const F inv = F(1) / sum;
    for (int64_t j = 0; j < n; ++j) y[j] = saturating_from_computed<T>(buf[j] * inv);
  } else {
    const F shift = m + std::log(sum);
    for (int64_t j = 0; j < n; ++j) y[j] = saturating_from_computed<T>(to_computed<F>(x[j]) - shift);
  }
}

// A [n, inner] block reduced over n: sweeps whole rows of `inner` values at a time.
template <class T, SoftmaxKind kKind>
void softmax_block(const T* x, T* y, int64_t n, int64_t inner, float_acc_t<T>* buf, float_acc_t<T>* m,
                   float_acc_t<T>* sum, int64_t* arg) {
  using F = float_acc_t<T>;
  if constexpr (std::is_same_v<T, float> && kKind != SoftmaxKind::hardmax) {
    const vec::Kernels& k = vec::kernels();
    std::copy(x, x + inner, m);
    for (int64_t j = 1; j < n; ++j) k.max_rows(m, x + j * inner, inner);
    std::fill(sum, sum + inner, 0.0f);
    if constexpr (kKind == SoftmaxKind::softmax) {
      for (int64_t j = 0; j < n; ++j) {
        k.exp_sub(x + j * inner, m, y + j * inner, inner);
        k.add_rows(sum, y + j * inner, inner);
      }
      for (int64_t i = 0; i < inner; ++i) sum[i] = 1.0f / sum[i];
      for (int64_t j = 0; j < n; ++j) k.mul_rows(y + j * inner, sum, inner);
    } else {
      for (int64_t j = 0; j < n; ++j) k.exp_sub_add_rows(sum, x + j * inner, m, inner);
      for (int64_t i = 0; i < inner; ++i) m[i] += std::log(sum[i]);
      for (int64_t j = 0; j < n; ++j) k.sub_rows(x + j * inner, m, y + j * inner, inner);
    }
    (void)buf;
    (void)arg;
    return;
  }
  for (int64_t i = 0; i < inner; ++i) {
    m[i] = to_computed<F>(x[i]);
    arg[i] = 0;
  }
  for (int64_t j = 1; j < n; ++j) {
    const T* row = x + j * inner;
    for (int64_t i = 0; i < inner; ++i) {
      F v = to_computed<F>(row[i]);
      if (v > m[i] || (v != v && m[i] == m[i])) {
        m[i] = v;
        arg[i] = j;
      }
    }
  }
  if constexpr (kKind == SoftmaxKind::hardmax) {
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = 0; i < inner; ++i) y[j * inner + i] = saturating_from_computed<T>(F(arg[i] == j ? 1 : 0));
    return;
  }
  std::fill(sum, sum + inner, F(0));
  for (int64_t j = 0; j < n; ++j) {
    const T* row = x + j * inner;
    F* b = buf + j * inner;
    for (int64_t i = 0; i < inner; ++i) {
      b[i] = std::exp(to_computed<F>(row[i]) - m[i]);
      sum[i] += b[i];
    }
  }
  if constexpr (kKind == SoftmaxKind::softmax) {
    for (int64_t i = 0; i < inner; ++i) sum[i] = F(1) / sum[i];
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = 0; i < inner; ++i) y[j * inner + i] = saturating_from_computed<T>(buf[j * inner + i] * sum[i]);
  } else {
    for (int64_t i = 0; i < inner; ++i) m[i] += std::log(sum[i]);
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = 0; i < inner; ++i) y[j * inner + i] = saturating_from_computed<T>(to_computed<F>(x[j * inner + i]) - m[i]);
  }
}

template <class T, SoftmaxKind kKind>
void softmax_typed(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, ThreadPool& pool) {
  using F = float_acc_t<T>;
  const int64_t block = n * inner;
  const int64_t grain = std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(1, block));
  pool.parallel_for(outer, grain, [&](int64_t o0, int64_t o1) {
    // float32 softmax writes straight into the output; the other types stage through F.
    std::vector<F> buf(std::is_same_v<T, float> ? 0 : static_cast<size_t>(block));
    if (inner == 1) {
      for (int64_t o = o0; o < o1; ++o) softmax_row<T, kKind>(x + o * n, y + o * n, n, buf.data());
      return;
    }
    std::vector<F> m(static_cast<size_t>(inner)), sum(static_cast<size_t>(inner));
    std::vector<int64_t> arg(static_cast<size_t>(inner));
    for (int64_t o = o0; o < o1; ++o)
      softmax_block<T, kKind>(x + o * block, y + o * block, n, inner, buf.data(), m.data(), sum.data(), arg.data());
  });
}

class SoftmaxKernel : public OpKernel {
 public:
  SoftmaxKernel(const KernelInfo& info, SoftmaxKind kind)
      : kind_(kind), coerce_2d_(info.since_version() < 13), axis_(info.attr_int("axis")) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    const int64_t rank = static_cast<int64_t>(x->rank());
    Tensor& y = ctx.allocate_output(0, x->dtype(), x->shape());
    if (x->size() == 0) return Status::ok();
    int64_t outer = 1, n = 1, inner = 1;
    if (rank > 0) {
      // Opset < 13 allows axis == rank (everything in the outer part, rows of one element).
      if (coerce_2d_ ? (axis_ < -rank || axis_ > rank) : (axis_ < -rank || axis_ >= rank))
        return ctx.error("axis ", axis_, " is out of range for rank ", rank);
      const int64_t axis = axis_ < 0 ? axis_ + rank : axis_;
      for (int64_t i = 0; i < rank; ++i) {
        int64_t d = x->dim(static_cast<size_t>(i));
        if (i < axis) outer *= d;
        else if (i == axis || coerce_2d_) n *= d;
        else inner *= d;
      }
    }
    return dispatch<kFloatTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          const T* in = x->data<T>();
          T* out = y.data<T>();
          ThreadPool& pool = ctx.thread_pool();
          switch (kind_) {
            case SoftmaxKind::softmax: softmax_typed<T, SoftmaxKind::softmax>(in, out, outer, n, inner, pool); break;
            case SoftmaxKind::log_softmax: softmax_typed<T, SoftmaxKind::log_softmax>(in, out, outer, n, inner, pool); break;
            case SoftmaxKind::hardmax: softmax_typed<T, SoftmaxKind::hardmax>(in, out, outer, n, inner, pool); break;
          }
          return Status::ok();
        },
        ctx.node());
  }

 private:
  SoftmaxKind kind_;
  bool coerce_2d_;
  int64_t axis_;
};

template <SoftmaxKind kKind>
KernelFactory softmax_factory() {
  return [](const KernelInfo& info) -> Result<std::unique_ptr<OpKernel>> {
    return std::unique_ptr<OpKernel>(new SoftmaxKernel(info, kKind));
  };
}

}  // namespace

void register_softmax(KernelRegistry& r) {
  r.add({"", "Softmax", 1, kLatestOnnxOpset, softmax_factory<SoftmaxKind::softmax>()});
  r.add({"", "LogSoftmax", 1, kLatestOnnxOpset, softmax_factory<SoftmaxKind::log_softmax>()});
  r.add({"", "Hardmax", 1, kLatestOnnxOpset, softmax_factory<SoftmaxKind::hardmax>()});
}

}  // namespace tessera
