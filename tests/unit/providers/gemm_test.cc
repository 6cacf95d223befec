// The fast GEMM (microkernels/gemm.h) diffed against a naive double-precision triple loop on odd
// shapes, every transpose combination, padded leading dimensions, alpha/beta, the epilogue,
// prepacked operands, A read in place and several threads. Run with TESSERA_ISA=portable / avx2
// to cover the lower ISAs on a machine that has AVX-512.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/thread_pool.h"
#include "providers/cpu/microkernels/gemm.h"

namespace tessera {
namespace {

using kernels::GemmEpilogue;
using kernels::MatrixArg;

struct Case {
  int64_t M, N, K;
};

template <class T>
std::vector<T> random_vector(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(dist(gen));
  return v;
}

// Reference: C = alpha * op(A) op(B) + beta * C (+ residual, bias, clamp), in double.
template <class T>
std::vector<double> reference(const Case& c, bool ta, bool tb, double alpha, const std::vector<T>& A, int64_t lda,
                              const std::vector<T>& B, int64_t ldb, double beta, const std::vector<T>& C0, int64_t ldc,
                              const GemmEpilogue<T>& ep) {
  std::vector<double> out(static_cast<size_t>(c.M * c.N));
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < c.K; ++k) {
        const double a = ta ? A[k * lda + i] : A[i * lda + k];
        const double b = tb ? B[j * ldb + k] : B[k * ldb + j];
        s += a * b;
      }
      double v = alpha * s + (beta != 0 ? beta * C0[i * ldc + j] : 0.0);
      if (ep.residual) v += ep.residual[i * ep.ld_residual + j];
      if (ep.bias_m) v += ep.bias_m[i];
      if (ep.bias_n) v += ep.bias_n[j];
      v = std::min(std::max(v, static_cast<double>(ep.clip_min)), static_cast<double>(ep.clip_max));
      out[static_cast<size_t>(i * c.N + j)] = v;
    }
  return out;
}

template <class T>
void check_case(const Case& c, bool ta, bool tb, T alpha, T beta, int threads, bool pack_a, bool pack_b,
                const GemmEpilogue<T>& ep = {}) {
  SCOPED_TRACE(testing::Message() << "M=" << c.M << " N=" << c.N << " K=" << c.K << " ta=" << ta << " tb=" << tb
                                  << " alpha=" << alpha << " beta=" << beta << " threads=" << threads
                                  << " packA=" << pack_a << " packB=" << pack_b);
  // Leading dimensions a few elements wider than needed, to catch stride mistakes.
  const int64_t lda = (ta ? c.M : c.K) + 3, ldb = (tb ? c.K : c.N) + 5, ldc = c.N + 2;
  const std::vector<T> A = random_vector<T>(static_cast<size_t>((ta ? c.K : c.M) * lda), 1);
  const std::vector<T> B = random_vector<T>(static_cast<size_t>((tb ? c.N : c.K) * ldb), 2);
  std::vector<T> C = random_vector<T>(static_cast<size_t>(c.M * ldc), 3);
  if (beta == T(0)) std::fill(C.begin(), C.end(), std::numeric_limits<T>::quiet_NaN());  // must not be read
  const std::vector<double> want = reference(c, ta, tb, alpha, A, lda, B, ldb, beta, C, ldc, ep);
  kernels::PackedMatrix<T> pa, pb;
  MatrixArg<T> a{A.data(), lda, ta}, b{B.data(), ldb, tb};
  if (pack_a) {
    pa = kernels::pack_a(c.M, c.K, A.data(), lda, ta);
    a.packed = &pa;
  }
  if (pack_b) {
    pb = kernels::pack_b(c.K, c.N, B.data(), ldb, tb);
    b.packed = &pb;
  }
  ThreadPool pool(threads);
  kernels::gemm(c.M, c.N, c.K, alpha, a, b, beta, C.data(), ldc, ep, &pool);
  const double tol = std::is_same_v<T, float> ? 1e-5 * static_cast<double>(c.K + 1) : 1e-12 * static_cast<double>(c.K + 1);
  int bad = 0;
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j) {
      const double got = C[static_cast<size_t>(i * ldc + j)], w = want[static_cast<size_t>(i * c.N + j)];
      if (!(std::fabs(got - w) <= tol * (1 + std::fabs(w))) && bad++ < 5) {
        ADD_FAILURE() << "C[" << i << "," << j << "] = " << got << ", want " << w;
      }
    }
  // The padding columns of C are untouched.
  if (ldc > c.N && c.M > 0 && beta == T(0)) {
    EXPECT_TRUE(std::isnan(C[static_cast<size_t>(c.N)]));
  }
}

