// Optional, OptionalHasElement and OptionalGetElement on empty optionals, tensors and sequences.
#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

TEST(OptionalOps, WrapAndTest) {
  auto empty = run_op({"Optional", 15, {std::nullopt}});
  ASSERT_TRUE(empty.is_ok()) << empty.status().message();
  EXPECT_TRUE((*empty)[0].is_empty_optional());

  auto wrapped = run_op({"Optional", 15, {Value(tf({1}, {5}))}});
  ASSERT_TRUE(wrapped.is_ok());
  expect_tensor<float>((*wrapped)[0], {1}, {5});

  auto has_none = run_op({"OptionalHasElement", 18, {Value::empty_optional()}});
  expect_tensor<bool>((*has_none)[0], {}, {false});
  auto has_omitted = run_op({"OptionalHasElement", 18, {std::nullopt}});
  expect_tensor<bool>((*has_omitted)[0], {}, {false});
  auto has_seq = run_op({"OptionalHasElement", 18, {Value::sequence({}, DataType::int32)}});
  expect_tensor<bool>((*has_seq)[0], {}, {true});
}

TEST(OptionalOps, GetElement) {
  Value seq = Value::sequence({ti32({2}, {1, 2})});
  auto got = run_op({"OptionalGetElement", 18, {seq}});
  ASSERT_TRUE(got.is_ok());
  ASSERT_TRUE((*got)[0].is_sequence());
  EXPECT_EQ((*got)[0].items()[0].tensor().data<int32_t>()[1], 2);

  auto from_none = run_op({"OptionalGetElement", 15, {Value::empty_optional()}});
  ASSERT_FALSE(from_none.is_ok());
  EXPECT_NE(from_none.status().message().find("empty"), std::string::npos);
}

}  // namespace
}  // namespace tessera::kernel_test
