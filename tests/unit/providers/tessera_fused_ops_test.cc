// The com.tessera ops the transformer fusions write (FusedMatMul, LayerNormalization,
// SkipLayerNormalization, Gelu), each diffed against a naive double-precision reference on odd
// shapes, with constant (prepacked) and fed weights, broadcast operands and several threads.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/unit/providers/kernel_test_util.h"

namespace tessera {
namespace {

using namespace kernel_test;

constexpr const char* kDomain = "com.tessera";

double gelu_ref(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
double gelu_tanh_ref(double x) {
  return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}

// y[b, m, n] = act(sum_k a[b, m, k] * w[(b), k, n] + bias[n]); w 2-D or batched like a.
std::vector<double> naive_fused_matmul(const Tensor& a, const Tensor& w, const Tensor& bias, const std::string& act) {
  const int64_t K = a.shape().back(), N = w.shape().back(), M = a.shape()[a.rank() - 2];
  const int64_t batches = a.size() / (M * K);
  const bool batched_w = w.rank() > 2;
  std::vector<double> y;
  for (int64_t b = 0; b < batches; ++b)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double s = bias.data<float>()[n];
        for (int64_t k = 0; k < K; ++k)
          s += static_cast<double>(a.data<float>()[(b * M + m) * K + k]) *
               w.data<float>()[(batched_w ? b * K * N : 0) + k * N + n];
        if (act == "Relu") s = std::max(s, 0.0);
        if (act == "Gelu") s = gelu_ref(s);
        y.push_back(s);
      }
  return y;
}

TEST(TesseraFusedMatMul, MatchesTheReferenceForEachActivation) {
  const Tensor a = random_f({2, 3, 37}, 1, -2, 2), w = random_f({37, 19}, 2), bias = random_f({19}, 3);
  for (const char* act : {"", "Relu", "Gelu"}) {
    const std::vector<double> want = naive_fused_matmul(a, w, bias, act);
    for (bool constant : {false, true})
      for (int threads : {1, 3}) {
        OpCall call{"FusedMatMul", 1, {a, w, bias}, {}, 1, threads, kDomain};
        if (*act) call.attrs.push_back(attr_s("activation", act));
        if (constant) call.constant_inputs = {1, 2};
        expect_close(run1(call), {2, 3, 19}, want);
      }
  }
}

TEST(TesseraFusedMatMul, BatchedWeightsAndBigRows) {
  const Tensor a = random_f({2, 5, 9}, 4), w = random_f({2, 9, 6}, 5), bias = random_f({6}, 6);
  OpCall call{"FusedMatMul", 1, {a, w, bias}, {attr_s("activation", "Gelu")}, 1, 2, kDomain};
  expect_close(run1(call), {2, 5, 6}, naive_fused_matmul(a, w, bias, "Gelu"));
  // Enough rows and columns for several GEMM tasks and GELU chunks.
  const Tensor a2 = random_f({1, 130, 64}, 7), w2 = random_f({64, 300}, 8), b2 = random_f({300}, 9);
  OpCall big{"FusedMatMul", 1, {a2, w2, b2}, {attr_s("activation", "Gelu")}, 1, 3, kDomain};
  big.constant_inputs = {1};
  expect_close(run1(big), {1, 130, 300}, naive_fused_matmul(a2, w2, b2, "Gelu"), 1e-4, 1e-4);
}

// GELU runs in the GEMM's epilogue on each finished block: only after the last of several depth
// blocks (K = 2100: past the kernel's kc, 1024 floats on AVX2 / AVX-512), on every tile of a
// threaded GEMM, and on the single-row path.
TEST(TesseraFusedMatMul, GeluInTheEpilogueOnlyOnFinishedBlocks) {
  const Tensor a = random_f({1, 70, 2100}, 10, -0.2f, 0.2f), w = random_f({2100, 45}, 11, -0.2f, 0.2f), bias = random_f({45}, 12);
  for (int threads : {1, 2}) {
    OpCall call{"FusedMatMul", 1, {a, w, bias}, {attr_s("activation", "Gelu")}, 1, threads, kDomain};
    call.constant_inputs = {1, 2};
    expect_close(run1(call), {1, 70, 45}, naive_fused_matmul(a, w, bias, "Gelu"), 1e-4, 1e-4);
  }
  const Tensor row = random_f({1, 1, 2100}, 13, -0.2f, 0.2f);
  OpCall single{"FusedMatMul", 1, {row, w, bias}, {attr_s("activation", "Gelu")}, 1, 1, kDomain};
  expect_close(run1(single), {1, 1, 45}, naive_fused_matmul(row, w, bias, "Gelu"), 1e-4, 1e-4);
}

TEST(TesseraFusedMatMul, RejectsABiasOfTheWrongSize) {
  expect_error(OpCall{"FusedMatMul", 1, {random_f({2, 4}, 1), random_f({4, 3}, 2), random_f({4}, 3)}, {}, 1, 1, kDomain},
               "bias");
  expect_error(OpCall{"FusedMatMul", 1, {random_f({2, 4}, 1), random_f({4, 3}, 2), random_f({3}, 3)},
                      {attr_s("activation", "Tanh")}, 1, 1, kDomain},
               "activation");
}

// LayerNorm over the last axis of s = a + b (numpy broadcasting).
std::vector<double> naive_skip_layer_norm(const Tensor& a, const Tensor& b, const Shape& ys, const Tensor& gamma,
                                          const Tensor& beta, double eps) {
  const int64_t cols = ys.back(), rows = shape_size(ys) / cols;
  auto at = [&](const Tensor& t, int64_t flat) {
    // Index of output element `flat` in t, broadcast from the right.
    int64_t off = 0, stride = 1, rem = flat;
    std::vector<int64_t> idx(ys.size());
    for (size_t i = ys.size(); i-- > 0;) {
      idx[i] = rem % ys[i];
      rem /= ys[i];
    }
    for (size_t i = ys.size(), k = t.rank(); i-- > 0 && k-- > 0;) {
      const int64_t d = t.shape()[k];
      off += (d == 1 ? 0 : idx[i]) * stride;
      stride *= d;
    }
    return static_cast<double>(t.data<float>()[off]);
  };
  std::vector<double> y;
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<double> s(static_cast<size_t>(cols));
    double mean = 0, var = 0;
    for (int64_t c = 0; c < cols; ++c) mean += s[c] = at(a, r * cols + c) + at(b, r * cols + c);
    mean /= cols;
    for (double v : s) var += (v - mean) * (v - mean);
    var /= cols;
    for (int64_t c = 0; c < cols; ++c)
      y.push_back((s[c] - mean) / std::sqrt(var + eps) * gamma.data<float>()[c] + beta.data<float>()[c]);
  }
  return y;
}

TEST(TesseraSkipLayerNormalization, MatchesTheReferenceWithBroadcastOperands) {
  const Tensor gamma = random_f({24}, 10), beta = random_f({24}, 11);
  const Tensor a = random_f({2, 5, 24}, 12, -3, 3);
  for (const Shape& bs : {Shape{2, 5, 24}, Shape{5, 24}, Shape{24}, Shape{2, 1, 24}, Shape{2, 5, 1}}) {
    const Tensor b = random_f(bs, 13);
    const std::vector<double> want = naive_skip_layer_norm(a, b, {2, 5, 24}, gamma, beta, 1e-3);
    for (int threads : {1, 3}) {
      OpCall call{"SkipLayerNormalization", 1, {a, b, gamma, beta}, {attr_f("epsilon", 1e-3f)}, 1, threads, kDomain};
      expect_close(run1(call), {2, 5, 24}, want);
      // Operands swapped: the broadcast one first.
      OpCall swapped{"SkipLayerNormalization", 1, {b, a, gamma, beta}, {attr_f("epsilon", 1e-3f)}, 1, threads, kDomain};
      expect_close(run1(swapped), {2, 5, 24}, want);
    }
  }
}

TEST(TesseraSkipLayerNormalization, WritesTheSumWhenAskedFor) {
  const Tensor a = random_f({3, 16}, 14), b = random_f({16}, 15), gamma = random_f({16}, 16), beta = random_f({16}, 17);
  OpCall call{"SkipLayerNormalization", 1, {a, b, gamma, beta}, {}, Outputs{"y", "s"}, 2, kDomain};
  std::vector<double> sum;
  for (int64_t i = 0; i < a.size(); ++i) sum.push_back(a.data<float>()[i] + b.data<float>()[i % 16]);  // summed in float, as the kernel does
  expect_close(run1(call, 0), {3, 16}, naive_skip_layer_norm(a, b, {3, 16}, gamma, beta, 1e-5));
  expect_close(run1(call, 1), {3, 16}, sum, 0, 0);
}

TEST(TesseraSkipLayerNormalization, RejectsOperandsThatDoNotBroadcast) {
  expect_error(OpCall{"SkipLayerNormalization", 1, {random_f({2, 4}, 1), random_f({3, 4}, 2), random_f({4}, 3), random_f({4}, 4)},
                      {}, 1, 1, kDomain},
               "broadcast");
}

TEST(TesseraLayerNormalization, SameAsOnnxLayerNormalization) {
  const Tensor x = random_f({3, 4, 10}, 20, -2, 2), gamma = random_f({10}, 21), beta = random_f({10}, 22);
  const Tensor zero = random_f({3, 4, 10}, 0, 0, 0);
  const std::vector<double> want = naive_skip_layer_norm(x, zero, {3, 4, 10}, gamma, beta, 1e-5);
  expect_close(run1(OpCall{"LayerNormalization", 1, {x, gamma, beta}, {attr_i("axis", -1)}, 1, 2, kDomain}), {3, 4, 10}, want);
  expect_close(run1(OpCall{"LayerNormalization", 17, {x, gamma, beta}, {attr_i("axis", -1)}, 1, 2}), {3, 4, 10}, want);
}

TEST(TesseraGelu, BothFormsMatchTheReference) {
  const Tensor x = random_f({3, 67}, 30, -8, 8);
  std::vector<double> erf_want, tanh_want;
  for (int64_t i = 0; i < x.size(); ++i) {
    erf_want.push_back(gelu_ref(x.data<float>()[i]));
    tanh_want.push_back(gelu_tanh_ref(x.data<float>()[i]));
  }
  expect_close(run1(OpCall{"Gelu", 1, {x}, {}, 1, 1, kDomain}), {3, 67}, erf_want, 1e-5, 1e-6);
  expect_close(run1(OpCall{"Gelu", 1, {x}, {attr_s("approximate", "tanh")}, 1, 1, kDomain}), {3, 67}, tanh_want, 1e-5, 1e-6);
}

}  // namespace
}  // namespace tessera

