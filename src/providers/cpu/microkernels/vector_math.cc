#include "providers/cpu/microkernels/vector_math.h"

#include <cmath>
#include <limits>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define TS_VEC_X86 1
#endif

#include "core/cpu_isa.h"

namespace tessera::reduce_impl::vec {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// ---- portable ----------------------------------------------------------------------------------

// Eight independent partial sums: fewer rounding steps, and the compiler may keep them in one
// vector register.
template <class F>
float lane_sum(const float* x, int64_t n, F f) {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) s[k] += f(x[i + k]);
  float t = 0;
  for (; i < n; ++i) t += f(x[i]);
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + t;
}

float p_sum(const float* x, int64_t n) { return lane_sum(x, n, [](float v) { return v; }); }
float p_sum_sq(const float* x, int64_t n) { return lane_sum(x, n, [](float v) { return v * v; }); }
float p_sum_abs(const float* x, int64_t n) { return lane_sum(x, n, [](float v) { return std::fabs(v); }); }
float p_sum_sq_dev(const float* x, int64_t n, float m) {
  return lane_sum(x, n, [m](float v) { return (v - m) * (v - m); });
}
float p_exp_sum(const float* x, int64_t n, float shift) {
  return lane_sum(x, n, [shift](float v) { return std::exp(v - shift); });
}
float p_max(const float* x, int64_t n) {
  float m = -kInf;
  for (int64_t i = 0; i < n; ++i) {
    if (x[i] != x[i]) return x[i];
    m = x[i] > m ? x[i] : m;
  }
  return m;
}
float p_min(const float* x, int64_t n) {
  float m = kInf;
  for (int64_t i = 0; i < n; ++i) {
    if (x[i] != x[i]) return x[i];
    m = x[i] < m ? x[i] : m;
  }
  return m;
}
void p_add_rows(float* a, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) a[i] += x[i];
}
void p_sq_add_rows(float* a, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) a[i] += x[i] * x[i];
}
void p_abs_add_rows(float* a, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) a[i] += std::fabs(x[i]);
}
void p_max_rows(float* a, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) a[i] = (x[i] > a[i] || x[i] != x[i]) ? x[i] : a[i];
}
void p_min_rows(float* a, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) a[i] = (x[i] < a[i] || x[i] != x[i]) ? x[i] : a[i];
}
void p_exp_sub_add_rows(float* a, const float* x, const float* s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) a[i] += std::exp(x[i] - s[i]);
}
float p_exp_shift_store(const float* x, float* y, int64_t n, float shift) {
  float sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    y[i] = std::exp(x[i] - shift);
    sum += y[i];
  }
  return sum;
}
void p_exp_sub(const float* x, const float* s, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i] - s[i]);
}
void p_scale(float* y, int64_t n, float s) {
  for (int64_t i = 0; i < n; ++i) y[i] *= s;
}
void p_mul_rows(float* y, const float* s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] *= s[i];
}
void p_add_scalar(const float* x, float* y, int64_t n, float s) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] + s;
}
void p_sub_rows(const float* x, const float* s, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] - s[i];
}
void p_axpb(const float* x, float* y, int64_t n, float a, float b) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * a + b;
}
void p_axpy(const float* x, float* y, int64_t n, float a) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}
void p_blend2(const float* a, float wa, const float* b, float wb, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = wa * a[i] + wb * b[i];
}
void p_norm_affine(const float* x, float* y, int64_t n, float mean, float inv, const float* s, const float* b) {
  if (b) {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * inv * s[i] + b[i];
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * inv * s[i];
  }
}

constexpr Kernels kPortable = {
    "portable",   p_sum,         p_sum_sq,       p_sum_abs,         p_sum_sq_dev,   p_max,
    p_min,        p_exp_sum,     p_add_rows,     p_sq_add_rows,     p_abs_add_rows, p_max_rows,
    p_min_rows,   p_exp_sub_add_rows, p_exp_shift_store, p_exp_sub, p_scale,        p_mul_rows,
    p_add_scalar, p_sub_rows, p_axpb, p_axpy, p_blend2,        p_norm_affine};

// ---- AVX2 + FMA --------------------------------------------------------------------------------

#ifdef TS_VEC_X86
#define TS_AVX2 __attribute__((target("avx2,fma")))