// {17, 530, 40} and {20, 203, 1100} read B in place (few row panels) across several column
// blocks, depth blocks (float blocks are up to 1024 deep on AVX2 / AVX-512, 256 on portable) and
// a partial last panel; {70, 300, 2100} packs B per block: three depth blocks, column blocks
// narrowed to stay in L2; {12, 48, 300} ends in a full half-width panel (AVX-512: 32 + 16
// columns), {13, 203, 300} and {65, 129, 33} in partial ones; {21, 49, 300}, {9, 52, 40} and
// {17, 41, 33} in a half panel plus 1-4 narrow columns (AVX-512, AVX2).
const Case kShapes[] = {{1, 1, 1}, {7, 13, 5}, {65, 129, 33}, {1, 100, 37}, {37, 1, 100},
                        {2, 3, 600}, {17, 530, 40}, {20, 203, 1100}, {70, 300, 2100}, {500, 9, 70}, {33, 70, 0},
                        {12, 48, 300}, {13, 203, 300}, {21, 49, 300}, {9, 52, 40}, {17, 41, 33}};

TEST(Gemm, FloatMatchesNaiveOnOddShapes) {
  for (const Case& c : kShapes)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        check_case<float>(c, ta, tb, 1.0f, 0.0f, 1, false, false);
        check_case<float>(c, ta, tb, 1.5f, 0.5f, 1, false, false);
      }
}

TEST(Gemm, FloatThreadedMatchesNaive) {
  for (const Case& c : {Case{65, 129, 33}, Case{130, 530, 300}, Case{1, 1000, 64}, Case{300, 1, 64}, Case{9, 700, 20}})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) check_case<float>(c, ta, tb, 0.75f, 1.0f, 3, false, false);
}

// N == 1 with a packed A runs panel by panel (gemv): {300, 1, 2100} over three depth blocks and
// split between threads.
TEST(Gemm, PrepackedOperands) {
  for (const Case& c : {Case{1, 1, 1}, Case{7, 13, 5}, Case{65, 129, 300}, Case{1, 77, 260}, Case{100, 1, 9},
                        Case{300, 1, 2100}})
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (int threads : {1, 3}) {
          check_case<float>(c, ta, tb, 1.0f, 0.0f, threads, true, false);
          check_case<float>(c, ta, tb, 1.0f, 0.5f, threads, false, true);
          check_case<float>(c, ta, tb, 2.0f, 0.0f, threads, true, true);
        }
}

// A B stored transposed (Linear weights, fed each run in training) is packed by register
// transposes of lanes x lanes tiles: depths and column counts on and off the tile size (16, 8
// and 4 floats on AVX-512, AVX2 and portable), the MLP's shapes, prepacked or not, threaded.
TEST(Gemm, TransposedBPackedByTiles) {
  for (const Case& c : {Case{16, 128, 64}, Case{16, 10, 64}, Case{16, 64, 128}, Case{5, 40, 17}, Case{33, 7, 48},
                        Case{9, 45, 3}})
    for (int threads : {1, 2})
      for (bool pack_b : {false, true}) {
        check_case<float>(c, false, true, 1.0f, 0.0f, threads, false, pack_b);
        check_case<double>(c, true, true, 0.5, 1.0, threads, false, pack_b);
      }
}

// An epilogue adding both biases and clamping to [lo, hi].
GemmEpilogue<float> biases_and_clamp(const std::vector<float>& bias_m, const std::vector<float>& bias_n, float lo,
                                     float hi) {
  GemmEpilogue<float> ep;
  ep.bias_m = bias_m.data();
  ep.bias_n = bias_n.data();
  ep.clip_min = lo;
  ep.clip_max = hi;
  return ep;
}

TEST(Gemm, EpilogueBiasAndClamp) {
  const std::vector<float> bm = random_vector<float>(70, 7), bn = random_vector<float>(140, 8);
  const GemmEpilogue<float> ep = biases_and_clamp(bm, bn, -0.25f, 0.5f);
  for (const Case& c : {Case{65, 129, 33}, Case{1, 129, 300}, Case{65, 1, 30}, Case{9, 9, 0}, Case{65, 49, 33}})
    for (int threads : {1, 3}) {
      check_case<float>(c, false, false, 1.0f, 0.0f, threads, false, false, ep);
      check_case<float>(c, true, true, 0.5f, 1.0f, threads, true, false, ep);
      check_case<float>(c, false, true, 1.0f, 0.0f, threads, false, true, ep);
    }
}

