// Comparing a computed value with an expected one, as the ONNX backend runner does:
// |got - want| <= atol + rtol * |want| for floats (NaN equals NaN), exact for everything else;
// element types and shapes must match exactly.
#pragma once

#include <cstdint>
#include <string>

#include "tessera/value.h"

namespace tessera::cli {

// The ONNX backend runner's defaults (onnx/backend/test/loader), which a case's data.json may
// override.
struct Tolerance {
  double rtol = 1e-3;
  double atol = 1e-7;
};

struct Comparison {
  std::string difference;  // empty when within tolerance, else what differs in words
  int64_t elements = 0;    // numeric elements compared
  int64_t mismatches = 0;  // of those, how many are outside the tolerance
  double max_abs = 0;      // largest |got - want|
  double max_rel = 0;      // largest |got - want| / |want| (over want != 0)
};

// Compares every element (through sequences and maps), so that a failure reports how many
// differ and by how much, with the tolerance used.
Comparison compare_values(const Value& got, const Value& want, const Tolerance& tolerance);

// Element i of a numeric tensor as double (float16/bfloat16/float8 decoded).
double element_as_double(const Tensor& t, int64_t i);

}  // namespace tessera::cli
