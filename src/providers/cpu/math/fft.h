// A mixed-radix complex FFT of any length, in double: the length is split into its prime
// factors, each stage doing p-point DFTs over sub-transforms of length n/p. Prime lengths cost
// O(n^2), everything else O(n * sum of factors). A plan is built once per length and is then
// read-only, so one plan serves many threads.
#pragma once

#include <cmath>
#include <complex>
#include <cstdint>
#include <numbers>
#include <vector>

namespace tessera::fft {

using cd = std::complex<double>;

class Plan {
 public:
  explicit Plan(int64_t n) : n_(n) {
    twiddle_.resize(static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k) {
      const double angle = -2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(n);
      twiddle_[k] = cd(std::cos(angle), std::sin(angle));
    }
    for (int64_t m = n, p = 2; m > 1;) {
      if (p * p > m) p = m;
      if (m % p == 0) {
        factors_.push_back(p);
        m /= p;
      } else {
        ++p;
      }
    }
  }

  int64_t size() const { return n_; }

  // out[k] = sum_t in[t] * exp(-+2 pi i k t / n); the inverse is not scaled by 1/n.
  void forward(const cd* in, cd* out) const { run(in, 1, out, n_, 0, 1); }
  void inverse(const cd* in, cd* out) const {
    std::vector<cd> conj_in(in, in + n_);
    for (cd& v : conj_in) v = std::conj(v);
    run(conj_in.data(), 1, out, n_, 0, 1);
    for (int64_t k = 0; k < n_; ++k) out[k] = std::conj(out[k]);
  }

 private:
  // Transform of length n over in[0], in[stride], ...; its twiddles are twiddle_[j * step].
  void run(const cd* in, int64_t stride, cd* out, int64_t n, size_t level, int64_t step) const {
    if (n == 1) {
      out[0] = in[0];
      return;
    }
    const int64_t p = factors_[level], m = n / p;
    for (int64_t r = 0; r < p; ++r) run(in + r * stride, stride * p, out + r * m, m, level + 1, step * p);
    std::vector<cd> t(static_cast<size_t>(p)), y(static_cast<size_t>(p));
    for (int64_t k = 0; k < m; ++k) {
      for (int64_t r = 0; r < p; ++r) t[r] = out[r * m + k] * twiddle_[(r * k * step) % n_];
      for (int64_t q = 0; q < p; ++q) {
        cd s = 0;
        for (int64_t r = 0; r < p; ++r) s += t[r] * twiddle_[((r * q) % p) * m * step % n_];
        y[q] = s;
      }
      for (int64_t q = 0; q < p; ++q) out[k + q * m] = y[q];
    }
  }

  int64_t n_;
  std::vector<cd> twiddle_;
  std::vector<int64_t> factors_;
};

}  // namespace tessera::fft
