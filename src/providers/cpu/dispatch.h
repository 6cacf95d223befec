// Calling a templated lambda with the C++ type of a runtime DataType:
//   return dispatch<kNumericTypes>(t.dtype(), [&]<class T>() -> Status { ...; return Status::ok(); },
//                                  ctx.node());
// Types: float, double, float16_t, bfloat16_t, int8..int64, uint8..uint64, bool, std::string.
#pragma once

#include <cstdint>
#include <string>

#include "core/float_types.h"
#include "graph/graph.h"
#include "tessera/dtype.h"
#include "tessera/status.h"

namespace tessera {

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
constexpr TypeSet kAllTypes = kNumericTypes | type_bit(DataType::boolean) | type_bit(DataType::string);

template <TypeSet Allowed, class F>
Status dispatch(DataType dtype, F&& f, const std::string& where) {
#define TS_DISPATCH_CASE(enum_value, cpp_type)                                         \
  case DataType::enum_value:                                                          \
    if constexpr ((Allowed & type_bit(DataType::enum_value)) != 0) return f.template operator()<cpp_type>(); \
    break;
  switch (dtype) {
    TS_DISPATCH_CASE(float32, float)
    TS_DISPATCH_CASE(float64, double)
    TS_DISPATCH_CASE(float16, float16_t)
    TS_DISPATCH_CASE(bfloat16, bfloat16_t)
    TS_DISPATCH_CASE(int8, int8_t)
    TS_DISPATCH_CASE(int16, int16_t)
    TS_DISPATCH_CASE(int32, int32_t)
    TS_DISPATCH_CASE(int64, int64_t)
    TS_DISPATCH_CASE(uint8, uint8_t)
    TS_DISPATCH_CASE(uint16, uint16_t)
    TS_DISPATCH_CASE(uint32, uint32_t)
    TS_DISPATCH_CASE(uint64, uint64_t)
    TS_DISPATCH_CASE(boolean, bool)
    TS_DISPATCH_CASE(string, std::string)
    default:
      break;
  }
#undef TS_DISPATCH_CASE
  return not_implemented(where, ": element type ", dtype_name(dtype), " is not supported");
}

// As above, naming `node` in the error: its description is built only when the type is refused,
// not on every run.
template <TypeSet Allowed, class F>
Status dispatch(DataType dtype, F&& f, const Node& node) {
  if ((Allowed & type_bit(dtype)) == 0) return dispatch<Allowed>(dtype, f, node.describe());
  return dispatch<Allowed>(dtype, f, std::string());
}

}  // namespace tessera
