// Float32 array primitives for the reduction, softmax and normalization kernels, chosen once at
// start-up: AVX2+FMA where the CPU has it, portable loops otherwise (TESSERA_ISA=portable forces
// them, as for the GEMM). NaN semantics follow numpy: a NaN anywhere makes max/min NaN.
#pragma once

#include <cstdint>
#include <vector>

namespace tessera::reduce_impl::vec {

struct Kernels {
  const char* name;
  // Whole-run reductions.
  float (*sum)(const float* x, int64_t n);
  float (*sum_sq)(const float* x, int64_t n);
  float (*sum_abs)(const float* x, int64_t n);
  float (*sum_sq_dev)(const float* x, int64_t n, float mean);  // sum of (x - mean)^2
  float (*max)(const float* x, int64_t n);                     // -inf when n == 0
  float (*min)(const float* x, int64_t n);                     // +inf when n == 0
  float (*exp_sum)(const float* x, int64_t n, float shift);    // sum of exp(x - shift)
  // Row accumulation: acc[i] (op)= f(x[i]).
  void (*add_rows)(float* acc, const float* x, int64_t n);
  void (*sq_add_rows)(float* acc, const float* x, int64_t n);
  void (*abs_add_rows)(float* acc, const float* x, int64_t n);
  void (*max_rows)(float* acc, const float* x, int64_t n);
  void (*min_rows)(float* acc, const float* x, int64_t n);
  void (*exp_sub_add_rows)(float* acc, const float* x, const float* shift, int64_t n);  // acc += exp(x - shift)
  // Elementwise.
  float (*exp_shift_store)(const float* x, float* y, int64_t n, float shift);  // y = exp(x - shift); returns sum(y)
  void (*exp_sub)(const float* x, const float* shift, float* y, int64_t n);     // y = exp(x - shift[i])
  void (*scale)(float* y, int64_t n, float s);                                  // y *= s
  void (*mul_rows)(float* y, const float* s, int64_t n);                        // y[i] *= s[i]
  void (*add_scalar)(const float* x, float* y, int64_t n, float s);             // y = x + s
  void (*sub_rows)(const float* x, const float* s, float* y, int64_t n);        // y = x - s[i]
  void (*axpb)(const float* x, float* y, int64_t n, float a, float b);          // y = a * x + b
  void (*axpy)(const float* x, float* y, int64_t n, float a);                   // y += a * x
  void (*blend2)(const float* a, float wa, const float* b, float wb, float* y, int64_t n);  // y = wa*a + wb*b
  // y = (x - mean) * inv * s[i] (+ b[i] when b is not null)
  void (*norm_affine)(const float* x, float* y, int64_t n, float mean, float inv, const float* s, const float* b);
};

// The set chosen for this CPU (once, at first use).
const Kernels& kernels();
// Every set this CPU can run, portable first (for tests that diff them).
std::vector<const Kernels*> available_kernels();

}  // namespace tessera::reduce_impl::vec
