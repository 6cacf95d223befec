// Small default-domain ops without a family of their own: Det (batched determinant) and
// BitCast (reinterpret the bits as another type of the same width).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "core/float_types.h"

namespace tessera {
namespace {

// ---------------------------------------------------------------- Det

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

// ---------------------------------------------------------------- BitCast

int bit_width(DataType t) {
  if (is_subbyte_dtype(t)) return subbyte_bits(t);
  if (t == DataType::boolean) return 8;
  return static_cast<int>(dtype_size(t)) * 8;
}

class BitCastKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    TS_ASSIGN_OR_RETURN(int64_t to, info.required_int("to"));
    if (!is_known_dtype(static_cast<int32_t>(to)) || to == static_cast<int64_t>(DataType::string) ||
        to == static_cast<int64_t>(DataType::undefined))
      return info.error("'to' must be a non-string tensor type, got ", to);
    return std::unique_ptr<OpKernel>(new BitCastKernel(static_cast<DataType>(to)));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    const DataType from = x->dtype();
    if (from == DataType::string) return ctx.error("BitCast from string is not supported");
    if (bit_width(from) != bit_width(to_))
      return ctx.error("cannot bitcast ", dtype_name(from), " (", bit_width(from), " bits) to ", dtype_name(to_), " (",
                       bit_width(to_), " bits)");
    Tensor& y = ctx.allocate_output(0, to_, x->shape());
    const int64_t n = x->size();
    const uint8_t* src = static_cast<const uint8_t*>(x->raw_data());
    uint8_t* dst = static_cast<uint8_t*>(y.raw_data());
    if (is_subbyte_dtype(to_)) {
      // One element per byte in memory; int4/int2 are kept sign-extended.
      const int bits = subbyte_bits(to_);
      const uint8_t mask = static_cast<uint8_t>((1u << bits) - 1);
      const bool sign_extend = is_signed_dtype(to_) && is_integer_dtype(to_);
      for (int64_t i = 0; i < n; ++i) {
        uint8_t v = src[i] & mask;
        if (sign_extend && (v >> (bits - 1)) != 0) v = static_cast<uint8_t>(v | ~mask);
        dst[i] = v;
      }
    } else if (to_ == DataType::boolean) {
      for (int64_t i = 0; i < n; ++i) dst[i] = src[i] != 0 ? 1 : 0;  // a C++ bool holds 0 or 1
    } else if (n > 0) {
      std::memcpy(dst, src, static_cast<size_t>(n) * dtype_size(to_));
    }
    return Status::ok();
  }

 private:
  explicit BitCastKernel(DataType to) : to_(to) {}
  DataType to_;
};

}  // namespace

void register_misc_math(KernelRegistry& r) {
  r.add({"", "Det", 11, kLatestOnnxOpset, make_factory<DetKernel>()});
  r.add({"", "BitCast", 26, kLatestOnnxOpset, BitCastKernel::create});
}

}  // namespace tessera
