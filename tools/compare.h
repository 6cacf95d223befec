// Comparing a computed value with an expected one, as the ONNX backend runner does:
// |got - want| <= atol + rtol * |want| for floats (NaN equals NaN), exact for everything else;
// element types and shapes must match exactly.
#pragma once

#include <string>

#include "tessera/value.h"

namespace tessera::cli {

struct Tolerance {
  double rtol = 1e-3;
  double atol = 1e-7;
};

// Empty when equal, else the first difference in words.
std::string compare_values(const Value& got, const Value& want, const Tolerance& tolerance);

// Element i of a numeric tensor as double (float16/bfloat16/float8 decoded).
double element_as_double(const Tensor& t, int64_t i);

}  // namespace tessera::cli
