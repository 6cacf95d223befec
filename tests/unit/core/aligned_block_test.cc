#include "core/aligned_block.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // as in aligned_block.cc, for C libraries older than Linux 5.14
#endif

namespace tessera {
namespace {

bool aligned64(const void* p) { return reinterpret_cast<uintptr_t>(p) % 64 == 0; }

// Pages of [p, p + bytes) resident now, by mincore.
size_t resident_pages(const void* p, size_t bytes) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = reinterpret_cast<uintptr_t>(p) / page * page;
  const size_t span = reinterpret_cast<uintptr_t>(p) + bytes - begin;
  std::vector<unsigned char> in_core((span + page - 1) / page);
  if (mincore(reinterpret_cast<void*>(begin), span, in_core.data()) != 0) return 0;
  size_t n = 0;
  for (unsigned char c : in_core) n += c & 1;
  return n;
}

TEST(AlignedBlock, BothKindsAre64ByteAlignedAndWritableAtEverySize) {
  for (void* (*allocate)(size_t) : {allocate_block, allocate_weight_block}) {
    for (size_t bytes : {size_t{0}, size_t{1}, size_t{100}, size_t{4096}, (size_t{2} << 20) - 1, size_t{2} << 20,
                         (size_t{5} << 20) + 3}) {
      void* p = allocate(bytes);
      ASSERT_NE(p, nullptr) << bytes;
      EXPECT_TRUE(aligned64(p)) << bytes;
      std::memset(p, 0x5a, bytes);
      if (bytes > 0) {
        EXPECT_EQ(static_cast<unsigned char*>(p)[bytes - 1], 0x5a);
      }
      std::free(p);
    }
  }
}

// A large weight block is faulted in when it is handed out (the whole pages of it), so the
// copy that fills it takes no page fault per 4 KiB.
TEST(AlignedBlock, ALargeWeightBlockIsResidentBeforeItIsWritten) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* probe = std::aligned_alloc(page, page);
  ASSERT_NE(probe, nullptr);
  const bool kernel_populates = madvise(probe, page, MADV_POPULATE_WRITE) == 0;
  std::free(probe);
  if (!kernel_populates) GTEST_SKIP() << "this kernel has no MADV_POPULATE_WRITE (Linux 5.14)";

  const size_t bytes = size_t{6} << 20;
  void* block = allocate_weight_block(bytes);
  ASSERT_NE(block, nullptr);
  EXPECT_GE(resident_pages(block, bytes), bytes / page - 1);
  std::free(block);
}

}  // namespace
}  // namespace tessera
