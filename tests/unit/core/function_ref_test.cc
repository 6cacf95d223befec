// FunctionRef: calls the callable it refers to, without copying it.
#include "core/function_ref.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>

namespace tessera {
namespace {

int64_t call(FunctionRef<int64_t(int64_t, int64_t)> fn, int64_t a, int64_t b) { return fn(a, b); }

TEST(FunctionRef, CallsALambdaWithALargeCapture) {
  const std::array<int64_t, 6> weights{1, 2, 3, 4, 5, 6};  // 48 bytes: std::function would allocate
  auto dot = [weights](int64_t a, int64_t b) { return a * weights[0] + b * weights[5]; };
  EXPECT_EQ(call(dot, 10, 100), 610);
  EXPECT_EQ(call([](int64_t a, int64_t b) { return a - b; }, 7, 3), 4);  // a temporary
}

TEST(FunctionRef, RefersToTheCallableRatherThanACopy) {
  int64_t calls = 0;
  auto counter = [calls](int64_t a, int64_t) mutable { return a + ++calls; };
  EXPECT_EQ(call(counter, 0, 0), 1);
  EXPECT_EQ(call(counter, 0, 0), 2);  // the same object's state: not a copy per call
  EXPECT_EQ(counter(0, 0), 3);
}

}  // namespace
}  // namespace tessera
