// CausalConvWithState against a direct evaluation, and streaming: one call over a sequence
// equals calls over its pieces with the state carried between them.
#include <cmath>

#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

// y[b,c,t] = act(bias[c] + sum_j w[c,j] * padded[b,c,t+j]) with padded = [past | x].
std::vector<double> reference(int64_t B, int64_t C, int64_t L, int64_t k, const std::vector<float>& x,
                              const std::vector<float>& w, const std::vector<float>* bias, const std::vector<float>* past,
                              bool silu) {
  std::vector<double> y(static_cast<size_t>(B * C * L));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t t = 0; t < L; ++t) {
        double acc = bias ? (*bias)[c] : 0.0;
        for (int64_t j = 0; j < k; ++j) {
          const int64_t p = t + j - (k - 1);  // position in x; negative reaches into past
          const double xv = p >= 0 ? x[(b * C + c) * L + p] : past ? (*past)[(b * C + c) * (k - 1) + (k - 1 + p)] : 0.0;
          acc += w[c * k + j] * xv;
        }
        y[(b * C + c) * L + t] = silu ? acc / (1.0 + std::exp(-acc)) : acc;
      }
  return y;
}

TEST(CausalConvWithState, BiasPastAndSilu) {
  const int64_t B = 2, C = 3, L = 5, k = 4;
  auto x = noise(B * C * L, 1), w = noise(C * k, 2), bias = noise(C, 3), past = noise(B * C * (k - 1), 4);
  for (bool silu : {false, true}) {
    OpCall call{"CausalConvWithState", 27, {tf({B, C, L}, x), tf({C, 1, k}, w), tf({C}, bias), tf({B, C, k - 1}, past)}, {}, 2, 2};
    if (silu) call.attrs.push_back(attr_s("activation", "swish"));
    auto r = run_op(call);
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    expect_close(r.value()[0].tensor(), {B, C, L}, reference(B, C, L, k, x, w, &bias, &past, silu));
    // present_state is the last k-1 inputs.
    std::vector<double> want_state;
    for (int64_t bc = 0; bc < B * C; ++bc)
      for (int64_t j = L - (k - 1); j < L; ++j) want_state.push_back(x[bc * L + j]);
    expect_close(r.value()[1].tensor(), {B, C, k - 1}, want_state, 0, 0);
  }
}

TEST(CausalConvWithState, ChunkedCallsMatchOneCall) {
  const int64_t B = 1, C = 2, L = 7, k = 3;
  auto x = noise(B * C * L, 5), w = noise(C * k, 6);
  Tensor whole = run1({"CausalConvWithState", 27, {tf({B, C, L}, x), tf({C, 1, k}, w)}, {attr_s("activation", "silu")}, 2});

  // Pieces of 4, 1 and 2 positions: the second is a single decode step, shorter than k-1.
  std::optional<Tensor> state;
  std::vector<double> stitched(static_cast<size_t>(B * C * L));
  int64_t t0 = 0;
  for (int64_t len : {4, 1, 2}) {
    std::vector<float> piece;
    for (int64_t c = 0; c < C; ++c) piece.insert(piece.end(), x.begin() + c * L + t0, x.begin() + c * L + t0 + len);
    auto r = run_op({"CausalConvWithState", 27, {tf({B, C, len}, piece), tf({C, 1, k}, w), std::nullopt, state},
                     {attr_s("activation", "silu")}, 2});
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    const Tensor& y = r.value()[0].tensor();
    for (int64_t c = 0; c < C; ++c)
      for (int64_t t = 0; t < len; ++t) stitched[c * L + t0 + t] = y.data<float>()[c * len + t];
    state = r.value()[1].tensor();
    t0 += len;
  }
  expect_close(whole, {B, C, L}, stitched, 1e-6, 1e-7);
}

TEST(CausalConvWithState, ShortInputKeepsPastInState) {
  // L = 1 < k - 1 = 3: the new state is the last two past values, then the input.
  const int64_t k = 4;
  Tensor state = run1({"CausalConvWithState", 27,
                       {tf({1, 1, 1}, {9}), tf({1, 1, k}, {1, 1, 1, 1}), std::nullopt, tf({1, 1, k - 1}, {1, 2, 3})}, {}, 2},
                      1);
  expect_close(state, {1, 1, 3}, {2, 3, 9}, 0, 0);
  // Kernel size 1: a per-channel scale with an empty state.
  auto r = run_op({"CausalConvWithState", 27, {tf({1, 2, 2}, {1, 2, 3, 4}), tf({2, 1, 1}, {2, -1})}, {}, 2});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  expect_close(r.value()[0].tensor(), {1, 2, 2}, {2, 4, -3, -4});
  EXPECT_EQ(shape_to_string(r.value()[1].tensor().shape()), "[1,2,0]");
}

TEST(CausalConvWithState, HalfPrecision) {
  const int64_t B = 1, C = 2, L = 6, k = 3;
  auto x = noise(B * C * L, 7), w = noise(C * k, 8);
  expect_error({"CausalConvWithState", 27, {th({B, C, L}, x), tf({C, 1, k}, w)}, {}, 2}, "must have the type of input");
  Tensor yh = run1({"CausalConvWithState", 27, {th({B, C, L}, x), th({C, 1, k}, w)}, {}, 2});
  EXPECT_EQ(yh.dtype(), DataType::float16);
  expect_close(yh, {B, C, L}, reference(B, C, L, k, x, w, nullptr, nullptr, false), 5e-3, 5e-3);
}

TEST(CausalConvWithState, RejectsBadShapesAndActivation) {
  expect_error({"CausalConvWithState", 27, {tf({1, 2, 3}, noise(6, 1)), tf({3, 1, 2}, noise(6, 2))}, {}, 2},
               "weight must have shape");
  expect_error({"CausalConvWithState", 27, {tf({1, 2, 3}, noise(6, 1)), tf({2, 1, 2}, noise(4, 2)), std::nullopt,
                                            tf({1, 2, 2}, noise(4, 3))}, {}, 2},
               "past_state must have shape");
  expect_error({"CausalConvWithState", 27, {tf({1, 2, 3}, noise(6, 1)), tf({2, 1, 2}, noise(4, 2))},
                {attr_s("activation", "gelu")}, 2},
               "activation must be");
}

}  // namespace
}  // namespace tessera::kernel_test
