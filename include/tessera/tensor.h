// Tensor: an element type, a shape and a shared buffer. Copies share the buffer (like a
// shared_ptr); `clone()` copies the data. Views over external memory (mmap'd weights) keep their
// owner alive through the same shared handle. Nothing here throws: making a tensor can fail (an
// absurd shape), so it returns a Result.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "tessera/dtype.h"
#include "tessera/inline_vector.h"
#include "tessera/status.h"

namespace tessera {

// A tensor's dims: a value type with std::vector<int64_t>'s interface that holds up to 6 dims
// inline (a rank past 6 moves to the heap), so making, copying or returning the shape of a
// tensor allocates nothing: a steady-state run makes hundreds (inline_vector.h). It converts to
// and from std::vector<int64_t>, and compares (==, <=>) element by element.
using Shape = InlineVector<int64_t, 6>;

// Number of elements of a shape (1 for a scalar); for a shape already known to be valid.
int64_t shape_size(const Shape& shape);
// Element counts of shapes that come from a model or a feed: an error for a negative dimension
// or a count that overflows int64, never a wrapped value.
Result<int64_t> checked_element_count(const Shape& shape);
Result<int64_t> checked_multiply(int64_t a, int64_t b);
// Bytes for `shape` elements of `dtype`; an error for a negative dimension, an overflowing size,
// or more bytes than the machine has memory, so an absurd shape fails with a message instead of
// exhausting memory.
Result<size_t> checked_byte_size(DataType dtype, const Shape& shape);

// Where a tensor's bytes live: host memory today. An EP with memory of its own (a GPU) tags its
// tensors with its device, so copies can be placed where a value crosses from one to another.
enum class DeviceType : uint8_t { cpu = 0, gpu = 1, other = 2 };
struct MemoryLocation {
  DeviceType device = DeviceType::cpu;
  int16_t device_id = 0;
  bool is_host() const { return device == DeviceType::cpu; }
  bool operator==(const MemoryLocation&) const = default;
};
std::string shape_to_string(const Shape& shape);  // "[2,3,4]"

class Tensor {
 public:
  Tensor() = default;  // undefined: no type, no data
  // A zero-initialised host tensor (strings are empty); an error for an unknown dtype or an
  // absurd shape (see checked_byte_size).
  static Result<Tensor> create(DataType dtype, Shape shape);
  // A host tensor holding `values` (row-major); an error when their count differs from the
  // shape's or T is not the size of one element of `dtype`.
  template <class T>
  static Result<Tensor> from_vector(DataType dtype, Shape shape, const std::vector<T>& values);
  // A 0-d tensor holding `value` (T must be the size of one element of `dtype`).
  template <class T>
  static Tensor scalar(DataType dtype, T value);

  // Wraps memory owned by `owner` without copying; the data must stay valid while owner lives.
  static Tensor view(DataType dtype, Shape shape, std::shared_ptr<const void> owner, const void* data,
                     MemoryLocation location = {});

  bool defined() const { return dtype_ != DataType::undefined; }
  DataType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  size_t rank() const { return shape_.size(); }
  int64_t dim(size_t axis) const { return shape_[axis]; }
  int64_t size() const { return size_; }  // element count
  const MemoryLocation& location() const { return location_; }
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
  // Deep copy into a fresh host buffer (fails only when memory runs out).
  Result<Tensor> clone() const;
  // True when this and `other` hold the same buffer.
  bool shares_buffer_with(const Tensor& other) const { return buffer_ && buffer_ == other.buffer_; }
  // Identifies the buffer: equal for Tensors that share it (null when there is none).
  const void* buffer_id() const { return buffer_.get(); }
  // How many holders the buffer has (Tensors sharing it, or the owner of external memory);
  // 1 means this Tensor alone holds it.
  long buffer_use_count() const { return buffer_.use_count(); }

 private:
  DataType dtype_ = DataType::undefined;
  Shape shape_;
  int64_t size_ = 0;
  std::shared_ptr<const void> buffer_;  // owns (or keeps alive) the memory at data_
  void* data_ = nullptr;
  MemoryLocation location_;
};

template <class T>
Result<Tensor> Tensor::from_vector(DataType dtype, Shape shape, const std::vector<T>& values) {
  if ((dtype == DataType::string) != std::is_same_v<T, std::string> || (dtype != DataType::string && sizeof(T) != dtype_size(dtype)))
    return invalid_argument("Tensor::from_vector: ", sizeof(T), "-byte values cannot fill a ", dtype_name(dtype), " tensor");
  auto t = create(dtype, std::move(shape));
  if (!t.is_ok()) return t;
  if (static_cast<int64_t>(values.size()) != t->size())
    return invalid_argument("Tensor::from_vector: ", values.size(), " values for shape ", shape_to_string(t->shape()), " of ",
                            t->size(), " elements");
  T* out = t->template data<T>();
  for (size_t i = 0; i < values.size(); ++i) out[i] = values[i];
  return t;
}

template <class T>
Tensor Tensor::scalar(DataType dtype, T value) {
  auto t = from_vector<T>(dtype, {}, {value});
  return t.is_ok() ? std::move(t).value() : Tensor();
}

}  // namespace tessera