TS_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// exp for lanes in [-87.33, 88.37] (Cephes' range reduction and polynomial, ~1 ulp); lanes
// below underflow to 0. Lanes above or NaN are reported in `special` for the caller to redo.
TS_AVX2 inline __m256 exp_core(__m256 x, int& special) {
  const __m256 hi = _mm256_set1_ps(88.37f), lo = _mm256_set1_ps(-87.33654f);
  special = _mm256_movemask_ps(_mm256_cmp_ps(x, hi, _CMP_NLE_UQ));  // x > hi, or NaN
  const __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  x = _mm256_max_ps(_mm256_min_ps(x, hi), lo);
  const __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
  p = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  return _mm256_andnot_ps(under, p);
}

// exp of 8 lanes, exact in every case (overflow / NaN lanes fall back to std::exp).
TS_AVX2 inline __m256 exp8(__m256 x) {
  int special;
  __m256 y = exp_core(x, special);
  if (special) {
    alignas(32) float xs[8], ys[8];
    _mm256_store_ps(xs, x);
    _mm256_store_ps(ys, y);
    for (int k = 0; k < 8; ++k)
      if (special & (1 << k)) ys[k] = std::exp(xs[k]);
    y = _mm256_load_ps(ys);
  }
  return y;
}

template <class F>
TS_AVX2 inline float avx_sum_with(const float* x, int64_t n, F f) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = f(a0, _mm256_loadu_ps(x + i));
    a1 = f(a1, _mm256_loadu_ps(x + i + 8));
    a2 = f(a2, _mm256_loadu_ps(x + i + 16));
    a3 = f(a3, _mm256_loadu_ps(x + i + 24));
  }
  for (; i + 8 <= n; i += 8) a0 = f(a0, _mm256_loadu_ps(x + i));
  a0 = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
  if (i < n) {
    alignas(32) float t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    alignas(32) float z[8];
    for (int64_t k = 0; i + k < n; ++k) t[k] = x[i + k];
    // Pad lanes must contribute nothing: zero them after f.
    _mm256_store_ps(z, f(_mm256_setzero_ps(), _mm256_load_ps(t)));
    for (int64_t k = n - i; k < 8; ++k) z[k] = 0;
    a0 = _mm256_add_ps(a0, _mm256_load_ps(z));
  }
  return hsum(a0);
}

// Accumulation steps as functors (lambdas returning __m256 would trip -Wpsabi).
struct AddStep {
  TS_AVX2 __m256 operator()(__m256 a, __m256 v) const { return _mm256_add_ps(a, v); }
};
struct SqStep {
  TS_AVX2 __m256 operator()(__m256 a, __m256 v) const { return _mm256_fmadd_ps(v, v, a); }
};
struct AbsStep {
  TS_AVX2 __m256 operator()(__m256 a, __m256 v) const {
    return _mm256_add_ps(a, _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff))));
  }
};
struct SqDevStep {
  float mean;
  TS_AVX2 __m256 operator()(__m256 a, __m256 v) const {
    const __m256 d = _mm256_sub_ps(v, _mm256_set1_ps(mean));
    return _mm256_fmadd_ps(d, d, a);
  }
};
// Max/min of an accumulator and a new value; a NaN in either wins.
template <bool kMax>
struct ExtremeStep {
  TS_AVX2 __m256 operator()(__m256 p, __m256 v) const {
    // max_ps/min_ps return the second operand when either is NaN: a NaN in p sticks; a NaN in v
    // is blended in.
    const __m256 m = kMax ? _mm256_max_ps(v, p) : _mm256_min_ps(v, p);
    return _mm256_blendv_ps(m, v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  }
};

TS_AVX2 float a_sum(const float* x, int64_t n) { return avx_sum_with(x, n, AddStep{}); }
TS_AVX2 float a_sum_sq(const float* x, int64_t n) { return avx_sum_with(x, n, SqStep{}); }
TS_AVX2 float a_sum_abs(const float* x, int64_t n) { return avx_sum_with(x, n, AbsStep{}); }
TS_AVX2 float a_sum_sq_dev(const float* x, int64_t n, float mean) { return avx_sum_with(x, n, SqDevStep{mean}); }

TS_AVX2 float a_exp_sum(const float* x, int64_t n, float shift) {
  const __m256 s = _mm256_set1_ps(shift);
  __m256 a0 = _mm256_setzero_ps(), a1 = a0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    a0 = _mm256_add_ps(a0, exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), s)));
    a1 = _mm256_add_ps(a1, exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), s)));
  }
  for (; i + 8 <= n; i += 8) a0 = _mm256_add_ps(a0, exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), s)));
  float sum = hsum(_mm256_add_ps(a0, a1));
  for (; i < n; ++i) sum += std::exp(x[i] - shift);
  return sum;
}

