// Recycles tensor buffers between runs. The executor frees each intermediate after its last use;
// with a pool, the next allocation of the same size takes that block back instead of asking the
// system for fresh pages (whose first touch costs a page fault per 4 KiB). A request takes the
// smallest free block of at least its size and at most twice it, so runs of varying shapes share
// blocks rather than caching a set per shape; taking and giving back a block of a size seen
// before allocates nothing. Thread-safe; blocks may outlive the pool (they are then simply freed).
#pragma once

#include <cstddef>
#include <memory>

#include "tessera/tensor.h"

namespace tessera {

class BufferPool {
 public:
  // Cached free blocks are capped at `max_cached_bytes`; beyond it released blocks are freed.
  explicit BufferPool(size_t max_cached_bytes = size_t{1} << 30);
  ~BufferPool();

  // A tensor whose buffer comes from (and returns to) the pool, zero-filled unless `zero_fill` is
  // false. String tensors and empty tensors are allocated normally. Throws as allocate_or_throw
  // does (core/tensor_alloc.h) for an absurd shape: it serves allocations inside a kernel.
  Tensor allocate(DataType dtype, const Shape& shape, bool zero_fill = true);

  size_t cached_bytes() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace tessera
