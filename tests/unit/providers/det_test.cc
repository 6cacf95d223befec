// Det (batched, singular, non-square).
#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

TEST(Det, BatchedAndSingular) {
  // [[2,0,0],[0,3,0],[0,0,4]] = 24; a row swap flips the sign; a singular matrix gives 0.
  Tensor x = tf({3, 3, 3}, {2, 0, 0, 0, 3, 0, 0, 0, 4,  //
                            0, 3, 0, 2, 0, 0, 0, 0, 4,  //
                            1, 2, 3, 2, 4, 6, 7, 8, 9});
  expect_f_close(run1({"Det", 22, {x}}), {3}, {24, -24, 0});
  Tensor d = run1({"Det", 22, {td({2, 2}, {1.5, 2, 3, 4})}});
  ASSERT_EQ(d.dtype(), DataType::float64);
  EXPECT_DOUBLE_EQ(d.data<double>()[0], 0.0);
  expect_error(OpCall("Det", 22, {tf({2, 3}, {1, 2, 3, 4, 5, 6})}), "[*, M, M]");
}

}  // namespace
}  // namespace tessera::kernel_test
