// The com.tessera gradient kernels the training builders and fusions write (BatchNormalizationGrad,
// MaxPoolGrad, ConvWeightGrad, ActivationGrad, LinearGrad), each diffed against a naive double-precision reference on odd
// shapes, at one and several threads, in float and double; and their shape errors.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <optional>
#include <vector>

#include "tests/unit/providers/kernel_test_util.h"

namespace tessera {
namespace {

using namespace kernel_test;

constexpr const char* kDomain = "com.tessera";

Tensor to_double(const Tensor& t) {
  std::vector<double> v = as_doubles(t);
  return td(t.shape(), v);
}

// ---- BatchNormalizationGrad ----

struct BatchNormGrads {
  std::vector<double> dx, dscale, dbias;
};

// The gradient as the ONNX-op formulation writes it: dxhat = g * scale,
// dx = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)).
BatchNormGrads naive_batch_norm_grad(const Tensor& g, const Tensor& x, const Tensor& scale, double eps) {
  const std::vector<double> gv = as_doubles(g), xv = as_doubles(x), sv = as_doubles(scale);
  const int64_t n = x.dim(0), c = x.dim(1), inner = x.size() / (n * c), m = n * inner;
  BatchNormGrads out{std::vector<double>(xv.size()), std::vector<double>(c), std::vector<double>(c)};
  for (int64_t ch = 0; ch < c; ++ch) {
    auto at = [&](int64_t b, int64_t i) { return static_cast<size_t>((b * c + ch) * inner + i); };
    double mean = 0, var = 0;
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < inner; ++i) mean += xv[at(b, i)] / m;
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < inner; ++i) var += (xv[at(b, i)] - mean) * (xv[at(b, i)] - mean) / m;
    const double inv_std = 1 / std::sqrt(var + eps);
    double mean_dxhat = 0, mean_dot = 0;
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < inner; ++i) {
        const double xhat = (xv[at(b, i)] - mean) * inv_std, dxhat = gv[at(b, i)] * sv[ch];
        mean_dxhat += dxhat / m;
        mean_dot += dxhat * xhat / m;
        out.dscale[ch] += gv[at(b, i)] * xhat;
        out.dbias[ch] += gv[at(b, i)];
      }
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < inner; ++i) {
        const double xhat = (xv[at(b, i)] - mean) * inv_std;
        out.dx[at(b, i)] = inv_std * (gv[at(b, i)] * sv[ch] - mean_dxhat - xhat * mean_dot);
      }
  }
  return out;
}

TEST(BatchNormalizationGrad, MatchesTheReference) {
  for (Shape shape : {Shape{3, 5, 7, 3}, Shape{4, 3}, Shape{2, 4, 64, 64}, Shape{2, 3, 5}}) {
    const Tensor g = random_f(shape, 1), x = random_f(shape, 2, -3, 5), scale = random_f({shape[1]}, 3);
    const BatchNormGrads want = naive_batch_norm_grad(g, x, scale, 1e-3);
    for (bool dbl : {false, true})
      for (int threads : {1, 3}) {
        SCOPED_TRACE(shape_to_string(shape) + (dbl ? " double" : " float") + " threads " + std::to_string(threads));
        OpCall call{"BatchNormalizationGrad", 1,
                    {dbl ? to_double(g) : g, dbl ? to_double(x) : x, dbl ? to_double(scale) : scale},
                    {attr_f("epsilon", 1e-3f)}, 3, threads, kDomain};
        auto out = run_op(call);
        ASSERT_TRUE(out.is_ok()) << out.status().message();
        const double tol = dbl ? 1e-9 : 1e-4;
        expect_close((*out)[0].tensor(), shape, want.dx, tol, tol);
        expect_close((*out)[1].tensor(), {shape[1]}, want.dscale, tol, tol * 10);
        expect_close((*out)[2].tensor(), {shape[1]}, want.dbias, tol, tol * 10);
      }
  }
}

