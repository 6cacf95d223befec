// Constant, ConstantOfShape, Range, EyeLike, OneHot.
#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

TEST(Constant, EveryAttributeForm) {
  expect_f(run1({"Constant", 13, {}, {attr_t("value", tf({3}, {1, 2, 3}))}}), {3}, {1, 2, 3});
  expect_f(run1({"Constant", 13, {}, {attr_f("value_float", 2.5f)}}), {}, {2.5f});
  Attribute floats;
  floats.name = "value_floats";
  floats.type = Attribute::Type::floats_;
  floats.floats = {1.5f, -2};
  expect_f(run1({"Constant", 13, {}, {floats}}), {2}, {1.5f, -2});
  expect_i64(run1({"Constant", 13, {}, {attr_i("value_int", 7)}}), {}, {7});
  expect_i64(run1({"Constant", 13, {}, {attr_ints("value_ints", {4, 5, 6})}}), {3}, {4, 5, 6});
  Tensor s = run1({"Constant", 13, {}, {attr_s("value_string", "hi")}});
  ASSERT_EQ(s.dtype(), DataType::string);
  EXPECT_EQ(s.data<std::string>()[0], "hi");
  Attribute strings;
  strings.name = "value_strings";
  strings.type = Attribute::Type::strings_;
  strings.strings = {"a", "bc"};
  EXPECT_EQ(values_of<std::string>(run1({"Constant", 13, {}, {strings}})), (std::vector<std::string>{"a", "bc"}));
}

TEST(Constant, MissingOrSparseValueFails) {
  expect_error({"Constant", 13, {}}, "Constant needs one of");
  Attribute sparse;
  sparse.name = "sparse_value";
  expect_error({"Constant", 13, {}, {sparse}}, "sparse_value");
}

TEST(ConstantOfShape, DefaultAndGivenValue) {
  expect_f(run1({"ConstantOfShape", 9, {ti64({2}, {2, 3})}}), {2, 3}, std::vector<float>(6, 0));
  expect_i64(run1({"ConstantOfShape", 9, {ti64({1}, {3})}, {attr_t("value", ti64({1}, {-4}))}}), {3}, {-4, -4, -4});
  Tensor empty = run1({"ConstantOfShape", 9, {ti64({1}, {0})}, {attr_t("value", ti32({1}, {1}))}});
  EXPECT_EQ(empty.dtype(), DataType::int32);
  EXPECT_EQ(shape_to_string(empty.shape()), "[0]");
  expect_error({"ConstantOfShape", 9, {ti64({1}, {-1})}}, "negative");
}

TEST(Range, IntsAndFloats) {
  expect_i64(run1({"Range", 11, {ti64({}, {10}), ti64({}, {4}), ti64({}, {-3})}}), {2}, {10, 7});
  expect_i64(run1({"Range", 11, {ti64({}, {3}), ti64({}, {9}), ti64({}, {3})}}), {2}, {3, 6});
  expect_i64(run1({"Range", 11, {ti64({}, {3}), ti64({}, {1}), ti64({}, {1})}}), {0}, {});
  expect_f(run1({"Range", 11, {tf({}, {1}), tf({}, {2}), tf({}, {0.25f})}}), {4}, {1, 1.25f, 1.5f, 1.75f});
  Tensor h = run1({"Range", 27, {th({}, {0}), th({}, {1}), th({}, {0.5f})}});
  ASSERT_EQ(h.dtype(), DataType::float16);
  ASSERT_EQ(h.size(), 2);
  EXPECT_EQ(half_to_float(h.data<float16_t>()[1].bits), 0.5f);
  expect_error({"Range", 11, {ti64({}, {0}), ti64({}, {4}), ti64({}, {0})}}, "zero");
}

TEST(EyeLike, OffsetsAndDtype) {
  expect_f(run1({"EyeLike", 9, {tf({2, 3}, std::vector<float>(6, 9))}, {attr_i("k", 1)}}), {2, 3}, {0, 1, 0, 0, 0, 1});
  expect_f(run1({"EyeLike", 9, {tf({3, 2}, std::vector<float>(6, 9))}, {attr_i("k", -1)}}), {3, 2}, {0, 0, 1, 0, 0, 1});
  Tensor y = run1({"EyeLike", 9, {tf({2, 2}, {0, 0, 0, 0})}, {attr_i("dtype", 7)}});
  expect_i64(y, {2, 2}, {1, 0, 0, 1});
}

TEST(OneHot, AxesNegativeAndOutOfRange) {
  Tensor idx = ti64({3}, {0, -1, 5});
  Tensor vals = tf({2}, {2, 9});  // off, on
  expect_f(run1({"OneHot", 11, {idx, ti64({}, {3}), vals}}), {3, 3}, {9, 2, 2, 2, 2, 9, 2, 2, 2});
  expect_f(run1({"OneHot", 11, {idx, tf({}, {3}), vals}, {attr_i("axis", 0)}}), {3, 3}, {9, 2, 2, 2, 2, 2, 2, 9, 2});
  Tensor fidx = tf({2, 1}, {1.7f, 0});  // float indices truncate
  expect_f(run1({"OneHot", 11, {fidx, ti64({}, {2}), vals}, {attr_i("axis", 1)}}), {2, 2, 1}, {2, 9, 9, 2});
  expect_error({"OneHot", 11, {idx, ti64({}, {3}), tf({3}, {0, 1, 2})}}, "off_value");
}

}  // namespace
}  // namespace tessera::kernel_test
