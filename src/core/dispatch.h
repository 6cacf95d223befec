// The one map between DataType and the C++ type its elements are stored as, both ways:
//   dispatch<TypeSet>(dtype, f, where) calls f.template operator()<T>() with the storage type T:
//     return dispatch<kNumericTypes>(t.dtype(), [&]<class T>() -> Status { ...; return Status::ok(); },
//                                    ctx.node());
//   dtype_of<T>() is the DataType stored as T.
// Every stored type has a distinct C++ type: float16_t, float8e4m3fn_t, int4_t, ... (core/float_types.h),
// std::complex for the complex types.
#pragma once

#include <complex>
#include <cstdint>
#include <string>
#include <type_traits>

#include "core/float_types.h"
#include "tessera/dtype.h"
#include "tessera/status.h"

namespace tessera {

// X(enum value, storage type) for every DataType a tensor can hold.
#define TS_FOR_EACH_DTYPE(X)            \
  X(float32, float)                     \
  X(float64, double)                    \
  X(float16, float16_t)                 \
  X(bfloat16, bfloat16_t)               \
  X(int8, int8_t)                       \
  X(int16, int16_t)                     \
  X(int32, int32_t)                     \
  X(int64, int64_t)                     \
  X(uint8, uint8_t)                     \
  X(uint16, uint16_t)                   \
  X(uint32, uint32_t)                   \
  X(uint64, uint64_t)                   \
  X(boolean, bool)                      \
  X(string, std::string)                \
  X(complex64, std::complex<float>)     \
  X(complex128, std::complex<double>)   \
  X(float8e4m3fn, float8e4m3fn_t)       \
  X(float8e4m3fnuz, float8e4m3fnuz_t)   \
  X(float8e5m2, float8e5m2_t)           \
  X(float8e5m2fnuz, float8e5m2fnuz_t)   \
  X(float8e8m0, float8e8m0_t)           \
  X(float4e2m1, float4e2m1_t)           \
  X(int4, int4_t)                       \
  X(uint4, uint4_t)                     \
  X(int2, int2_t)                       \
  X(uint2, uint2_t)

// Bit sets of DataType values, for the type list a kernel accepts.
using TypeSet = uint64_t;
constexpr TypeSet type_bit(DataType t) { return TypeSet{1} << static_cast<int>(t); }
constexpr TypeSet kFloatTypes = type_bit(DataType::float32) | type_bit(DataType::float64) |
                                type_bit(DataType::float16) | type_bit(DataType::bfloat16);
constexpr TypeSet kSignedIntTypes = type_bit(DataType::int8) | type_bit(DataType::int16) |
                                    type_bit(DataType::int32) | type_bit(DataType::int64);
constexpr TypeSet kUnsignedIntTypes = type_bit(DataType::uint8) | type_bit(DataType::uint16) |
                                      type_bit(DataType::uint32) | type_bit(DataType::uint64);
constexpr TypeSet kIntTypes = kSignedIntTypes | kUnsignedIntTypes;
constexpr TypeSet kNumericTypes = kFloatTypes | kIntTypes;
// The numeric types plus bool and string: what most kernels that accept "any type" take.
constexpr TypeSet kStandardTypes = kNumericTypes | type_bit(DataType::boolean) | type_bit(DataType::string);
constexpr TypeSet kFloat8Types = type_bit(DataType::float8e4m3fn) | type_bit(DataType::float8e4m3fnuz) |
                                 type_bit(DataType::float8e5m2) | type_bit(DataType::float8e5m2fnuz);
// Floats stored as a code that decodes through float: float8 family, float8e8m0 and float4e2m1.
constexpr TypeSet kCodedFloatTypes = kFloat8Types | type_bit(DataType::float8e8m0) | type_bit(DataType::float4e2m1);
// 4- and 2-bit integers, stored unpacked one per byte.
constexpr TypeSet kSubByteIntTypes = type_bit(DataType::int4) | type_bit(DataType::uint4) |
                                     type_bit(DataType::int2) | type_bit(DataType::uint2);
constexpr TypeSet kComplexTypes = type_bit(DataType::complex64) | type_bit(DataType::complex128);

// `where` names the caller in the error: a string, or anything with describe() (a graph Node),
// which is then described only when the type is refused, never on every run.
template <TypeSet Allowed, class F, class Where>
Status dispatch(DataType dtype, F&& f, const Where& where) {
#define TS_DISPATCH_CASE(enum_value, cpp_type)                                                                \
  case DataType::enum_value:                                                                                 \
    if constexpr ((Allowed & type_bit(DataType::enum_value)) != 0) return f.template operator()<cpp_type>(); \
    break;
  switch (dtype) {
    TS_FOR_EACH_DTYPE(TS_DISPATCH_CASE)
    default:
      break;
  }
#undef TS_DISPATCH_CASE
  if constexpr (requires { where.describe(); })
    return not_implemented(where.describe(), ": element type ", dtype_name(dtype), " is not supported");
  else
    return not_implemented(where, ": element type ", dtype_name(dtype), " is not supported");
}

// The DataType stored as T; undefined for other types.
template <class T>
constexpr DataType dtype_of() {
#define TS_DTYPE_OF_CASE(enum_value, cpp_type) \
  if constexpr (std::is_same_v<T, cpp_type>) return DataType::enum_value; else
  TS_FOR_EACH_DTYPE(TS_DTYPE_OF_CASE)
#undef TS_DTYPE_OF_CASE
  return DataType::undefined;
}

}  // namespace tessera
