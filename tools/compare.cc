#include "tools/compare.h"

#include <cmath>
#include <string>

#include "core/float_types.h"
#include "tessera/status.h"

namespace tessera::cli {

double element_as_double(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DataType::float32: return t.data<float>()[i];
    case DataType::float64: return t.data<double>()[i];
    case DataType::float16: return half_to_float(t.data<uint16_t>()[i]);
    case DataType::bfloat16: return bfloat16_to_float(t.data<uint16_t>()[i]);
    case DataType::float8e4m3fn: return float8e4m3fn_to_float(t.data<uint8_t>()[i]);
    case DataType::float8e4m3fnuz: return float8e4m3fnuz_to_float(t.data<uint8_t>()[i]);
    case DataType::float8e5m2: return float8e5m2_to_float(t.data<uint8_t>()[i]);
    case DataType::float8e5m2fnuz: return float8e5m2fnuz_to_float(t.data<uint8_t>()[i]);
    case DataType::float8e8m0: return float8e8m0_to_float(t.data<uint8_t>()[i]);
    case DataType::float4e2m1: return float4e2m1_to_float(t.data<uint8_t>()[i]);
    case DataType::int8: case DataType::int4: case DataType::int2: return t.data<int8_t>()[i];
    case DataType::uint8: case DataType::uint4: case DataType::uint2: case DataType::boolean: return t.data<uint8_t>()[i];
    case DataType::int16: return t.data<int16_t>()[i];
    case DataType::uint16: return t.data<uint16_t>()[i];
    case DataType::int32: return t.data<int32_t>()[i];
    case DataType::uint32: return t.data<uint32_t>()[i];
    case DataType::int64: return static_cast<double>(t.data<int64_t>()[i]);
    case DataType::uint64: return static_cast<double>(t.data<uint64_t>()[i]);
    case DataType::complex64: return t.data<float>()[i];  // callers index complex as 2*size floats
    case DataType::complex128: return t.data<double>()[i];
    default: return 0;
  }
}

namespace {

std::string compare_tensors(const Tensor& got, const Tensor& want, const Tolerance& tol) {
  if (got.dtype() != want.dtype())
    return str_cat("element type ", dtype_name(got.dtype()), ", expected ", dtype_name(want.dtype()));
  if (got.shape() != want.shape())
    return str_cat("shape ", shape_to_string(got.shape()), ", expected ", shape_to_string(want.shape()));
  int64_t n = got.size();
  if (got.dtype() == DataType::string) {
    for (int64_t i = 0; i < n; ++i)
      if (got.data<std::string>()[i] != want.data<std::string>()[i])
        return str_cat("element ", i, " is \"", got.data<std::string>()[i], "\", expected \"", want.data<std::string>()[i], "\"");
    return "";
  }
  if (got.dtype() == DataType::int64 || got.dtype() == DataType::uint64) {  // exact beyond 2^53
    for (int64_t i = 0; i < n; ++i)
      if (got.data<int64_t>()[i] != want.data<int64_t>()[i])
        return str_cat("element ", i, " is ", got.data<int64_t>()[i], ", expected ", want.data<int64_t>()[i]);
    return "";
  }
  bool is_complex = got.dtype() == DataType::complex64 || got.dtype() == DataType::complex128;
  if (is_complex) n *= 2;
  bool approximate = is_float_dtype(got.dtype()) || is_complex;
  for (int64_t i = 0; i < n; ++i) {
    double g = element_as_double(got, i), w = element_as_double(want, i);
    if (std::isnan(g) && std::isnan(w)) continue;
    bool ok = approximate ? (g == w || std::fabs(g - w) <= tol.atol + tol.rtol * std::fabs(w)) : g == w;
    if (!ok) return str_cat("element ", i, " is ", g, ", expected ", w);
  }
  return "";
}

}  // namespace

std::string compare_values(const Value& got, const Value& want, const Tolerance& tolerance) {
  if (got.kind() != want.kind()) return str_cat("got ", value_type_string(got), ", expected ", value_type_string(want));
  switch (got.kind()) {
    case Value::Kind::absent:
    case Value::Kind::empty_optional: return "";
    case Value::Kind::tensor: return compare_tensors(got.tensor(), want.tensor(), tolerance);
    case Value::Kind::sequence: {
      if (got.items().size() != want.items().size())
        return str_cat("sequence of ", got.items().size(), " items, expected ", want.items().size());
      for (size_t i = 0; i < got.items().size(); ++i) {
        std::string diff = compare_values(got.items()[i], want.items()[i], tolerance);
        if (!diff.empty()) return str_cat("sequence item ", i, ": ", diff);
      }
      return "";
    }
    case Value::Kind::map: {
      std::string diff = compare_tensors(got.map_keys(), want.map_keys(), tolerance);
      if (!diff.empty()) return "map keys: " + diff;
      diff = compare_tensors(got.map_values(), want.map_values(), tolerance);
      return diff.empty() ? "" : "map values: " + diff;
    }
  }
  return "";
}

}  // namespace tessera::cli
