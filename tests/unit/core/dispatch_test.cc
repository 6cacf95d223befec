#include "core/dispatch.h"

#include <gtest/gtest.h>

#include <type_traits>

namespace tessera {
namespace {

TEST(Dispatch, EveryElementTypeHasItsOwnStorageType) {
  for (int32_t v = 1; v <= kMaxDataTypeValue; ++v) {
    const DataType t = static_cast<DataType>(v);
    DataType back = DataType::undefined;
    size_t size = 0;
    const Status s = dispatch<~TypeSet{0}>(t, [&]<class T>() {
      back = dtype_of<T>();
      size = sizeof(T);
      return Status::ok();
    }, "test");
    ASSERT_TRUE(s.is_ok()) << dtype_name(t) << ": " << s.message();
    EXPECT_EQ(back, t) << dtype_name(t);
    EXPECT_EQ(size, dtype_size(t)) << dtype_name(t);
  }
}

TEST(Dispatch, RejectsTypesOutsideTheSet) {
  const Status s = dispatch<kFloatTypes>(DataType::int32, []<class T>() { return Status::ok(); }, "node 'n' (Relu)");
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.message(), "node 'n' (Relu): element type int32 is not supported");
}

TEST(Widen, ComputeTypesAndRoundTrips) {
  static_assert(std::is_same_v<compute_t<float16_t>, float>);
  static_assert(std::is_same_v<compute_t<float8e5m2_t>, float>);
  static_assert(std::is_same_v<compute_t<double>, double>);
  static_assert(std::is_same_v<compute_t<int64_t>, int64_t>);
  static_assert(std::is_same_v<compute_t<int4_t>, int8_t>);
  EXPECT_EQ(to_computed(from_computed<float16_t>(1.5f)), 1.5f);
  EXPECT_EQ(to_computed(from_computed<bfloat16_t>(-2.0)), -2.0f);
  EXPECT_EQ(to_computed(from_computed<float8e4m3fn_t>(0.5f)), 0.5f);
  EXPECT_EQ(to_computed(from_computed<float8e4m3fn_t>(1e6f)), 448.0f);  // saturates, like Cast
  EXPECT_EQ(to_computed(from_computed<int4_t>(-8)), -8);
  EXPECT_EQ(to_computed<double>(int32_t{3}), 3.0);
  EXPECT_EQ(round_to<float16_t>(1.0 + 1e-5), 1.0);
}

}  // namespace
}  // namespace tessera
