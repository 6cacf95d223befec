// Det: the determinant of each square matrix of a batch (linear algebra), by LU with partial
// pivoting in double.
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "core/float_types.h"

namespace tessera {
namespace {

// Determinant of one n x n matrix by LU with partial pivoting; `a` is overwritten.
double determinant(double* a, int64_t n) {
  double det = 1;
  for (int64_t col = 0; col < n; ++col) {
    int64_t pivot = col;
    for (int64_t r = col + 1; r < n; ++r)
      if (std::abs(a[r * n + col]) > std::abs(a[pivot * n + col])) pivot = r;
    if (a[pivot * n + col] == 0) return 0;
    if (pivot != col) {
      std::swap_ranges(a + pivot * n, a + pivot * n + n, a + col * n);
      det = -det;
    }
    const double p = a[col * n + col];
    det *= p;
    for (int64_t r = col + 1; r < n; ++r) {
      const double f = a[r * n + col] / p;
      if (f == 0) continue;
      for (int64_t c = col + 1; c < n; ++c) a[r * n + c] -= f * a[col * n + c];
    }
  }
  return det;
}

class DetKernel final : public OpKernel {
 public:
  explicit DetKernel(const KernelInfo&) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    if (x->rank() < 2 || x->dim(x->rank() - 1) != x->dim(x->rank() - 2))
      return ctx.error("X must have shape [*, M, M], got ", shape_to_string(x->shape()));
    const int64_t n = x->dim(x->rank() - 1);
    Shape out_shape(x->shape().begin(), x->shape().end() - 2);
    Tensor& y = ctx.allocate_output(0, x->dtype(), out_shape);
    const int64_t batch = y.size();
    return dispatch<kFloatTypes>(
        x->dtype(),
        [&]<class T>() -> Status {
          const T* src = x->data<T>();
          T* dst = y.data<T>();
          ctx.thread_pool().parallel_for(batch, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, n * n * n)),
                                         [&](int64_t b0, int64_t b1) {
                                           std::vector<double> a(static_cast<size_t>(n * n));
                                           for (int64_t b = b0; b < b1; ++b) {
                                             widen_span(src + b * n * n, a.data(), n * n);
                                             dst[b] = from_computed<T>(determinant(a.data(), n));
                                           }
                                         });
          return Status::ok();
        },
        ctx.node());
  }
};

}  // namespace

void register_det(KernelRegistry& r) {
  r.add({"", "Det", 11, kLatestOnnxOpset, make_factory<DetKernel>()});
}

}  // namespace tessera