TEST(BatchNormalizationGrad, WritesOnlyTheRequestedOutputs) {
  const Tensor g = random_f({2, 3, 4}, 4), x = random_f({2, 3, 4}, 5), scale = random_f({3}, 6);
  const BatchNormGrads want = naive_batch_norm_grad(g, x, scale, 1e-5);
  OpCall call{"BatchNormalizationGrad", 1, {g, x, scale}, {}, Outputs{"", "dscale", ""}, 1, kDomain};
  auto out = run_op(call);
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  expect_close((*out)[1].tensor(), {3}, want.dscale);
}

TEST(BatchNormalizationGrad, RejectsMismatchedShapes) {
  expect_error({"BatchNormalizationGrad", 1, {random_f({2, 3, 4}, 1), random_f({2, 3, 4}, 2), random_f({4}, 3)}, {}, 3, 1, kDomain},
               "channels");
  expect_error({"BatchNormalizationGrad", 1, {random_f({2, 3, 5}, 1), random_f({2, 3, 4}, 2), random_f({3}, 3)}, {}, 3, 1, kDomain},
               "differ in shape");
}

// ---- MaxPoolGrad ----

// 1-D and 2-D windows (1-D as H = 1); `kernel`, `stride`, `dilation` per axis (H, W); pads
// {top, left, bottom, right}.
struct Window2d {
  int64_t kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
  bool ceil = false;
};

int64_t pooled(int64_t in, int64_t k, int64_t s, int64_t d, int64_t p0, int64_t p1, bool ceil) {
  const int64_t span = in + p0 + p1 - ((k - 1) * d + 1);
  int64_t out = (ceil ? (span + s - 1) / s : span / s) + 1;
  if (ceil && (out - 1) * s >= in + p0) --out;  // the last window must start inside the input or its left pad
  return out;
}

// Each window's first maximum (row-major scan) gets the window's gradient.
std::vector<double> naive_max_pool_grad(const Tensor& g, const Tensor& x, int64_t H, int64_t W, const Window2d& w) {
  const std::vector<double> gv = as_doubles(g), xv = as_doubles(x);
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t OH = pooled(H, w.kh, w.sh, w.dh, w.pt, w.pb, w.ceil), OW = pooled(W, w.kw, w.sw, w.dw, w.pl, w.pr, w.ceil);
  std::vector<double> dx(xv.size(), 0.0);
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        int64_t best = -1;
        for (int64_t i = 0; i < w.kh; ++i)
          for (int64_t j = 0; j < w.kw; ++j) {
            const int64_t h = oh * w.sh - w.pt + i * w.dh, c = ow * w.sw - w.pl + j * w.dw;
            if (h < 0 || h >= H || c < 0 || c >= W) continue;
            const int64_t at = p * H * W + h * W + c;
            if (best < 0 || xv[at] > xv[best]) best = at;
          }
        if (best >= 0) dx[best] += gv[(p * OH + oh) * OW + ow];
      }
  return dx;
}

void check_max_pool_grad(const Shape& x_shape, const Window2d& w, uint32_t seed, bool ties = false) {
  const bool one_d = x_shape.size() == 3;
  const int64_t H = one_d ? 1 : x_shape[2], W = x_shape.back();
  const int64_t OH = pooled(H, w.kh, w.sh, w.dh, w.pt, w.pb, w.ceil), OW = pooled(W, w.kw, w.sw, w.dw, w.pl, w.pr, w.ceil);
  Shape y_shape{x_shape[0], x_shape[1]};
  if (!one_d) y_shape.push_back(OH);
  y_shape.push_back(OW);
  Tensor x = random_f(x_shape, seed);
  if (ties)  // values from {0, 1}: windows with several maxima
    for (int64_t i = 0; i < x.size(); ++i) x.data<float>()[i] = x.data<float>()[i] > 0 ? 1.0f : 0.0f;
  const Tensor g = random_f(y_shape, seed + 1);
  std::vector<Attribute> attrs;
  if (one_d) {
    attrs = {attr_ints("kernel_shape", {w.kw}), attr_ints("strides", {w.sw}), attr_ints("dilations", {w.dw}),
             attr_ints("pads", {w.pl, w.pr})};
  } else {
    attrs = {attr_ints("kernel_shape", {w.kh, w.kw}), attr_ints("strides", {w.sh, w.sw}),
             attr_ints("dilations", {w.dh, w.dw}), attr_ints("pads", {w.pt, w.pl, w.pb, w.pr})};
  }
  attrs.push_back(attr_i("ceil_mode", w.ceil));
  const std::vector<double> want = naive_max_pool_grad(g, x, H, W, w);
  for (bool dbl : {false, true})
    for (int threads : {1, 3}) {
      SCOPED_TRACE(shape_to_string(x_shape) + (dbl ? " double" : " float") + " threads " + std::to_string(threads));
      OpCall call{"MaxPoolGrad", 1, {dbl ? to_double(g) : g, dbl ? to_double(x) : x}, attrs, 1, threads, kDomain};
      expect_close(run1(call), x_shape, want, 1e-6, 1e-6);
    }
}

