// Unique.
#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

TEST(Unique, SortedUnsortedAndAxis) {
  Tensor x = tf({6}, {2, 1, 1, 3, 4, 3});
  auto r = run_op({"Unique", 11, {x}, {}, 4});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  expect_f(r.value()[0].tensor(), {4}, {1, 2, 3, 4});
  expect_i64(r.value()[1].tensor(), {4}, {1, 0, 3, 4});
  expect_i64(r.value()[2].tensor(), {6}, {1, 0, 0, 2, 3, 2});
  expect_i64(r.value()[3].tensor(), {4}, {2, 1, 2, 1});
  r = run_op({"Unique", 11, {x}, {attr_i("sorted", 0)}, 4});
  ASSERT_TRUE(r.is_ok());
  expect_f(r.value()[0].tensor(), {4}, {2, 1, 3, 4});
  expect_i64(r.value()[1].tensor(), {4}, {0, 1, 3, 4});
  expect_i64(r.value()[2].tensor(), {6}, {0, 1, 1, 2, 3, 2});
  expect_i64(r.value()[3].tensor(), {4}, {1, 2, 2, 1});
  // Unique rows of [[1,0,0],[1,0,0],[2,3,4]] along axis 0, and its columns along axis 1.
  Tensor m = tf({3, 3}, {1, 0, 0, 1, 0, 0, 2, 3, 4});
  r = run_op({"Unique", 11, {m}, {attr_i("axis", 0)}, 4});
  ASSERT_TRUE(r.is_ok());
  expect_f(r.value()[0].tensor(), {2, 3}, {1, 0, 0, 2, 3, 4});
  expect_i64(r.value()[2].tensor(), {3}, {0, 0, 1});
  r = run_op({"Unique", 11, {m}, {attr_i("axis", -1)}, 4});
  ASSERT_TRUE(r.is_ok());
  expect_f(r.value()[0].tensor(), {3, 3}, {0, 0, 1, 0, 0, 1, 3, 4, 2});  // columns (0,0,3) < (0,0,4) < (1,1,2)
  expect_i64(r.value()[1].tensor(), {3}, {1, 2, 0});
  EXPECT_EQ(values_of<std::string>(run1({"Unique", 11, {ts({3}, {"b", "a", "b"})}})), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace tessera::kernel_test