namespace tessera {
namespace {

using namespace kernel_test;

// softmax(scale * Q_h K_h^T + mask) V_h for Q [B, Sq, H*D], K [B, Sk, H*D], V [B, Sk, H*Dv],
// mask [B or 1, 1, Sq or 1, Sk]; result [B, Sq, H, Dv].
std::vector<double> naive_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor* mask, int64_t H,
                                    double scale) {
  const int64_t B = q.dim(0), Sq = q.dim(1), Sk = k.dim(1), D = q.dim(2) / H, Dv = v.dim(2) / H;
  std::vector<double> y(static_cast<size_t>(B * Sq * H * Dv));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < Sq; ++i) {
        std::vector<double> s(static_cast<size_t>(Sk));
        double mx = -1e300, sum = 0;
        for (int64_t j = 0; j < Sk; ++j) {
          double acc = 0;
          for (int64_t d = 0; d < D; ++d)
            acc += static_cast<double>(q.data<float>()[(b * Sq + i) * H * D + h * D + d]) * k.data<float>()[(b * Sk + j) * H * D + h * D + d];
          acc *= scale;
          if (mask) {
            const int64_t mb = mask->dim(0) == 1 ? 0 : b, mi = mask->dim(2) == 1 ? 0 : i;
            acc += mask->data<float>()[(mb * mask->dim(2) + mi) * Sk + j];
          }
          s[j] = acc;
          mx = std::max(mx, acc);
        }
        for (double& e : s) sum += e = std::exp(e - mx);
        for (int64_t d = 0; d < Dv; ++d) {
          double acc = 0;
          for (int64_t j = 0; j < Sk; ++j) acc += s[j] / sum * v.data<float>()[(b * Sk + j) * H * Dv + h * Dv + d];
          y[static_cast<size_t>(((b * Sq + i) * H + h) * Dv + d)] = acc;
        }
      }
  return y;
}