// Max/min with NaN propagation: lanes are compared with max_ps and NaN is tracked separately.
template <bool kMax>
TS_AVX2 float a_extreme(const float* x, int64_t n) {
  const float init = kMax ? -kInf : kInf;
  __m256 a0 = _mm256_set1_ps(init), a1 = a0;
  __m256 nan = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
    a0 = kMax ? _mm256_max_ps(a0, v0) : _mm256_min_ps(a0, v0);
    a1 = kMax ? _mm256_max_ps(a1, v1) : _mm256_min_ps(a1, v1);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(v0, v1, _CMP_UNORD_Q));
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    a0 = kMax ? _mm256_max_ps(a0, v) : _mm256_min_ps(a0, v);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  }
  if (_mm256_movemask_ps(nan)) return std::numeric_limits<float>::quiet_NaN();
  alignas(32) float t[16];
  _mm256_store_ps(t, a0);
  _mm256_store_ps(t + 8, a1);
  float m = init;
  for (float v : t) m = kMax ? (v > m ? v : m) : (v < m ? v : m);
  for (; i < n; ++i) {
    if (x[i] != x[i]) return x[i];
    m = kMax ? (x[i] > m ? x[i] : m) : (x[i] < m ? x[i] : m);
  }
  return m;
}
TS_AVX2 float a_max(const float* x, int64_t n) { return a_extreme<true>(x, n); }
TS_AVX2 float a_min(const float* x, int64_t n) { return a_extreme<false>(x, n); }

// acc[i] = f(acc[i], x[i]) eight lanes at a time, scalar tail through g.
template <class F, class G>
TS_AVX2 inline void avx_rows(float* a, const float* x, int64_t n, F f, G g) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(a + i, f(_mm256_loadu_ps(a + i), _mm256_loadu_ps(x + i)));
  for (; i < n; ++i) a[i] = g(a[i], x[i]);
}

TS_AVX2 void a_add_rows(float* a, const float* x, int64_t n) {
  avx_rows(a, x, n, AddStep{}, [](float p, float v) { return p + v; });
}
TS_AVX2 void a_sq_add_rows(float* a, const float* x, int64_t n) {
  avx_rows(a, x, n, SqStep{}, [](float p, float v) { return p + v * v; });
}
TS_AVX2 void a_abs_add_rows(float* a, const float* x, int64_t n) {
  avx_rows(a, x, n, AbsStep{}, [](float p, float v) { return p + std::fabs(v); });
}
TS_AVX2 void a_max_rows(float* a, const float* x, int64_t n) {
  avx_rows(a, x, n, ExtremeStep<true>{}, [](float p, float v) { return (v > p || v != v) ? v : p; });
}
TS_AVX2 void a_min_rows(float* a, const float* x, int64_t n) {
  avx_rows(a, x, n, ExtremeStep<false>{}, [](float p, float v) { return (v < p || v != v) ? v : p; });
}

TS_AVX2 void a_exp_sub_add_rows(float* a, const float* x, const float* s, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(s + i)));
    _mm256_storeu_ps(a + i, _mm256_add_ps(_mm256_loadu_ps(a + i), e));
  }
  for (; i < n; ++i) a[i] += std::exp(x[i] - s[i]);
}

TS_AVX2 float a_exp_shift_store(const float* x, float* y, int64_t n, float shift) {
  const __m256 s = _mm256_set1_ps(shift);
  __m256 acc = _mm256_setzero_ps(), acc1 = acc;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 e0 = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
    const __m256 e1 = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), s));
    _mm256_storeu_ps(y + i, e0);
    _mm256_storeu_ps(y + i + 8, e1);
    acc = _mm256_add_ps(acc, e0);
    acc1 = _mm256_add_ps(acc1, e1);
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
    _mm256_storeu_ps(y + i, e);
    acc = _mm256_add_ps(acc, e);
  }
  float sum = hsum(_mm256_add_ps(acc, acc1));
  for (; i < n; ++i) {
    y[i] = std::exp(x[i] - shift);
    sum += y[i];
  }
  return sum;
}

