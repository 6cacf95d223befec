// Slice: random starts/ends/steps (negative, out of range, INT64 extremes) on odd shapes against
// the spec's clamping rules; opset-1 attributes; int32 inputs; errors.
#include <algorithm>
#include <limits>
#include <random>

#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

// The coordinates the spec's clamping selects from an axis of size n. This is Python's
// slice(start, stop, step) except that with a negative step a start below -n clamps to 0 (the
// spec, and ONNX Runtime) where Python would select nothing.
std::vector<int64_t> spec_slice(int64_t start, int64_t stop, int64_t step, int64_t n) {
  if (start < 0) start += n;
  if (stop < 0) stop += n;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, n);
    stop = std::clamp<int64_t>(stop, 0, n);
  } else {
    start = std::clamp<int64_t>(start, 0, n - 1);
    stop = std::clamp<int64_t>(stop, -1, n - 1);
  }
  std::vector<int64_t> out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back(i);
  return out;
}

TEST(Slice, RandomAgainstSpecClamping) {
  std::mt19937 rng(7);
  const Shape shape = {5, 1, 7, 3};
  Tensor x = iota_f(shape);
  const int64_t big = std::numeric_limits<int64_t>::max(), small = std::numeric_limits<int64_t>::min();
  const std::vector<int64_t> picks = {-9, -3, -1, 0, 1, 2, 4, 6, 8, big, small};
  for (int trial = 0; trial < 400; ++trial) {
    std::vector<int64_t> starts, ends, axes, steps;
    std::vector<std::vector<int64_t>> coords(4);
    for (int64_t k = 0; k < 4; ++k) coords[k] = spec_slice(0, shape[k], 1, shape[k]);
    for (int64_t k = 0; k < 4; ++k) {
      if (rng() % 3 == 0) continue;
      int64_t s = picks[rng() % picks.size()], e = picks[rng() % picks.size()];
      int64_t st = std::vector<int64_t>{1, 2, 3, -1, -2, -4}[rng() % 6];
      starts.push_back(s);
      ends.push_back(e);
      steps.push_back(st);
      axes.push_back(rng() % 2 ? k : k - 4);
      coords[k] = spec_slice(s, e, st, shape[k]);
    }
    const int64_t n = static_cast<int64_t>(starts.size());
    Tensor y = run1({"Slice", 13, {x, ti64({n}, starts), ti64({n}, ends), ti64({n}, axes), ti64({n}, steps)}});
    std::vector<float> want;
    for (int64_t a : coords[0])
      for (int64_t b : coords[1])
        for (int64_t c : coords[2])
          for (int64_t d : coords[3]) want.push_back(static_cast<float>(((a * 1 + b) * 7 + c) * 3 + d));
    ASSERT_EQ(values_of<float>(y), want) << "trial " << trial;
    for (int64_t k = 0; k < 4; ++k) ASSERT_EQ(y.dim(k), static_cast<int64_t>(coords[k].size()));
  }
}

TEST(Slice, DefaultAxesAndSteps) {
  Tensor x = iota_f({3, 4});
  expect_f(run1({"Slice", 13, {x, ti64({2}, {1, -3}), ti64({2}, {3, 3})}}), {2, 2}, {5, 6, 9, 10});
  // omitted axes (empty name) with steps present
  expect_f(run1({"Slice", 13, {x, ti32({1}, {-1}), ti32({1}, {-10}), std::nullopt, ti32({1}, {-2})}}), {2, 4},
           {8, 9, 10, 11, 0, 1, 2, 3});
}

TEST(Slice, Opset1Attributes) {
  Tensor x = iota_f({3, 4});
  expect_f(run1({"Slice", 1, {x}, {attr_ints("starts", {1}), attr_ints("ends", {1000}), attr_ints("axes", {1})}}), {3, 3},
           {1, 2, 3, 5, 6, 7, 9, 10, 11});
}

TEST(Slice, StringsAndErrors) {
  Tensor s = ts({4}, {"a", "b", "c", "d"});
  EXPECT_EQ(values_of<std::string>(run1({"Slice", 13, {s, ti64({1}, {-1}), ti64({1}, {0}), ti64({1}, {0}), ti64({1}, {-1})}})),
            (std::vector<std::string>{"d", "c", "b"}));
  Tensor x = iota_f({3, 4});
  expect_error({"Slice", 13, {x, ti64({1}, {0}), ti64({1}, {1}), ti64({1}, {0}), ti64({1}, {0})}}, "step");
  expect_error({"Slice", 13, {x, ti64({1}, {0}), ti64({1}, {1}), ti64({1}, {2})}}, "out of range");
  expect_error({"Slice", 13, {x, ti64({2}, {0, 0}), ti64({2}, {1, 1}), ti64({2}, {1, -1})}}, "repeated");
}

}  // namespace
}  // namespace tessera::kernel_test
