// Element types, numbered exactly as ONNX's TensorProto.DataType.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tessera {

enum class DataType : int32_t {
  undefined = 0,
  float32 = 1,
  uint8 = 2,
  int8 = 3,
  uint16 = 4,
  int16 = 5,
  int32 = 6,
  int64 = 7,
  string = 8,
  boolean = 9,
  float16 = 10,
  float64 = 11,
  uint32 = 12,
  uint64 = 13,
  complex64 = 14,
  complex128 = 15,
  bfloat16 = 16,
  float8e4m3fn = 17,
  float8e4m3fnuz = 18,
  float8e5m2 = 19,
  float8e5m2fnuz = 20,
  uint4 = 21,
  int4 = 22,
  float4e2m1 = 23,
  float8e8m0 = 24,
  uint2 = 25,
  int2 = 26,
};

constexpr int32_t kMaxDataTypeValue = 26;

// Bytes per element in memory. Sub-byte types (int4, uint4, float4e2m1, int2, uint2) are kept
// unpacked, one byte per element, so kernels index them like int8; they are packed only on the
// wire. String tensors hold std::string objects.
size_t dtype_size(DataType type);
// ONNX spelling: "float", "int64", "float8e4m3fn", ...
std::string_view dtype_name(DataType type);
bool is_known_dtype(int32_t value);
bool is_float_dtype(DataType type);     // float16/32/64, bfloat16, float8*, float4
bool is_integer_dtype(DataType type);   // signed and unsigned ints incl. 4- and 2-bit
bool is_signed_dtype(DataType type);
// True for the types whose wire format packs several elements per byte.
bool is_subbyte_dtype(DataType type);
int subbyte_bits(DataType type);  // 4 or 2; 8 otherwise

}  // namespace tessera