TEST(TesseraAttention, MatchesTheReferenceWithBroadcastMasks) {
  const int64_t B = 2, Sq = 7, Sk = 9, H = 3, D = 5, Dv = 4;
  const Tensor q = random_f({B, Sq, H * D}, 40, -2, 2), k = random_f({B, Sk, H * D}, 41, -2, 2), v = random_f({B, Sk, H * Dv}, 42);
  const Tensor key_mask = random_f({B, 1, 1, Sk}, 43, -5, 0), full_mask = random_f({1, 1, Sq, Sk}, 44, -5, 0);
  for (int threads : {1, 3}) {
    OpCall plain{"Attention", 1, {q, k, v}, {attr_i("num_heads", H), attr_f("scale", 0.4f)}, 1, threads, kDomain};
    expect_close(run1(plain), {B, Sq, H, Dv}, naive_attention(q, k, v, nullptr, H, 0.4));
    for (const Tensor* mask : {&key_mask, &full_mask}) {
      OpCall masked{"Attention", 1, {q, k, v, *mask}, {attr_i("num_heads", H), attr_f("scale", 0.4f)}, 1, threads, kDomain};
      expect_close(run1(masked), {B, Sq, H, Dv}, naive_attention(q, k, v, mask, H, 0.4));
    }
  }
}

