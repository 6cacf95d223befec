// ONNX Runtime's quantized com.microsoft ops: MatMulNBits against a naive dequantize-then-multiply
// reference on odd shapes (both kernel paths, every zero-point form, g_idx, 4 and 8 bits,
// prepacked and per-run weights, threads), and the QLinear / QGemm / *MatMul* ops on small
// hand-checked numbers (rounding half to even, saturation, broadcasting, layouts).
#include <cmath>
#include <cstdint>
#include <random>

#include "tests/unit/providers/kernel_test_util.h"
#include "tests/unit/test_tensors.h"

namespace tessera::kernel_test {
namespace {

const std::string kMs = "com.microsoft";

Tensor tu8(Shape shape, const std::vector<uint8_t>& v) { return make<uint8_t>(DataType::uint8, std::move(shape), v); }
Tensor ti8(Shape shape, const std::vector<int8_t>& v) { return make<int8_t>(DataType::int8, std::move(shape), v); }

OpCall ms(const std::string& op, std::vector<std::optional<Value>> in, std::vector<Attribute> attrs = {}) {
  return OpCall(op, 1, std::move(in), std::move(attrs), 1, 1, kMs);
}

// ---- MatMulNBits ----

struct NBitsCase {
  int64_t M, K, N, block, bits;
  enum Zp { none, packed, floats } zp;
  bool bias, g_idx;
};

// codes[n][k] packed low-first into blocks of `block` codes per column.
std::vector<uint8_t> pack(const std::vector<std::vector<int>>& codes, int64_t per_column_bytes, int64_t bits) {
  std::vector<uint8_t> out(codes.size() * per_column_bytes, 0);
  for (size_t n = 0; n < codes.size(); ++n)
    for (size_t i = 0; i < codes[n].size(); ++i) {
      const int64_t bit = static_cast<int64_t>(i) * bits;
      out[n * per_column_bytes + bit / 8] |= static_cast<uint8_t>(codes[n][i] << (bit % 8));
    }
  return out;
}

void check_matmul_nbits(const NBitsCase& c, int threads, bool constant) {
  SCOPED_TRACE(testing::Message() << "M=" << c.M << " K=" << c.K << " N=" << c.N << " block=" << c.block << " bits=" << c.bits
                                  << " zp=" << c.zp << " bias=" << c.bias << " g_idx=" << c.g_idx << " threads=" << threads
                                  << " constant=" << constant);
  std::mt19937 rng(static_cast<uint32_t>(c.M * 131 + c.K * 7 + c.N + c.bits));
  const int64_t blocks = (c.K + c.block - 1) / c.block, levels = int64_t{1} << c.bits;
  std::vector<std::vector<int>> codes(c.N, std::vector<int>(blocks * c.block, 0)), zcodes(c.N, std::vector<int>(blocks));
  for (auto& col : codes)
    for (int64_t k = 0; k < c.K; ++k) col[k] = static_cast<int>(rng() % levels);
  for (auto& col : zcodes)
    for (auto& z : col) z = static_cast<int>(rng() % levels);
  std::vector<float> scales = noise(c.N * blocks, 11, 0.01f, 0.2f), fzero = noise(c.N * blocks, 12, 0.0f, levels - 1.0f);
  std::vector<float> a = noise(c.M * c.K, 13), bias = noise(c.N, 14);
  std::vector<int32_t> g(c.K);
  for (int64_t k = 0; k < c.K; ++k) g[k] = static_cast<int32_t>(c.g_idx ? (k * 7 + 3) % blocks : k / c.block);

  // Reference: dequantize in double, then multiply.
  std::vector<double> want(c.M * c.N, 0.0);
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t k = 0; k < c.K; ++k) {
      const int64_t b = n * blocks + g[k];
      const double zero = c.zp == NBitsCase::packed ? zcodes[n][g[k]] : c.zp == NBitsCase::floats ? fzero[b] : levels / 2;
      const double w = (codes[n][k] - zero) * scales[b];
      for (int64_t m = 0; m < c.M; ++m) want[m * c.N + n] += a[m * c.K + k] * w;
    }
  if (c.bias)
    for (int64_t m = 0; m < c.M; ++m)
      for (int64_t n = 0; n < c.N; ++n) want[m * c.N + n] += bias[n];

