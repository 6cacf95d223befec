#include "tessera/dtype.h"

#include <string>

#include "core/dispatch.h"

namespace tessera {

size_t dtype_size(DataType type) {
  switch (type) {
#define TS_SIZE_CASE(enum_value, cpp_type) \
  case DataType::enum_value:               \
    return sizeof(cpp_type);
    TS_FOR_EACH_DTYPE(TS_SIZE_CASE)
#undef TS_SIZE_CASE
    case DataType::undefined: return 0;
  }
  return 0;
}

std::string_view dtype_name(DataType type) {
  switch (type) {
    case DataType::undefined: return "undefined";
    case DataType::float32: return "float";
    case DataType::uint8: return "uint8";
    case DataType::int8: return "int8";
    case DataType::uint16: return "uint16";
    case DataType::int16: return "int16";
    case DataType::int32: return "int32";
    case DataType::int64: return "int64";
    case DataType::string: return "string";
    case DataType::boolean: return "bool";
    case DataType::float16: return "float16";
    case DataType::float64: return "double";
    case DataType::uint32: return "uint32";
    case DataType::uint64: return "uint64";
    case DataType::complex64: return "complex64";
    case DataType::complex128: return "complex128";
    case DataType::bfloat16: return "bfloat16";
    case DataType::float8e4m3fn: return "float8e4m3fn";
    case DataType::float8e4m3fnuz: return "float8e4m3fnuz";
    case DataType::float8e5m2: return "float8e5m2";
    case DataType::float8e5m2fnuz: return "float8e5m2fnuz";
    case DataType::uint4: return "uint4";
    case DataType::int4: return "int4";
    case DataType::float4e2m1: return "float4e2m1";
    case DataType::float8e8m0: return "float8e8m0";
    case DataType::uint2: return "uint2";
    case DataType::int2: return "int2";
  }
  return "unknown";
}

bool is_known_dtype(int32_t value) { return value > 0 && value <= kMaxDataTypeValue; }

bool is_float_dtype(DataType type) {
  switch (type) {
    case DataType::float32: case DataType::float64: case DataType::float16: case DataType::bfloat16:
    case DataType::float8e4m3fn: case DataType::float8e4m3fnuz: case DataType::float8e5m2:
    case DataType::float8e5m2fnuz: case DataType::float8e8m0: case DataType::float4e2m1: return true;
    default: return false;
  }
}

bool is_signed_dtype(DataType type) {
  switch (type) {
    case DataType::int8: case DataType::int16: case DataType::int32: case DataType::int64:
    case DataType::int4: case DataType::int2: return true;
    default: return false;
  }
}

bool is_integer_dtype(DataType type) {
  switch (type) {
    case DataType::uint8: case DataType::uint16: case DataType::uint32: case DataType::uint64:
    case DataType::uint4: case DataType::uint2: return true;
    default: return is_signed_dtype(type);
  }
}

bool is_subbyte_dtype(DataType type) { return subbyte_bits(type) < 8; }

int subbyte_bits(DataType type) {
  switch (type) {
    case DataType::uint4: case DataType::int4: case DataType::float4e2m1: return 4;
    case DataType::uint2: case DataType::int2: return 2;
    default: return 8;
  }
}

}  // namespace tessera
