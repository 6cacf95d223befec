#include "core/buffer_pool.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <stdexcept>
#include <utility>
#include <vector>

#include "core/aligned_block.h"
#include "core/tensor_alloc.h"
#include "core/tensor_limits.h"

namespace tessera {

namespace {

constexpr size_t kGranule = 4096;  // sizes are rounded up to whole pages so similar shapes share blocks

size_t rounded_size(size_t bytes) { return (bytes + kGranule - 1) / kGranule * kGranule; }

}  // namespace

struct BufferPool::State {
  std::mutex mutex;
  // The control blocks of the tensors' shared handles (one per pooled tensor, all one size),
  // recycled like the blocks, so a steady-state run takes none from the heap (HandleAllocator).
  std::vector<void*> free_handles;
  size_t handle_bytes = 0;
  // Free blocks by size. A size's list stays when it empties, so that in steady state (the same
  // shapes run after run) taking and giving back never allocates.
  std::map<size_t, std::vector<void*>> free_blocks;
  size_t cached = 0;
  size_t max_cached;

  explicit State(size_t max) : max_cached(max) {}
  ~State() {
    for (auto& [size, blocks] : free_blocks)
      for (void* block : blocks) std::free(block);
    for (void* handle : free_handles) ::operator delete(handle);
  }

  void* take_handle(size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (bytes == handle_bytes && !free_handles.empty()) {
        void* handle = free_handles.back();
        free_handles.pop_back();
        return handle;
      }
    }
    return ::operator new(bytes);
  }

  void give_back_handle(void* handle, size_t bytes) {
    constexpr size_t kMaxFreeHandles = 4096;  // more tensors than any run keeps alive at once
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (handle_bytes == 0) handle_bytes = bytes;
      if (bytes == handle_bytes && free_handles.size() < kMaxFreeHandles) {
        free_handles.push_back(handle);
        return;
      }
    }
    ::operator delete(handle);
  }

  // A free block of at least `size` bytes and at most twice that (so that runs with varying
  // shapes reuse each other's blocks instead of caching one set per shape), else a new one.
  // Returns the block and its size.
  std::pair<void*, size_t> take(size_t size) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      for (auto it = free_blocks.lower_bound(size); it != free_blocks.end() && it->first / 2 <= size; ++it) {
        if (it->second.empty()) continue;
        void* block = it->second.back();
        it->second.pop_back();
        cached -= it->first;
        return {block, it->first};
      }
    }
    void* block = allocate_block(size);
    if (!block) throw std::bad_alloc();
    return {block, size};
  }

  void give_back(void* block, size_t size) {
    std::lock_guard<std::mutex> lock(mutex);
    if (cached + size > max_cached) {
      std::free(block);
      return;
    }
    free_blocks[size].push_back(block);
    cached += size;
  }
};

namespace {

// Allocates the pooled tensors' shared_ptr control blocks from their pool's State. Holds the
// State, so a control block freed after its pool is gone still has its cache to go back to.
template <class T>
struct HandleAllocator {
  using value_type = T;
  std::shared_ptr<BufferPool::State> state;

  explicit HandleAllocator(std::shared_ptr<BufferPool::State> s) : state(std::move(s)) {}
  template <class U>
  HandleAllocator(const HandleAllocator<U>& other) : state(other.state) {}  // NOLINT: rebinding, as allocators do
  T* allocate(size_t n) { return static_cast<T*>(state->take_handle(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { state->give_back_handle(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const HandleAllocator<U>& other) const { return state == other.state; }
};

}  // namespace

BufferPool::BufferPool(size_t max_cached_bytes, const ResourceLimits& limits)
    : state_(std::make_shared<State>(max_cached_bytes)), limits_(limits) {}
BufferPool::~BufferPool() = default;

Tensor BufferPool::allocate(DataType dtype, const Shape& shape, bool zero_fill, const std::shared_ptr<ArenaBudget>& budget) {
  Status fits = check_tensor_limits(dtype, shape, limits_);
  if (!fits.is_ok()) throw std::length_error(fits.message());
  auto checked = checked_byte_size(dtype, shape);
  if (!checked.is_ok()) throw std::length_error(checked.status().message());
  const size_t bytes = *checked;
  if (dtype == DataType::string || bytes == 0) return allocate_or_throw(dtype, shape);
  const size_t rounded = rounded_size(bytes);
  if (budget) {
    // Counted before the block is taken, so that concurrent allocations cannot all pass.
    const uint64_t before = budget->live.fetch_add(rounded, std::memory_order_relaxed);
    if (budget->max_bytes && before + rounded > budget->max_bytes) {
      budget->live.fetch_sub(rounded, std::memory_order_relaxed);
      throw std::length_error(str_cat("this run holds ", before, " bytes of tensors and asks for ", rounded,
                                      " more, over the limit max_run_arena_bytes = ", budget->max_bytes,
                                      " (raise SessionOptions::limits.max_run_arena_bytes)"));
    }
  }
  std::pair<void*, size_t> taken;
  try {
    taken = state_->take(rounded);
  } catch (...) {
    if (budget) budget->live.fetch_sub(rounded, std::memory_order_relaxed);
    throw;
  }
  const auto [block, size] = taken;
  if (zero_fill) std::memset(block, 0, bytes);
  // The owner hands the block back to the pool's state, which it keeps alive, and its bytes
  // back to the run's budget.
  std::shared_ptr<const void> owner(
      block,
      [state = state_, size = size, budget, rounded](const void* p) {
        if (budget) budget->live.fetch_sub(rounded, std::memory_order_relaxed);
        state->give_back(const_cast<void*>(p), size);
      },
      HandleAllocator<char>(state_));
  return Tensor::view(dtype, shape, std::move(owner), block);
}

size_t BufferPool::cached_bytes() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->cached;
}

}  // namespace tessera
