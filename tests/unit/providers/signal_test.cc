// DFT (forward, inverse, one-sided both ways, any length), STFT, the three windows and
// MelWeightMatrix, against direct evaluations of the definitions.
#include <cmath>
#include <complex>
#include <numbers>

#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

using cd = std::complex<double>;

std::vector<cd> naive_dft(const std::vector<cd>& x, int64_t n, bool inverse) {
  std::vector<cd> y(static_cast<size_t>(n));
  const double sign = inverse ? 1.0 : -1.0;
  for (int64_t k = 0; k < n; ++k) {
    for (int64_t t = 0; t < n && t < static_cast<int64_t>(x.size()); ++t)
      y[k] += x[t] * std::polar(1.0, sign * 2 * std::numbers::pi * double(k * t) / double(n));
    if (inverse) y[k] /= double(n);
  }
  return y;
}

std::vector<double> interleave(const std::vector<cd>& v) {
  std::vector<double> o;
  for (cd c : v) {
    o.push_back(c.real());
    o.push_back(c.imag());
  }
  return o;
}

TEST(DFT, ComplexForwardAndInverseOfManyLengths) {
  for (int64_t n : {1, 2, 7, 12, 16, 30}) {
    auto raw = noise(2 * n, static_cast<uint32_t>(n));
    std::vector<cd> x;
    for (int64_t t = 0; t < n; ++t) x.emplace_back(raw[2 * t], raw[2 * t + 1]);
    Tensor in = tf({1, n, 2}, raw);
    expect_near(run1({"DFT", 20, {in}}), {1, n, 2}, interleave(naive_dft(x, n, false)), 1e-5);
    expect_near(run1({"DFT", 20, {in}, {attr_i("inverse", 1)}}), {1, n, 2}, interleave(naive_dft(x, n, true)), 1e-5);
  }
}

TEST(DFT, RealOnesidedAxisAndLength) {
  // [2, 5, 1] real signals along axis 1 (opset 17 attribute), zero-padded to length 8.
  auto raw = noise(10, 3);
  Tensor in = tf({2, 5, 1}, raw);
  Tensor y = run1({"DFT", 17, {in, ti64({}, {8})}, {attr_i("axis", 1), attr_i("onesided", 1)}});
  std::vector<double> want;
  for (int b = 0; b < 2; ++b) {
    std::vector<cd> x;
    for (int t = 0; t < 5; ++t) x.emplace_back(raw[b * 5 + t], 0);
    auto full = naive_dft(x, 8, false);
    full.resize(5);
    auto part = interleave(full);
    want.insert(want.end(), part.begin(), part.end());
  }
  expect_near(y, {2, 5, 2}, want, 1e-5);
  // Opset 20 takes the axis as an input; -2 is the default.
  expect_near(run1({"DFT", 20, {in, ti64({}, {8}), ti64({}, {-2})}, {attr_i("onesided", 1)}}), {2, 5, 2}, want, 1e-5);
}

TEST(DFT, IrfftInvertsRfft) {
  for (int64_t n : {6, 7}) {
    auto raw = noise(n, static_cast<uint32_t>(n + 10));
    Tensor spec = run1({"DFT", 20, {tf({1, n, 1}, raw), ti64({}, {n})}, {attr_i("onesided", 1)}});
    Tensor back = run1({"DFT", 20, {spec, ti64({}, {n})}, {attr_i("inverse", 1), attr_i("onesided", 1)}});
    expect_near(back, {1, n, 1}, std::vector<double>(raw.begin(), raw.end()), 1e-5);
  }
}

TEST(DFT, InnerAxisAndDouble) {
  // Axis 0 of [3, 2, 1]: two interleaved signals of length 3.
  std::vector<double> raw = {1, 10, 2, 20, 3, 30};
  Tensor y = run1({"DFT", 20, {td({3, 2, 1}, raw), std::nullopt, ti64({}, {0})}});
  ASSERT_EQ(y.dtype(), DataType::float64);
  auto a = naive_dft({1, 2, 3}, 3, false), b = naive_dft({10, 20, 30}, 3, false);
  expect_near(y, {3, 2, 2},
              {a[0].real(), a[0].imag(), b[0].real(), b[0].imag(), a[1].real(), a[1].imag(), b[1].real(), b[1].imag(),
               a[2].real(), a[2].imag(), b[2].real(), b[2].imag()},
              1e-12);
  expect_error({"DFT", 20, {td({3, 2, 1}, raw), std::nullopt, ti64({}, {2})}}, "axis");
}

TEST(STFT, FramesWindowAndOnesided) {
  auto raw = noise(10, 5);
  Tensor sig = tf({1, 10, 1}, raw);
  Tensor win = tf({4}, {0.5f, 1, 1, 0.5f});
  Tensor y = run1({"STFT", 17, {sig, ti64({}, {3}), win}});
  // Frames start at 0, 3, 6; 4-point DFTs, 3 unique bins.
  std::vector<double> want;
  for (int f = 0; f < 3; ++f) {
    std::vector<cd> x;
    for (int t = 0; t < 4; ++t) x.emplace_back(raw[f * 3 + t] * std::vector<double>{0.5, 1, 1, 0.5}[t], 0);
    auto d = naive_dft(x, 4, false);
    d.resize(3);
    auto p = interleave(d);
    want.insert(want.end(), p.begin(), p.end());
  }
  expect_near(y, {1, 3, 3, 2}, want, 1e-5);
  Tensor two_sided = run1({"STFT", 17, {sig, ti64({}, {3}), std::nullopt, ti64({}, {4})}, {attr_i("onesided", 0)}});
  EXPECT_EQ(shape_to_string(two_sided.shape()), "[1,3,4,2]");
}

TEST(Windows, PeriodicAndSymmetric) {
  const double pi = std::numbers::pi;
  std::vector<double> hann, hamming, blackman_sym;
  for (int n = 0; n < 5; ++n) {
    hann.push_back(std::pow(std::sin(pi * n / 5), 2));
    hamming.push_back(25.0 / 46 - 21.0 / 46 * std::cos(2 * pi * n / 5));
    blackman_sym.push_back(0.42 - 0.5 * std::cos(2 * pi * n / 4) + 0.08 * std::cos(4 * pi * n / 4));
  }
  expect_near(run1({"HannWindow", 17, {ti32({}, {5})}}), {5}, hann);
  expect_near(run1({"HammingWindow", 17, {ti64({}, {5})}}), {5}, hamming);
  Tensor b = run1({"BlackmanWindow", 17, {ti64({}, {5})}, {attr_i("periodic", 0), attr_i("output_datatype", 11)}});
  ASSERT_EQ(b.dtype(), DataType::float64);
  expect_near(b, {5}, blackman_sym, 1e-12);
}

TEST(MelWeightMatrix, TrianglesPeakAtOne) {
  Tensor w = run1({"MelWeightMatrix", 17, {ti32({}, {4}), ti32({}, {32}), ti32({}, {16000}), tf({}, {0}), tf({}, {8000})}});
  ASSERT_EQ(shape_to_string(w.shape()), "[17,4]");
  auto v = as_doubles(w);
  for (int m = 0; m < 4; ++m) {
    double mx = 0;
    for (int k = 0; k < 17; ++k) {
      EXPECT_GE(v[k * 4 + m], 0.0);
      mx = std::max(mx, v[k * 4 + m]);
    }
    EXPECT_EQ(mx, 1.0) << "band " << m;
  }
}

}  // namespace
}  // namespace tessera::kernel_test
