// Attention and RotaryEmbedding against a direct double-precision evaluation of the spec.
#include <cmath>
#include <functional>
#include <limits>

#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

struct RefShape {
  int64_t B, Hq, Hk, S, L, D, Dv;
};

// Y[b,h,i,:] = softmax_j(softcap(scale * q.k_j) + bias(b,h,i,j)) . V, zero rows when every bias
// is -inf. Q/K/V are 4-D [B, H, seq, head]; K/V already include any past.
std::vector<double> ref_attention(const RefShape& s, const std::vector<float>& q, const std::vector<float>& k,
                                  const std::vector<float>& v, double scale, double softcap,
                                  const std::function<double(int64_t, int64_t, int64_t, int64_t)>& bias) {
  std::vector<double> y(static_cast<size_t>(s.B * s.Hq * s.S * s.Dv), 0.0);
  const int64_t group = s.Hq / s.Hk;
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.Hq; ++h)
      for (int64_t i = 0; i < s.S; ++i) {
        const int64_t kh = h / group;
        std::vector<double> sc(static_cast<size_t>(s.L));
        bool any = false;
        for (int64_t j = 0; j < s.L; ++j) {
          double dot = 0;
          for (int64_t t = 0; t < s.D; ++t)
            dot += double(q[((b * s.Hq + h) * s.S + i) * s.D + t]) * k[((b * s.Hk + kh) * s.L + j) * s.D + t];
          dot *= scale;
          if (softcap > 0) dot = softcap * std::tanh(dot / softcap);
          const double bj = bias(b, h, i, j);
          any |= bj != kNegInf;
          sc[j] = dot + bj;
        }
        if (!any) continue;
        double mx = kNegInf, sum = 0;
        for (double x : sc) mx = std::max(mx, x);
        for (double& x : sc) sum += (x = std::exp(x - mx));
        for (int64_t j = 0; j < s.L; ++j)
          for (int64_t t = 0; t < s.Dv; ++t)
            y[((b * s.Hq + h) * s.S + i) * s.Dv + t] += sc[j] / sum * v[((b * s.Hk + kh) * s.L + j) * s.Dv + t];
      }
  return y;
}

double no_bias(int64_t, int64_t, int64_t, int64_t) { return 0.0; }

TEST(Attention, GroupedQueryCausal4D) {
  const RefShape s{2, 4, 2, 3, 5, 4, 3};
  auto q = noise(s.B * s.Hq * s.S * s.D, 1), k = noise(s.B * s.Hk * s.L * s.D, 2), v = noise(s.B * s.Hk * s.L * s.Dv, 3);
  Tensor y = run1({"Attention", 23, {tf({s.B, s.Hq, s.S, s.D}, q), tf({s.B, s.Hk, s.L, s.D}, k), tf({s.B, s.Hk, s.L, s.Dv}, v)},
                   {attr_i("is_causal", 1)}});
  auto want = ref_attention(s, q, k, v, 0.5, 0, [](int64_t, int64_t, int64_t i, int64_t j) { return j <= i ? 0.0 : kNegInf; });
  expect_near(y, {s.B, s.Hq, s.S, s.Dv}, want);
}

TEST(Attention, ThreeDInputsMatchFourD) {
  const RefShape s{1, 2, 1, 3, 4, 2, 3};
  auto q = noise(s.B * s.Hq * s.S * s.D, 4), k = noise(s.B * s.Hk * s.L * s.D, 5), v = noise(s.B * s.Hk * s.L * s.Dv, 6);
  // 3-D layout [B, seq, heads * head].
  auto to3d = [](const std::vector<float>& x, int64_t H, int64_t S, int64_t D) {
    std::vector<float> o(x.size());
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < S; ++i)
        for (int64_t t = 0; t < D; ++t) o[(i * H + h) * D + t] = x[(h * S + i) * D + t];
    return o;
  };
  Tensor y = run1({"Attention", 23,
                   {tf({1, s.S, s.Hq * s.D}, to3d(q, s.Hq, s.S, s.D)), tf({1, s.L, s.Hk * s.D}, to3d(k, s.Hk, s.L, s.D)),
                    tf({1, s.L, s.Hk * s.Dv}, to3d(v, s.Hk, s.L, s.Dv))},
                   {attr_i("q_num_heads", 2), attr_i("kv_num_heads", 1), attr_f("scale", 0.25f)}});
  auto want4 = ref_attention(s, q, k, v, 0.25, 0, no_bias);
  std::vector<float> w4(want4.begin(), want4.end());
  auto w3 = to3d(w4, s.Hq, s.S, s.Dv);
  expect_near(y, {1, s.S, s.Hq * s.Dv}, std::vector<double>(w3.begin(), w3.end()));
}

