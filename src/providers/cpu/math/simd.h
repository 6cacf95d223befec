// Portable SIMD for the float elementwise kernels, on GCC/Clang vector extensions: 8 floats per
// vector, lowered to SSE2 pairs in the baseline build and to AVX2 (+FMA) inside functions
// compiled for it (see with_best_isa). All math here is branch-free, so a block of random-sign
// inputs runs without mispredictions, and accurate to a few float ulps (polynomials fitted for
// Tessera by least squares on Chebyshev nodes; the unit tests bound their error against libm).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>

// 32-byte vectors passed by value would change the calling convention between SSE and AVX
// builds. Every function taking them (here and the kernels' vec() members) is forced inline, so
// no such call exists; the note is silenced for the files that include this header.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace tessera::simd {

constexpr int64_t kLanes = 8;

typedef float vf __attribute__((vector_size(32)));
typedef int32_t vi __attribute__((vector_size(32)));
typedef uint32_t vu __attribute__((vector_size(32)));
typedef uint16_t vu16 __attribute__((vector_size(16)));
typedef uint8_t vu8 __attribute__((vector_size(8)));

// Every helper is forced inline so that it takes the ISA of the function it lands in.
#define TS_SIMD inline __attribute__((always_inline))

TS_SIMD vf load(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
TS_SIMD void store(float* p, vf v) { std::memcpy(p, &v, sizeof v); }
TS_SIMD vf splat(float s) { return vf{} + s; }
TS_SIMD vu usplat(uint32_t s) { return vu{} + s; }

// Lane-wise m ? a : b, m being a comparison result (all ones or all zeros per lane).
TS_SIMD vf select(vi m, vf a, vf b) { return (vf)((m & (vi)a) | (~m & (vi)b)); }
TS_SIMD vu select(vi m, vu a, vu b) { return ((vu)m & a) | (~(vu)m & b); }
TS_SIMD vi is_nan(vf x) { return x != x; }
TS_SIMD vf abs(vf x) { return (vf)((vu)x & 0x7fffffffu); }
TS_SIMD vf copy_sign(vf magnitude, vf sign) { return (vf)(((vu)magnitude & 0x7fffffffu) | ((vu)sign & 0x80000000u)); }
// numpy.minimum / numpy.maximum: NaN in either input gives NaN.
TS_SIMD vf max(vf a, vf b) { return select(is_nan(a), a, select(a > b, a, b)); }
TS_SIMD vf min(vf a, vf b) { return select(is_nan(a), a, select(a < b, a, b)); }
// Clamp for finite bounds where NaN handling is done by the caller.
TS_SIMD vf clamp(vf x, float lo, float hi) {
  x = select(x < lo, splat(lo), x);
  return select(x > hi, splat(hi), x);
}

// 2^n for integer lanes n in [-252, 254], as two exact power-of-two factors (keeps subnormal
// results and avoids overflowing the exponent field).
TS_SIMD vf scale_pow2(vf v, vi n) {
  const vi n1 = n >> 1;
  const vi n2 = n - n1;
  return v * (vf)((n1 + 127) << 23) * (vf)((n2 + 127) << 23);
}

// Range reduction shared by exp and expm1: x = n ln2 + r, |r| <= ln2/2; returns
// q = e^r - 1 = r + r^2 P(r) (P fitted on [-ln2/2, ln2/2], max rel. error of e^r 1.2e-7).
TS_SIMD vf exp_reduce(vf x, vi* n_out) {
  const vf t = x * 1.44269504088896341f + 12582912.0f;  // 1.5 * 2^23 rounds to an integer
  const vf n = t - 12582912.0f;
  *n_out = (vi)t - 0x4B400000;
  vf r = x - n * 0.693359375f;  // ln 2 split so n * hi is exact
  r = r - n * -2.12194440e-4f;
  vf p = splat(0.00139336628863624f);
  p = p * r + 0.00836317556498449f;
  p = p * r + 0.04166646468539512f;
  p = p * r + 0.16666577003165134f;
  p = p * r + 0.5000000013549522f;
  return r + r * r * p;
}

TS_SIMD vf exp(vf x) {
  vi n;
  const vf xc = clamp(x, -104.0f, 89.0f);  // beyond these e^x is 0 or inf in float
  const vf q = exp_reduce(xc, &n);
  return select(is_nan(x), x, scale_pow2(q + 1.0f, n));
}

// e^x - 1 without cancellation near 0: 2^n q + (2^n - 1).
TS_SIMD vf expm1(vf x) {
  vi n;
  const vf xc = clamp(x, -88.0f, 88.0f);
  const vf q = exp_reduce(xc, &n);
  const vf p2 = (vf)((n + 127) << 23);
  vf y = q * p2 + (p2 - 1.0f);
  y = select(x > 88.72283f, splat(__builtin_inff()), y);
  return select(is_nan(x), x, y);
}

// log(m) for m in [sqrt(1/2), sqrt(2)]: 2s + 2s z P(z), s = (m-1)/(m+1), z = s^2 (rel. error
// 1.7e-7); m - 1 is exact there, so values near 1 keep their precision.
TS_SIMD vf log_reduced(vf m) {
  const vf s = (m - 1.0f) / (m + 1.0f);
  const vf z = s * s;
  vf p = splat(0.14937632848559582f);
  p = p * z + 0.19988960853175958f;
  p = p * z + 0.33333382419692775f;
  return 2.0f * s + 2.0f * s * z * p;
}

TS_SIMD vf log(vf x) {
  // Subnormals are scaled into the normal range first.
  const vi tiny = x < 1.17549435e-38f;
  const vf xs = select(tiny, x * 8388608.0f, x);
  const vu bits = (vu)xs;
  vi e = (vi)(bits >> 23) - 127 - (tiny & 23);
  vf m = (vf)((bits & 0x7fffffu) | 0x3f800000u);  // [1, 2)
  const vi big = m > 1.41421356f;
  m = select(big, m * 0.5f, m);
  e = e - big;  // big is -1 where true
  vf y = __builtin_convertvector(e, vf) * 0.693147180559945f + log_reduced(m);
  y = select(x == 0.0f, splat(-__builtin_inff()), y);
  y = select(x == __builtin_inff(), x, y);
  return select(x < 0.0f, splat(__builtin_nanf("")), select(is_nan(x), x, y));
}

// log(1 + t) for t in [0, 1]: log(u) t / (u - 1) with u = 1 + t corrects the rounding of u, so
// tiny t come back as t.
TS_SIMD vf log1p_unit(vf t) {
  const vf u = 1.0f + t;
  const vi big = u > 1.41421356f;
  const vf l = select(big, log_reduced(u * 0.5f) + 0.693147180559945f, log_reduced(u));
  const vf d = u - 1.0f;
  return select(d == 0.0f, t, l * (t / select(d == 0.0f, splat(1.0f), d)));
}

// log(1 + e^x) = max(x, 0) + log1p(e^-|x|), exact in both tails.
TS_SIMD vf softplus(vf x) {
  const vf y = select(x > 0.0f, x, splat(0.0f)) + log1p_unit(exp(-abs(x)));
  return select(is_nan(x), x, y);
}

TS_SIMD vf sigmoid(vf x) { return 1.0f / (1.0f + exp(-x)); }

TS_SIMD vf tanh(vf x) {
  const vf ax = abs(x);
  // |x| < 0.625: x + x^3 P(x^2) (max rel. error 8e-8); beyond: 1 - 2 / (e^{2|x|} + 1).
  const vf z = x * x;
  vf p = splat(0.00231389255298183f);
  p = p * z - 0.00836557738062198f;
  p = p * z + 0.02177681036386222f;
  p = p * z - 0.05396047612521315f;
  p = p * z + 0.1333331066174026f;
  p = p * z - 0.33333333264032156f;
  const vf small = x + x * z * p;
  const vf e = exp(2.0f * clamp(ax, 0.0f, 9.1f));  // tanh(9.1) rounds to 1
  const vf large = copy_sign(1.0f - 2.0f / (e + 1.0f), x);
  return select(is_nan(x), x, select(ax < 0.625f, small, large));
}

// erf(x) for |x| <= 1: x P(x^2), max rel. error 1.9e-7.
TS_SIMD vf erf_small(vf x) {
  const vf z = x * x;
  vf p = splat(7.9334938854216941e-05f);
  p = p * z - 8.0348466495956672e-04f;
  p = p * z + 5.1912183773312748e-03f;
  p = p * z - 2.6855399452035508e-02f;
  p = p * z + 1.1283625725084404e-01f;
  p = p * z - 3.7612629877675868e-01f;
  p = p * z + 1.1283791665931535e+00f;
  return x * p;
}

// erfc(a) for a >= 1: e^{-a^2} Q(1/a), Q fitted to e^{a^2} erfc(a) on [1, 10] (rel. error
// 4.2e-7); past 10 erfc is below the smallest float.
TS_SIMD vf erfc_large(vf a) {
  const vf t = 1.0f / select(a < 1.0f, splat(1.0f), a);
  vf q = splat(0.07275373783127692f);
  q = q * t - 0.40393300280828887f;
  q = q * t + 0.9548345956166661f;
  q = q * t - 1.2103174469684976f;
  q = q * t + 0.7844544985627776f;
  q = q * t - 0.054883544180856766f;
  q = q * t - 0.28000489526923833f;
  q = q * t + 0.0005673660681803638f;
  q = q * t + 0.5641091521926758f;
  q = q * t + 3.17911881281073e-06f;
  return exp(-(a * a)) * q;
}

TS_SIMD vf erf(vf x) {
  const vf ax = abs(x);
  const vf large = copy_sign(1.0f - erfc_large(ax), x);
  return select(is_nan(x), x, select(ax <= 1.0f, erf_small(x), large));
}

// 0.5 x (1 + erf(x / sqrt 2)), taking 1 + erf(z) = erfc(|z|) for z < -1 so the negative tail
// keeps its relative precision.
TS_SIMD vf gelu(vf x) {
  const vf z = x * 0.70710678118654752f;
  const vf az = abs(z);
  const vf c = erfc_large(az);
  const vf one_plus_large = select(x < 0.0f, c, 2.0f - c);
  const vf one_plus = select(az <= 1.0f, 1.0f + erf_small(z), one_plus_large);
  return select(is_nan(x), x, 0.5f * x * one_plus);
}

// 0.5 x (1 + tanh(u)) written as x / (1 + e^{-2u}), which has no cancellation for u << 0.
TS_SIMD vf gelu_tanh(vf x) {
  const vf u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
  return x / (1.0f + exp(-2.0f * u));
}

// ---- float16 / bfloat16 <-> float, round to nearest even, NaN kept NaN ----

TS_SIMD vf half_to_float(vu16 h16) {
  const vu h = __builtin_convertvector(h16, vu);
  const vu sign = (h & 0x8000u) << 16;
  const vu shifted = (h & 0x7fffu) << 13;
  const vu exp = h & 0x7c00u;
  const vu normal = shifted + (112u << 23);
  const vu inf_nan = shifted + (224u << 23);
  // Zero and subnormals: 2^-14 * (1 + m/1024) - 2^-14 = m * 2^-24, exactly.
  const vu sub = (vu)((vf)(shifted + (113u << 23)) - 6.103515625e-05f);
  vu bits = select(exp == 0x7c00u, inf_nan, normal);
  bits = select(exp == 0u, sub, bits);
  return (vf)(bits | sign);
}

TS_SIMD vu16 float_to_half(vf x) {
  const vu f = (vu)x;
  const vu sign = (f >> 16) & 0x8000u;
  const vu a = f & 0x7fffffffu;
  // Normal: rebias the exponent and round the 13 dropped bits to nearest even (a carry may
  // reach the exponent, and at 65520 and above produces infinity, as it should).
  const vu normal = (a + (uint32_t)((15 - 127) * (1 << 23)) + 0xfffu + ((a >> 13) & 1u)) >> 13;
  // Below 2^-14: adding 0.5 makes the float's ulp 2^-24, the half subnormal unit, so the FPU
  // does the rounding.
  const vu sub = (vu)((vf)a + 0.5f) - 0x3f000000u;
  vu h = select(a < 0x38800000u, sub, normal);
  h = select(a >= 0x47800000u, usplat(0x7c00u), h);
  h = select(a > 0x7f800000u, usplat(0x7e00u), h);
  return __builtin_convertvector(h | sign, vu16);
}

TS_SIMD vf bfloat16_to_float(vu16 h) { return (vf)(__builtin_convertvector(h, vu) << 16); }

TS_SIMD vu16 float_to_bfloat16(vf x) {
  const vu f = (vu)x;
  const vu rounded = (f + 0x7fffu + ((f >> 16) & 1u)) >> 16;
  return __builtin_convertvector(select(is_nan(x), (f >> 16) | 0x40u, rounded), vu16);
}

// ---- ISA dispatch ----

#if defined(__x86_64__) && defined(__GNUC__)
#define TS_SIMD_HAS_AVX2_CLONE 1
// TESSERA_ISA=portable forces the baseline build (the same switch the GEMM kernels read).
inline bool cpu_has_avx2_fma() {
  static const bool has = [] {
    const char* forced = std::getenv("TESSERA_ISA");
    if (forced && std::strcmp(forced, "portable") == 0) return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return has;
}
template <class Fn>
__attribute__((target("avx2,fma"))) void run_avx2(const Fn& fn) {
  fn();
}
#endif

// Calls fn(), compiled for AVX2+FMA when the CPU has them. fn must be a lambda marked
// TS_SIMD_BODY so that it (and the TS_SIMD helpers in it) inline into the AVX2 clone.
template <class Fn>
inline void with_best_isa(const Fn& fn) {
#ifdef TS_SIMD_HAS_AVX2_CLONE
  if (cpu_has_avx2_fma()) {
    run_avx2(fn);
    return;
  }
#endif
  fn();
}
#define TS_SIMD_BODY __attribute__((always_inline))

}  // namespace tessera::simd
