#include "core/buffer_pool.h"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

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

// A large block (its whole 2 MiB pages advised for huge pages, core/aligned_block.h) is zero
// filled whether fresh or reused, and serves a later, somewhat smaller request.
TEST(BufferPool, LargeBlocksAreZeroFilledFreshOrReused) {
  BufferPool pool;
  const int64_t floats = (int64_t{3} << 20) / 4 + 100;  // just over 3 MiB
  const void* first_data;
  {
    Tensor t = pool.allocate(DataType::float32, {floats});
    for (int64_t i = 0; i < floats; i += 997) EXPECT_EQ(t.data<float>()[i], 0.f);
    first_data = t.raw_data();
    for (int64_t i = 0; i < floats; ++i) t.data<float>()[i] = 1.f;
  }
  EXPECT_EQ(pool.cached_bytes(), (static_cast<size_t>(floats) * 4 + 4095) / 4096 * 4096);
  Tensor again = pool.allocate(DataType::float32, {floats - 1000});
  EXPECT_EQ(again.raw_data(), first_data);
  for (int64_t i = 0; i < floats - 1000; ++i) ASSERT_EQ(again.data<float>()[i], 0.f) << i;
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

// Every block is checked against the tensor limits; the message names the field to raise.
TEST(BufferPool, RefusesTensorsPastItsLimits) {
  ResourceLimits limits;
  limits.max_tensor_bytes = 4096;
  limits.max_tensor_elements = 2000;
  BufferPool pool(size_t{1} << 20, limits);
  EXPECT_EQ(pool.allocate(DataType::float32, {1024}).size(), 1024);
  try {
    (void)pool.allocate(DataType::float32, {1025});
    FAIL() << "4100 bytes passed a 4096-byte limit";
  } catch (const std::length_error& e) {
    EXPECT_NE(std::string(e.what()).find("limits.max_tensor_bytes"), std::string::npos) << e.what();
  }
  try {
    (void)pool.allocate(DataType::uint8, {2001});
    FAIL() << "2001 elements passed a 2000-element limit";
  } catch (const std::length_error& e) {
    EXPECT_NE(std::string(e.what()).find("limits.max_tensor_elements"), std::string::npos) << e.what();
  }
}

// A run's budget counts its live blocks (rounded to pages), refuses one past the limit, and gets
// every byte back as the tensors go, whether they die before or after the pool.
TEST(BufferPool, ArenaBudgetCountsLiveBlocksAndGetsThemBack) {
  auto budget = std::make_shared<ArenaBudget>(3 * 4096);
  Tensor outlives_the_pool;
  {
    BufferPool pool;
    Tensor a = pool.allocate(DataType::float32, {1000}, true, budget);
    Tensor b = pool.allocate(DataType::float32, {2000}, true, budget);
    EXPECT_EQ(budget->live.load(), 3u * 4096);
    try {
      (void)pool.allocate(DataType::float32, {1}, true, budget);
      FAIL() << "a block past the budget was handed out";
    } catch (const std::length_error& e) {
      EXPECT_NE(std::string(e.what()).find("limits.max_run_arena_bytes"), std::string::npos) << e.what();
    }
    EXPECT_EQ(budget->live.load(), 3u * 4096);  // the refused block is not counted
    b = Tensor();
    EXPECT_EQ(budget->live.load(), 4096u);
    outlives_the_pool = pool.allocate(DataType::float32, {1500}, true, budget);  // fits again
    EXPECT_EQ(budget->live.load(), 3u * 4096);
  }
  EXPECT_EQ(budget->live.load(), 2u * 4096);
  outlives_the_pool = Tensor();
  EXPECT_EQ(budget->live.load(), 0u);
}

}  // namespace
}  // namespace tessera
