// BitCast (same-width reinterpretation, sub-byte types, width and type errors).
#include <cstring>
#include <vector>

#include "tests/unit/providers/kernel_test_util.h"
#include "tests/unit/test_tensors.h"

namespace tessera::kernel_test {
namespace {

TEST(BitCast, KeepsBits) {
  Tensor y = run1({"BitCast", 26, {tf({2}, {1.0f, -2.5f})}, {attr_i("to", static_cast<int64_t>(DataType::int32))}});
  ASSERT_EQ(y.dtype(), DataType::int32);
  int32_t want[2];
  const float src[2] = {1.0f, -2.5f};
  std::memcpy(want, src, sizeof want);
  EXPECT_EQ(values_of<int32_t>(y), (std::vector<int32_t>{want[0], want[1]}));
  // int4 -> uint4: -1 (stored sign-extended) reads back as 15.
  Tensor i4 = zeros(DataType::int4, {2});
  i4.data<int8_t>()[0] = -1;
  i4.data<int8_t>()[1] = 7;
  Tensor u4 = run1({"BitCast", 26, {i4}, {attr_i("to", static_cast<int64_t>(DataType::uint4))}});
  EXPECT_EQ(values_of<uint8_t>(u4), (std::vector<uint8_t>{15, 7}));
  Tensor back = run1({"BitCast", 26, {u4}, {attr_i("to", static_cast<int64_t>(DataType::int4))}});
  EXPECT_EQ(values_of<int8_t>(back), (std::vector<int8_t>{-1, 7}));
  expect_error(OpCall("BitCast", 26, {tf({1}, {1})}, {attr_i("to", static_cast<int64_t>(DataType::int64))}), "bits");
  expect_error(OpCall("BitCast", 26, {tf({1}, {1})}, {attr_i("to", static_cast<int64_t>(DataType::string))}), "'to'");
}

}  // namespace
}  // namespace tessera::kernel_test