TEST(MaxPoolGrad, NonOverlappingWindows) { check_max_pool_grad({2, 3, 8, 6}, {2, 2, 2, 2, 1, 1, 0, 0, 0, 0}, 1); }

TEST(MaxPoolGrad, OverlappingPaddedWindowsSumTheirGradients) {
  check_max_pool_grad({2, 3, 5, 7}, {3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, 2);
}

TEST(MaxPoolGrad, TiesGoToTheFirstMaximum) { check_max_pool_grad({1, 2, 6, 6}, {3, 2, 2, 1, 1, 1, 1, 0, 1, 0}, 3, true); }

TEST(MaxPoolGrad, DilatedCeilModeAndOneDimensional) {
  check_max_pool_grad({2, 2, 9, 8}, {2, 3, 2, 2, 2, 1, 0, 1, 0, 1, true}, 4);
  check_max_pool_grad({3, 2, 11}, {1, 3, 1, 2, 1, 1, 0, 1, 0, 0}, 5);
}

TEST(MaxPoolGrad, ManyPlanesOnThePool) { check_max_pool_grad({8, 16, 32, 32}, {2, 2, 2, 2, 1, 1, 0, 0, 0, 0}, 6); }

TEST(MaxPoolGrad, RejectsAGradientOfTheWrongShape) {
  expect_error({"MaxPoolGrad", 1, {random_f({1, 2, 3, 3}, 1), random_f({1, 2, 8, 8}, 2)},
                {attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {2, 2})}, 1, 1, kDomain},
               "is not MaxPool's output shape");
}

// ---- ActivationGrad ----

// dX from dY and the activation's output Y, in double.
double naive_activation_grad(const std::string& activation, double g, double y) {
  if (activation == "Relu") return y > 0 ? g : 0.0;
  if (activation == "Sigmoid") return g * y * (1 - y);
  return g * (1 - y * y);  // Tanh
}

TEST(ActivationGrad, MatchesTheReference) {
  // The 3 x 40000 case splits over the pool; Y holds exact zeros (Relu's dX is 0 there).
  for (Shape shape : {Shape{7}, Shape{3, 5, 7}, Shape{3, 40000}}) {
    const Tensor g = random_f(shape, 1, -3, 3);
    std::vector<float> yv(static_cast<size_t>(shape_size(shape)));
    const std::vector<double> random_y = as_doubles(random_f(shape, 2));
    for (size_t i = 0; i < yv.size(); ++i) yv[i] = i % 5 == 0 ? 0.0f : static_cast<float>(random_y[i]);
    const Tensor y = tf(shape, yv);
    const std::vector<double> gv = as_doubles(g), yf = as_doubles(y);
    for (const std::string activation : {"Relu", "Sigmoid", "Tanh"}) {
      std::vector<double> want(gv.size());
      for (size_t i = 0; i < gv.size(); ++i) want[i] = naive_activation_grad(activation, gv[i], yf[i]);
      for (bool dbl : {false, true})
        for (int threads : {1, 3}) {
          SCOPED_TRACE(activation + " " + shape_to_string(shape) + (dbl ? " double" : " float") + " threads " +
                       std::to_string(threads));
          OpCall call{"ActivationGrad", 1, {dbl ? to_double(g) : g, dbl ? to_double(y) : y}, {attr_s("activation", activation)},
                      1, threads, kDomain};
          auto out = run_op(call);
          ASSERT_TRUE(out.is_ok()) << out.status().message();
          const double tol = dbl ? 1e-12 : 1e-6;
          expect_close((*out)[0].tensor(), shape, want, tol, tol);
        }
    }
  }
}