// The residual is added exactly once, however many depth blocks (K = 2100 is three) or threads,
// also on the one-row, one-column and K = 0 paths, and is read with its own row stride.
TEST(Gemm, EpilogueResidual) {
  const std::vector<float> res = random_vector<float>(70 * 147, 9), bm = random_vector<float>(70, 10);
  GemmEpilogue<float> ep;
  ep.residual = res.data();
  ep.ld_residual = 147;
  for (const Case& c : {Case{65, 140, 2100}, Case{20, 140, 40}, Case{1, 129, 300}, Case{65, 1, 30}, Case{9, 9, 0},
                        Case{20, 49, 2100}})
    for (int threads : {1, 3}) {
      check_case<float>(c, false, false, 1.0f, 0.0f, threads, true, false, ep);
      check_case<float>(c, false, false, 1.0f, 0.5f, threads, false, false, ep);
      ep.bias_m = bm.data();
      ep.clip_max = 0.75f;
      check_case<float>(c, true, false, 1.0f, 0.0f, threads, false, true, ep);
      ep.bias_m = nullptr;
      ep.clip_max = std::numeric_limits<float>::infinity();
    }
}

// A row-major A that is not prepacked is read in place (the *_direct_a micro-kernels): the
// transformer layout, activations times packed weights with bias and residual, split between
// threads; partial row panels (M = 37, 197), partial and half-plus-narrow last column panels
// (N = 100, 49), three depth blocks (K = 2100).
TEST(Gemm, RowMajorAReadInPlace) {
  const std::vector<float> res = random_vector<float>(197 * 147, 11), bn = random_vector<float>(147, 12);
  GemmEpilogue<float> ep;
  ep.bias_n = bn.data();
  ep.residual = res.data();
  ep.ld_residual = 147;
  for (const Case& c : {Case{37, 100, 2100}, Case{197, 128, 64}, Case{21, 49, 300}, Case{8, 32, 1}})
    for (int threads : {1, 2, 3}) {
      check_case<float>(c, false, false, 1.0f, 0.0f, threads, false, true, ep);
      check_case<float>(c, false, false, 0.5f, 1.0f, threads, false, false, ep);
    }
}

// A transposed A at most 64 deep that is not prepacked is read in place by the packed-panel
// micro-kernels (a step of lda per k): the weight gradients of training over a batch of 16
// (dW = dY^T X), depths on both sides of 64, partial row panels (M = 10, 37), half-plus-narrow
// last column panels (N = 49), the biases and clamp, beta, and a grid split between threads.
TEST(Gemm, TransposedAReadInPlace) {
  const std::vector<float> bm = random_vector<float>(200, 13), bn = random_vector<float>(200, 14);
  const GemmEpilogue<float> ep = biases_and_clamp(bm, bn, -0.5f, std::numeric_limits<float>::infinity());
  for (const Case& c : {Case{128, 64, 16}, Case{10, 64, 16}, Case{64, 128, 16}, Case{37, 49, 64}, Case{37, 49, 65},
                        Case{200, 130, 3}})
    for (int threads : {1, 2, 3})
      for (bool tb : {false, true}) {
        check_case<float>(c, true, tb, 1.0f, 0.0f, threads, false, false);
        check_case<float>(c, true, tb, 0.5f, 1.0f, threads, false, tb, ep);
        check_case<double>(c, true, tb, 1.0, 0.0, threads, false, false, {});
      }
}

TEST(Gemm, DoubleMatchesNaive) {
  for (const Case& c : kShapes)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) check_case<double>(c, ta, tb, 1.25, 0.5, 2, false, false);
  check_case<double>({40, 50, 300}, false, true, 1.0, 0.0, 1, true, true);
  check_case<double>({45, 1, 300}, false, false, 1.0, 0.5, 2, true, false);
}

TEST(Gemm, GenericIntegersWrapAround) {
  const int64_t M = 5, N = 7, K = 9;
  std::vector<int32_t> A(M * K), B(K * N), C(M * N, 3);
  for (size_t i = 0; i < A.size(); ++i) A[i] = static_cast<int32_t>(i * 7919 % 201) - 100 + (i == 0 ? 2000000000 : 0);
  for (size_t i = 0; i < B.size(); ++i) B[i] = static_cast<int32_t>(i * 104729 % 101) - 50;
  kernels::gemm_generic<int32_t>(false, true, M, N, K, 2, A.data(), K, B.data(), K, 1, C.data(), N);
  // op(B) = B^T with B stored [N, K].
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      uint32_t s = 0;
      for (int64_t k = 0; k < K; ++k) s += static_cast<uint32_t>(A[i * K + k]) * static_cast<uint32_t>(B[j * K + k]);
      EXPECT_EQ(C[i * N + j], static_cast<int32_t>(2u * s + 3u)) << i << "," << j;
    }
}

TEST(Gemm, ReportsIsa) {
  const std::string_view isa = kernels::gemm_isa();
  EXPECT_TRUE(isa == "avx512" || isa == "avx2" || isa == "portable") << isa;
}

}  // namespace
}  // namespace tessera
