// Inputs made up for a model: random or zero tensors of its declared shapes, with symbolic
// dimensions set by --dim NAME=VALUE (else 1). Used by `bench` and by `run --random/--zeros`.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tessera/session.h"

namespace tessera::cli {

// One NAME=VALUE dim spec of `flag` ("--dim", "--free-dim"): an error naming the flag unless it
// has a NAME and VALUE is a whole number of at least `min_value`.
Result<std::pair<std::string, int64_t>> parse_dim_spec(const std::string& spec, const char* flag, int64_t min_value);

// Parses --dim NAME=VALUE specs; each NAME must be a symbolic dimension of some input of `model`
// (the error lists those it has) and each VALUE a whole number of at least 1.
Result<std::map<std::string, int64_t>> parse_dims(const std::vector<std::string>& specs, const std::vector<IoInfo>& inputs,
                                                  const std::string& model);

// The shape fed to `io`: fixed dims as declared, symbolic ones from `dims`, else 1 (the names of
// those defaulted are added to `defaulted`).
Shape input_shape(const IoInfo& io, const std::map<std::string, int64_t>& dims, std::set<std::string>& defaulted);

// Prints a warning on stderr for each symbolic dimension left at 1.
void warn_defaulted_dims(const std::set<std::string>& defaulted);

enum class Fill { random, zeros };

// A tensor for `io`: zeros, or random values in a range every model accepts: [0, 1) for floats,
// small non-negative ints (valid as indices into most embedding tables), true/false for bool.
Result<Tensor> synthetic_tensor(const IoInfo& io, const Shape& shape, Fill fill, std::mt19937& rng);

}  // namespace tessera::cli