TEST(Attention, PastAndPresentShiftTheCausalFrontier) {
  const RefShape s{1, 2, 2, 2, 5, 3, 2};  // 3 past + 2 new keys
  const int64_t P = 3, N = 2;
  auto q = noise(s.Hq * s.S * s.D, 7), pk = noise(s.Hk * P * s.D, 8), nk = noise(s.Hk * N * s.D, 9);
  auto pv = noise(s.Hk * P * s.Dv, 10), nv = noise(s.Hk * N * s.Dv, 11);
  auto cat = [](const std::vector<float>& a, const std::vector<float>& b, int64_t H, int64_t la, int64_t lb, int64_t d) {
    std::vector<float> o;
    for (int64_t h = 0; h < H; ++h) {
      o.insert(o.end(), a.begin() + h * la * d, a.begin() + (h + 1) * la * d);
      o.insert(o.end(), b.begin() + h * lb * d, b.begin() + (h + 1) * lb * d);
    }
    return o;
  };
  auto k = cat(pk, nk, s.Hk, P, N, s.D), v = cat(pv, nv, s.Hk, P, N, s.Dv);
  auto r = run_op({"Attention", 24,
                   {tf({1, s.Hq, s.S, s.D}, q), tf({1, s.Hk, N, s.D}, nk), tf({1, s.Hk, N, s.Dv}, nv), std::nullopt,
                    tf({1, s.Hk, P, s.D}, pk), tf({1, s.Hk, P, s.Dv}, pv)},
                   {attr_i("is_causal", 1)}, {"y", "present_key", "present_value"}});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  auto want = ref_attention(s, q, k, v, 1 / std::sqrt(3.0), 0,
                            [&](int64_t, int64_t, int64_t i, int64_t j) { return j <= i + P ? 0.0 : kNegInf; });
  expect_near(r.value()[0].tensor(), {1, s.Hq, s.S, s.Dv}, want);
  expect_near(r.value()[1].tensor(), {1, s.Hk, s.L, s.D}, std::vector<double>(k.begin(), k.end()), 0);
  expect_near(r.value()[2].tensor(), {1, s.Hk, s.L, s.Dv}, std::vector<double>(v.begin(), v.end()), 0);
}

TEST(Attention, ShortBoolMaskIsPaddedAndFullyMaskedRowsAreZero) {
  const RefShape s{1, 1, 1, 3, 4, 2, 2};
  auto q = noise(6, 12), k = noise(8, 13), v = noise(8, 14);
  // Mask covers 3 of 4 keys; the 4th is masked by padding; row 0 allows nothing.
  std::vector<bool> m = {false, false, false, true, false, true, true, true, true};
  Tensor y = run1({"Attention", 23, {tf({1, 1, 3, 2}, q), tf({1, 1, 4, 2}, k), tf({1, 1, 4, 2}, v), tb({3, 3}, m)}});
  auto want = ref_attention(s, q, k, v, 1 / std::sqrt(2.0), 0, [&](int64_t, int64_t, int64_t i, int64_t j) {
    return j < 3 && m[i * 3 + j] ? 0.0 : kNegInf;
  });
  expect_near(y, {1, 1, 3, 2}, want);
  EXPECT_EQ(as_doubles(y)[0], 0.0);
  EXPECT_EQ(as_doubles(y)[1], 0.0);
}

TEST(Attention, NonpadSeqlenMasksTailAndAlignsCausal) {
  const RefShape s{2, 1, 1, 2, 4, 2, 2};
  auto q = noise(8, 15), k = noise(16, 16), v = noise(16, 17);
  const std::vector<int64_t> nonpad = {3, 4};
  Tensor y = run1({"Attention", 24,
                   {tf({2, 1, 2, 2}, q), tf({2, 1, 4, 2}, k), tf({2, 1, 4, 2}, v), std::nullopt, std::nullopt,
                    std::nullopt, ti64({2}, nonpad)},
                   {attr_i("is_causal", 1)}});
  auto want = ref_attention(s, q, k, v, 1 / std::sqrt(2.0), 0, [&](int64_t b, int64_t, int64_t i, int64_t j) {
    return j < nonpad[b] && j <= i + nonpad[b] - 2 ? 0.0 : kNegInf;
  });
  expect_near(y, {2, 1, 2, 2}, want);
}

TEST(Attention, QkOutputModesAndSoftcap) {
  auto q = tf({1, 1, 2, 2}, {1, 2, 3, 4}), k = tf({1, 1, 3, 2}, {1, 0, 0, 1, 1, 1}), v = tf({1, 1, 3, 1}, {1, 2, 3});
  Tensor mask = tf({2, 3}, {0, -1, 0, 0.5f, 0, -2});
  const double cap = 2, sc = 1 / std::sqrt(2.0);
  const double raw[] = {1 * sc, 2 * sc, 3 * sc, 3 * sc, 4 * sc, 7 * sc};
  const double m[] = {0, -1, 0, 0.5, 0, -2};
  for (int mode = 0; mode < 4; ++mode) {
    auto r = run_op({"Attention", 23, {q, k, v, mask}, {attr_i("qk_matmul_output_mode", mode), attr_f("softcap", 2)},
                     {"y", "", "", "qk"}});
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    std::vector<double> want(6);
    for (int i = 0; i < 6; ++i) {
      const double capped = cap * std::tanh(raw[i] / cap);
      want[i] = mode == 0 ? raw[i] : mode == 1 ? capped : capped + m[i];
    }
    if (mode == 3)
      for (int row = 0; row < 2; ++row) {
        double sum = 0, e[3];
        for (int j = 0; j < 3; ++j) sum += e[j] = std::exp(cap * std::tanh(raw[row * 3 + j] / cap) + m[row * 3 + j]);
        for (int j = 0; j < 3; ++j) want[row * 3 + j] = e[j] / sum;
      }
    expect_near(r.value()[3].tensor(), {1, 1, 2, 3}, want);
  }
}

