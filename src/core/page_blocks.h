// Memory blocks for the buffer pool, straight from the system, made so that their first touch
// is cheap: on a virtual machine each page fault costs microseconds, and fresh activation memory
// made MobileNetV2's first run 10-13x slower than the runs after it (docs/performance.md).
// - from `huge_block_min_bytes`: mapped on its own, 2 MiB-aligned and rounded up to whole 2 MiB
//   pages, marked for transparent huge pages: one fault per 2 MiB instead of per 4 KiB;
// - from `mapped_block_min_bytes`: mapped and populated for writing in one call (the caller is
//   about to write all of it), instead of a fault per page;
// - smaller: malloc, whose small blocks mostly reuse pages already touched.
// A mapped block is fresh zeroed memory (`fresh_zeroed`), so a zero-filled tensor needs no memset.
#pragma once

#include <cstddef>

namespace tessera {

struct PageBlock {
  void* data = nullptr;
  size_t size = 0;            // what the block holds: at least the size asked for
  bool fresh_zeroed = false;  // new mapped pages: already zero
};

// A block of at least `size` bytes (a multiple of 4096), 64-byte aligned; throws std::bad_alloc
// when the system has no memory.
PageBlock allocate_page_block(size_t size);
// Frees a block made by allocate_page_block, given its `size` as returned.
void free_page_block(void* data, size_t size);

constexpr size_t kHugePageBytes = size_t{2} << 20;
// Below this, rounding a block up to a huge page would waste over a third of it.
constexpr size_t huge_block_min_bytes = kHugePageBytes / 2 + kHugePageBytes / 4;
// glibc's own threshold for mapping a block (which it then leaves to fault page by page).
constexpr size_t mapped_block_min_bytes = size_t{128} << 10;

}  // namespace tessera