TEST(ActivationGrad, RejectsMismatchedInputsAndUnknownActivations) {
  expect_error({"ActivationGrad", 1, {random_f({2, 3}, 1), random_f({3, 2}, 2)}, {attr_s("activation", "Relu")}, 1, 1, kDomain},
               "differ in shape");
  expect_error({"ActivationGrad", 1, {random_f({2, 3}, 1), to_double(random_f({2, 3}, 2))}, {attr_s("activation", "Tanh")}, 1, 1,
                kDomain},
               "one element type");
  expect_error({"ActivationGrad", 1, {random_f({2, 3}, 1), random_f({2, 3}, 2)}, {attr_s("activation", "Gelu")}, 1, 1, kDomain},
               "has no ActivationGrad");
}

// ---- ConvWeightGrad ----

struct Conv2d {
  int64_t group, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
};

// dW[m, c, i, j] = sum over n and output positions of dY[n, m, o] * X[n, group_of(m) * Cg + c, in(o, i, j)].
std::vector<double> naive_weight_grad(const Tensor& dy, const Tensor& x, int64_t H, int64_t W, const Conv2d& p) {
  const std::vector<double> gv = as_doubles(dy), xv = as_doubles(x);
  const int64_t N = x.dim(0), C = x.dim(1), M = dy.dim(1), Cg = C / p.group, Mg = M / p.group;
  const int64_t OH = pooled(H, p.kh, p.sh, p.dh, p.pt, p.pb, false), OW = pooled(W, p.kw, p.sw, p.dw, p.pl, p.pr, false);
  std::vector<double> dw(static_cast<size_t>(M * Cg * p.kh * p.kw), 0.0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t c = 0; c < Cg; ++c)
      for (int64_t i = 0; i < p.kh; ++i)
        for (int64_t j = 0; j < p.kw; ++j) {
          double s = 0;
          for (int64_t n = 0; n < N; ++n)
            for (int64_t oh = 0; oh < OH; ++oh)
              for (int64_t ow = 0; ow < OW; ++ow) {
                const int64_t h = oh * p.sh - p.pt + i * p.dh, w = ow * p.sw - p.pl + j * p.dw;
                if (h < 0 || h >= H || w < 0 || w >= W) continue;
                s += gv[((n * M + m) * OH + oh) * OW + ow] * xv[((n * C + (m / Mg) * Cg + c) * H + h) * W + w];
              }
          dw[((m * Cg + c) * p.kh + i) * p.kw + j] = s;
        }
  return dw;
}

void check_weight_grad(const Shape& x_shape, int64_t M, const Conv2d& p, uint32_t seed) {
  const bool one_d = x_shape.size() == 3;
  const int64_t H = one_d ? 1 : x_shape[2], W = x_shape.back();
  const int64_t OH = pooled(H, p.kh, p.sh, p.dh, p.pt, p.pb, false), OW = pooled(W, p.kw, p.sw, p.dw, p.pl, p.pr, false);
  Shape y_shape{x_shape[0], M}, w_shape{M, x_shape[1] / p.group};
  if (!one_d) {
    y_shape.push_back(OH);
    w_shape.push_back(p.kh);
  }
  y_shape.push_back(OW);
  w_shape.push_back(p.kw);
  const Tensor x = random_f(x_shape, seed), dy = random_f(y_shape, seed + 1);
  std::vector<Attribute> attrs{attr_i("group", p.group)};
  if (one_d) {
    attrs.insert(attrs.end(), {attr_ints("kernel_shape", {p.kw}), attr_ints("strides", {p.sw}),
                               attr_ints("dilations", {p.dw}), attr_ints("pads", {p.pl, p.pr})});
  } else {
    attrs.insert(attrs.end(), {attr_ints("kernel_shape", {p.kh, p.kw}), attr_ints("strides", {p.sh, p.sw}),
                               attr_ints("dilations", {p.dh, p.dw}), attr_ints("pads", {p.pt, p.pl, p.pb, p.pr})});
  }
  const std::vector<double> want = naive_weight_grad(dy, x, H, W, p);
  for (bool dbl : {false, true})
    for (int threads : {1, 3}) {
      SCOPED_TRACE(shape_to_string(x_shape) + (dbl ? " double" : " float") + " threads " + std::to_string(threads));
      OpCall call{"ConvWeightGrad", 1, {dbl ? to_double(dy) : dy, dbl ? to_double(x) : x}, attrs, 1, threads, kDomain};
      expect_close(run1(call), w_shape, want, dbl ? 1e-10 : 1e-4, dbl ? 1e-10 : 1e-4);
    }
}

