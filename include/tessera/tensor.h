// Tensor: an element type, a shape and a shared buffer. Copies share the buffer (like a
// shared_ptr); `clone()` copies the data. Views over external memory (mmap'd weights) keep their
// owner alive through the same shared handle.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tessera/dtype.h"

namespace tessera {

using Shape = std::vector<int64_t>;

// Number of elements of a shape (1 for a scalar).
int64_t shape_size(const Shape& shape);
// Bytes for `shape` elements of `dtype`. Throws std::length_error for a negative dimension, an
// overflowing size, or more bytes than the machine has memory, so an absurd shape fails with a
// message instead of exhausting memory (the executor turns it into an error naming the node).
size_t checked_byte_size(DataType dtype, const Shape& shape);
std::string shape_to_string(const Shape& shape);  // "[2,3,4]"

class Tensor {
 public:
  Tensor() = default;
  // Allocates a zero-initialised tensor (strings are empty).
  Tensor(DataType dtype, Shape shape);

  // Wraps memory owned by `owner` without copying; the data must stay valid while owner lives.
  static Tensor view(DataType dtype, Shape shape, std::shared_ptr<const void> owner, const void* data);

  template <class T>
  static Tensor from_vector(DataType dtype, Shape shape, const std::vector<T>& values);
  template <class T>
  static Tensor scalar(DataType dtype, T value) { return from_vector<T>(dtype, {}, {value}); }

  bool defined() const { return dtype_ != DataType::undefined; }
  DataType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  size_t rank() const { return shape_.size(); }
  int64_t dim(size_t axis) const { return shape_[axis]; }
  int64_t size() const { return size_; }  // element count
  size_t byte_size() const;

  void* raw_data() { return data_; }
  const void* raw_data() const { return data_; }
  template <class T>
  T* data() { return static_cast<T*>(data_); }
  template <class T>
  const T* data() const { return static_cast<const T*>(data_); }
  template <class T>
  std::span<T> span() { return {data<T>(), static_cast<size_t>(size_)}; }
  template <class T>
  std::span<const T> span() const { return {data<T>(), static_cast<size_t>(size_)}; }

  // Same buffer, new shape with the same element count.
  Tensor reshaped(Shape shape) const;
  // Deep copy into a fresh buffer.
  Tensor clone() const;
  // True when this and `other` hold the same buffer.
  bool shares_buffer_with(const Tensor& other) const { return buffer_ && buffer_ == other.buffer_; }
  // How many holders the buffer has (Tensors sharing it, or the owner of external memory);
  // 1 means this Tensor alone holds it.
  long buffer_use_count() const { return buffer_.use_count(); }

 private:
  DataType dtype_ = DataType::undefined;
  Shape shape_;
  int64_t size_ = 0;
  std::shared_ptr<const void> buffer_;  // owns (or keeps alive) the memory at data_
  void* data_ = nullptr;
};

template <class T>
Tensor Tensor::from_vector(DataType dtype, Shape shape, const std::vector<T>& values) {
  Tensor t(dtype, std::move(shape));
  T* out = t.data<T>();
  for (size_t i = 0; i < values.size() && static_cast<int64_t>(i) < t.size(); ++i) out[i] = values[i];
  return t;
}

}  // namespace tessera
