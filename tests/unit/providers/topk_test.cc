// TopK (stable ties, largest/smallest, strided axis, old attribute form).
#include <algorithm>
#include <cmath>

#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

TEST(TopK, LargestWithTiesPrefersSmallerIndex) {
  Tensor x = tf({2, 5}, {3, 1, 3, 7, 3, 0, 0, 0, 0, 0});
  auto r = run_op({"TopK", 11, {x, ti64({1}, {3})}, {}, 2});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  expect_near(r.value()[0].tensor(), {2, 3}, {7, 3, 3, 0, 0, 0});
  expect_near(r.value()[1].tensor(), {2, 3}, {3, 0, 2, 0, 1, 2});
}

TEST(TopK, SmallestAlongStridedAxis) {
  Tensor x = ti32({3, 2}, {5, -1, 2, 8, 2, 0});
  auto r = run_op({"TopK", 11, {x, ti64({1}, {2})}, {attr_i("axis", 0), attr_i("largest", 0)}, 2});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  expect_near(r.value()[0].tensor(), {2, 2}, {2, -1, 2, 0});
  expect_near(r.value()[1].tensor(), {2, 2}, {1, 0, 2, 2});
}

TEST(TopK, OldAttributeFormAndNaN) {
  auto r = run_op({"TopK", 1, {tf({4}, {1, NAN, 5, 2})}, {attr_i("k", 2)}, 2});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  expect_near(r.value()[0].tensor(), {2}, {NAN, 5});
  expect_near(r.value()[1].tensor(), {2}, {1, 2});
  EXPECT_FALSE(run_op({"TopK", 11, {tf({3}, {1, 2, 3}), ti64({1}, {4})}, {}, 2}).is_ok());
  // k = 0 gives empty outputs.
  r = run_op({"TopK", 11, {tf({3}, {1, 2, 3}), ti64({1}, {0})}, {}, 2});
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value()[0].tensor().size(), 0);
}

// Small k takes a one-pass path, large k a partial sort; both must equal a stable full sort.
TEST(TopK, MatchesStableSortForSmallAndLargeK) {
  const int64_t n = 97;
  std::vector<float> v(static_cast<size_t>(3 * n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>((i * 37) % 11);  // many ties
  v[5] = NAN;
  v[150] = NAN;
  Tensor x = tf({3, n}, v);
  for (int64_t k : {1, 4, 12, 60, 97}) {
    for (int64_t largest : {0, 1}) {
      auto r = run_op({"TopK", 11, {x, ti64({1}, {k})}, {attr_i("largest", largest)}, 2});
      ASSERT_TRUE(r.is_ok()) << r.status().message();
      for (int64_t row = 0; row < 3; ++row) {
        std::vector<int64_t> order(static_cast<size_t>(n));
        for (int64_t j = 0; j < n; ++j) order[static_cast<size_t>(j)] = j;
        auto key = [&](int64_t j) {
          float f = v[static_cast<size_t>(row * n + j)];
          return std::isnan(f) ? 1e9f : f;  // NaN above every number
        };
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
          return largest ? key(a) > key(b) : key(a) < key(b);
        });
        for (int64_t j = 0; j < k; ++j)
          ASSERT_EQ(r.value()[1].tensor().data<int64_t>()[row * k + j], order[static_cast<size_t>(j)])
              << "k=" << k << " largest=" << largest << " row=" << row << " j=" << j;
      }
    }
  }
}

}  // namespace
}  // namespace tessera::kernel_test
