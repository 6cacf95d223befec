// Portable SIMD for the float elementwise kernels, on GCC/Clang vector extensions. Kernels are
// templates over the vector type: 4 floats (SSE2 / NEON) in the baseline build, 8 floats inside
// the AVX2+FMA clone that with_best_isa picks at run time. All math here is branch-free (but
// gelu's shortcut for small inputs), so a block of random-sign inputs runs without
// mispredictions, and accurate to a few float ulps
// (polynomials fitted for Tessera by least squares on Chebyshev nodes; the unit tests bound
// their error against libm).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/cpu_isa.h"

// 32-byte vectors passed by value would change the calling convention between SSE and AVX
// builds. Every function taking them (here and the kernels' vec() members) is forced inline, so
// no such call exists; the note is silenced for the files that include this header.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace tessera::simd {

// The vector types of N float lanes.
template <int N>
struct Lanes {
  typedef float f __attribute__((vector_size(4 * N)));
  typedef int32_t i __attribute__((vector_size(4 * N)));
  typedef uint32_t u __attribute__((vector_size(4 * N)));
  typedef uint16_t u16 __attribute__((vector_size(2 * N)));
  typedef uint8_t u8 __attribute__((vector_size(N)));
};
template <class VF>
constexpr int lanes_of = static_cast<int>(sizeof(VF) / sizeof(float));
template <class VF>
using ivec = typename Lanes<lanes_of<VF>>::i;
template <class VF>
using uvec = typename Lanes<lanes_of<VF>>::u;
template <class VF>
using u16vec = typename Lanes<lanes_of<VF>>::u16;
template <class VF>
using u8vec = typename Lanes<lanes_of<VF>>::u8;

// The narrowest vector, for concept checks: kernels' vec() members are templates over VF.
using vf4 = Lanes<4>::f;

// Every helper is forced inline so that it takes the ISA of the function it lands in.
#define TS_SIMD inline __attribute__((always_inline))

