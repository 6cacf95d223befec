// MatMul (batch broadcasting, 1-D operands, prepacked constant B, threads, float16, int32), Gemm
// (transposes, alpha/beta, every C broadcast), against naive loops.
#include <gtest/gtest.h>

#include <vector>

#include "core/float_types.h"
#include "tests/unit/providers/kernel_test_util.h"
#include "tests/unit/test_tensors.h"

namespace tessera {
namespace {

using namespace kernel_test;

// numpy.matmul in double for float tensors.
std::vector<double> naive_matmul(const Tensor& a, const Tensor& b, Shape* out) {
  Shape sa = a.shape(), sb = b.shape();
  const bool av = sa.size() == 1, bv = sb.size() == 1;
  if (av) sa.insert(sa.begin(), 1);
  if (bv) sb.push_back(1);
  const int64_t M = sa[sa.size() - 2], K = sa.back(), N = sb.back();
  const size_t rank = std::max(sa.size(), sb.size()) - 2;
  Shape batch(rank);
  auto dim = [&](const Shape& s, size_t i) { return i + s.size() - 2 >= rank ? s[i + s.size() - 2 - rank] : 1; };
  for (size_t i = 0; i < rank; ++i) batch[i] = std::max(dim(sa, i), dim(sb, i));
  std::vector<double> y;
  for (int64_t bi = 0; bi < shape_size(batch); ++bi) {
    int64_t oa = 0, ob = 0;
    for (size_t i = 0, r = static_cast<size_t>(bi); i < rank; ++i) {
      int64_t stride = 1;
      for (size_t j = i + 1; j < rank; ++j) stride *= batch[j];
      const int64_t idx = static_cast<int64_t>(r) / stride % batch[i];
      oa = oa * dim(sa, i) + (dim(sa, i) == 1 ? 0 : idx);
      ob = ob * dim(sb, i) + (dim(sb, i) == 1 ? 0 : idx);
    }
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k)
          s += static_cast<double>(a.data<float>()[oa * M * K + i * K + k]) * b.data<float>()[ob * K * N + k * N + j];
        y.push_back(s);
      }
  }
  *out = batch;
  if (!av) out->push_back(M);
  if (!bv) out->push_back(N);
  return y;
}

TEST(MatMul, BroadcastingAndVectors) {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{3, 4}, {4, 5}},       {{2, 3, 4}, {4, 5}},       {{4}, {4, 5}},          {{3, 4}, {4}},
      {{4}, {4}},             {{2, 1, 3, 4}, {5, 4, 2}}, {{1, 7}, {3, 7, 2}},    {{2, 3, 4}, {2, 4, 6}},
      {{65, 129}, {129, 33}}, {{3, 1, 5}, {1, 5, 600}},  {{6, 2, 8}, {6, 8, 3}}, {{2, 0, 3}, {3, 4}}};
  for (const auto& [sa, sb] : cases) {
    const Tensor a = random_f(sa, 1), b = random_f(sb, 2);
    Shape ys;
    const std::vector<double> want = naive_matmul(a, b, &ys);
    for (int threads : {1, 3})
      for (bool constant_b : {false, true}) {
        SCOPED_TRACE(testing::Message() << shape_to_string(sa) << " x " << shape_to_string(sb) << " threads=" << threads
                                        << " constant_b=" << constant_b);
        OpCall call{"MatMul", 13, {a, b}, {}};
        call.threads = threads;
        if (constant_b) call.constant_inputs = {1};
        expect_close(run1(call), ys, want);
      }
  }
}

TEST(MatMul, Float16AndInt32) {
  std::vector<float16_t> ha, hb;
  for (float v : {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f}) ha.push_back(float16_t{float_to_half(v)});
  for (float v : {0.5f, -1.0f, 2.0f, 0.25f, 1.0f, -2.0f}) hb.push_back(float16_t{float_to_half(v)});
  const Tensor y = run1({"MatMul", 13,
                         {tensor_of(DataType::float16, {2, 3}, ha), tensor_of(DataType::float16, {3, 2}, hb)}});
  ASSERT_EQ(y.dtype(), DataType::float16);
  // [[1,2,3],[4,5,6]] x [[0.5,-1],[2,0.25],[1,-2]]
  const std::vector<float> want = {7.5f, -6.5f, 18.0f, -14.75f};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(half_to_float(y.data<float16_t>()[i].bits), want[static_cast<size_t>(i)]);
  const Tensor yi = run1({"MatMul", 13,
                          {tensor_of<int32_t>(DataType::int32, {2, 2}, {1, 2, 3, 4}),
                           tensor_of<int32_t>(DataType::int32, {2}, {5, -6})}});
  ASSERT_EQ(shape_to_string(yi.shape()), "[2]");
  EXPECT_EQ(yi.data<int32_t>()[0], -7);
  EXPECT_EQ(yi.data<int32_t>()[1], -9);
}

TEST(MatMul, RejectsMismatchedShapes) {
  expect_error({"MatMul", 13, {random_f({3, 4}, 1), random_f({5, 2}, 2)}}, "inner dimensions");
  expect_error({"MatMul", 13, {random_f({2, 3, 4}, 1), random_f({3, 4, 2}, 2)}}, "broadcast");
}

TEST(GemmOp, AllBiasShapesAndTransposes) {
  const int64_t M = 7, N = 13, K = 9;
  const std::vector<Shape> c_shapes = {{}, {N}, {1, N}, {M, 1}, {M, N}, {1}, {1, 1}};
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (const Shape& cs : c_shapes)
        for (float beta : {1.0f, 0.5f}) {
          const Tensor a = random_f(ta ? Shape{K, M} : Shape{M, K}, 3), b = random_f(tb ? Shape{N, K} : Shape{K, N}, 4);
          const Tensor c = random_f(cs, 5);
          const float alpha = 1.5f;
          std::vector<double> want;
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) {
              double s = 0;
              for (int64_t k = 0; k < K; ++k)
                s += static_cast<double>(a.data<float>()[ta ? k * M + i : i * K + k]) * b.data<float>()[tb ? j * K + k : k * N + j];
              const int64_t ci = (cs.size() == 2 && cs[0] != 1 ? i : 0) * (cs.empty() ? 1 : cs.back()) + (!cs.empty() && cs.back() != 1 ? j : 0);
              want.push_back(alpha * s + beta * c.data<float>()[ci]);
            }
          for (bool constant_b : {false, true}) {
            SCOPED_TRACE(testing::Message() << "ta=" << ta << " tb=" << tb << " C=" << shape_to_string(cs) << " beta=" << beta
                                            << " constant_b=" << constant_b);
            OpCall call{"Gemm", 13, {a, b, c}, {attr_i("transA", ta), attr_i("transB", tb), attr_f("alpha", alpha), attr_f("beta", beta)}};
            if (constant_b) call.constant_inputs = {1};
            expect_close(run1(call), {M, N}, want);
          }
        }
}

TEST(GemmOp, OptionalCAndErrors) {
  const Tensor a = random_f({2, 3}, 1), b = random_f({3, 4}, 2);
  Shape ys;
  expect_close(run1({"Gemm", 13, {a, b}, {}}), {2, 4}, naive_matmul(a, b, &ys));
  expect_error({"Gemm", 13, {a, b, random_f({3, 4}, 3)}, {}}, "does not broadcast");
  expect_error({"Gemm", 13, {a, random_f({2, 4}, 3)}, {}}, "inner dimensions");
}

}  // namespace
}  // namespace tessera
