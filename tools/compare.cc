#include "tools/compare.h"

#include <algorithm>
#include <cmath>
#include <limits>
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

void merge(Comparison& into, const Comparison& part, const std::string& where) {
  if (into.difference.empty() && !part.difference.empty()) into.difference = where + part.difference;
  into.elements += part.elements;
  into.mismatches += part.mismatches;
  into.max_abs = std::max(into.max_abs, part.max_abs);
  into.max_rel = std::max(into.max_rel, part.max_rel);
}

Comparison compare_tensors(const Tensor& got, const Tensor& want, const Tolerance& tol) {
  Comparison c;
  if (got.dtype() != want.dtype()) {
    c.difference = str_cat("element type ", dtype_name(got.dtype()), ", expected ", dtype_name(want.dtype()));
    return c;
  }
  if (got.shape() != want.shape()) {
    c.difference = str_cat("shape ", shape_to_string(got.shape()), ", expected ", shape_to_string(want.shape()));
    return c;
  }
  int64_t n = got.size();
  int64_t first = -1;
  std::string first_got, first_want;
  if (got.dtype() == DataType::string) {
    for (int64_t i = 0; i < n; ++i)
      if (got.data<std::string>()[i] != want.data<std::string>()[i] && c.mismatches++ == 0) {
        first = i;
        first_got = "\"" + got.data<std::string>()[i] + "\"";
        first_want = "\"" + want.data<std::string>()[i] + "\"";
      }
  } else if (got.dtype() == DataType::int64 || got.dtype() == DataType::uint64) {  // exact beyond 2^53
    for (int64_t i = 0; i < n; ++i) {
      int64_t g = got.data<int64_t>()[i], w = want.data<int64_t>()[i];
      if (g == w) continue;
      c.max_abs = std::max(c.max_abs, std::fabs(static_cast<double>(g) - static_cast<double>(w)));
      if (c.mismatches++ == 0) {
        first = i;
        first_got = std::to_string(g);
        first_want = std::to_string(w);
      }
    }
  } else {
    bool is_complex = got.dtype() == DataType::complex64 || got.dtype() == DataType::complex128;
    if (is_complex) n *= 2;
    bool approximate = is_float_dtype(got.dtype()) || is_complex;
    for (int64_t i = 0; i < n; ++i) {
      double g = element_as_double(got, i), w = element_as_double(want, i);
      if ((std::isnan(g) && std::isnan(w)) || g == w) continue;
      double abs_err = std::fabs(g - w);  // NaN or inf against a number: a mismatch at any tolerance
      if (std::isnan(abs_err)) abs_err = std::numeric_limits<double>::infinity();
      c.max_abs = std::max(c.max_abs, abs_err);
      if (w != 0) c.max_rel = std::max(c.max_rel, abs_err / std::fabs(w));
      bool ok = approximate && abs_err <= tol.atol + tol.rtol * std::fabs(w);
      if (!ok && c.mismatches++ == 0) {
        first = i;
        first_got = str_cat(g);
        first_want = str_cat(w);
      }
    }
  }
  c.elements = n;
  if (c.mismatches > 0) {
    c.difference = str_cat(c.mismatches, " of ", n, " elements differ");
    if (got.dtype() != DataType::string)
      c.difference += str_cat(" (max abs error ", c.max_abs, ", max rel error ", c.max_rel, "; rtol ", tol.rtol, ", atol ",
                              tol.atol, ")");
    c.difference += str_cat(", first element ", first, ": ", first_got, ", expected ", first_want);
  }
  return c;
}

}  // namespace

Comparison compare_values(const Value& got, const Value& want, const Tolerance& tolerance) {
  Comparison c;
  if (got.kind() != want.kind()) {
    c.difference = str_cat("got ", value_type_string(got), ", expected ", value_type_string(want));
    return c;
  }
  switch (got.kind()) {
    case Value::Kind::absent:
    case Value::Kind::empty_optional: return c;
    case Value::Kind::tensor: return compare_tensors(got.tensor(), want.tensor(), tolerance);
    case Value::Kind::sequence: {
      if (got.items().size() != want.items().size()) {
        c.difference = str_cat("sequence of ", got.items().size(), " items, expected ", want.items().size());
        return c;
      }
      for (size_t i = 0; i < got.items().size(); ++i)
        merge(c, compare_values(got.items()[i], want.items()[i], tolerance), str_cat("sequence item ", i, ": "));
      return c;
    }
    case Value::Kind::map: {
      merge(c, compare_tensors(got.map_keys(), want.map_keys(), tolerance), "map keys: ");
      merge(c, compare_tensors(got.map_values(), want.map_values(), tolerance), "map values: ");
      return c;
    }
  }
  return c;
}

}  // namespace tessera::cli
