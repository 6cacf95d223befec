// Recycles tensor buffers between runs. The executor frees each intermediate after its last use;
// with a pool, the next allocation of the same size takes that block back instead of asking the
// system for fresh pages (whose first touch costs a page fault per 4 KiB). A request takes the
// smallest free block of at least its size and at most twice it, so runs of varying shapes share
// blocks rather than caching a set per shape; taking and giving back a block of a size seen
// before allocates nothing. Thread-safe; blocks may outlive the pool (they are then simply freed).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "tessera/resource_limits.h"
#include "tessera/tensor.h"

namespace tessera {

// The bytes one run holds from a pool at a time, against ResourceLimits::max_run_arena_bytes.
// Shared by the run's tensors, which give their bytes back when freed (outputs after the run).
struct ArenaBudget {
  explicit ArenaBudget(uint64_t max) : max_bytes(max) {}
  const uint64_t max_bytes;  // 0: counted, not limited
  std::atomic<uint64_t> live{0};
};

class BufferPool {
 public:
  // Cached free blocks are capped at `max_cached_bytes`; beyond it released blocks are freed.
  // Every tensor is checked against `limits` (max_tensor_elements, max_tensor_bytes).
  explicit BufferPool(size_t max_cached_bytes = size_t{1} << 30, const ResourceLimits& limits = {});
  ~BufferPool();

  // A tensor whose buffer comes from (and returns to) the pool, zero-filled unless `zero_fill` is
  // false. String tensors and empty tensors are allocated normally. Throws as allocate_or_throw
  // does (core/tensor_alloc.h) for an absurd shape or one past the limits: it serves allocations
  // inside a kernel. With `budget`, the block counts against the run's arena while it lives, and
  // one that would take the run past budget->max_bytes throws instead.
  Tensor allocate(DataType dtype, const Shape& shape, bool zero_fill = true,
                  const std::shared_ptr<ArenaBudget>& budget = nullptr);

  size_t cached_bytes() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
  ResourceLimits limits_;
};

}  // namespace tessera