// Columns [c0, c0 + n) of the last axis of a [R0, R1, W] tensor.
Tensor last_axis_columns(const Tensor& t, int64_t c0, int64_t n) {
  const int64_t rows = t.dim(0) * t.dim(1), w = t.dim(2);
  Tensor out = Tensor::create(DataType::float32, {t.dim(0), t.dim(1), n}).value();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n; ++j) out.data<float>()[r * n + j] = t.data<float>()[r * w + c0 + j];
  return out;
}

// [A, B, W] -> [B, A, W].
Tensor swap_first_dims(const Tensor& t) {
  const int64_t a = t.dim(0), b = t.dim(1), w = t.dim(2);
  Tensor out = Tensor::create(DataType::float32, {b, a, w}).value();
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j)
      std::copy(t.data<float>() + (i * b + j) * w, t.data<float>() + (i * b + j + 1) * w, out.data<float>() + (j * a + i) * w);
  return out;
}

TEST(TesseraAttention, PackedQkvMatchesTheReference) {
  const int64_t B = 2, S = 6, H = 3, D = 4, E = H * D;
  const Tensor qkv = random_f({B, S, 3 * E}, 50, -2, 2), mask = random_f({B, 1, 1, S}, 51, -5, 0);
  const Tensor q = last_axis_columns(qkv, 0, E), k = last_axis_columns(qkv, E, E), v = last_axis_columns(qkv, 2 * E, E);
  for (int threads : {1, 3}) {
    OpCall packed{"Attention", 1, {qkv, std::nullopt, std::nullopt, mask}, {attr_i("num_heads", H), attr_f("scale", 0.3f)}, 1, threads, kDomain};
    expect_close(run1(packed), {B, S, H, D}, naive_attention(q, k, v, &mask, H, 0.3));
  }
  // Sequence first: [S, B, 3E] in, [S, B*H, D] out (the memory of [S, B, H, D]).
  const Tensor qkv_sf = swap_first_dims(qkv);
  const std::vector<double> want = naive_attention(q, k, v, nullptr, H, 0.3);  // [B, S, H, D]
  std::vector<double> want_sf(want.size());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s)
      std::copy(want.begin() + (b * S + s) * E, want.begin() + (b * S + s + 1) * E, want_sf.begin() + (s * B + b) * E);
  OpCall sf{"Attention", 1, {qkv_sf, std::nullopt, std::nullopt},
            {attr_i("num_heads", H), attr_f("scale", 0.3f), attr_i("sequence_first", 1)}, 1, 2, kDomain};
  expect_close(run1(sf), {S, B * H, D}, want_sf);
}

TEST(TesseraAttention, RejectsPackedRowsThatDoNotSplitAndAKeyWithoutValue) {
  const Tensor qkv = random_f({1, 4, 10}, 5);  // 10 is not 3 * 2 heads * D
  expect_error(OpCall{"Attention", 1, {qkv, std::nullopt, std::nullopt}, {attr_i("num_heads", 2)}, 1, 1, kDomain}, "packed");
  const Tensor q = random_f({1, 4, 6}, 6);
  expect_error(OpCall{"Attention", 1, {q, q, std::nullopt}, {attr_i("num_heads", 2)}, 1, 1, kDomain}, "both");
}

TEST(TesseraAttention, RejectsHeadsThatDoNotDivideAndBadMasks) {
  const Tensor q = random_f({1, 4, 6}, 1), k = random_f({1, 4, 6}, 2), v = random_f({1, 4, 6}, 3);
  expect_error(OpCall{"Attention", 1, {q, k, v}, {attr_i("num_heads", 4)}, 1, 1, kDomain}, "heads");
  expect_error(OpCall{"Attention", 1, {q, k, v, random_f({1, 1, 3, 4}, 4)}, {attr_i("num_heads", 2)}, 1, 1, kDomain}, "mask");
  expect_error(OpCall{"Attention", 1, {q, k, v}, {attr_i("num_heads", 0)}, 1, 1, kDomain}, "num_heads");
}

}  // namespace
}  // namespace tessera
