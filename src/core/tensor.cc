#include "tessera/tensor.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "core/aligned_block.h"

namespace tessera {

int64_t shape_size(const Shape& shape) {
  uint64_t n = 1;  // unsigned: an absurd shape wraps here and is refused by checked_byte_size
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return static_cast<int64_t>(n);
}

Result<int64_t> checked_multiply(int64_t a, int64_t b) {
  int64_t product = 0;
  if (__builtin_mul_overflow(a, b, &product)) return invalid_argument(a, " x ", b, " overflows a 64-bit element count");
  return product;
}

Result<int64_t> checked_element_count(const Shape& shape) {
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0) return invalid_argument("shape ", shape_to_string(shape), " has a negative dimension");
    auto next = checked_multiply(count, d);
    if (!next.is_ok()) return invalid_argument("shape ", shape_to_string(shape), " has more elements than a 64-bit count holds");
    count = *next;
  }
  return count;
}

Result<size_t> checked_byte_size(DataType dtype, const Shape& shape) {
  static const uint64_t memory_bytes =
      static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGE_SIZE));
  TS_ASSIGN_OR_RETURN(int64_t count, checked_element_count(shape));
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(count), static_cast<uint64_t>(dtype_size(dtype)), &bytes))
    return invalid_argument("tensor shape ", shape_to_string(shape), " overflows the address space");
  if (bytes > memory_bytes)
    return invalid_argument("a ", dtype_name(dtype), " tensor of shape ", shape_to_string(shape), " needs ", bytes,
                            " bytes, more than this machine's ", memory_bytes);
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

std::shared_ptr<Buffer> allocate(DataType dtype, size_t bytes, int64_t count) {
  auto buffer = std::make_shared<Buffer>();
  buffer->data = allocate_weight_block(bytes);
  if (!buffer->data) return nullptr;
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

Result<Tensor> Tensor::create(DataType dtype, Shape shape) {
  if (dtype == DataType::undefined || !is_known_dtype(static_cast<int32_t>(dtype)))
    return invalid_argument("cannot make a tensor of element type ", static_cast<int32_t>(dtype));
  TS_ASSIGN_OR_RETURN(size_t bytes, checked_byte_size(dtype, shape));
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.size_ = shape_size(t.shape_);
  auto buffer = allocate(dtype, bytes, t.size_);
  if (!buffer) return runtime_error("out of memory allocating ", bytes, " bytes for a tensor of shape ", shape_to_string(t.shape_));
  t.data_ = buffer->data;
  t.buffer_ = std::move(buffer);
  return t;
}

Tensor Tensor::view(DataType dtype, Shape shape, std::shared_ptr<const void> owner, const void* data,
                    MemoryLocation location) {
  Tensor t;
  t.location_ = location;
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

Result<Tensor> Tensor::clone() const {
  TS_ASSIGN_OR_RETURN(Tensor t, create(dtype_, shape_));
  if (dtype_ == DataType::string) {
    for (int64_t i = 0; i < size_; ++i) t.data<std::string>()[i] = data<std::string>()[i];
  } else if (size_ > 0) {
    std::memcpy(t.data_, data_, byte_size());
  }
  return t;
}

}  // namespace tessera
