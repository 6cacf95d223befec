// Einsum against hand-written loops: matrix product, batched contraction with ellipsis
// broadcasting, diagonal and trace, implicit output order, integer inputs, bad equations.
#include <gtest/gtest.h>

#include <vector>

#include "tests/unit/providers/kernel_test_util.h"
#include "tests/unit/test_tensors.h"

namespace tessera {
namespace {

using namespace kernel_test;

Tensor einsum(const std::string& eq, std::vector<std::optional<Value>> in, int threads = 1) {
  OpCall call{"Einsum", 12, std::move(in), {attr_s("equation", eq)}};
  call.threads = threads;
  return run1(call);
}

TEST(Einsum, MatrixProductAndTranspose) {
  const Tensor a = random_f({3, 4}, 1), b = random_f({4, 5}, 2);
  std::vector<double> ab, ba_t;
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 5; ++k) {
      double s = 0;
      for (int j = 0; j < 4; ++j) s += static_cast<double>(a.data<float>()[i * 4 + j]) * b.data<float>()[j * 5 + k];
      ab.push_back(s);
    }
  for (int k = 0; k < 5; ++k)
    for (int i = 0; i < 3; ++i) ba_t.push_back(ab[static_cast<size_t>(i * 5 + k)]);
  expect_close(einsum("ij,jk->ik", {a, b}), {3, 5}, ab);
  expect_close(einsum("ij,jk", {a, b}), {3, 5}, ab);  // implicit: i, k in order
  expect_close(einsum("ij, jk -> ki", {a, b}, 3), {5, 3}, ba_t);
}

TEST(Einsum, EllipsisBroadcastBatch) {
  const Tensor a = random_f({2, 1, 3, 4}, 3), b = random_f({5, 4, 2}, 4);
  std::vector<double> want;
  for (int p = 0; p < 2; ++p)
    for (int q = 0; q < 5; ++q)
      for (int i = 0; i < 3; ++i)
        for (int k = 0; k < 2; ++k) {
          double s = 0;
          for (int j = 0; j < 4; ++j)
            s += static_cast<double>(a.data<float>()[(p * 3 + i) * 4 + j]) * b.data<float>()[(q * 4 + j) * 2 + k];
          want.push_back(s);
        }
  expect_close(einsum("...ij,...jk->...ik", {a, b}), {2, 5, 3, 2}, want);
}

TEST(Einsum, DiagonalTraceAndSums) {
  const Tensor m = random_f({4, 4}, 5);
  std::vector<double> diag;
  double trace = 0, total = 0;
  for (int i = 0; i < 4; ++i) {
    diag.push_back(m.data<float>()[i * 5]);
    trace += m.data<float>()[i * 5];
  }
  for (float v : m.span<float>()) total += v;
  expect_close(einsum("ii->i", {m}), {4}, diag);
  expect_close(einsum("ii", {m}), {}, {trace});
  expect_close(einsum("ij->", {m}), {}, {total});
  const Tensor x = random_f({3, 3, 2}, 6), y = random_f({2, 5}, 7);
  std::vector<double> want;  // iij,jk->ik
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 5; ++k) {
      double s = 0;
      for (int j = 0; j < 2; ++j) s += static_cast<double>(x.data<float>()[(i * 3 + i) * 2 + j]) * y.data<float>()[j * 5 + k];
      want.push_back(s);
    }
  expect_close(einsum("iij,jk->ik", {x, y}), {3, 5}, want);
}

TEST(Einsum, ThreeOperandsAndIntegers) {
  const Tensor a = tensor_of<int32_t>(DataType::int32, {2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor b = tensor_of<int32_t>(DataType::int32, {3}, {1, -1, 2});
  const Tensor c = tensor_of<int32_t>(DataType::int32, {2}, {3, -2});
  // sum_ij a_ij b_j c_i = 3 * (1 - 2 + 6) - 2 * (4 - 5 + 12) = 15 - 22
  const Tensor y = einsum("ij,j,i->", {a, b, c});
  ASSERT_EQ(y.dtype(), DataType::int32);
  EXPECT_EQ(y.data<int32_t>()[0], -7);
  const Tensor outer = einsum("i,j->ij", {c, b});
  EXPECT_EQ(std::vector<int32_t>(outer.data<int32_t>(), outer.data<int32_t>() + 6), (std::vector<int32_t>{3, -3, 6, -2, 2, -4}));
}

TEST(Einsum, RejectsBadEquations) {
  const Tensor a = random_f({2, 3}, 1);
  expect_error({"Einsum", 12, {a}, {attr_s("equation", "ij,jk->ik")}}, "input terms");
  expect_error({"Einsum", 12, {a}, {attr_s("equation", "ijk->i")}}, "does not match");
  expect_error({"Einsum", 12, {a}, {attr_s("equation", "ij->k")}}, "appears in no input");
  expect_error({"Einsum", 12, {a}, {attr_s("equation", "i1->i")}}, "invalid character");
}

}  // namespace
}  // namespace tessera
