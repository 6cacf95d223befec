// The float32 array kernels behind the reduction / softmax / normalization families: every ISA
// variant this CPU runs, against double-precision references on odd lengths and special values.
#include "providers/cpu/microkernels/vector_math.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace tessera::reduce_impl::vec {
namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

std::vector<float> random_values(int64_t n, float lo, float hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(rng);
  return v;
}

TEST(VectorMath, SumsMatchDouble) {
  for (const Kernels* k : available_kernels()) {
    for (int64_t n : {0, 1, 7, 8, 9, 31, 33, 64, 1001}) {
      std::vector<float> x = random_values(n, -2, 3, static_cast<unsigned>(n));
      double s = 0, sq = 0, ab = 0, dev = 0, ex = 0;
      for (float v : x) {
        s += v;
        sq += double(v) * v;
        ab += std::fabs(v);
        dev += (v - 0.25) * (v - 0.25);
        ex += std::exp(double(v) - 1.5);
      }
      SCOPED_TRACE(std::string(k->name) + " n=" + std::to_string(n));
      EXPECT_NEAR(k->sum(x.data(), n), s, 1e-4 * (1 + std::fabs(s)));
      EXPECT_NEAR(k->sum_sq(x.data(), n), sq, 1e-4 * (1 + sq));
      EXPECT_NEAR(k->sum_abs(x.data(), n), ab, 1e-4 * (1 + ab));
      EXPECT_NEAR(k->sum_sq_dev(x.data(), n, 0.25f), dev, 1e-4 * (1 + dev));
      EXPECT_NEAR(k->exp_sum(x.data(), n, 1.5f), ex, 1e-5 * (1 + ex));
      std::vector<float> y(static_cast<size_t>(n));
      EXPECT_NEAR(k->exp_shift_store(x.data(), y.data(), n, 1.5f), ex, 1e-5 * (1 + ex));
      for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(y[static_cast<size_t>(i)], std::exp(double(x[static_cast<size_t>(i)]) - 1.5), 2e-7 * (1 + y[static_cast<size_t>(i)]));
    }
  }
}

TEST(VectorMath, ExpEdgeCases) {
  std::vector<float> x = {0, -0.0f, 1, -1, 88.0f, 88.5f, 89, -87, -87.5f, -100, -kInf, kInf, kNaN, 10, -10, 0.5f, 20};
  for (const Kernels* k : available_kernels()) {
    std::vector<float> y(x.size()), zero(x.size(), 0.0f);
    k->exp_sub(x.data(), zero.data(), y.data(), static_cast<int64_t>(x.size()));
    for (size_t i = 0; i < x.size(); ++i) {
      const float want = std::exp(x[i]);
      SCOPED_TRACE(std::string(k->name) + " x=" + std::to_string(x[i]));
      if (std::isnan(want)) EXPECT_TRUE(std::isnan(y[i]));
      else if (std::isinf(want)) EXPECT_EQ(y[i], want);
      else EXPECT_NEAR(y[i], want, 3e-7 * want + 2e-38);  // underflow may flush to 0
    }
  }
}

TEST(VectorMath, ExtremesPropagateNaN) {
  for (const Kernels* k : available_kernels()) {
    for (int64_t n : {1, 5, 8, 17, 40}) {
      std::vector<float> x = random_values(n, -5, 5, 99);
      float mx = -kInf, mn = kInf;
      for (float v : x) mx = std::max(mx, v), mn = std::min(mn, v);
      EXPECT_EQ(k->max(x.data(), n), mx);
      EXPECT_EQ(k->min(x.data(), n), mn);
      x[static_cast<size_t>(n / 2)] = kNaN;
      EXPECT_TRUE(std::isnan(k->max(x.data(), n))) << k->name << " n=" << n;
      EXPECT_TRUE(std::isnan(k->min(x.data(), n)));
      std::vector<float> acc(static_cast<size_t>(n), 0.0f);
      k->max_rows(acc.data(), x.data(), n);
      EXPECT_TRUE(std::isnan(acc[static_cast<size_t>(n / 2)]));
      k->max_rows(acc.data(), std::vector<float>(static_cast<size_t>(n), 100.0f).data(), n);
      EXPECT_TRUE(std::isnan(acc[static_cast<size_t>(n / 2)]));  // a NaN already there sticks
      if (n > 1) {
        EXPECT_EQ(acc[0], 100.0f);
      }
    }
    EXPECT_EQ(k->max(nullptr, 0), -kInf);
    EXPECT_EQ(k->min(nullptr, 0), kInf);
  }
}

TEST(VectorMath, ElementwiseOps) {
  for (const Kernels* k : available_kernels()) {
    const int64_t n = 19;
    std::vector<float> x = random_values(n, -1, 1, 5), s = random_values(n, 0.5f, 2, 6), b = random_values(n, -1, 1, 7);
    std::vector<float> y(static_cast<size_t>(n)), acc(static_cast<size_t>(n), 1.0f);
    k->norm_affine(x.data(), y.data(), n, 0.1f, 2.0f, s.data(), b.data());
    for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], (x[i] - 0.1f) * 2.0f * s[i] + b[i], 1e-6);
    k->norm_affine(x.data(), y.data(), n, 0.1f, 2.0f, s.data(), nullptr);
    for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], (x[i] - 0.1f) * 2.0f * s[i], 1e-6);
    k->axpb(x.data(), y.data(), n, 3.0f, -1.0f);
    for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], x[i] * 3 - 1, 1e-6);
    k->sub_rows(x.data(), s.data(), y.data(), n);
    for (size_t i = 0; i < y.size(); ++i) EXPECT_FLOAT_EQ(y[i], x[i] - s[i]);
    k->sq_add_rows(acc.data(), x.data(), n);
    k->abs_add_rows(acc.data(), x.data(), n);
    for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(acc[i], 1 + x[i] * x[i] + std::fabs(x[i]), 1e-6);
  }
}

}  // namespace
}  // namespace tessera::reduce_impl::vec
