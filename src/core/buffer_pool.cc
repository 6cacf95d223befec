#include "core/buffer_pool.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <stdexcept>

#include "core/tensor_alloc.h"

namespace tessera {

namespace {

constexpr size_t kAlignment = 64;
constexpr size_t kGranule = 4096;  // sizes are rounded up to whole pages so similar shapes share blocks

size_t rounded_size(size_t bytes) { return (bytes + kGranule - 1) / kGranule * kGranule; }

}  // namespace

struct BufferPool::State {
  std::mutex mutex;
  std::multimap<size_t, void*> free_blocks;  // size -> block
  size_t cached = 0;
  size_t max_cached;

  explicit State(size_t max) : max_cached(max) {}
  ~State() {
    for (auto& [size, block] : free_blocks) std::free(block);
  }

  void* take(size_t size) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      auto it = free_blocks.find(size);
      if (it != free_blocks.end()) {
        void* block = it->second;
        free_blocks.erase(it);
        cached -= size;
        return block;
      }
    }
    void* block = std::aligned_alloc(kAlignment, size);
    if (!block) throw std::bad_alloc();
    return block;
  }

  void give_back(void* block, size_t size) {
    std::lock_guard<std::mutex> lock(mutex);
    if (cached + size > max_cached) {
      std::free(block);
      return;
    }
    free_blocks.emplace(size, block);
    cached += size;
  }
};

BufferPool::BufferPool(size_t max_cached_bytes) : state_(std::make_shared<State>(max_cached_bytes)) {}
BufferPool::~BufferPool() = default;

Tensor BufferPool::allocate(DataType dtype, const Shape& shape, bool zero_fill) {
  auto checked = checked_byte_size(dtype, shape);
  if (!checked.is_ok()) throw std::length_error(checked.status().message());
  const size_t bytes = *checked;
  if (dtype == DataType::string || bytes == 0) return allocate_or_throw(dtype, shape);
  size_t size = rounded_size(bytes);
  void* block = state_->take(size);
  if (zero_fill) std::memset(block, 0, bytes);
  // The owner hands the block back to the pool's state, which it keeps alive.
  std::shared_ptr<const void> owner(block, [state = state_, size](const void* p) { state->give_back(const_cast<void*>(p), size); });
  return Tensor::view(dtype, shape, std::move(owner), block);
}

size_t BufferPool::cached_bytes() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->cached;
}

}  // namespace tessera
