#include "core/aligned_block.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>

namespace tessera {

namespace {

constexpr size_t kAlignment = 64;
constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kSmallPage = 4096;

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older kernels answer EINVAL and pages fault one by one
#endif

void* small_block(size_t bytes) {
  const size_t rounded = bytes == 0 ? kAlignment : (bytes + kAlignment - 1) / kAlignment * kAlignment;
  return std::aligned_alloc(kAlignment, rounded);
}

}  // namespace

void* allocate_block(size_t bytes) {
  if (bytes < kHugePage) return small_block(bytes);
  // Starting on a huge-page boundary puts floor(bytes / 2 MiB) whole huge pages inside the block;
  // the tail stays in small pages, so resident memory never exceeds what is touched.
  void* block = nullptr;
  if (posix_memalign(&block, kHugePage, bytes) != 0) return nullptr;
  const size_t whole = bytes / kHugePage * kHugePage;
  madvise(block, whole, MADV_HUGEPAGE);  // advice only: where the kernel declines, small pages serve
  return block;
}

void* allocate_weight_block(size_t bytes) {
  if (bytes < kHugePage) return small_block(bytes);
  void* block = nullptr;
  if (posix_memalign(&block, kSmallPage, bytes) != 0) return nullptr;
  // One call faults in every page the caller is about to write; advice only, as above.
  madvise(block, bytes / kSmallPage * kSmallPage, MADV_POPULATE_WRITE);
  return block;
}

}  // namespace tessera
