// Making tensors through the public API: absurd shapes and sizes are a Status, never an exception.
#include "tessera/tensor.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace tessera {
namespace {

TEST(Tensor, CreateZeroFillsAndRecordsHostMemory) {
  auto t = Tensor::create(DataType::float32, {2, 3});
  ASSERT_TRUE(t.is_ok()) << t.status().message();
  EXPECT_EQ(t->size(), 6);
  EXPECT_EQ(t->byte_size(), 24u);
  for (float v : t->span<const float>()) EXPECT_EQ(v, 0.f);
  EXPECT_TRUE(t->location().is_host());
  auto s = Tensor::create(DataType::string, {2});
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s->data<std::string>()[1], "");
}

TEST(Tensor, AbsurdShapesAreAStatusNotAnException) {
  const int64_t big = std::numeric_limits<int64_t>::max();
  const std::vector<Shape> absurd = {{-1}, {3, -2}, {big, big}, {big / 2, 4}, {1 << 20, 1 << 20, 1 << 20}};
  for (const Shape& shape : absurd) {
    Result<Tensor> t = Tensor::create(DataType::float32, shape);  // must not throw
    ASSERT_FALSE(t.is_ok()) << shape_to_string(shape);
    EXPECT_EQ(t.status().code(), StatusCode::invalid_argument);
    EXPECT_NE(t.status().message().find(shape_to_string(shape)), std::string::npos) << t.status().message();
    EXPECT_FALSE(checked_byte_size(DataType::float32, shape).is_ok());
  }
  EXPECT_FALSE(Tensor::create(DataType::undefined, {1}).is_ok());
  EXPECT_FALSE(Tensor::create(static_cast<DataType>(99), {1}).is_ok());
}

TEST(Tensor, FromVectorChecksCountAndElementSize) {
  auto ok = Tensor::from_vector<int64_t>(DataType::int64, {2, 2}, {1, -2, 3, -4});
  ASSERT_TRUE(ok.is_ok());
  EXPECT_EQ(ok->data<int64_t>()[3], -4);

  auto too_few = Tensor::from_vector<float>(DataType::float32, {2, 2}, {1, 2, 3});
  ASSERT_FALSE(too_few.is_ok());
  EXPECT_NE(too_few.status().message().find("3 values for shape [2,2]"), std::string::npos) << too_few.status().message();

  auto wrong_width = Tensor::from_vector<int32_t>(DataType::int64, {1}, {7});
  ASSERT_FALSE(wrong_width.is_ok());
  EXPECT_NE(wrong_width.status().message().find("int64"), std::string::npos) << wrong_width.status().message();

  EXPECT_FALSE(Tensor::from_vector<float>(DataType::float32, {-1}, {}).is_ok());
}

TEST(Tensor, CloneCopiesTheData) {
  auto a = Tensor::from_vector<float>(DataType::float32, {2}, {1, 2});
  ASSERT_TRUE(a.is_ok());
  auto b = a->clone();
  ASSERT_TRUE(b.is_ok());
  EXPECT_FALSE(b->shares_buffer_with(*a));
  b->data<float>()[0] = 5;
  EXPECT_EQ(a->data<float>()[0], 1);
}

TEST(Result, AccessorsDoNotThrow) {
  Result<int> bad = invalid_argument("no value");
  EXPECT_FALSE(bad.is_ok());
  EXPECT_FALSE(static_cast<bool>(bad));
  EXPECT_EQ(bad.value_or(7), 7);
  EXPECT_EQ(std::move(bad).status().message(), "no value");
  Result<std::string> good = std::string("x");
  EXPECT_EQ(*good, "x");
  const Result<std::string>& cgood = good;
  EXPECT_EQ(cgood->size(), 1u);
  EXPECT_EQ(std::move(good).value(), "x");
}

}  // namespace
}  // namespace tessera