  std::vector<std::optional<Value>> in = {tf({c.M, c.K}, a),
                                          make<uint8_t>(DataType::uint8, {c.N, blocks, c.block * c.bits / 8},
                                                        pack(codes, blocks * c.block * c.bits / 8, c.bits)),
                                          tf({c.N * blocks}, scales)};
  if (c.zp == NBitsCase::packed) in.push_back(tu8({c.N * ((blocks * c.bits + 7) / 8)}, pack(zcodes, (blocks * c.bits + 7) / 8, c.bits)));
  else if (c.zp == NBitsCase::floats) in.push_back(tf({c.N * blocks}, fzero));
  else in.push_back(std::nullopt);
  in.push_back(c.g_idx ? std::optional<Value>(ti32({c.K}, g)) : std::nullopt);
  in.push_back(c.bias ? std::optional<Value>(tf({c.N}, bias)) : std::nullopt);
  OpCall call = ms("MatMulNBits", in,
                   {attr_i("K", c.K), attr_i("N", c.N), attr_i("bits", c.bits), attr_i("block_size", c.block)});
  call.threads = threads;
  if (constant) call.constant_inputs = {1, 2, 3, 4, 5};
  expect_close(run1(call), {c.M, c.N}, want, 1e-4, 1e-4);
}

TEST(MatMulNBits, MatchesDequantizedReference) {
  const std::vector<NBitsCase> cases = {
      {1, 64, 16, 16, 4, NBitsCase::none, false, false},       // fused path, one block per 16
      {3, 100, 9, 32, 4, NBitsCase::packed, true, false},      // K not a multiple of block_size
      {2, 77, 5, 16, 4, NBitsCase::floats, true, false},       // odd K, float zero points
      {4, 33, 7, 16, 8, NBitsCase::packed, false, false},      // 8 bits, fused
      {6, 130, 40, 64, 4, NBitsCase::packed, true, false},     // panel path, N past one panel
      {40, 50, 3, 16, 8, NBitsCase::none, true, false},        // panel path, 8 bits
      {2, 96, 11, 32, 4, NBitsCase::packed, false, true},      // g_idx (panel path for any M)
      {5, 64, 6, 16, 2, NBitsCase::packed, true, false},       // 2 bits
  };
  for (const auto& c : cases)
    for (int threads : {1, 2})
      for (bool constant : {true, false}) check_matmul_nbits(c, threads, constant);
}

TEST(MatMulNBits, BatchedAFloat16AndErrors) {
  // A [2, 1, 16] (rank 3), all codes 9 with the default zero point 8 and scale 0.5: each weight
  // is 0.5, so each output is 0.5 * sum(A row).
  std::vector<float> a(32);
  for (int i = 0; i < 32; ++i) a[i] = static_cast<float>(i % 16) - 4.0f;
  const Tensor b = tu8({2, 1, 8}, std::vector<uint8_t>(16, 0x99));
  const std::vector<Attribute> attrs = {attr_i("K", 16), attr_i("N", 2), attr_i("block_size", 16)};
  Tensor y = run1(ms("MatMulNBits", {tf({2, 1, 16}, a), b, tf({2}, {0.5f, 0.5f})}, attrs));
  expect_f(y, {2, 1, 2}, {28.0f, 28.0f, 28.0f, 28.0f});  // 0.5 * (sum of -4..11 = 56)
  Tensor h = run1(ms("MatMulNBits", {th({2, 1, 16}, a), b, th({2}, {0.5f, 0.5f})}, attrs));
  ASSERT_EQ(h.dtype(), DataType::float16);
  expect_close(h, {2, 1, 2}, {28, 28, 28, 28}, 1e-3, 1e-3);

  expect_error(ms("MatMulNBits", {tf({1, 15}, std::vector<float>(15)), b, tf({2}, {1, 1})}, attrs), "attribute K (16)");
  expect_error(ms("MatMulNBits", {tf({1, 16}, std::vector<float>(16)), tu8({2, 1, 4}, std::vector<uint8_t>(8)), tf({2}, {1, 1})}, attrs),
               "B [2,1,4] must hold");
  expect_error(ms("MatMulNBits", {tf({1, 16}, std::vector<float>(16)), b, tf({2}, {1, 1})},
                  {attr_i("K", 16), attr_i("N", 2), attr_i("block_size", 24)}),
               "power of 2");
}

// ---- integer matrix products ----

TEST(MatMulIntegerToFloat, ScalesPerColumnAndBias) {
  // (A - 1) x (B - [0, 2]) * 0.5 * [1, 0.25] + [10, 20]
  Tensor y = run1(ms("MatMulIntegerToFloat", {tu8({2, 2}, {1, 3, 5, 2}), ti8({2, 2}, {1, 2, -1, 4}), tf({}, {0.5f}),
                                              tf({2}, {1.0f, 0.25f}), tu8({}, {1}), ti8({2}, {0, 2}), tf({2}, {10, 20})}));
  // A - 1 = [[0, 2], [4, 1]]; B - zp = [[1, 0], [-1, 2]]; product [[-2, 4], [3, 2]].
  expect_f(y, {2, 2}, {10.0f - 1.0f, 20.0f + 0.5f, 10.0f + 1.5f, 20.0f + 0.25f});
}

TEST(DynamicQuantizeMatMul, QuantizesAAsDynamicQuantizeLinear) {
  // A in [-1, 1.55]: scale 2.55 / 255 = 0.01, zero point 100; A = 0.5 quantizes to 150 exactly.
  Tensor a = tf({1, 3}, {-1.0f, 1.55f, 0.5f});
  Tensor y = run1(ms("DynamicQuantizeMatMul", {a, ti8({3, 1}, {2, 1, -4}), tf({}, {0.5f}), std::nullopt, tf({1}, {1.0f})}));
  // (Aq - 100) = [-100, 155, 50] -> dot [2, 1, -4] = -200 + 155 - 200 = -245; * 0.01 * 0.5 + 1.
  expect_close(y, {1, 1}, {-245 * 0.01 * 0.5 + 1.0}, 1e-5, 1e-6);
}

TEST(QGemm, FloatAndRequantizedOutputs) {
  // A [2, 2] uint8 zp 1, B^T [3, 2] int8 (transB), C int32 per column, alpha 2.
  Tensor a = tu8({2, 2}, {1, 3, 4, 2});
  Tensor b = ti8({3, 2}, {1, 0, 0, 1, -1, 1});
  std::vector<std::optional<Value>> in = {a, tf({}, {0.5f}), tu8({}, {1}), b, tf({}, {0.25f}), ti8({}, {0}),
                                          ti32({3}, {1, -2, 0})};
  const std::vector<Attribute> attrs = {attr_f("alpha", 2.0f), attr_i("transB", 1)};
  // A - 1 = [[0, 2], [3, 1]]; x B = [[0, 2, 2], [3, 1, -2]]; + C = [[1, 0, 2], [4, -1, -2]]; * 2 * 0.125.
  expect_f(run1(ms("QGemm", in, attrs)), {2, 3}, {0.25f, 0.0f, 0.5f, 1.0f, -0.25f, -0.5f});
  // y_scale 0.1, y_zero_point 3 (uint8): round(v / 0.1) + 3, half to even: 0.25 / 0.1 = 2.5 -> 2.
  in.push_back(tf({}, {0.1f}));
  in.push_back(tu8({}, {3}));
  expect_tensor<uint8_t>(Value(run1(ms("QGemm", in, attrs))), {2, 3}, {5, 3, 8, 13, 1, 0});
}

// ---- QLinear elementwise ----

TEST(QLinearAdd, BroadcastsRoundsHalfToEvenAndSaturates) {
  // A [2, 1] scale 1 zp 0, B [3] scale 1 zp 0, C scale 2 zp 10: round((a + b) / 2) + 10.
  Tensor y = run1(ms("QLinearAdd", {tu8({2, 1}, {1, 250}), tf({}, {1}), tu8({}, {0}), tu8({3}, {0, 2, 255}), tf({}, {1}),
                                    tu8({}, {0}), tf({}, {2}), tu8({}, {10})}));
  // 1 + 0 = 1 -> 0.5 -> 0 (even); 1 + 2 = 3 -> 1.5 -> 2; 256 -> 128 -> 138; 250 -> 135; 252 -> 136; 505 -> 252.5 -> 262 -> 255.
  expect_tensor<uint8_t>(Value(y), {2, 3}, {10, 12, 138, 135, 136, 255});
}

TEST(QLinearMul, Int8WithZeroPoints) {
  // (a - 1) * (b + 2) * (0.5 * 0.5 / 0.25) - 3, saturated to int8.
  Tensor y = run1(ms("QLinearMul", {ti8({3}, {3, -1, 100}), tf({}, {0.5f}), ti8({}, {1}), ti8({3}, {2, 2, 5}), tf({}, {0.5f}),
                                    ti8({}, {-2}), tf({}, {0.25f}), ti8({}, {-3})}));
  expect_tensor<int8_t>(Value(y), {3}, {5, -11, 127});
}

TEST(QLinearSigmoidAndLeakyRelu, TableOfEveryCode) {
  std::vector<uint8_t> codes(256);
  for (int i = 0; i < 256; ++i) codes[i] = static_cast<uint8_t>(i);
  Tensor sig = run1(ms("QLinearSigmoid", {tu8({256}, codes), tf({}, {0.1f}), tu8({}, {128}), tf({}, {1.0f / 256}), tu8({}, {0})}));
  Tensor leaky = run1(ms("QLinearLeakyRelu", {tu8({256}, codes), tf({}, {0.1f}), tu8({}, {128}), tf({}, {0.05f}), tu8({}, {100})},
                         {attr_f("alpha", 0.2f)}));
  for (int i = 0; i < 256; ++i) {
    const double x = 0.1 * (i - 128);
    const double s = std::clamp(std::nearbyint(256.0 / (1.0 + std::exp(-x))), 0.0, 255.0);
    EXPECT_NEAR(sig.data<uint8_t>()[i], s, 1.0) << i;  // float vs double at a rounding boundary
    const double l = std::clamp(std::nearbyint((x >= 0 ? x : 0.2 * x) / 0.05) + 100, 0.0, 255.0);
    EXPECT_NEAR(leaky.data<uint8_t>()[i], l, 1.0) << i;
  }
  EXPECT_EQ(sig.data<uint8_t>()[128], 128);  // sigmoid(0) = 0.5
  EXPECT_EQ(sig.data<uint8_t>()[255], 255);  // saturates
  EXPECT_EQ(leaky.data<uint8_t>()[0], 49);   // 0.2 * -12.8 / 0.05 = -51.2 -> -51 + 100
}

// ---- pooling, concatenation, softmax ----

TEST(QLinearGlobalAveragePool, ChannelsFirstAndLast) {
  // Two channels of four values: means 2.5 and 10 at x_scale 1, zp 0; y_scale 0.5, zp 1.
  const std::vector<uint8_t> nchw = {1, 2, 3, 4, 10, 10, 10, 10};
  Tensor y = run1(ms("QLinearGlobalAveragePool", {tu8({1, 2, 2, 2}, nchw), tf({}, {1}), tu8({}, {0}), tf({}, {0.5f}), tu8({}, {1})}));
  expect_tensor<uint8_t>(Value(y), {1, 2, 1, 1}, {6, 21});
  const std::vector<uint8_t> nhwc = {1, 10, 2, 10, 3, 10, 4, 10};
  Tensor z = run1(ms("QLinearGlobalAveragePool", {tu8({1, 2, 2, 2}, nhwc), tf({}, {1}), tu8({}, {0}), tf({}, {0.5f}), tu8({}, {1})},
                     {attr_i("channels_last", 1)}));
  expect_tensor<uint8_t>(Value(z), {1, 1, 1, 2}, {6, 21});
}

TEST(QLinearConcat, RequantizesEachInput) {
  // Y scale 1 zp 0; X0 copied (same parameters), X1 scale 2 zp 10: (x - 10) * 2.
  Tensor y = run1(ms("QLinearConcat", {tf({}, {1}), tu8({}, {0}), tu8({2, 1}, {7, 8}), tf({}, {1}), tu8({}, {0}),
                                       tu8({2, 2}, {10, 12, 200, 9}), tf({}, {2}), tu8({}, {10})},
                     {attr_i("axis", 1)}));
  expect_tensor<uint8_t>(Value(y), {2, 3}, {7, 0, 4, 8, 255, 0});
}

TEST(QLinearSoftmax, OpsetFormsDifferOnInnerAxes) {
  // X [1, 2, 2]: softmax over axis 1 (opset 13) or over the flattened [2, 2] (opset 12).
  Tensor x = tu8({1, 2, 2}, {10, 10, 10, 10});
  const std::vector<std::optional<Value>> in = {x, tf({}, {1}), tu8({}, {0}), tf({}, {1.0f / 256}), tu8({}, {0})};
  expect_tensor<uint8_t>(Value(run1(ms("QLinearSoftmax", in, {attr_i("axis", 1), attr_i("opset", 13)}))), {1, 2, 2},
                         {128, 128, 128, 128});
  expect_tensor<uint8_t>(Value(run1(ms("QLinearSoftmax", in, {attr_i("axis", 1), attr_i("opset", 12)}))), {1, 2, 2},
                         {64, 64, 64, 64});
  // int8, no x zero point: two codes 11 apart at scale 0.1 give 1 / (1 + e^1.1) and its complement.
  Tensor s = run1(ms("QLinearSoftmax", {ti8({2}, {-20, -9}), tf({}, {0.1f}), std::nullopt, tf({}, {1.0f / 256}), ti8({}, {-128})},
                     {attr_i("opset", 13)}));
  const double p = 1.0 / (1.0 + std::exp(1.1));
  expect_tensor<int8_t>(Value(s), {2},
                        {static_cast<int8_t>(std::nearbyint(p * 256) - 128), static_cast<int8_t>(std::min(127.0, std::nearbyint((1 - p) * 256) - 128))});
}

}  // namespace
}  // namespace tessera::kernel_test
