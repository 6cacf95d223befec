// Shared helpers of the tensor-manipulation kernels (providers/cpu/tensor/). These kernels move
// bytes: they dispatch on the element size, not the element type, and copy contiguous runs with
// memcpy. String tensors hold std::string objects and are copied by assignment.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "core/float_types.h"
#include "core/thread_pool.h"
#include "framework/kernel.h"
#include "tessera/status.h"
#include "tessera/tensor.h"

namespace tessera::tensor_ops {

// A 16-byte element (complex128), moved as a unit.
struct Bytes16 {
  uint64_t lo, hi;
};

// Calls f.template operator()<T>() where T is std::string for string tensors, else an unsigned
// integer (or Bytes16) of the element's size. Sub-byte types are stored one per byte.
// `where()` names the caller in the error; it is called on failure only.
template <class F, class Where>
Status dispatch_by_size_impl(DataType dtype, F& f, const Where& where) {
  if (dtype == DataType::string) return f.template operator()<std::string>();
  switch (dtype_size(dtype)) {
    case 1: return f.template operator()<uint8_t>();
    case 2: return f.template operator()<uint16_t>();
    case 4: return f.template operator()<uint32_t>();
    case 8: return f.template operator()<uint64_t>();
    case 16: return f.template operator()<Bytes16>();
    default: break;
  }
  return not_implemented(where(), ": element type ", dtype_name(dtype), " is not supported");
}
template <class F>
Status dispatch_by_size(DataType dtype, F&& f, const std::string& where) {
  return dispatch_by_size_impl(dtype, f, [&] { return where; });
}
template <class F>
Status dispatch_by_size(DataType dtype, F&& f, const Node& node) {
  return dispatch_by_size_impl(dtype, f, [&] { return node.describe(); });
}

// Copies `count` elements (memcpy, or string assignment). Ranges must not overlap.
void copy_elements(DataType dtype, void* dst, const void* src, int64_t count);
// Copies element `src_index` of src to element `dst_index` of dst.
inline void copy_element(DataType dtype, void* dst, int64_t dst_index, const void* src, int64_t src_index) {
  if (dtype == DataType::string) {
    static_cast<std::string*>(dst)[dst_index] = static_cast<const std::string*>(src)[src_index];
    return;
  }
  size_t n = dtype_size(dtype);
  std::memcpy(static_cast<char*>(dst) + dst_index * n, static_cast<const char*>(src) + src_index * n, n);
}
// Sets dst[0..count) to the single element at `value`.
void fill_elements(DataType dtype, void* dst, const void* value, int64_t count);

// Address of element `index` of a raw buffer of `dtype`.
inline char* element_ptr(void* data, DataType dtype, int64_t index) {
  return static_cast<char*>(data) + index * static_cast<int64_t>(dtype_size(dtype));
}
inline const char* element_ptr(const void* data, DataType dtype, int64_t index) {
  return static_cast<const char*>(data) + index * static_cast<int64_t>(dtype_size(dtype));
}

// Row-major strides, in elements (a Shape: inline, no allocation up to rank 6).
Shape contiguous_strides(const Shape& shape);

// Copies the N-d block `shape`: element i goes from src + sum(i_k * src_strides[k]) to
// dst + sum(i_k * dst_strides[k]) (strides in elements; src strides may be 0 or negative).
// Adjacent dims are merged, contiguous inner runs are memcpy'd and transposed pairs of dims are
// copied in cache tiles. Splits the work over `pool` when it is big and pool is not null.
void strided_copy(DataType dtype, const Shape& shape, void* dst, const Shape& dst_strides, const void* src,
                  const Shape& src_strides, ThreadPool* pool);

// out = in with dims permuted: out.shape[k] = in.shape[perm[k]]. perm must be valid.
void permute(const Tensor& in, std::span<const int64_t> perm, Tensor& out, ThreadPool* pool);

// Product of dims [begin, end) of a shape: the element count of that block of axes.
inline int64_t product(const Shape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t k = begin; k < end; ++k) p *= s[k];
  return p;
}

// Normalizes a possibly negative axis against `rank`; false when outside [-rank, rank).
inline bool normalize_axis(int64_t& axis, int64_t rank) {
  if (axis < -rank || axis >= rank) return false;
  if (axis < 0) axis += rank;
  return true;
}

// The values of an integer tensor (any int type, or bool) as int64; false for other types. Into
// a Shape for a kernel's per-run arithmetic (shapes, axes, pads: inline, no allocation).
bool read_int64s(const Tensor& t, std::vector<int64_t>& out);
bool read_int64s(const Tensor& t, Shape& out);
// The first element of a numeric tensor as int64 (floats truncate); false when not numeric/empty.
bool read_scalar_int64(const Tensor& t, int64_t& out);

// Reads element i of an index tensor (int32 or int64).
inline int64_t index_at(const Tensor& indices, int64_t i) {
  return indices.dtype() == DataType::int32 ? indices.data<int32_t>()[i] : indices.data<int64_t>()[i];
}

}  // namespace tessera::tensor_ops