TEST(ConvWeightGrad, StridedPaddedDilated) {
  check_weight_grad({3, 5, 9, 7}, 4, {1, 3, 2, 2, 1, 1, 2, 1, 0, 2, 1}, 1);
}

TEST(ConvWeightGrad, Grouped) { check_weight_grad({2, 6, 5, 5}, 4, {2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, 2); }

TEST(ConvWeightGrad, OneDimensional) { check_weight_grad({2, 3, 13}, 5, {1, 1, 4, 1, 3, 1, 1, 0, 2, 0, 1}, 3); }

TEST(ConvWeightGrad, ImagesSplitOverThePool) {
  // 8 images of 16 x 72 x 256 multiply-adds: past the size from which images run as tasks.
  check_weight_grad({8, 8, 16, 16}, 16, {1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, 4);
}

TEST(ConvWeightGrad, RejectsMismatchedShapes) {
  const std::vector<Attribute> attrs{attr_ints("kernel_shape", {3, 3})};
  expect_error({"ConvWeightGrad", 1, {random_f({2, 4, 5, 5}, 1), random_f({2, 3, 6, 6}, 2)}, attrs, 1, 1, kDomain},
               "is not the convolution's output");
  expect_error({"ConvWeightGrad", 1, {random_f({3, 4, 4, 4}, 1), random_f({2, 3, 6, 6}, 2)}, attrs, 1, 1, kDomain},
               "images");
  expect_error({"ConvWeightGrad", 1, {random_f({2, 3, 4, 4}, 1), random_f({2, 4, 6, 6}, 2)},
                {attr_ints("kernel_shape", {3, 3}), attr_i("group", 2)}, 1, 1, kDomain},
               "divisible by group");
}

// ---- LinearGrad ----

// A Linear layer's gradients in double: g = dY (or its activation's gradient from Y), dX = g W,
// dW = g^T X, db = column sums of g.
struct LinearGrads {
  std::vector<double> dx, dw, db;
};

LinearGrads naive_linear_grad(const Tensor& dy, const Tensor& x, const Tensor& w, const Tensor* y, const std::string& act) {
  const int64_t M = dy.dim(0), N = dy.dim(1), K = x.dim(1);
  std::vector<double> g = as_doubles(dy);
  if (y) {
    const std::vector<double> yv = as_doubles(*y);
    for (size_t i = 0; i < g.size(); ++i) g[i] = naive_activation_grad(act, g[i], yv[i]);
  }
  const std::vector<double> xv = as_doubles(x), wv = as_doubles(w);
  LinearGrads r{std::vector<double>(M * K, 0.0), std::vector<double>(N * K, 0.0), std::vector<double>(N, 0.0)};
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      const double gij = g[i * N + j];
      r.db[j] += gij;
      for (int64_t k = 0; k < K; ++k) {
        r.dx[i * K + k] += gij * wv[j * K + k];
        r.dw[j * K + k] += gij * xv[i * K + k];
      }
    }
  return r;
}

TEST(LinearGrad, MatchesTheReference) {
  // [M, N, K]: one element, the test MLP's layers at batch 16, odd sizes, a size spread over
  // several GEMM tiles and the pool, and an empty batch (dW and db are zeros).
  const std::vector<std::array<int64_t, 3>> sizes = {{1, 1, 1}, {16, 10, 64}, {16, 128, 64}, {7, 13, 5}, {67, 150, 129}, {0, 3, 4}};
  uint32_t seed = 1;
  for (const auto& [M, N, K] : sizes) {
    const Tensor dy = random_f({M, N}, seed++, -2, 2), x = random_f({M, K}, seed++), w = random_f({N, K}, seed++);
    std::vector<float> yv(static_cast<size_t>(M * N));
    const std::vector<double> random_y = as_doubles(random_f({M, N}, seed++, -0.9f, 0.9f));
    for (size_t i = 0; i < yv.size(); ++i) yv[i] = i % 3 == 0 ? 0.0f : static_cast<float>(random_y[i]);
    const Tensor y = tf({M, N}, yv);
    for (const std::string act : {"", "Relu", "Sigmoid", "Tanh"}) {
      const LinearGrads want = naive_linear_grad(dy, x, w, act.empty() ? nullptr : &y, act);
      for (bool want_dx : {false, true})
        for (bool want_db : {false, true})
          for (bool dbl : {false, true})
            for (int threads : {1, 3}) {
              SCOPED_TRACE("[" + std::to_string(M) + ", " + std::to_string(N) + ", " + std::to_string(K) + "] '" + act + "'" +
                           (want_dx ? " dX" : "") + (want_db ? " db" : "") + (dbl ? " double" : " float") + " threads " +
                           std::to_string(threads));
              auto as = [&](const Tensor& t) { return dbl ? to_double(t) : t; };
              std::vector<std::optional<Value>> inputs{as(dy), as(x)};
              inputs.push_back(want_dx ? std::optional<Value>(as(w)) : std::nullopt);
              if (!act.empty()) inputs.push_back(as(y));
              std::vector<Attribute> attrs;
              if (!act.empty()) attrs.push_back(attr_s("activation", act));
              const Outputs outputs = want_db ? Outputs{want_dx ? "dX" : "", "dW", "db"} : Outputs{want_dx ? "dX" : "", "dW"};
              OpCall call{"LinearGrad", 1, inputs, attrs, outputs, threads, kDomain};
              auto out = run_op(call);
              ASSERT_TRUE(out.is_ok()) << out.status().message();
              const double tol = dbl ? 1e-11 : 2e-5;
              if (want_dx) expect_close((*out)[0].tensor(), {M, K}, want.dx, tol, tol);
              expect_close((*out)[1].tensor(), {N, K}, want.dw, tol, tol);
              if (want_db) expect_close((*out)[2].tensor(), {N}, want.db, tol, tol);
            }
    }
  }
}

TEST(LinearGrad, RejectsMismatchedInputs) {
  const Outputs all{"dX", "dW", "db"};
  expect_error({"LinearGrad", 1, {random_f({4, 3}, 1), random_f({5, 2}, 2), random_f({3, 2}, 3)}, {}, all, 1, kDomain},
               "differ in rows");
  expect_error({"LinearGrad", 1, {random_f({4, 3}, 1), random_f({4, 2}, 2), random_f({2, 3}, 3)}, {}, all, 1, kDomain},
               "is not [3, 2]");
  expect_error({"LinearGrad", 1, {random_f({4, 3}, 1), random_f({4, 2}, 2)}, {}, all, 1, kDomain}, "dX needs W");
  expect_error({"LinearGrad", 1, {random_f({4, 3}, 1), random_f({4, 2}, 2), random_f({3, 2}, 3)}, {attr_s("activation", "Relu")},
                all, 1, kDomain},
               "output Y (input 3) is missing");
  expect_error({"LinearGrad", 1, {random_f({4, 3}, 1), random_f({4, 2}, 2), random_f({3, 2}, 3), random_f({3, 4}, 4)},
                {attr_s("activation", "Tanh")}, all, 1, kDomain},
               "differ in shape");
  expect_error({"LinearGrad", 1, {random_f({4, 3}, 1), to_double(random_f({4, 2}, 2)), random_f({3, 2}, 3)}, {}, all, 1, kDomain},
               "one element type");
  expect_error({"LinearGrad", 1, {random_f({4, 3, 1}, 1), random_f({4, 2}, 2)}, {}, Outputs{"", "dW"}, 1, kDomain}, "2-D");
  expect_error({"LinearGrad", 1, {random_f({4, 3}, 1), random_f({4, 2}, 2), random_f({3, 2}, 3), random_f({4, 3}, 4)},
                {attr_s("activation", "Gelu")}, all, 1, kDomain},
               "has no LinearGrad");
}

}  // namespace
}  // namespace tessera
