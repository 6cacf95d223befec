// ShapeKeyedCache: made once per shape, remade when the shape changes, errors not cached.
#include "framework/shape_keyed_cache.h"

#include <gtest/gtest.h>

namespace tessera {
namespace {

TEST(ShapeKeyedCache, MakesOncePerShapeAndAgainWhenTheShapeChanges) {
  ShapeKeyedCache<int64_t> cache;
  int calls = 0;
  auto product = [&](const Shape& s) {
    return [&calls, s]() -> Result<int64_t> {
      ++calls;
      return shape_size(s);
    };
  };
  const Shape a{2, 3}, b{4, 5};
  auto first = cache.get(a, product(a));
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ(**first, 6);
  auto again = cache.get(a, product(a));
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(again->get(), first->get()) << "the same shape reuses the entry";
  EXPECT_EQ(calls, 1);

  auto other = cache.get(b, product(b));
  ASSERT_TRUE(other.is_ok());
  EXPECT_EQ(**other, 20);
  EXPECT_EQ(**first, 6) << "a reader keeps its entry alive after it is replaced";
  auto back = cache.get(a, product(a));
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(**back, 6);
  EXPECT_EQ(calls, 3);
}

TEST(ShapeKeyedCache, AFailureIsReturnedAndNotCached) {
  ShapeKeyedCache<int64_t> cache;
  int calls = 0;
  auto fail = [&]() -> Result<int64_t> {
    ++calls;
    return invalid_argument("no");
  };
  EXPECT_FALSE(cache.get(Shape{1}, fail).is_ok());
  EXPECT_FALSE(cache.get(Shape{1}, fail).is_ok());
  EXPECT_EQ(calls, 2);
  auto ok = cache.get(Shape{1}, [] { return Result<int64_t>(int64_t{5}); });
  ASSERT_TRUE(ok.is_ok());
  EXPECT_EQ(**ok, 5);
}

}  // namespace
}  // namespace tessera