TS_AVX2 void a_exp_sub(const float* x, const float* s, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(s + i))));
  for (; i < n; ++i) y[i] = std::exp(x[i] - s[i]);
}

TS_AVX2 void a_scale(float* y, int64_t n, float s) {
  const __m256 v = _mm256_set1_ps(s);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), v));
  for (; i < n; ++i) y[i] *= s;
}
TS_AVX2 void a_mul_rows(float* y, const float* s, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), _mm256_loadu_ps(s + i)));
  for (; i < n; ++i) y[i] *= s[i];
}
TS_AVX2 void a_add_scalar(const float* x, float* y, int64_t n, float s) {
  const __m256 v = _mm256_set1_ps(s);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(x + i), v));
  for (; i < n; ++i) y[i] = x[i] + s;
}
TS_AVX2 void a_sub_rows(const float* x, const float* s, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_sub_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(s + i)));
  for (; i < n; ++i) y[i] = x[i] - s[i];
}
TS_AVX2 void a_axpb(const float* x, float* y, int64_t n, float a, float b) {
  const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(_mm256_loadu_ps(x + i), va, vb));
  for (; i < n; ++i) y[i] = x[i] * a + b;
}
TS_AVX2 void a_axpy(const float* x, float* y, int64_t n, float a) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(_mm256_loadu_ps(x + i), va, _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += a * x[i];
}
TS_AVX2 void a_blend2(const float* a, float wa, const float* b, float wb, float* y, int64_t n) {
  const __m256 va = _mm256_set1_ps(wa), vb = _mm256_set1_ps(wb);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(_mm256_loadu_ps(b + i), vb, _mm256_mul_ps(_mm256_loadu_ps(a + i), va)));
  for (; i < n; ++i) y[i] = wa * a[i] + wb * b[i];
}
TS_AVX2 void a_norm_affine(const float* x, float* y, int64_t n, float mean, float inv, const float* s, const float* b) {
  const __m256 vm = _mm256_set1_ps(mean), vi = _mm256_set1_ps(inv);
  int64_t i = 0;
  if (b) {
    for (; i + 8 <= n; i += 8) {
      const __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm), vi);
      _mm256_storeu_ps(y + i, _mm256_fmadd_ps(d, _mm256_loadu_ps(s + i), _mm256_loadu_ps(b + i)));
    }
    for (; i < n; ++i) y[i] = (x[i] - mean) * inv * s[i] + b[i];
  } else {
    for (; i + 8 <= n; i += 8) {
      const __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm), vi);
      _mm256_storeu_ps(y + i, _mm256_mul_ps(d, _mm256_loadu_ps(s + i)));
    }
    for (; i < n; ++i) y[i] = (x[i] - mean) * inv * s[i];
  }
}

constexpr Kernels kAvx2 = {
    "avx2",       a_sum,         a_sum_sq,       a_sum_abs,         a_sum_sq_dev,   a_max,
    a_min,        a_exp_sum,     a_add_rows,     a_sq_add_rows,     a_abs_add_rows, a_max_rows,
    a_min_rows,   a_exp_sub_add_rows, a_exp_shift_store, a_exp_sub, a_scale,        a_mul_rows,
    a_add_scalar, a_sub_rows, a_axpb, a_axpy, a_blend2,        a_norm_affine};
#endif  // TS_VEC_X86

const Kernels& select() {
#ifdef TS_VEC_X86
  if (cpu_isa() >= CpuIsa::avx2) return kAvx2;
#endif
  return kPortable;
}

}  // namespace

const Kernels& kernels() {
  static const Kernels& k = select();
  return k;
}

std::vector<const Kernels*> available_kernels() {
  std::vector<const Kernels*> sets = {&kPortable};
#ifdef TS_VEC_X86
  if (cpu_isa_supported() >= CpuIsa::avx2) sets.push_back(&kAvx2);
#endif
  return sets;
}

}  // namespace tessera::reduce_impl::vec
