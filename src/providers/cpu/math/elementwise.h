// Shared pieces of the elementwise families (unary, binary, variadic, cast): how each element type
// is computed, how 16-bit floats are widened a block at a time, and when a loop is worth splitting
// across threads.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <type_traits>

#include "core/dispatch.h"
#include "core/float_types.h"
#include "core/thread_pool.h"
#include "providers/cpu/microkernels/elementwise_simd.h"
#include "tessera/dtype.h"

namespace tessera::elementwise {

// Integer +, -, * that wrap (two's complement) like numpy instead of overflowing into undefined
// behavior: computed in unsigned 32/64-bit, which never promotes to int. Floats pass through.
template <class C, class Op>
inline C wrapping(C a, C b, Op op) {
  if constexpr (std::is_integral_v<C> && !std::is_same_v<C, bool>) {
    using U = std::conditional_t<(sizeof(C) <= 4), uint32_t, uint64_t>;
    return static_cast<C>(op(static_cast<U>(a), static_cast<U>(b)));
  } else {
    return static_cast<C>(op(a, b));
  }
}

// Elements per block when 16-bit floats are widened to float around a float loop.
constexpr int64_t kBlock = 512;

// Loop sizes worth handing to another thread: cheap ops (add, relu) need many elements to pay
// for the hand-off, transcendental ones (exp, tanh, erf) far fewer.
constexpr int64_t kCheapChunk = 1 << 16;
constexpr int64_t kCostlyChunk = 1 << 13;

// Calls fn(begin, end) over [0, n), split across the pool when n is large enough.
template <class Fn>
void parallel_elements(ThreadPool& pool, int64_t n, int64_t min_chunk, const Fn& fn) {
  if (n < 2 * min_chunk || pool.size() == 1) {
    if (n > 0) fn(int64_t{0}, n);
    return;
  }
  pool.parallel_for(n, min_chunk, fn);
}

// ---- float16 / bfloat16 blocks, converted N lanes at a time ----

template <int N = 4, class T>
TS_SIMD void widen(const T* in, float* out, int64_t n) {
  static_assert(is_half_float_v<T>);
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    typename simd::Lanes<N>::u16 h;
    std::memcpy(&h, in + i, sizeof h);
    if constexpr (std::is_same_v<T, float16_t>) simd::store(out + i, simd::half_to_float<N>(h));
    else simd::store(out + i, simd::bfloat16_to_float<N>(h));
  }
  for (; i < n; ++i) out[i] = to_computed(in[i]);
}

template <int N = 4, class T>
TS_SIMD void narrow(const float* in, T* out, int64_t n) {
  static_assert(is_half_float_v<T>);
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    const auto v = simd::load<typename simd::Lanes<N>::f>(in + i);
    typename simd::Lanes<N>::u16 h;
    if constexpr (std::is_same_v<T, float16_t>) h = simd::float_to_half<N>(v);
    else h = simd::float_to_bfloat16<N>(v);
    std::memcpy(static_cast<void*>(out + i), &h, sizeof h);
  }
  for (; i < n; ++i) out[i] = from_computed<T>(in[i]);
}

// ---- unary maps ----

// A functor with a vector form for float: `template <class VF> VF vec(VF) const`, marked TS_SIMD.
template <class F>
concept HasVec = requires(const F& f, simd::vf4 v) {
  { f.vec(v) } -> std::same_as<simd::vf4>;
};

// out[i] = f.vec(in[i]) over floats, N lanes at a time; the tail goes through a zero-padded
// vector so every element sees the same arithmetic. out may equal in.
template <int N, class F>
TS_SIMD void map_vec(const float* in, float* out, int64_t n, const F& f) {
  using VF = typename simd::Lanes<N>::f;
  int64_t i = 0;
  for (; i + N <= n; i += N) simd::store(out + i, f.vec(simd::load<VF>(in + i)));
  if (i < n) {
    float tmp[N] = {};
    std::memcpy(tmp, in + i, static_cast<size_t>(n - i) * sizeof(float));
    simd::store(tmp, f.vec(simd::load<VF>(tmp)));
    std::memcpy(out + i, tmp, static_cast<size_t>(n - i) * sizeof(float));
  }
}

// Maps out[i] = f(in[i]) over a span. 16-bit floats are widened into a float block first, so f
// only ever sees float, double or integer arguments; functors with a vector form run it for
// float and 16-bit floats (with the best ISA the CPU has).
template <class In, class Out, class F>
void map_span(const In* in, Out* out, int64_t n, const F& f) {
  if constexpr (HasVec<F> && std::is_same_v<compute_t<In>, float> && std::is_same_v<In, Out>) {
    simd::with_best_isa([&]<int N>() TS_SIMD_BODY {
      if constexpr (std::is_same_v<In, float>) {
        map_vec<N>(in, out, n, f);
      } else {
        float buf[kBlock];
        for (int64_t base = 0; base < n; base += kBlock) {
          const int64_t m = std::min(kBlock, n - base);
          widen<N>(in + base, buf, m);
          map_vec<N>(buf, buf, m, f);
          narrow<N>(buf, out + base, m);
        }
      }
    });
  } else if constexpr (is_half_float_v<In> || is_half_float_v<Out>) {
    using R = decltype(f(to_computed(in[0])));
    compute_t<In> a[kBlock];
    R r[kBlock];
    for (int64_t base = 0; base < n; base += kBlock) {
      const int64_t m = std::min(kBlock, n - base);
      if constexpr (is_half_float_v<In>) widen(in + base, a, m);
      else for (int64_t j = 0; j < m; ++j) a[j] = in[base + j];
      for (int64_t j = 0; j < m; ++j) r[j] = f(a[j]);
      if constexpr (is_half_float_v<Out> && std::is_same_v<R, float>) narrow(r, out + base, m);
      else for (int64_t j = 0; j < m; ++j) out[base + j] = from_computed<Out>(r[j]);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<Out>(f(in[i]));
  }
}

}  // namespace tessera::elementwise
