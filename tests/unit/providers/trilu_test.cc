// Trilu.
#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

TEST(Trilu, UpperLowerWithK) {
  Tensor x = tf({3, 4}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  expect_f(run1({"Trilu", 14, {x}}), {3, 4}, {1, 2, 3, 4, 0, 6, 7, 8, 0, 0, 11, 12});
  expect_f(run1({"Trilu", 14, {x, ti64({}, {-1})}, {attr_i("upper", 0)}}), {3, 4}, {0, 0, 0, 0, 5, 0, 0, 0, 9, 10, 0, 0});
  expect_f(run1({"Trilu", 14, {x, ti64({}, {2})}}), {3, 4}, {0, 0, 3, 4, 0, 0, 0, 8, 0, 0, 0, 0});
  expect_f(run1({"Trilu", 14, {x, ti64({}, {-7})}, {attr_i("upper", 0)}}), {3, 4}, std::vector<float>(12, 0));
  Tensor batched = run1({"Trilu", 14, {iota_f({2, 2, 2}), std::nullopt}, {attr_i("upper", 0)}});
  expect_f(batched, {2, 2, 2}, {0, 0, 2, 3, 4, 0, 6, 7});
}

}  // namespace
}  // namespace tessera::kernel_test