TEST(Attention, HalfInputsTrackFloat) {
  auto q = noise(2 * 3 * 4 * 8, 18), k = noise(2 * 3 * 6 * 8, 19), v = noise(2 * 3 * 6 * 8, 20);
  Tensor yf = run1({"Attention", 23, {tf({2, 3, 4, 8}, q), tf({2, 3, 6, 8}, k), tf({2, 3, 6, 8}, v)}});
  Tensor yh = run1({"Attention", 23, {th({2, 3, 4, 8}, q), th({2, 3, 6, 8}, k), th({2, 3, 6, 8}, v)}});
  ASSERT_EQ(yh.dtype(), DataType::float16);
  expect_near(yh, {2, 3, 4, 8}, as_doubles(yf), 3e-3);
}

TEST(Attention, ParallelMatchesSerial) {
  auto q = noise(3 * 4 * 17 * 16, 21), k = noise(3 * 2 * 33 * 16, 22), v = noise(3 * 2 * 33 * 8, 23);
  OpCall call{"Attention", 23, {tf({3, 4, 17, 16}, q), tf({3, 2, 33, 16}, k), tf({3, 2, 33, 8}, v)}, {attr_i("is_causal", 1)}};
  Tensor a = run1(call);
  call.threads = 4;
  Tensor b = run1(call);
  EXPECT_EQ(values_of<float>(a), values_of<float>(b));
}

TEST(Attention, Errors) {
  Tensor q = tf({1, 3, 2, 2}, noise(12, 1)), k = tf({1, 2, 2, 2}, noise(8, 2)), v = tf({1, 2, 2, 2}, noise(8, 3));
  expect_error({"Attention", 23, {q, k, v}}, "multiple of kv_num_heads");
  Tensor q3 = tf({1, 2, 4}, noise(8, 4));
  expect_error({"Attention", 23, {q3, q3, q3}}, "q_num_heads");
  Tensor q4 = tf({1, 1, 2, 2}, noise(4, 5));
  expect_error({"Attention", 23, {q4, q4, q4, tf({3, 3}, noise(9, 6))}}, "attn_mask");
}

TEST(RotaryEmbedding, HalvesAndInterleavedWithPositionIds) {
  // One head of size 4, two positions; the cache rows hold cos/sin for angles (pi/2, 0) etc.
  Tensor x = tf({1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  Tensor cos_c = tf({3, 2}, {1, 1, 0, 1, -1, 0});
  Tensor sin_c = tf({3, 2}, {0, 0, 1, 0, 0, 1});
  Tensor pos = ti64({1, 2}, {2, 1});
  // Halves: pairs (x0, x2), (x1, x3). Position 2 for row 0: pair 0 rotated by pi, pair 1 by pi/2.
  expect_near(run1({"RotaryEmbedding", 23, {x, cos_c, sin_c, pos}}), {1, 1, 2, 4},
              {-1, -4, -3, 2, -7, 6, 5, 8});
  // Interleaved: pairs (x0, x1), (x2, x3).
  expect_near(run1({"RotaryEmbedding", 23, {x, cos_c, sin_c, pos}, {attr_i("interleaved", 1)}}), {1, 1, 2, 4},
              {-1, -2, -4, 3, -6, 5, 7, 8});
}

TEST(RotaryEmbedding, PartialRotation3DWithoutPositionIds) {
  // 3-D input, 2 heads of size 4, rotary dim 2: only the first pair of each head turns.
  Tensor x = tf({1, 1, 8}, {1, 2, 3, 4, 5, 6, 7, 8});
  Tensor cos_c = tf({1, 1, 1}, {0});
  Tensor sin_c = tf({1, 1, 1}, {1});
  expect_near(run1({"RotaryEmbedding", 23, {x, cos_c, sin_c}, {attr_i("num_heads", 2), attr_i("rotary_embedding_dim", 2)}}),
              {1, 1, 8}, {-2, 1, 3, 4, -6, 5, 7, 8});
  expect_error({"RotaryEmbedding", 23, {x, cos_c, sin_c}, {attr_i("rotary_embedding_dim", 2)}}, "num_heads");
}

}  // namespace
}  // namespace tessera::kernel_test
