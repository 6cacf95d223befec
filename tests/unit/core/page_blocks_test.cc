#include "core/page_blocks.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

namespace tessera {
namespace {

bool all_zero(const void* data, size_t size) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i)
    if (bytes[i] != 0) return false;
  return true;
}

TEST(PageBlocks, SmallBlocksComeFromMallocAligned) {
  PageBlock b = allocate_page_block(8192);
  ASSERT_NE(b.data, nullptr);
  EXPECT_EQ(b.size, 8192u);
  EXPECT_FALSE(b.fresh_zeroed);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data) % 64, 0u);
  std::memset(b.data, 7, b.size);
  free_page_block(b.data, b.size);
}

#if defined(__linux__)
TEST(PageBlocks, MidSizeBlocksAreMappedZeroedAtTheirSize) {
  const size_t size = mapped_block_min_bytes + 3 * 4096;
  PageBlock b = allocate_page_block(size);
  ASSERT_NE(b.data, nullptr);
  EXPECT_EQ(b.size, size);
  EXPECT_TRUE(b.fresh_zeroed);
  EXPECT_TRUE(all_zero(b.data, b.size));
  std::memset(b.data, 1, b.size);  // writable to the end
  free_page_block(b.data, b.size);
}

TEST(PageBlocks, LargeBlocksAreWholeHugePagesOnAHugePageBoundary) {
  for (size_t size : {huge_block_min_bytes, kHugePageBytes, kHugePageBytes + 4096, size_t{5} << 20}) {
    PageBlock b = allocate_page_block(size);
    ASSERT_NE(b.data, nullptr);
    EXPECT_EQ(b.size, (size + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes) << size;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data) % kHugePageBytes, 0u) << size;
    EXPECT_TRUE(b.fresh_zeroed);
    EXPECT_TRUE(all_zero(b.data, b.size)) << size;
    std::memset(b.data, 1, b.size);
    free_page_block(b.data, b.size);
  }
}
#endif

}  // namespace
}  // namespace tessera
