#include "core/page_blocks.h"

#include <cstdint>
#include <cstdlib>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace tessera {

namespace {

constexpr size_t kAlignment = 64;

#if defined(__linux__)
size_t round_up(size_t bytes, size_t unit) { return (bytes + unit - 1) / unit * unit; }

#ifdef MADV_POPULATE_WRITE
constexpr int kPopulateWrite = MADV_POPULATE_WRITE;
#else
constexpr int kPopulateWrite = 23;  // Linux 5.14's value, for older headers
#endif
#endif

}  // namespace

#if defined(__linux__)

PageBlock allocate_page_block(size_t size) {
  if (size < mapped_block_min_bytes) {
    void* p = std::aligned_alloc(kAlignment, size);
    if (!p) throw std::bad_alloc();
    return {p, size, false};
  }
  if (size < huge_block_min_bytes) {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    madvise(p, size, kPopulateWrite);  // faults it in now, in one call; without it (Linux < 5.14), on first touch
    return {p, size, true};
  }
  const size_t bytes = round_up(size, kHugePageBytes);
  // One huge page more than needed, then the ends trimmed, so the block starts on a 2 MiB
  // boundary (older kernels do not align anonymous mappings themselves).
  void* mapped = mmap(nullptr, bytes + kHugePageBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<uintptr_t>(mapped);
  const uintptr_t aligned = round_up(start, kHugePageBytes);
  if (aligned > start) munmap(mapped, aligned - start);
  const uintptr_t end = start + bytes + kHugePageBytes;
  if (end > aligned + bytes) munmap(reinterpret_cast<void*>(aligned + bytes), end - (aligned + bytes));
  void* data = reinterpret_cast<void*>(aligned);
  madvise(data, bytes, MADV_HUGEPAGE);  // advice only: without THP the block works with 4 KiB pages
  return {data, bytes, true};
}

void free_page_block(void* data, size_t size) {
  if (size < mapped_block_min_bytes)
    std::free(data);
  else
    munmap(data, size);
}

#else

PageBlock allocate_page_block(size_t size) {
  void* p = std::aligned_alloc(kAlignment, size);
  if (!p) throw std::bad_alloc();
  return {p, size, false};
}

void free_page_block(void* data, size_t) { std::free(data); }

#endif

}  // namespace tessera
