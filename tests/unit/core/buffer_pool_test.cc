#include "core/buffer_pool.h"

#include <gtest/gtest.h>

namespace tessera {
namespace {

TEST(BufferPool, ReusesReleasedBlocksZeroFilled) {
  BufferPool pool;
  const void* first_data;
  {
    Tensor t = pool.allocate(DataType::float32, {1000});
    first_data = t.raw_data();
    t.data<float>()[7] = 3.f;
  }
  EXPECT_EQ(pool.cached_bytes(), 4096u);
  Tensor again = pool.allocate(DataType::float32, {1000});
  EXPECT_EQ(again.raw_data(), first_data);  // same block back
  EXPECT_EQ(again.data<float>()[7], 0.f);    // and zeroed
  EXPECT_EQ(pool.cached_bytes(), 0u);
  Tensor other_size = pool.allocate(DataType::float32, {5000});
  EXPECT_NE(other_size.raw_data(), first_data);
}

TEST(BufferPool, SmallerRequestsReuseBlocksUpToTwiceTheirSize) {
  BufferPool pool;
  const void* big_data;
  {
    Tensor big = pool.allocate(DataType::uint8, {4 * 4096});
    big_data = big.raw_data();
  }
  {
    Tensor tiny = pool.allocate(DataType::uint8, {4096});  // a quarter: a block of its own
    EXPECT_NE(tiny.raw_data(), big_data);
  }
  EXPECT_EQ(pool.cached_bytes(), 5u * 4096);
  Tensor half = pool.allocate(DataType::uint8, {2 * 4096 + 1});  // rounds to 3 pages: takes the 4-page block
  EXPECT_EQ(half.raw_data(), big_data);
  EXPECT_EQ(pool.cached_bytes(), 4096u);
  half = Tensor();
  EXPECT_EQ(pool.cached_bytes(), 5u * 4096);  // given back at its own size
}

TEST(BufferPool, BlocksOutliveThePoolAndRespectTheCap) {
  Tensor survivor;
  {
    BufferPool small(8192);
    survivor = small.allocate(DataType::int64, {10});
    Tensor a = small.allocate(DataType::uint8, {8000});
    Tensor b = small.allocate(DataType::uint8, {8000});
    a = Tensor();
    b = Tensor();  // over the cap: freed, not cached
    EXPECT_EQ(small.cached_bytes(), 8192u);
  }
  survivor.data<int64_t>()[9] = 42;  // still valid after the pool is gone
  EXPECT_EQ(survivor.data<int64_t>()[9], 42);
}

TEST(BufferPool, StringTensorsAreAllocatedNormally) {
  BufferPool pool;
  Tensor s = pool.allocate(DataType::string, {3});
  s.data<std::string>()[2] = "hello";
  EXPECT_EQ(s.data<std::string>()[2], "hello");
}

}  // namespace
}  // namespace tessera
