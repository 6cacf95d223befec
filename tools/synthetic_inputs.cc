#include "tools/synthetic_inputs.h"

#include <charconv>
#include <cstring>
#include <iostream>

#include "core/float_types.h"

namespace tessera::cli {

Result<std::pair<std::string, int64_t>> parse_dim_spec(const std::string& spec, const char* flag, int64_t min_value) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) return invalid_argument(flag, " expects NAME=VALUE, got '", spec, "'");
  const std::string name = spec.substr(0, eq), text = spec.substr(eq + 1);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min_value)
    return invalid_argument(flag, " ", name, ": expected a whole number of at least ", min_value, ", got '", text, "'");
  return std::pair{name, value};
}

Result<std::map<std::string, int64_t>> parse_dims(const std::vector<std::string>& specs, const std::vector<IoInfo>& inputs,
                                                  const std::string& model) {
  std::set<std::string> known;
  for (const auto& in : inputs)
    for (const auto& name : in.dim_names)
      if (!name.empty()) known.insert(name);
  std::map<std::string, int64_t> dims;
  for (const auto& spec : specs) {
    TS_ASSIGN_OR_RETURN(auto parsed, parse_dim_spec(spec, "--dim", 1));
    const auto& [name, value] = parsed;
    if (!known.count(name)) {
      std::string names;
      for (const auto& k : known) names += (names.empty() ? "'" : ", '") + k + "'";
      return invalid_argument("--dim ", name, ": model '", model, "' has no input dimension named '", name,
                              "' (its symbolic dimensions: ", names.empty() ? "none" : names, ")");
    }
    dims[name] = value;
  }
  return dims;
}

Shape input_shape(const IoInfo& io, const std::map<std::string, int64_t>& dims, std::set<std::string>& defaulted) {
  Shape shape;
  for (size_t i = 0; i < io.shape.size(); ++i) {
    if (io.shape[i] >= 0) {
      shape.push_back(io.shape[i]);
      continue;
    }
    auto it = dims.find(io.dim_names[i]);
    if (it == dims.end()) defaulted.insert(io.dim_names[i].empty() ? io.name + "[" + std::to_string(i) + "]" : io.dim_names[i]);
    shape.push_back(it == dims.end() ? 1 : it->second);
  }
  return shape;
}

void warn_defaulted_dims(const std::set<std::string>& defaulted) {
  for (const auto& name : defaulted)
    std::cerr << "warning: symbolic dimension '" << name << "' defaulted to 1 (set it with --dim " << name << "=VALUE)\n";
}

Result<Tensor> synthetic_tensor(const IoInfo& io, const Shape& shape, Fill fill, std::mt19937& rng) {
  if (io.kind != IoInfo::Kind::tensor)
    return invalid_argument("input '", io.name, "' is ", io.kind == IoInfo::Kind::map ? "a map" : "not a tensor",
                            ": only tensors can be made up (give it with --input NAME=FILE.pb)");
  TS_ASSIGN_OR_RETURN(Tensor t, Tensor::create(io.dtype, shape));
  if (fill == Fill::zeros) {
    if (io.dtype == DataType::string) return t;  // empty strings
    if (t.byte_size()) std::memset(t.raw_data(), 0, t.byte_size());
    return t;
  }
  std::uniform_real_distribution<float> real(0.f, 1.f);
  std::uniform_int_distribution<int> small(0, 99);
  for (int64_t i = 0; i < t.size(); ++i) {
    switch (io.dtype) {
      case DataType::float32: t.data<float>()[i] = real(rng); break;
      case DataType::float64: t.data<double>()[i] = real(rng); break;
      case DataType::float16: t.data<uint16_t>()[i] = float_to_half(real(rng)); break;
      case DataType::int64: t.data<int64_t>()[i] = small(rng); break;
      case DataType::int32: t.data<int32_t>()[i] = small(rng); break;
      case DataType::boolean: t.data<bool>()[i] = small(rng) % 2; break;
      case DataType::uint8: t.data<uint8_t>()[i] = static_cast<uint8_t>(small(rng)); break;
      case DataType::int8: t.data<int8_t>()[i] = static_cast<int8_t>(small(rng)); break;
      default: return not_implemented("input '", io.name, "': cannot make random ", dtype_name(io.dtype), " values");
    }
  }
  return t;
}

}  // namespace tessera::cli
