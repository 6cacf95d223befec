// Reduce* kernels: known values on small odd shapes, every layout of reduced axes against a
// brute-force reference, empty sets, noop_with_empty_axes, old attribute form, several dtypes.
#include <cmath>
#include <functional>
#include <limits>
#include <random>

#include "tests/unit/providers/kernel_test_util.h"
#include "tests/unit/test_tensors.h"

namespace tessera::kernel_test {
namespace {

const double kInf = std::numeric_limits<double>::infinity();

TEST(Reduce, SumKeepdimsOddShape) {
  // [3,2,2] over axis 1
  Tensor x = tf({3, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  Tensor y = run1({"ReduceSum", 13, {x, ti64({1}, {1})}, {attr_i("keepdims", 1)}});
  expect_near(y, {3, 1, 2}, {4, 6, 12, 14, 20, 22});
  y = run1({"ReduceSum", 13, {x, ti64({1}, {-1})}, {attr_i("keepdims", 0)}});
  expect_near(y, {3, 2}, {3, 7, 11, 15, 19, 23});
}

TEST(Reduce, AllOpsOverAxis0) {
  Tensor x = tf({3, 2}, {1, -2, 3, 4, -5, 0.5f});
  Tensor axes = ti64({1}, {0});
  auto run = [&](const char* op) { return run1({op, 18, {x, axes}, {attr_i("keepdims", 0)}}); };
  expect_near(run("ReduceSum"), {2}, {-1, 2.5});
  expect_near(run("ReduceMean"), {2}, {-1.0 / 3, 2.5 / 3});
  expect_near(run("ReduceMax"), {2}, {3, 4});
  expect_near(run("ReduceMin"), {2}, {-5, -2});
  expect_near(run("ReduceProd"), {2}, {-15, -4});
  expect_near(run("ReduceL1"), {2}, {9, 6.5});
  expect_near(run("ReduceL2"), {2}, {std::sqrt(35.0), std::sqrt(20.25)});
  expect_near(run("ReduceSumSquare"), {2}, {35, 20.25});
  Tensor pos = tf({3, 2}, {1, 2, 3, 4, 5, 6});
  expect_near(run1({"ReduceLogSum", 18, {pos, axes}, {attr_i("keepdims", 0)}}), {2}, {std::log(9.0), std::log(12.0)});
  expect_near(run("ReduceLogSumExp"), {2},
              {std::log(std::exp(1.0) + std::exp(3.0) + std::exp(-5.0)),
               std::log(std::exp(-2.0) + std::exp(4.0) + std::exp(0.5))});
}

TEST(Reduce, LogSumExpLargeValuesStable) {
  Tensor x = td({1, 3}, {1000, 1000, -kInf});
  Tensor y = run1({"ReduceLogSumExp", 18, {x, ti64({1}, {1})}, {attr_i("keepdims", 0)}});
  expect_near(y, {1}, {1000 + std::log(2.0)});
}

TEST(Reduce, EmptySet) {
  Tensor x = tf({2, 0, 4}, {});
  Tensor axes = ti64({1}, {1});
  auto run = [&](const char* op) { return run1({op, 20, {x, axes}, {attr_i("keepdims", 1)}}); };
  expect_near(run("ReduceSum"), {2, 1, 4}, std::vector<double>(8, 0));
  expect_near(run("ReduceProd"), {2, 1, 4}, std::vector<double>(8, 1));
  expect_near(run("ReduceMin"), {2, 1, 4}, std::vector<double>(8, kInf));
  expect_near(run("ReduceMax"), {2, 1, 4}, std::vector<double>(8, -kInf));
  expect_near(run("ReduceL1"), {2, 1, 4}, std::vector<double>(8, 0));
  expect_near(run("ReduceL2"), {2, 1, 4}, std::vector<double>(8, 0));
  expect_near(run("ReduceLogSum"), {2, 1, 4}, std::vector<double>(8, -kInf));
  expect_near(run("ReduceLogSumExp"), {2, 1, 4}, std::vector<double>(8, -kInf));
  // Int min of nothing is the largest int.
  Tensor xi = ti32({0, 3}, {});
  Tensor yi = run1({"ReduceMin", 20, {xi, ti64({1}, {0})}, {attr_i("keepdims", 0)}});
  ASSERT_EQ(yi.size(), 3);
  EXPECT_EQ(yi.data<int32_t>()[0], std::numeric_limits<int32_t>::max());
  // A zero-sized kept axis gives an empty output.
  Tensor y = run1({"ReduceSum", 13, {x, ti64({1}, {2})}, {attr_i("keepdims", 1)}});
  EXPECT_EQ(shape_to_string(y.shape()), "[2,0,1]");
}

TEST(Reduce, EmptyAxesReducesAllOrNoop) {
  Tensor x = tf({3, 1, 2}, {1, 2, 3, 4, 5, -6});
  Tensor none = ti64({0}, {});
  expect_near(run1({"ReduceSum", 13, {x, none}, {attr_i("keepdims", 1)}}), {1, 1, 1}, {9});
  expect_near(run1({"ReduceSum", 13, {x}, {attr_i("keepdims", 0)}}), {}, {9});
  expect_near(run1({"ReduceSum", 13, {x, none}, {attr_i("noop_with_empty_axes", 1)}}), {3, 1, 2},
              {1, 2, 3, 4, 5, -6});
  // The per-element part of the op still applies (ONNX clarified this; ORT follows).
  expect_near(run1({"ReduceSumSquare", 18, {x}, {attr_i("noop_with_empty_axes", 1)}}), {3, 1, 2},
              {1, 4, 9, 16, 25, 36});
  expect_near(run1({"ReduceL1", 18, {x}, {attr_i("noop_with_empty_axes", 1)}}), {3, 1, 2}, {1, 2, 3, 4, 5, 6});
}

TEST(Reduce, OldOpsetAxesAttribute) {
  Tensor x = tf({2, 3}, {1, 2, 3, 4, 5, 6});
  expect_near(run1({"ReduceMean", 11, {x}, {attr_ints("axes", {1}), attr_i("keepdims", 0)}}), {2}, {2, 5});
  expect_near(run1({"ReduceSum", 11, {x}, {attr_ints("axes", {0})}}), {1, 3}, {5, 7, 9});
  expect_near(run1({"ReduceMax", 13, {x}, {}}), {1, 1}, {6});
}

TEST(Reduce, BadAxisIsAnError) {
  Tensor x = tf({2, 3}, {1, 2, 3, 4, 5, 6});
  auto r = run_op({"ReduceSum", 13, {x, ti64({1}, {2})}, {}});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("n0"), std::string::npos);
  r = run_op({"ReduceSum", 13, {x, ti64({2}, {1, -1})}, {}});
  EXPECT_FALSE(r.is_ok());
}

TEST(Reduce, IntegerTypes) {
  Tensor x = ti32({2, 3}, {1, -2, 3, 4, 5, -7});
  Tensor y = run1({"ReduceSum", 13, {x, ti64({1}, {1})}, {attr_i("keepdims", 0)}});
  ASSERT_EQ(y.dtype(), DataType::int32);
  expect_near(y, {2}, {2, 2});
  expect_near(run1({"ReduceMean", 18, {x, ti64({1}, {0})}, {attr_i("keepdims", 0)}}), {3}, {2, 1, -2});
  expect_near(run1({"ReduceProd", 18, {x, ti64({1}, {1})}, {attr_i("keepdims", 0)}}), {2}, {-6, -140});
  expect_near(run1({"ReduceL1", 18, {x, ti64({1}, {1})}, {attr_i("keepdims", 0)}}), {2}, {6, 16});
  Tensor xb = tensor_of<bool>(DataType::boolean, {2, 2}, {true, false, false, false});
  expect_near(run1({"ReduceMax", 20, {xb, ti64({1}, {1})}, {}}), {2, 1}, {1, 0});
  expect_near(run1({"ReduceMin", 20, {xb, ti64({1}, {1})}, {}}), {2, 1}, {0, 0});
}

TEST(Reduce, HalfTypesAccumulateInFloat) {
  // A float16 running sum of ones stalls at 2048; a float accumulator reaches 4096.
  std::vector<float> v(4096, 1.0f);
  Tensor x = th({4096}, v);
  Tensor y = run1({"ReduceSum", 13, {x}, {attr_i("keepdims", 0)}});
  ASSERT_EQ(y.dtype(), DataType::float16);
  expect_near(y, {}, {4096});
  Tensor m = run1({"ReduceMean", 18, {tbf({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9})}, {attr_i("keepdims", 0)}});
  ASSERT_EQ(m.dtype(), DataType::bfloat16);
  expect_near(m, {}, {5});
}

// Brute-force reference over every subset of axes of a rank-4 odd shape, with several threads so
// the parallel splits run as well.
double reference(const std::string& op, const std::vector<double>& vals) {
  if (op == "ReduceSum") { double s = 0; for (double v : vals) s += v; return s; }
  if (op == "ReduceMax") { double s = -kInf; for (double v : vals) s = std::max(s, v); return s; }
  if (op == "ReduceSumSquare") { double s = 0; for (double v : vals) s += v * v; return s; }
  if (op == "ReduceLogSumExp") { double s = 0; for (double v : vals) s += std::exp(v); return std::log(s); }
  if (op == "ReduceProd") { double s = 1; for (double v : vals) s *= v; return s; }
  return NAN;
}

void check_all_subsets(const Shape& shape, int threads) {
  int64_t n = shape_size(shape);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(0.5f, 1.5f);
  std::vector<float> data(static_cast<size_t>(n));
  for (float& v : data) v = dist(rng);
  Tensor x = tf(shape, data);
  const int rank = static_cast<int>(shape.size());
  for (const char* op : {"ReduceSum", "ReduceMax", "ReduceSumSquare", "ReduceLogSumExp", "ReduceProd"}) {
    for (int mask = 1; mask < (1 << rank); ++mask) {
      std::vector<int64_t> axes;
      for (int a = 0; a < rank; ++a)
        if (mask & (1 << a)) axes.push_back(a);
      OpCall call{op, 18, {x, ti64({static_cast<int64_t>(axes.size())}, axes)}, {attr_i("keepdims", 1)}};
      call.threads = threads;
      Tensor y = run1(call);
      ASSERT_TRUE(y.defined());
      // Walk every input element and bucket it into its output.
      Shape out_shape = shape;
      for (int64_t a : axes) out_shape[static_cast<size_t>(a)] = 1;
      std::vector<std::vector<double>> buckets(static_cast<size_t>(shape_size(out_shape)));
      std::vector<int64_t> idx(static_cast<size_t>(rank), 0);
      for (int64_t i = 0; i < n; ++i) {
        int64_t rem = i, o = 0;
        for (int d = rank - 1; d >= 0; --d) {
          idx[static_cast<size_t>(d)] = rem % shape[static_cast<size_t>(d)];
          rem /= shape[static_cast<size_t>(d)];
        }
        for (int d = 0; d < rank; ++d) o = o * out_shape[static_cast<size_t>(d)] + ((mask & (1 << d)) ? 0 : idx[static_cast<size_t>(d)]);
        buckets[static_cast<size_t>(o)].push_back(data[static_cast<size_t>(i)]);
      }
      std::vector<double> want;
      for (auto& b : buckets) want.push_back(reference(op, b));
      SCOPED_TRACE(std::string(op) + " mask " + std::to_string(mask) + " threads " + std::to_string(threads));
      expect_near(y, out_shape, want, 1e-4);
    }
  }
}

TEST(Reduce, EveryAxisSubsetSmall) { check_all_subsets({3, 1, 5, 7}, 1); }
TEST(Reduce, EveryAxisSubsetLargeParallel) { check_all_subsets({5, 3, 61, 131}, 3); }
TEST(Reduce, LongFullReductionParallel) { check_all_subsets({200003}, 4); }
TEST(Reduce, FewOutputsLongRowsParallel) { check_all_subsets({3, 70001}, 4); }

}  // namespace
}  // namespace tessera::kernel_test
