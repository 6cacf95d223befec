#include "tessera/tensor.h"

#include <unistd.h>

#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <cstring>
#include <new>
#include <string>

namespace tessera {

int64_t shape_size(const Shape& shape) {
  uint64_t n = 1;  // unsigned: an absurd shape wraps here and is refused by checked_byte_size
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return static_cast<int64_t>(n);
}

size_t checked_byte_size(DataType dtype, const Shape& shape) {
  static const uint64_t memory_bytes =
      static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGE_SIZE));
  uint64_t bytes = dtype_size(dtype);
  for (int64_t d : shape) {
    if (d < 0) throw std::length_error("tensor shape " + shape_to_string(shape) + " has a negative dimension");
    if (d != 0 && bytes > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d))
      throw std::length_error("tensor shape " + shape_to_string(shape) + " overflows the address space");
    bytes *= static_cast<uint64_t>(d);
  }
  if (bytes > memory_bytes)
    throw std::length_error("a " + std::string(dtype_name(dtype)) + " tensor of shape " + shape_to_string(shape) + " needs " +
                            std::to_string(bytes) + " bytes, more than this machine's " + std::to_string(memory_bytes));
  return static_cast<size_t>(bytes);
}

std::string shape_to_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

namespace {

constexpr size_t kAlignment = 64;  // cache line; lets SIMD kernels use aligned loads

// Owns a 64-byte aligned block; destroys the std::string objects of string tensors.
struct Buffer {
  void* data = nullptr;
  int64_t string_count = 0;
  ~Buffer() {
    auto* strings = static_cast<std::string*>(data);
    for (int64_t i = 0; i < string_count; ++i) strings[i].~basic_string();
    std::free(data);
  }
};

std::shared_ptr<Buffer> allocate(DataType dtype, const Shape& shape, int64_t count) {
  size_t bytes = checked_byte_size(dtype, shape);
  auto buffer = std::make_shared<Buffer>();
  size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  if (rounded == 0) rounded = kAlignment;
  buffer->data = std::aligned_alloc(kAlignment, rounded);
  if (!buffer->data) throw std::bad_alloc();
  if (dtype == DataType::string) {
    auto* strings = static_cast<std::string*>(buffer->data);
    for (int64_t i = 0; i < count; ++i) new (strings + i) std::string();
    buffer->string_count = count;
  } else {
    std::memset(buffer->data, 0, bytes);
  }
  return buffer;
}

}  // namespace

Tensor::Tensor(DataType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)), size_(shape_size(shape_)) {
  auto buffer = allocate(dtype_, shape_, size_);
  data_ = buffer->data;
  buffer_ = std::move(buffer);
}

Tensor Tensor::view(DataType dtype, Shape shape, std::shared_ptr<const void> owner, const void* data) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.size_ = shape_size(t.shape_);
  t.buffer_ = std::move(owner);
  t.data_ = const_cast<void*>(data);
  return t;
}

size_t Tensor::byte_size() const { return static_cast<size_t>(size_) * dtype_size(dtype_); }

Tensor Tensor::reshaped(Shape shape) const {
  Tensor t = *this;
  t.shape_ = std::move(shape);
  t.size_ = shape_size(t.shape_);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  if (dtype_ == DataType::string) {
    for (int64_t i = 0; i < size_; ++i) t.data<std::string>()[i] = data<std::string>()[i];
  } else if (size_ > 0) {
    std::memcpy(t.data_, data_, byte_size());
  }
  return t;
}

}  // namespace tessera