template <class VF>
TS_SIMD VF load(const float* p) {
  VF v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class VF>
TS_SIMD void store(float* p, const VF& v) { std::memcpy(p, &v, sizeof v); }
template <class VF>
TS_SIMD VF splat(float s) { return VF{} + s; }

// Lane-wise m ? a : b, m being a comparison result (all ones or all zeros per lane).
template <class VF>
TS_SIMD VF select(const ivec<VF>& m, const VF& a, const VF& b) {
  using I = ivec<VF>;
  return (VF)((m & (I)a) | (~m & (I)b));
}
template <class VU>
TS_SIMD VU select_bits(const decltype(VU{} < VU{})& m, const VU& a, const VU& b) {
  return ((VU)m & a) | (~(VU)m & b);
}
template <class VF>
TS_SIMD ivec<VF> is_nan(const VF& x) { return x != x; }
template <class VF>
TS_SIMD VF abs(const VF& x) { return (VF)((uvec<VF>)x & 0x7fffffffu); }
template <class VF>
TS_SIMD VF copy_sign(const VF& magnitude, const VF& sign) {
  using U = uvec<VF>;
  return (VF)(((U)magnitude & 0x7fffffffu) | ((U)sign & 0x80000000u));
}
// numpy.minimum / numpy.maximum: NaN in either input gives NaN.
template <class VF>
TS_SIMD VF max(const VF& a, const VF& b) { return select(is_nan(a), a, select(a > b, a, b)); }
template <class VF>
TS_SIMD VF min(const VF& a, const VF& b) { return select(is_nan(a), a, select(a < b, a, b)); }
// Clamp for finite bounds where NaN handling is done by the caller.
template <class VF>
TS_SIMD VF clamp(const VF& x, float lo, float hi) {
  const VF y = select(x < lo, splat<VF>(lo), x);
  return select(y > hi, splat<VF>(hi), y);
}

// Correctly rounded square root (the same bits as std::sqrt), NaN for negative lanes. On x86
// through SSE's sqrtps four lanes at a time (the AVX form is not callable from this shared
// code); elsewhere lane by lane.
template <class VF>
TS_SIMD VF sqrt(const VF& x) {
  VF r;
#if defined(__x86_64__) && defined(__GNUC__)
  typedef float v4 __attribute__((vector_size(16)));
  for (int i = 0; i < lanes_of<VF>; i += 4) {
    v4 h;
    std::memcpy(&h, reinterpret_cast<const float*>(&x) + i, sizeof h);
    h = __builtin_ia32_sqrtps(h);
    std::memcpy(reinterpret_cast<float*>(&r) + i, &h, sizeof h);
  }
#else
  for (int i = 0; i < lanes_of<VF>; ++i) r[i] = x[i] < 0.0f ? __builtin_nanf("") : __builtin_sqrtf(x[i]);
#endif
  return r;
}

// Rounding to integers, exact: adding and removing 2^23 rounds to nearest even in the default
// rounding mode; |x| >= 2^23 (and inf, NaN) are already integral. The sign is kept (-0.3 -> -0).
template <class VF>
TS_SIMD VF round_even(const VF& x) {
  const VF big = copy_sign(splat<VF>(8388608.0f), x);
  const VF r = copy_sign((x + big) - big, x);
  return select(abs(x) < 8388608.0f, r, x);
}
// floor and ceil never change the sign (ceil(-0.7) is -0).
template <class VF>
TS_SIMD VF floor(const VF& x) {
  const VF r = round_even(x);
  return copy_sign(select(r > x, r - 1.0f, r), x);
}
template <class VF>
TS_SIMD VF ceil(const VF& x) {
  const VF r = round_even(x);
  return copy_sign(select(r < x, r + 1.0f, r), x);
}

// 2^n for integer lanes n in [-252, 254], as two exact power-of-two factors (keeps subnormal
// results and avoids overflowing the exponent field).
template <class VF>
TS_SIMD VF scale_pow2(const VF& v, const ivec<VF>& n) {
  const ivec<VF> n1 = n >> 1;
  const ivec<VF> n2 = n - n1;
  return v * (VF)((n1 + 127) << 23) * (VF)((n2 + 127) << 23);
}

// x = n ln2 + r for the integral n (a float) nearest x / ln2, |r| <= ln2/2: returns
// q = e^r - 1 = r + r^2 P(r) (P fitted on [-ln2/2, ln2/2], max rel. error of e^r 1.2e-7).
template <class VF>
TS_SIMD VF exp_reduced(const VF& x, const VF& n) {
  VF r = x - n * 0.693359375f;  // ln 2 split so n * hi is exact
  r = r - n * -2.12194440e-4f;
  VF p = splat<VF>(0.00139336628863624f);
  p = p * r + 0.00836317556498449f;
  p = p * r + 0.04166646468539512f;
  p = p * r + 0.16666577003165134f;
  p = p * r + 0.5000000013549522f;
  return r + r * r * p;
}

// Range reduction shared by exp and expm1: exp_reduced with n rounded here, also as an integer.
template <class VF>
TS_SIMD VF exp_reduce(const VF& x, ivec<VF>* n_out) {
  const VF t = x * 1.44269504088896341f + 12582912.0f;  // 1.5 * 2^23 rounds to an integer
  *n_out = (ivec<VF>)t - 0x4B400000;
  return exp_reduced(x, t - 12582912.0f);
}

template <class VF>
TS_SIMD VF exp(const VF& x) {
  ivec<VF> n;
  const VF xc = clamp(x, -104.0f, 89.0f);  // beyond these e^x is 0 or inf in float
  const VF q = exp_reduce(xc, &n);
  return select(is_nan(x), x, scale_pow2(q + 1.0f, n));
}

// e^x - 1 without cancellation near 0: 2^n q + (2^n - 1).
template <class VF>
TS_SIMD VF expm1(const VF& x) {
  ivec<VF> n;
  const VF xc = clamp(x, -88.0f, 88.0f);
  const VF q = exp_reduce(xc, &n);
  const VF p2 = (VF)((n + 127) << 23);
  VF y = q * p2 + (p2 - 1.0f);
  y = select(x > 88.72283f, splat<VF>(__builtin_inff()), y);
  return select(is_nan(x), x, y);
}

// log(m) for m in [sqrt(1/2), sqrt(2)]: 2s + 2s z P(z), s = (m-1)/(m+1), z = s^2 (rel. error
// 1.7e-7); m - 1 is exact there, so values near 1 keep their precision.
template <class VF>
TS_SIMD VF log_reduced(const VF& m) {
  const VF s = (m - 1.0f) / (m + 1.0f);
  const VF z = s * s;
  VF p = splat<VF>(0.14937632848559582f);
  p = p * z + 0.19988960853175958f;
  p = p * z + 0.33333382419692775f;
  return 2.0f * s + 2.0f * s * z * p;
}

template <class VF>
TS_SIMD VF log(const VF& x) {
  using I = ivec<VF>;
  using U = uvec<VF>;
  // Subnormals are scaled into the normal range first.
  const I tiny = x < 1.17549435e-38f;
  const VF xs = select(tiny, x * 8388608.0f, x);
  const U bits = (U)xs;
  I e = (I)(bits >> 23) - 127 - (tiny & 23);
  VF m = (VF)((bits & 0x7fffffu) | 0x3f800000u);  // [1, 2)
  const I big = m > 1.41421356f;
  m = select(big, m * 0.5f, m);
  e = e - big;  // big is -1 where true
  VF y = __builtin_convertvector(e, VF) * 0.693147180559945f + log_reduced(m);
  y = select(x == 0.0f, splat<VF>(-__builtin_inff()), y);
  y = select(x == __builtin_inff(), x, y);
  return select(x < 0.0f, splat<VF>(__builtin_nanf("")), select(is_nan(x), x, y));
}

// log(1 + t) for t in [0, 1]: log(u) t / (u - 1) with u = 1 + t corrects the rounding of u, so
// tiny t come back as t.
template <class VF>
TS_SIMD VF log1p_unit(const VF& t) {
  const VF u = 1.0f + t;
  const VF l = select(u > 1.41421356f, log_reduced(u * 0.5f) + 0.693147180559945f, log_reduced(u));
  const VF d = u - 1.0f;
  return select(d == 0.0f, t, l * (t / select(d == 0.0f, splat<VF>(1.0f), d)));
}

// log(1 + e^x) = max(x, 0) + log1p(e^-|x|), exact in both tails.
template <class VF>
TS_SIMD VF softplus(const VF& x) {
  const VF y = select(x > 0.0f, x, splat<VF>(0.0f)) + log1p_unit(exp(-abs(x)));
  return select(is_nan(x), x, y);
}

// e^x for the logistic family (sigmoid, SiLU), ~25% cheaper than exp: x is clamped to
// [-87.3, 88.8], where one power-of-two factor spans the result: a normal float, or inf from
// about 88.5 up, so 1 / (1 + e^x) still reaches 0 and SiLU(-inf) = -inf / inf stays NaN as in
// x * sigmoid(x). Below -87.3 it gives e^-87.3, which 1 + e^x does not tell from 0. NaN stays
// NaN (the bits of n do not matter then). Same bits as exp for |x| < 87.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define TS_SIMD_AVX512_EXP 1
// exp_logistic's 16-lane form, built only inside run_avx512 (the one place 16-lane vectors are
// instantiated): the clamp as vmaxps / vminps (a NaN x is their second operand, so it stays NaN),
// n rounded by vrndscaleps and 2^n applied by vscalefps, 12 instructions where the generic form's
// compare-and-blend clamp and integer exponent take 17: SiLU 0.18 -> 0.15 ns per float on Zen 5.
// The same n, q and product as the generic form, so the same bits, except from x = 88.5 up,
// where 2^n with n = 128 stays finite as a factor (the generic form gives inf).
template <class Fn>
__attribute__((target("avx512f,avx2,fma"))) void run_avx512(const Fn& fn);  // declares the AVX-512 builtins
template <class VF>
TS_SIMD VF exp_logistic_avx512(const VF& x) {
  constexpr unsigned short all = 0xffff;
  constexpr int current_rounding = 4, nearest_no_exceptions = 0x08;
  const VF lo = __builtin_ia32_maxps512_mask(splat<VF>(-87.3f), x, VF{}, all, current_rounding);
  const VF xc = __builtin_ia32_minps512_mask(splat<VF>(88.8f), lo, VF{}, all, current_rounding);
  const VF n = __builtin_ia32_rndscaleps_mask(xc * 1.44269504088896341f, nearest_no_exceptions, VF{}, all,
                                              current_rounding);
  return __builtin_ia32_scalefps512_mask(exp_reduced(xc, n) + 1.0f, n, VF{}, all, current_rounding);
}
#endif

template <class VF>
TS_SIMD VF exp_logistic(const VF& x) {
#ifdef TS_SIMD_AVX512_EXP
  if constexpr (lanes_of<VF> == 16) return exp_logistic_avx512(x);
#endif
  ivec<VF> n;
  const VF q = exp_reduce(clamp(x, -87.3f, 88.8f), &n);
  return (q + 1.0f) * (VF)((n + 127) << 23);
}

template <class VF>
TS_SIMD VF sigmoid(const VF& x) { return 1.0f / (1.0f + exp_logistic(-x)); }

// x * sigmoid(x) as one division.
template <class VF>
TS_SIMD VF silu(const VF& x) { return x / (1.0f + exp_logistic(-x)); }

template <class VF>
TS_SIMD VF tanh(const VF& x) {
  const VF ax = abs(x);
  // |x| < 0.625: x + x^3 P(x^2) (max rel. error 8e-8); beyond: 1 - 2 / (e^{2|x|} + 1).
  const VF z = x * x;
  VF p = splat<VF>(0.00231389255298183f);
  p = p * z - 0.00836557738062198f;
  p = p * z + 0.02177681036386222f;
  p = p * z - 0.05396047612521315f;
  p = p * z + 0.1333331066174026f;
  p = p * z - 0.33333333264032156f;
  const VF small = x + x * z * p;
  const VF e = exp(2.0f * clamp(ax, 0.0f, 9.1f));  // tanh(9.1) rounds to 1
  const VF large = copy_sign(1.0f - 2.0f / (e + 1.0f), x);
  return select(is_nan(x), x, select(ax < 0.625f, small, large));
}

// erf(x) for |x| <= 1: x P(x^2), max rel. error 1.9e-7.
template <class VF>
TS_SIMD VF erf_small(const VF& x) {
  const VF z = x * x;
  VF p = splat<VF>(7.9334938854216941e-05f);
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
template <class VF>
TS_SIMD VF erfc_large(const VF& a) {
  const VF t = 1.0f / select(a < 1.0f, splat<VF>(1.0f), a);
  VF q = splat<VF>(0.07275373783127692f);
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

template <class VF>
TS_SIMD VF erf(const VF& x) {
  const VF ax = abs(x);
  const VF large = copy_sign(1.0f - erfc_large(ax), x);
  return select(is_nan(x), x, select(ax <= 1.0f, erf_small(x), large));
}

// True when any lane of the comparison result m is set: the halves ORed down to 16 bytes.
template <class VI>
TS_SIMD bool any_lane(const VI& m) {
  constexpr int n = static_cast<int>(sizeof(VI) / 4);
  if constexpr (n <= 4) {
    uint64_t lo, hi;
    std::memcpy(&lo, &m, 8);
    std::memcpy(&hi, reinterpret_cast<const char*>(&m) + sizeof(VI) - 8, 8);
    return (lo | hi) != 0;
  } else {
    typename Lanes<n / 2>::i lo, hi;
    std::memcpy(&lo, &m, sizeof lo);
    std::memcpy(&hi, reinterpret_cast<const char*>(&m) + sizeof lo, sizeof hi);
    return any_lane(lo | hi);
  }
}

// 0.5 x (1 + erf(x / sqrt 2)), taking 1 + erf(z) = erfc(|z|) for z < -1 so the negative tail
// keeps its relative precision. The one branch in this file: a vector whose lanes all have
// |z| <= 1 (|x| <= 1.41; about half of FFN1's vectors in the random-weight BERT and ViT
// exports) takes erf's polynomial alone, the arithmetic the full form selects for such lanes,
// and skips erfc's division, exp and polynomial (GELU's time -31..33%: kernel_choices.md).
template <class VF>
TS_SIMD VF gelu(const VF& x) {
  const VF z = x * 0.70710678118654752f;
  const VF az = abs(z);
  if (!any_lane(~(az <= 1.0f))) return 0.5f * x * (1.0f + erf_small(z));  // NaN lanes compare false
  const VF c = erfc_large(az);
  const VF one_plus_large = select(x < 0.0f, c, 2.0f - c);
  const VF one_plus = select(az <= 1.0f, 1.0f + erf_small(z), one_plus_large);
  return select(is_nan(x), x, 0.5f * x * one_plus);
}

// 0.5 x (1 + tanh(u)) written as x / (1 + e^{-2u}), which has no cancellation for u << 0.
template <class VF>
TS_SIMD VF gelu_tanh(const VF& x) {
  const VF u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
  return x / (1.0f + exp(-2.0f * u));
}

// ---- float16 / bfloat16 <-> float, round to nearest even, NaN kept NaN ----

template <int N>
TS_SIMD typename Lanes<N>::f half_to_float(typename Lanes<N>::u16 h16) {
  using VF = typename Lanes<N>::f;
  using U = typename Lanes<N>::u;
  const U h = __builtin_convertvector(h16, U);
  const U sign = (h & 0x8000u) << 16;
  const U shifted = (h & 0x7fffu) << 13;
  const U exp = h & 0x7c00u;
  const U normal = shifted + (112u << 23);
  const U inf_nan = shifted + (224u << 23);
  // Zero and subnormals: 2^-14 * (1 + m/1024) - 2^-14 = m * 2^-24, exactly.
  const U sub = (U)((VF)(shifted + (113u << 23)) - 6.103515625e-05f);
  U bits = select_bits(exp == 0x7c00u, inf_nan, normal);
  bits = select_bits(exp == 0u, sub, bits);
  return (VF)(bits | sign);
}

template <int N>
TS_SIMD typename Lanes<N>::u16 float_to_half(const typename Lanes<N>::f& x) {
  using VF = typename Lanes<N>::f;
  using U = typename Lanes<N>::u;
  const U f = (U)x;
  const U sign = (f >> 16) & 0x8000u;
  const U a = f & 0x7fffffffu;
  // Normal: rebias the exponent and round the 13 dropped bits to nearest even (a carry may
  // reach the exponent, and at 65520 and above produces infinity, as it should).
  const U normal = (a + (uint32_t)((15 - 127) * (1 << 23)) + 0xfffu + ((a >> 13) & 1u)) >> 13;
  // Below 2^-14: adding 0.5 makes the float's ulp 2^-24, the half subnormal unit, so the FPU
  // does the rounding.
  const U sub = (U)((VF)a + 0.5f) - 0x3f000000u;
  U h = select_bits(a < 0x38800000u, sub, normal);
  h = select_bits(a >= 0x47800000u, U{} + 0x7c00u, h);
  h = select_bits(a > 0x7f800000u, U{} + 0x7e00u, h);
  return __builtin_convertvector(h | sign, typename Lanes<N>::u16);
}

template <int N>
TS_SIMD typename Lanes<N>::f bfloat16_to_float(typename Lanes<N>::u16 h) {
  return (typename Lanes<N>::f)(__builtin_convertvector(h, typename Lanes<N>::u) << 16);
}

template <int N>
TS_SIMD typename Lanes<N>::u16 float_to_bfloat16(const typename Lanes<N>::f& x) {
  using U = typename Lanes<N>::u;
  const U f = (U)x;
  const U rounded = (f + 0x7fffu + ((f >> 16) & 1u)) >> 16;
  return __builtin_convertvector(select_bits(x != x, (f >> 16) | 0x40u, rounded), typename Lanes<N>::u16);
}

// ---- ISA dispatch ----

#if defined(__x86_64__) && defined(__GNUC__)
#define TS_SIMD_HAS_AVX2_CLONE 1
inline bool cpu_has_avx2_fma() { return cpu_isa() >= CpuIsa::avx2; }
template <class Fn>
__attribute__((target("avx2,fma"))) void run_avx2(const Fn& fn) {
  fn.template operator()<8>();
}
template <class Fn>
__attribute__((target("avx512f,avx2,fma"))) void run_avx512(const Fn& fn) {
  fn.template operator()<16>();
}
#endif

// Calls fn.operator()<N>() with the widest vector the CPU runs well: N = 8 floats compiled for
// AVX2+FMA when the CPU has them, else N = 4 in the baseline build. fn is a lambda
// `[&]<int N>() TS_SIMD_BODY {...}` so that it (and the TS_SIMD helpers in it) inline into the
// AVX2 clone.
template <class Fn>
inline void with_best_isa(const Fn& fn) {
#ifdef TS_SIMD_HAS_AVX2_CLONE
  if (cpu_has_avx2_fma()) {
    run_avx2(fn);
    return;
  }
#endif
  fn.template operator()<4>();
}
#define TS_SIMD_BODY __attribute__((always_inline))

// with_best_isa with a 16-float AVX-512 clone first, where the CPU has AVX-512 (and TESSERA_ISA
// does not lower it): for the transcendental activations of convolutions, which it makes ~1.9x
// faster (SiLU: 0.49 -> 0.26 ns per float on Zen 5). Not the default for every kernel because
// GCC 12 fails (internal compiler error) on some vector comparisons in AVX-512 clones.
template <class Fn>
inline void with_widest_isa(const Fn& fn) {
#ifdef TS_SIMD_HAS_AVX2_CLONE
  if (cpu_isa() >= CpuIsa::avx512) {
    run_avx512(fn);
    return;
  }
#endif
  with_best_isa(fn);
}

}  // namespace tessera::simd
